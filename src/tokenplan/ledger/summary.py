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

import functools
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from tokenplan.ledger.filters import LedgerFilter
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

    acc = _Accumulator(by, catalog)
    skipped = 0
    if isinstance(attempts, LedgerReader):
        parts = attempts.split(workers) if workers > 1 else [attempts]
        if len(parts) > 1:
            from tokenplan.ledger.parallel import map_ranges

            for buckets, unknown, part_skipped in map_ranges(parts, _ScanRange(by, catalog)):
                acc.merge(buckets, unknown)
                skipped += part_skipped
        else:
            acc.add_reader(attempts)
            skipped = attempts.skipped
    else:
        acc.add(attempts)
    totals, groups = acc.rows(base)
    return Summary(
        totals=totals, groups=groups, by=by, baseline_model=base.id, skipped_lines=skipped
    )


# Bucket slots: running sums for one group.
_N, _OK, _COST, _WASTED, _PLAN, _IN, _OUT, _CACHED, _REASON, _XCACHED, _XREASON, _SIM = range(12)
_FIRST, _LAST = 12, 13
# Unknown-model slots: sums over a group's attempts whose model is not in the catalog (their
# baseline is their actual cost), with subsets already clamped to their totals.
_U_COST, _U_IN, _U_OUT, _U_CACHED, _U_REASON = range(5)


# What a summary reads of every line; grouping and filters may need one or two more.
_SUMMARY_FIELDS: tuple[tuple[str, Any, Any], ...] = (
    ("kind", str, msgspec.NODEFAULT),
    ("model", str, msgspec.NODEFAULT),
    ("outcome", str, msgspec.NODEFAULT),
    ("ts", float, msgspec.NODEFAULT),
    ("input_tokens", int, 0),
    ("output_tokens", int, 0),
    ("cached_tokens", int, 0),
    ("reasoning_tokens", int, 0),
    ("cost_usd", float, 0.0),
    ("simulated", bool, False),
)
_OPTIONAL_FIELDS: dict[str, tuple[str, Any, Any]] = {
    "run_id": ("run_id", str, msgspec.NODEFAULT),
    "provider": ("provider", str, msgspec.NODEFAULT),
    "step_id": ("step_id", str | None, None),
    "tier": ("tier", str, ""),
    "capability": ("capability", str | None, None),
}


@functools.lru_cache(maxsize=32)
def _record_type(extra: frozenset[str]) -> type[Any]:
    """A struct with the summary's fields plus ``extra``: every other key is skipped unparsed,
    which makes decoding a large ledger about a fifth cheaper than decoding whole lines."""
    fields = [*_SUMMARY_FIELDS, *(_OPTIONAL_FIELDS[name] for name in sorted(extra))]
    return msgspec.defstruct("SummaryRecord", fields, gc=False, kw_only=True)


def _needed_fields(by: str | None, flt: LedgerFilter) -> frozenset[str]:
    extra = {"run": "run_id"}.get(by or "", by or "")
    needed = {extra} if extra in _OPTIONAL_FIELDS else set()
    for name, value in (("run_id", flt.run), ("provider", flt.provider), ("step_id", flt.step)):
        if value is not None:
            needed.add(name)
    return frozenset(needed)


_Buckets = dict[Hashable, list[Any]]


class _ScanRange:
    """Summarize one reader's range into raw sums (runs in forked workers; results pickle)."""

    def __init__(self, by: str | None, catalog: Catalog) -> None:
        self.by = by
        self.catalog = catalog

    def __call__(self, reader: LedgerReader) -> tuple[_Buckets, _Buckets, int]:
        acc = _Accumulator(self.by, self.catalog)
        acc.add_reader(reader)
        return acc.buckets, acc.unknown, reader.skipped


