"""How tokenplan writes an amount of money, everywhere (CLI tables, errors, headers' prose).

:func:`format_usd`: ``$1.23`` from a dollar up, three significant digits below (``$0.0123``,
``$0.000414``), ``$0`` for zero, never an exponent. Pure; no imports beyond ``math``.
"""

from __future__ import annotations

import math

__all__ = ["format_usd"]


def format_usd(value: float | None) -> str:
    """``$1.23`` / ``$0.0123`` / ``$0.000414`` / ``$0`` / ``-$0.05``; ``-`` for ``None``/NaN."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 0.995:
        return f"{sign}${v:,.2f}"
    # Three significant digits and at least two decimals: 0.5 -> 0.50, 0.000414442 -> 0.000414.
    text = f"{v:.{max(2, 2 - math.floor(math.log10(v)))}f}".rstrip("0")
    if len(text) - text.index(".") - 1 < 2:
        text = f"{v:.2f}"
    return f"{sign}${text}"
