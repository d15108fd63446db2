"""Per-key spending ceilings per period, enforced with :class:`~tokenplan.budget.Budget`.

Each key with a ``budget_usd`` gets one :class:`~tokenplan.budget.Budget` per period (a UTC
day, ISO week or calendar month, or ``none``: one total that never resets). The metering layer
reserves every call's worst case against it before the call and settles the actual cost after
it, so concurrent requests can never together spend past the ceiling. When a period starts
(and when the proxy starts) the key's spend so far in the period is read back from the ledger
(its ``kind="proxy"`` lines under ``run_id = "proxy:<name>"``), so a restart does not reset a
budget.

One process holds the reservations: two proxies (or ``--workers``) sharing a ledger would each
enforce the ceiling on their own, which is why ``tokenplan serve`` refuses several workers when
budgets are configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tokenplan.budget import Budget
from tokenplan.proxy.config import Period, ProxyKey

__all__ = ["KeyBudgets", "period_bounds"]


def period_bounds(period: Period, now: float) -> tuple[float, float]:
    """``(start, end)`` Unix times of the UTC period holding ``now``."""
    if period == "none":
        return 0.0, float("inf")
    at = datetime.fromtimestamp(now, timezone.utc)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), end.timestamp()


class KeyBudgets:
    """The current :class:`Budget` of each key (``None`` for keys without a ceiling)."""

    def __init__(self, ledger_path: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self._ledger_path = ledger_path
        self._clock = clock
        self._current: dict[str, tuple[float, Budget]] = {}

    def budget(self, key: ProxyKey) -> Budget | None:
        if key.budget_usd is None:
            return None
        found = self._current.get(key.name)
        now = self._clock()
        if found is not None and now < found[0]:
            return found[1]
        start, end = period_bounds(key.period, now)
        budget = Budget(key.budget_usd, spent_usd=self.spent_since(key, start))
        self._current[key.name] = (end, budget)
        return budget

    def spent_since(self, key: ProxyKey, start: float) -> float:
        """What the ledger says ``key`` spent since ``start`` (0 without a ledger)."""
        if self._ledger_path is None:
            return 0.0
        from tokenplan.ledger.store import Ledger

        with Ledger(self._ledger_path) as ledger:
            lines = ledger.read(since=start or None, kind="proxy", run=key.run_id)
            return sum(a.cost_usd for a in lines)
