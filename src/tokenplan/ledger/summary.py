"""Spend summaries: totals and per-group rows over ledger attempts.

Savings are measured against a baseline model: what the same token counts would have cost on
it (``pricing.cost_usd`` with the baseline's prices) minus what was actually paid. Attempts whose
model is not in the catalog count at their actual cost (no savings either way). Wasted spend is
the cost of attempts whose outcome is not ``ok``; planner spend is the cost of ``plan`` attempts.

:func:`summarize` streams: memory grows with the number of groups, never with the number of
lines. Given a :class:`~tokenplan.ledger.reader.LedgerReader` it aggregates decoded records
directly, without building :class:`~tokenplan.ledger.attempt.Attempt` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from tokenplan.ledger.reader import LedgerReader
from tokenplan.pricing import cost_usd

if TYPE_CHECKING:
    from tokenplan.catalog import Catalog, Model
    from tokenplan.ledger.attempt import Attempt

__all__ = ["DEFAULT_BASELINE_MODEL", "GROUP_KEYS", "Summary", "SummaryRow", "summarize"]

#: What ``--by`` accepts.
GROUP_KEYS: tuple[str, ...] = ("model", "provider", "day", "run", "capability", "kind", "tier")
#: Same default as ``Settings.baseline_model``.
DEFAULT_BASELINE_MODEL = "openai/gpt-5"
#: Group label for attempts with no value for the grouping key (no capability, no tier).
NONE_KEY = "-"


class _RecordLike(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def ts(self) -> float: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cached_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def simulated(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals over a set of attempts (all of them, or one group).

    ``key`` is the group's value (``None`` for the overall totals). Token counts follow the
    ledger's normalization (input includes cached, output includes reasoning).
    ``baseline_usd`` is what the same tokens would have cost on the baseline model.
    """

    key: str | None
    attempts: int = 0
    ok: int = 0
    cost_usd: float = 0.0
    wasted_usd: float = 0.0
    planner_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    baseline_usd: float = 0.0
    simulated: int = 0
    first_ts: float | None = None
    last_ts: float | None = None

    @property
    def failed(self) -> int:
        return self.attempts - self.ok

    @property
    def success_rate(self) -> float:
        """Share of attempts whose outcome is ``ok`` (0.0 when there are none)."""
        return self.ok / self.attempts if self.attempts else 0.0

    @property
    def savings_usd(self) -> float:
        return self.baseline_usd - self.cost_usd

    @property
    def savings_pct(self) -> float:
        """Savings as a percentage of the baseline cost (0.0 when that is 0)."""
        return 100.0 * self.savings_usd / self.baseline_usd if self.baseline_usd > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "attempts": self.attempts,
            "ok": self.ok,
            "failed": self.failed,
            "success_rate": self.success_rate,
            "cost_usd": self.cost_usd,
            "wasted_usd": self.wasted_usd,
            "planner_usd": self.planner_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "baseline_usd": self.baseline_usd,
            "savings_usd": self.savings_usd,
            "savings_pct": self.savings_pct,
            "simulated": self.simulated,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """What :func:`summarize` returns: overall ``totals`` and, with ``by``, one row per group.

    Groups are ordered by cost (highest first), except ``by="day"`` which is chronological.
    ``skipped_lines`` counts unreadable ledger lines met while reading (when known).
    """

    totals: SummaryRow
    groups: tuple[SummaryRow, ...] = ()
    by: str | None = None
    baseline_model: str = DEFAULT_BASELINE_MODEL
    skipped_lines: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable form."""
        return {
            "baseline_model": self.baseline_model,
            "by": self.by,
            "totals": self.totals.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
            "skipped_lines": self.skipped_lines,
        }


def summarize(
    attempts: Iterable[Attempt],
    *,
    by: str | None = None,
    baseline: Model | str = DEFAULT_BASELINE_MODEL,
    catalog: Catalog | None = None,
    workers: int = 1,
) -> Summary:
    """Totals (and per-group rows for ``by``) over ``attempts``, in one streaming pass.

    ``attempts`` is any iterable of attempts, or a :class:`LedgerReader` (from
    :meth:`Ledger.read`), which is summarized without building attempt objects. ``by`` is one of
    :data:`GROUP_KEYS` (``day`` is the local calendar day of ``ts``). ``baseline`` is a catalog
    model or id; ``catalog`` defaults to the bundled one. ``workers > 1`` splits a large ledger
    file over that many forked processes (POSIX, single-threaded callers only; otherwise it
    quietly runs serially); the result is the same. Raises
    :class:`~tokenplan.errors.UsageError` for an unknown ``by`` and
    :class:`~tokenplan.errors.UnknownModelError` for an unknown baseline id.
    """
    if by is not None and by not in GROUP_KEYS:
        from tokenplan.errors import UsageError

        raise UsageError(f"cannot group by {by!r}; expected one of {', '.join(GROUP_KEYS)}")
    if catalog is None:
        from tokenplan.catalog import Catalog

        catalog = Catalog.bundled()
    base = catalog.get(baseline) if isinstance(baseline, str) else baseline

    acc = _Accumulator(by)
    skipped = 0
    if isinstance(attempts, LedgerReader):
        parts = attempts.split(workers) if workers > 1 else [attempts]
        if len(parts) > 1:
            from tokenplan.ledger.parallel import map_ranges

            for buckets, part_skipped in map_ranges(parts, _ScanRange(by)):
                acc.merge(buckets)
                skipped += part_skipped
        else:
            acc.add_reader(attempts)
            skipped = attempts.skipped
    else:
        acc.add(attempts)
    totals, groups = acc.rows(base, catalog)
    return Summary(
        totals=totals, groups=groups, by=by, baseline_model=base.id, skipped_lines=skipped
    )


# Bucket slots. A bucket holds one (group, model) pair, so the baseline cost can be priced per
# model once at the end instead of per line.
_N, _OK, _COST, _WASTED, _PLAN, _IN, _OUT, _CACHED, _REASON, _XCACHED, _XREASON, _SIM = range(12)
_FIRST, _LAST = 12, 13


class _SummaryRecord(msgspec.Struct, gc=False):
    """The fields of a ledger line a summary (and any filter) reads; the rest are skipped."""

    run_id: str
    kind: str
    model: str
    provider: str
    outcome: str
    ts: float
    step_id: str | None = None
    tier: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    capability: str | None = None
    simulated: bool = False


class _ScanRange:
    """Summarize one reader's range into raw buckets (picklable: runs in forked workers)."""

    def __init__(self, by: str | None) -> None:
        self.by = by

    def __call__(self, reader: LedgerReader) -> tuple[dict[Hashable, list[Any]], int]:
        acc = _Accumulator(self.by)
        acc.add_reader(reader)
        return acc.buckets, reader.skipped


