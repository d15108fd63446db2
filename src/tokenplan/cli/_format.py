"""How the CLI writes money, token counts and times: one convention for every command.

Pure string functions (no rich), so JSON paths can import this module for free.

* money: :func:`usd` (:func:`tokenplan.money.format_usd`) - ``$1.23`` from a dollar up, three
  significant digits below (``$0.0123``, ``$0.000414``), never an exponent;
* tokens: :func:`tokens` - exact below 10,000 (``1,024``), then decimal ``k``/``M``/``B`` with
  three significant digits (``128k`` for 128,000, ``1.05M`` for 1,048,576), as vendors quote them;
* times: :func:`ago` - ``45s ago``, ``12m ago``, ``5h ago``, ``3d ago``, then the date;
  :func:`timestamp` - local ``YYYY-MM-DD HH:MM:SS``;
* text in a cell: :func:`clip` - one line, cut with an ellipsis.
"""

from __future__ import annotations

import math
from datetime import datetime

from tokenplan.money import format_usd as usd

__all__ = ["ago", "ago_dt", "clip", "percent", "timestamp", "tokens", "usd"]


def tokens(n: int | None) -> str:
    """``950`` / ``8,192`` / ``12.3k`` / ``128k`` / ``1.05M``; ``-`` for ``None``."""
    if n is None:
        return "-"
    if abs(n) < 10_000:
        return f"{n:,}"
    value, unit = n / 1_000, "k"
    for bigger in ("M", "B"):
        if abs(value) < 999.5:
            break
        value, unit = value / 1_000, bigger
    digits = 0 if abs(value) >= 99.95 else 1 if abs(value) >= 9.995 else 2
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + unit


def percent(fraction: float) -> str:
    """``87%`` (whole percent; ``<1%`` and ``>99%`` so that 0.4 % is not shown as 0)."""
    pct = 100.0 * fraction
    if 0 < pct < 1:
        return "<1%"
    if 99 < pct < 100:
        return ">99%"
    return f"{pct:.0f}%"


def ago(ts: float | None, *, now: float | None = None) -> str:
    """How long before ``now`` the epoch time ``ts`` was: ``45s ago`` ... ``3d ago``, then
    the date (``2025-05-01``). ``-`` for ``None``."""
    if ts is None or not math.isfinite(ts):
        return "-"
    import time

    seconds = max(0.0, (time.time() if now is None else now) - ts)
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h ago"
    if seconds < 30 * 86400:
        return f"{seconds // 86400:.0f}d ago"
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return "?"


def ago_dt(dt: datetime | None, *, now: float | None = None) -> str:
    """:func:`ago` for a datetime (naive ones are taken as local time)."""
    return "-" if dt is None else ago(dt.timestamp(), now=now)


def timestamp(ts: float | None) -> str:
    """Local ``YYYY-MM-DD HH:MM:SS`` of an epoch time; ``-`` for ``None``."""
    if ts is None:
        return "-"
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def clip(text: str | None, width: int) -> str:
    """``text`` on one line, at most ``width`` characters (an ellipsis marks the cut)."""
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
