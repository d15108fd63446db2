"""Checks of user-supplied values shared by every front end (CLI, API, proxy).

Each raises :class:`~tokenplan.errors.UsageError` (exit code 2) with a one-line message that
names the value, so every command words the same mistake the same way.
"""

from __future__ import annotations

import math
from typing import Any

from tokenplan.errors import UsageError

__all__ = ["check_budget_usd", "optional_budget_usd"]


def check_budget_usd(value: Any, *, name: str = "budget") -> float:
    """A positive, finite amount of USD. Strings such as ``"0.50"`` or ``"$0.50"`` are accepted."""
    raw = value.strip().removeprefix("$") if isinstance(value, str) else value
    if isinstance(raw, bool):
        raise UsageError(f"{name} must be an amount of USD, got {value!r}")
    try:
        amount = float(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be an amount of USD, got {value!r}") from None
    if not math.isfinite(amount):
        raise UsageError(f"{name} must be a finite amount of USD, got {value!r}")
    if amount <= 0:
        raise UsageError(f"{name} must be greater than $0, got {value!r}")
    return amount


def optional_budget_usd(value: Any, *, name: str = "budget") -> float | None:
    """:func:`check_budget_usd`, with ``None`` meaning "no budget"."""
    return None if value is None else check_budget_usd(value, name=name)
