"""Streaming aggregation behind :func:`tokenplan.ledger.summary.summarize` (internal).

Running sums are kept per group in plain lists (a "bucket"), never per line. The baseline cost
is linear in token counts, so it is priced once per group at the end from summed tokens (each
line's cached and reasoning counts clamped to their totals first, as ``pricing.cost_usd`` does);
only attempts on models outside the catalog need sums of their own, since their baseline is
their actual cost.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec

from tokenplan.ledger.filters import LedgerFilter
from tokenplan.ledger.reader import LedgerReader
from tokenplan.pricing import cost_usd

if TYPE_CHECKING:
    from tokenplan.catalog import Catalog, Model

__all__ = ["NONE_KEY", "Accumulator", "Buckets", "Row", "ScanRange"]

#: Group label for attempts with no value for the grouping key (no capability, no tier).
NONE_KEY = "-"


# Bucket slots: running sums for one group.
N, OK, COST, WASTED, PLAN, IN, OUT, CACHED, REASON, XCACHED, XREASON, SIM = range(12)
FIRST, LAST = 12, 13
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


Buckets = dict[Hashable, list[Any]]
#: ``(label, bucket, baseline_usd)``; ``label`` is ``None`` for the totals.
Row = tuple[str | None, list[Any] | None, float]


class ScanRange:
    """Summarize one reader's range into raw sums (runs in forked workers; results pickle)."""

    def __init__(self, by: str | None, catalog: Catalog) -> None:
        self.by = by
        self.catalog = catalog

    def __call__(self, reader: LedgerReader) -> tuple[Buckets, Buckets, int]:
        acc = Accumulator(self.by, self.catalog)
        acc.add_reader(reader)
        return acc.buckets, acc.unknown, reader.skipped


class Accumulator:
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
        self.buckets: Buckets = {}
        self.unknown: Buckets = {}

    def add_reader(self, reader: LedgerReader) -> None:
        record_type = _record_type(_needed_fields(self._by, reader.filter))
        for batch in reader.scan(record_type):
            self.add(batch)

    def merge(self, buckets: Buckets, unknown: Buckets) -> None:
        for key, b in buckets.items():
            _merge(self.buckets, key, b)
        for key, u in unknown.items():
            _merge(self.unknown, key, u)

    def add(self, records: Iterable[Any]) -> None:
        """Add attempts, or reader records with the same attribute names."""
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
            b[N] += 1
            if r.outcome == "ok":
                b[OK] += 1
            else:
                b[WASTED] += cost
            if r.kind == "plan":
                b[PLAN] += cost
            b[COST] += cost
            b[IN] += i
            b[OUT] += o
            b[CACHED] += c
            b[REASON] += rs
            # Subsets larger than their totals are clamped per line when pricing the baseline
            # (as pricing.cost_usd does), so the baseline equals the sum over lines.
            if c > i:
                b[XCACHED] += c - i
                c = i
            if rs > o:
                b[XREASON] += rs - o
                rs = o
            if r.simulated:
                b[SIM] += 1
            if ts < b[FIRST]:
                b[FIRST] = ts
            if ts > b[LAST]:
                b[LAST] = ts
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

    def rows(self, baseline: Model) -> tuple[Row, list[Row]]:
        """``(totals, groups)`` as ``(label, bucket, baseline_usd)``; groups in no set order.

        The baseline is priced at its standard rates: summed tokens would wrongly cross a
        long-context threshold that no single call reached.
        """
        if baseline.extra.get("long_context"):
            extra = {k: v for k, v in baseline.extra.items() if k != "long_context"}
            baseline = replace(baseline, extra=extra)
        by_label: Buckets = {}
        unknown_by_label: Buckets = {}
        for key, b in self.buckets.items():
            label = None if self._by is None else _label(key)
            _merge(by_label, label, b)
            if key in self.unknown:
                _merge(unknown_by_label, label, self.unknown[key])
        total = total_unknown = None
        groups: list[Row] = []
        for group, b in by_label.items():
            u = unknown_by_label.get(group)
            if group is not None:
                groups.append((str(group), b, _baseline_usd(baseline, b, u)))
            total = _merged(total, b)
            total_unknown = _merged(total_unknown, u)
        return (None, total, _baseline_usd(baseline, total, total_unknown)), groups


def _label(key: Hashable) -> str:
    return NONE_KEY if key is None or key == "" else str(key)


def _baseline_usd(baseline: Model, b: list[Any] | None, u: list[Any] | None) -> float:
    if b is None:
        return 0.0
    u = u or [0.0, 0, 0, 0, 0]
    unknown_cost: float = u[_U_COST]
    return unknown_cost + cost_usd(
        baseline,
        input_tokens=b[IN] - u[_U_IN],
        output_tokens=b[OUT] - u[_U_OUT],
        cached_tokens=b[CACHED] - b[XCACHED] - u[_U_CACHED],
        reasoning_tokens=b[REASON] - b[XREASON] - u[_U_REASON],
    )


def _merged(into: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    if b is None:
        return into
    if into is None:
        return list(b)
    _add_into(into, b)
    return into


def _merge(merged: Buckets, key: Hashable, b: list[Any]) -> None:
    m = merged.get(key)
    if m is None:
        merged[key] = list(b)
    else:
        _add_into(m, b)


def _add_into(m: list[Any], b: list[Any]) -> None:
    """Add bucket ``b`` into ``m`` (sums, except the first/last time slots of full buckets)."""
    if len(b) > FIRST:
        for slot in range(FIRST):
            m[slot] += b[slot]
        m[FIRST] = min(m[FIRST], b[FIRST])
        m[LAST] = max(m[LAST], b[LAST])
    else:
        for slot in range(len(b)):
            m[slot] += b[slot]


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
