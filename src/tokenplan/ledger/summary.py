"""Spend summaries: totals and per-group rows over ledger attempts.

Savings are measured against a baseline model: what the same token counts would have cost on
it (``pricing.cost_usd`` at the baseline's standard prices) minus what was actually paid.
Attempts whose model is not in the catalog count at their actual cost (no savings either way).
Wasted spend is
the cost of attempts whose outcome is not ``ok``; planner spend is the cost of ``plan`` attempts.

:func:`summarize` streams: memory grows with the number of groups, never with the number of
lines. Given a :class:`~tokenplan.ledger.reader.LedgerReader` it aggregates decoded records
directly, without building :class:`~tokenplan.ledger.attempt.Attempt` objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenplan.ledger import aggregate as agg
from tokenplan.ledger.reader import LedgerReader

if TYPE_CHECKING:
    from tokenplan.catalog import Catalog, Model
    from tokenplan.ledger.attempt import Attempt

__all__ = ["DEFAULT_BASELINE_MODEL", "GROUP_KEYS", "Summary", "SummaryRow", "summarize"]

#: What ``--by`` accepts.
GROUP_KEYS: tuple[str, ...] = ("model", "provider", "day", "run", "capability", "kind", "tier")
#: Same default as ``Settings.baseline_model``.
DEFAULT_BASELINE_MODEL = "openai/gpt-5.4"
#: Group label for attempts with no value for the grouping key (no capability, no tier).
NONE_KEY = agg.NONE_KEY


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

    acc = agg.Accumulator(by, catalog)
    skipped = 0
    if isinstance(attempts, LedgerReader):
        parts = attempts.split(workers) if workers > 1 else [attempts]
        if len(parts) > 1:
            from tokenplan.ledger.parallel import map_ranges

            for buckets, unknown, part_skipped in map_ranges(parts, agg.ScanRange(by, catalog)):
                acc.merge(buckets, unknown)
                skipped += part_skipped
        else:
            acc.add_reader(attempts)
            skipped = attempts.skipped
    else:
        acc.add(attempts)
    total_row, group_rows = acc.rows(base)
    groups = [_row(g) for g in group_rows]
    if by == "day":
        groups.sort(key=lambda g: g.key or "")
    else:
        groups.sort(key=lambda g: (-g.cost_usd, -g.attempts, g.key or ""))
    return Summary(
        totals=_row(total_row),
        groups=tuple(groups),
        by=by,
        baseline_model=base.id,
        skipped_lines=skipped,
    )


def _row(row: agg.Row) -> SummaryRow:
    key, b, baseline_usd = row
    if b is None:
        return SummaryRow(key=key)
    return SummaryRow(
        key=key,
        attempts=b[agg.N],
        ok=b[agg.OK],
        cost_usd=b[agg.COST],
        wasted_usd=b[agg.WASTED],
        planner_usd=b[agg.PLAN],
        input_tokens=b[agg.IN],
        output_tokens=b[agg.OUT],
        cached_tokens=b[agg.CACHED],
        reasoning_tokens=b[agg.REASON],
        baseline_usd=baseline_usd,
        simulated=b[agg.SIM],
        first_ts=b[agg.FIRST] if b[agg.N] else None,
        last_ts=b[agg.LAST] if b[agg.N] else None,
    )