class _Accumulator:
    """Running sums per group, in one pass, without keeping any line.

    The baseline cost is linear in token counts, so it is priced once per group at the end from
    summed (clamped) tokens; only attempts on models outside the catalog need their own sums.
    """

    __slots__ = ("_by", "_catalog", "_key", "_known", "buckets", "unknown")

    def __init__(self, by: str | None, catalog: Catalog) -> None:
        self._by = by
        self._catalog = catalog
        self._key = _key_function(by)
        self._known: dict[str, bool] = {}
        self.buckets: _Buckets = {}
        self.unknown: _Buckets = {}

    def add_reader(self, reader: LedgerReader) -> None:
        record_type = _record_type(_needed_fields(self._by, reader.filter))
        for batch in reader.scan(record_type):
            self.add(batch)

    def merge(self, buckets: _Buckets, unknown: _Buckets) -> None:
        for key, b in buckets.items():
            _merge(self.buckets, key, b)
        for key, u in unknown.items():
            _merge(self.unknown, key, u)

    def add(self, records: Iterable[_RecordLike]) -> None:
        buckets = self.buckets
        unknown = self.unknown
        key_of = self._key
        known = self._known
        inf = float("inf")
        for r in records:
            key = None if key_of is None else key_of(r)
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
            # (as pricing.cost_usd does), so the baseline equals the sum over lines.
            if c > i:
                b[_XCACHED] += c - i
                c = i
            if rs > o:
                b[_XREASON] += rs - o
                rs = o
            if r.simulated:
                b[_SIM] += 1
            if ts < b[_FIRST]:
                b[_FIRST] = ts
            if ts > b[_LAST]:
                b[_LAST] = ts
            m = r.model
            k = known.get(m)
            if k is None:
                k = known[m] = self._catalog.find(m) is not None
            if not k:
                u = unknown.get(key)
                if u is None:
                    u = unknown[key] = [0.0, 0, 0, 0, 0]
                u[_U_COST] += cost
                u[_U_IN] += i
                u[_U_OUT] += o
                u[_U_CACHED] += c
                u[_U_REASON] += rs

    def rows(self, baseline: Model) -> tuple[SummaryRow, tuple[SummaryRow, ...]]:
        by_label: _Buckets = {}
        unknown_by_label: _Buckets = {}
        for key, b in self.buckets.items():
            label = None if self._by is None else _label(key)
            _merge(by_label, label, b)
            if key in self.unknown:
                _merge(unknown_by_label, label, self.unknown[key])
        total = total_unknown = None
        groups = []
        for group, b in by_label.items():
            u = unknown_by_label.get(group)
            if group is not None:
                groups.append(_row(str(group), b, _baseline_usd(baseline, b, u)))
            total = _merged(total, b)
            total_unknown = _merged(total_unknown, u)
        totals = _row(None, total, _baseline_usd(baseline, total, total_unknown))
        if self._by == "day":
            groups.sort(key=lambda g: g.key or "")
        else:
            groups.sort(key=lambda g: (-g.cost_usd, -g.attempts, g.key or ""))
        return totals, tuple(groups)


def _label(key: Hashable) -> str:
    return NONE_KEY if key is None or key == "" else str(key)


def _baseline_usd(baseline: Model, b: list[Any] | None, u: list[Any] | None) -> float:
    if b is None:
        return 0.0
    u = u or [0.0, 0, 0, 0, 0]
    unknown_cost: float = u[_U_COST]
    return unknown_cost + cost_usd(
        baseline,
        input_tokens=b[_IN] - u[_U_IN],
        output_tokens=b[_OUT] - u[_U_OUT],
        cached_tokens=b[_CACHED] - b[_XCACHED] - u[_U_CACHED],
        reasoning_tokens=b[_REASON] - b[_XREASON] - u[_U_REASON],
    )


def _merged(into: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    if b is None:
        return into
    if into is None:
        return list(b)
    _add_into(into, b)
    return into


def _merge(merged: _Buckets, key: Hashable, b: list[Any]) -> None:
    m = merged.get(key)
    if m is None:
        merged[key] = list(b)
    else:
        _add_into(m, b)


def _add_into(m: list[Any], b: list[Any]) -> None:
    """Add bucket ``b`` into ``m`` (sums, except the first/last time slots of full buckets)."""
    if len(b) > _FIRST:
        for slot in range(_FIRST):
            m[slot] += b[slot]
        m[_FIRST] = min(m[_FIRST], b[_FIRST])
        m[_LAST] = max(m[_LAST], b[_LAST])
    else:
        for slot in range(len(b)):
            m[slot] += b[slot]


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


def _key_function(by: str | None) -> Callable[[Any], Hashable] | None:
    """The group key of a record (``None``: no grouping)."""
    if by is None:
        return None
    if by == "day":
        day = _LocalDay()
        return lambda r: day(r.ts)
    return attrgetter({"run": "run_id"}.get(by, by))


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