class _Accumulator:
    __slots__ = ("_by", "_key", "buckets")

    def __init__(self, by: str | None) -> None:
        self._by = by
        self.buckets: dict[Hashable, list[Any]] = {}
        self._key = _key_function(by)

    def add_reader(self, reader: LedgerReader) -> None:
        for batch in reader.scan(_SummaryRecord):
            self.add(batch)

    def merge(self, buckets: dict[Hashable, list[Any]]) -> None:
        for key, b in buckets.items():
            _merge(self.buckets, key, b)

    def add(self, records: Iterable[_RecordLike]) -> None:
        buckets = self.buckets
        key_of = self._key
        inf = float("inf")
        for r in records:
            key = key_of(r)
            b = buckets.get(key)
            if b is None:
                b = buckets[key] = [0, 0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, inf, -inf]
            cost = r.cost_usd
            i = r.input_tokens
            o = r.output_tokens
            c = r.cached_tokens
            rs = r.reasoning_tokens
            ts = r.ts
            b[_N] += 1
            if r.outcome == "ok":
                b[_OK] += 1
            else:
                b[_WASTED] += cost
            if r.kind == "plan":
                b[_PLAN] += cost
            b[_COST] += cost
            b[_IN] += i
            b[_OUT] += o
            b[_CACHED] += c
            b[_REASON] += rs
            # Subsets larger than their totals are clamped per line when pricing the baseline
            # (as pricing.cost_usd does), so the sum over lines stays exact.
            if c > i:
                b[_XCACHED] += c - i
            if rs > o:
                b[_XREASON] += rs - o
            if r.simulated:
                b[_SIM] += 1
            if ts < b[_FIRST]:
                b[_FIRST] = ts
            if ts > b[_LAST]:
                b[_LAST] = ts

    def rows(self, baseline: Model, catalog: Catalog) -> tuple[SummaryRow, tuple[SummaryRow, ...]]:
        merged: dict[str | None, list[Any]] = {}
        baseline_by_group: dict[str | None, float] = {}
        known: dict[str, bool] = {}
        for key, b in self.buckets.items():
            group, model = self._split(key)
            if model not in known:
                known[model] = catalog.find(model) is not None
            if known[model]:
                base = cost_usd(
                    baseline,
                    input_tokens=b[_IN],
                    output_tokens=b[_OUT],
                    cached_tokens=b[_CACHED] - b[_XCACHED],
                    reasoning_tokens=b[_REASON] - b[_XREASON],
                )
            else:
                base = b[_COST]
            for target in (None, group) if self._by is not None else (None,):
                _merge(merged, target, b)
                baseline_by_group[target] = baseline_by_group.get(target, 0.0) + base
        totals = _row(None, merged.get(None), baseline_by_group.get(None, 0.0))
        groups = [_row(k, b, baseline_by_group[k]) for k, b in merged.items() if k is not None]
        if self._by == "day":
            groups.sort(key=lambda g: g.key or "")
        else:
            groups.sort(key=lambda g: (-g.cost_usd, -g.attempts, g.key or ""))
        return totals, tuple(groups)

    def _split(self, key: Any) -> tuple[str | None, str]:
        """``(group, model)`` of a bucket key (``group`` is ``None`` without grouping)."""
        if self._by is None:
            return None, str(key)
        if self._by == "model":
            return str(key), str(key)
        group, model = key
        return (NONE_KEY if group is None or group == "" else str(group)), str(model)


