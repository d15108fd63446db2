"""Rounding USD amounts up for suggested budgets (display is :func:`tokenplan.money.format_usd`)."""

from __future__ import annotations

import math

__all__ = ["ceil_usd"]


def ceil_usd(amount: float) -> float:
    """``amount`` rounded up to two significant digits (at least to the cent)."""
    if amount <= 0 or not math.isfinite(amount):
        return max(amount, 0.0)
    decimals = max(2, 1 - math.floor(math.log10(amount)))
    scale = 10.0**decimals
    return math.ceil(amount * scale - 1e-9) / scale
