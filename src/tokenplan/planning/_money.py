"""USD display and rounding for plan output and error messages."""

from __future__ import annotations

import math

__all__ = ["ceil_usd", "format_usd"]


def ceil_usd(amount: float) -> float:
    """``amount`` rounded up to two significant digits (at least to the cent)."""
    if amount <= 0 or not math.isfinite(amount):
        return max(amount, 0.0)
    decimals = max(2, 1 - math.floor(math.log10(amount)))
    scale = 10.0**decimals
    return math.ceil(amount * scale - 1e-9) / scale


def format_usd(amount: float) -> str:
    """``$1.23``, ``$0.50``, ``$0.00435``: three significant digits below a dollar."""
    if amount == 0 or not math.isfinite(amount):
        return f"${amount:.2f}"
    decimals = min(8, max(2, 2 - math.floor(math.log10(abs(amount)))))
    text = f"{amount:.{decimals}f}"
    if decimals > 2:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(2, "0")
        text = f"{whole}.{frac}"
    return f"${text}"