def _merge(merged: dict[Any, list[Any]], target: Hashable, b: list[Any]) -> None:
    m = merged.get(target)
    if m is None:
        merged[target] = list(b)
        return
    for slot in range(_FIRST):
        m[slot] += b[slot]
    m[_FIRST] = min(m[_FIRST], b[_FIRST])
    m[_LAST] = max(m[_LAST], b[_LAST])


def _row(key: str | None, b: list[Any] | None, baseline_usd: float) -> SummaryRow:
    if b is None:
        return SummaryRow(key=key)
    return SummaryRow(
        key=key,
        attempts=b[_N],
        ok=b[_OK],
        cost_usd=b[_COST],
        wasted_usd=b[_WASTED],
        planner_usd=b[_PLAN],
        input_tokens=b[_IN],
        output_tokens=b[_OUT],
        cached_tokens=b[_CACHED],
        reasoning_tokens=b[_REASON],
        baseline_usd=baseline_usd,
        simulated=b[_SIM],
        first_ts=b[_FIRST] if b[_N] else None,
        last_ts=b[_LAST] if b[_N] else None,
    )


def _key_function(by: str | None) -> Callable[[Any], Hashable]:
    if by is None or by == "model":
        return attrgetter("model")
    if by == "day":
        day = _LocalDay()
        return lambda r: (day(r.ts), r.model)
    field = {"run": "run_id"}.get(by, by)
    return attrgetter(field, "model")


class _LocalDay:
    """``YYYY-MM-DD`` of a Unix time in local time, caching the current day's bounds.

    Ledger lines are nearly in time order, so almost every call is two comparisons.
    """

    __slots__ = ("_hi", "_label", "_lo")

    def __init__(self) -> None:
        self._lo = 0.0
        self._hi = -1.0
        self._label = ""

    def __call__(self, ts: float) -> str:
        if self._lo <= ts < self._hi:
            return self._label
        try:
            d = datetime.fromtimestamp(ts).date()
        except (OverflowError, OSError, ValueError):
            return NONE_KEY
        start = datetime(d.year, d.month, d.day)
        nxt: date = d + timedelta(days=1)
        self._lo = start.timestamp()
        self._hi = datetime(nxt.year, nxt.month, nxt.day).timestamp()
        self._label = d.isoformat()
        return self._label
