"""Per-key spending ceilings per period, enforced with :class:`~tokenplan.budget.Budget`.

Each key with a ``budget_usd`` gets one :class:`~tokenplan.budget.Budget` per period (a UTC
day, ISO week or calendar month, or ``none``: one total that never resets). The metering layer
reserves every call's worst case against it before the call and settles the actual cost after
it, so concurrent requests can never together spend past the ceiling. When a period starts
(and when the proxy starts) the key's spend so far in the period is read back from the ledger
(its ``kind="proxy"`` lines under ``run_id = "proxy:<name>"``), so a restart does not reset a
budget.

One process holds the reservations: two proxies sharing a ledger would each enforce the
ceiling on their own, which is why ``tokenplan serve`` has no ``--workers``.

:func:`quota_error` is the 402 a key gets when its budget cannot cover a call. A key counts as
used up once what is left would not pay for a short call (:data:`SHORT_CALL_TOKENS` in and out)
on the cheapest model the proxy serves: the proxy then answers 402 before routing, and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tokenplan.budget import Budget
from tokenplan.money import format_usd
from tokenplan.proxy.config import ANONYMOUS_NAME, Period, ProxyKey
from tokenplan.proxy.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tokenplan.catalog.model import Model

__all__ = ["SHORT_CALL_TOKENS", "KeyBudgets", "period_bounds", "quota_error", "short_call_usd"]

#: Input and output tokens of the "short call" below which a key's budget counts as used up.
SHORT_CALL_TOKENS = 100
_PER = {"day": "per day", "week": "per week", "month": "per month", "none": "in total"}


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


def short_call_usd(models: Iterable[Model]) -> float:
    """The worst case of a short call (:data:`SHORT_CALL_TOKENS` in and out) on the cheapest of
    ``models`` (0 when there are none)."""
    costs = [m.worst_case_cost(SHORT_CALL_TOKENS, SHORT_CALL_TOKENS) for m in models]
    return min(costs, default=0.0)


def quota_error(
    key: ProxyKey,
    budget: Budget,
    *,
    short_call_usd: float,
    needed_usd: float | None = None,
    now: float | None = None,
) -> ApiError:
    """The 402 for ``key``: whose budget, its limit and period, what is left, when it resets.

    ``needed_usd``: the least this request needs (a :class:`~tokenplan.errors.BudgetError`'s
    ``requested_usd``), when a call was refused; without it, or when what is left is below
    ``short_call_usd``, the budget is reported used up.
    """
    left = budget.available_usd
    whose = "this proxy" if key.name == ANONYMOUS_NAME else f"key '{key.name}'"
    limit = f"{format_usd(budget.limit_usd)} {_PER[key.period]}"
    if key.period == "none":
        reset = "it does not reset (period none)"
    else:
        end = period_bounds(key.period, time.time() if now is None else now)[1]
        at = datetime.fromtimestamp(end, timezone.utc)
        reset = f"it resets at {at:%Y-%m-%d %H:%M} UTC"
    if needed_usd is None or left < short_call_usd:
        message = (
            f"The budget of {whose} ({limit}) is used up: {format_usd(budget.spent_usd)} "
            f"spent, {format_usd(left)} left; {reset}."
        )
    else:
        message = (
            f"The budget of {whose} ({limit}) cannot cover this request: it needs at least "
            f"{format_usd(needed_usd)}, {format_usd(left)} is left; {reset}. "
            "Send a shorter prompt or a smaller max_tokens."
        )
    return ApiError(402, message, type="insufficient_quota", code="insufficient_quota")
