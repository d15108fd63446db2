"""Result rows of a benchmark run and how they are computed from policy runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tokenplan.bench.harness import PolicyRun
from tokenplan.bench.metrics import CurvePoint, apgr, cpt

__all__ = ["BenchResult", "ResultRow", "TaskRow", "curve_point", "summarize", "task_rows"]


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One policy's figures on one dataset (the rows of ``results.csv``).

    ``pct_best_*`` compare with the best single model on the same queries (``reference``).
    ``apgr``/``cpt50``/``cpt80`` are set for policies with a strong/weak knob (the curve of
    their family), ``strong_share`` is the share of queries that called the strong model.
    """

    dataset: str
    policy: str
    kind: str
    n: int
    accuracy: float
    usd_per_1k: float
    pct_best_accuracy: float
    pct_best_cost: float
    escalation_rate: float
    strong_share: float
    calls_per_query: float
    apgr: float | None = None
    cpt50: float | None = None
    cpt80: float | None = None
    errors: int = 0
    reference: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One policy's figures on the queries of one task family (the rows of ``tasks.csv``).

    ``pct_reference_*`` compare with the reference model (the best single model overall) on
    the same queries.
    """

    dataset: str
    policy: str
    kind: str
    task: str
    n: int
    accuracy: float
    usd_per_1k: float
    pct_reference_accuracy: float
    pct_reference_cost: float
    reference: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class BenchResult:
    """Everything one dataset's benchmark produced."""

    dataset: str
    rows: list[ResultRow]
    curves: dict[str, list[CurvePoint]] = field(default_factory=dict)
    tasks: list[TaskRow] = field(default_factory=list)
    strong: str = ""
    weak: str = ""
    notes: list[str] = field(default_factory=list)
    fitted: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def curve_point(run: PolicyRun, strong_id: str) -> CurvePoint:
    return CurvePoint(run.strong_share(strong_id), run.accuracy, run.cost_per_query)


def summarize(
    dataset: str,
    runs: Sequence[PolicyRun],
    *,
    strong: str,
    weak: str,
    families: Mapping[str, Sequence[PolicyRun]] | None = None,
    members: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
) -> tuple[list[ResultRow], dict[str, list[CurvePoint]]]:
    """Rows for ``runs`` plus the curves of knob ``families``.

    ``members`` maps a run's policy name to the family whose APGR/CPT its row carries. The
    reference for the ``pct_best_*`` columns is the best-scoring ``single`` run (ties: cheaper).
    """
    singles = [r for r in runs if r.kind == "single"]
    best = max(singles, key=lambda r: (r.accuracy, -r.cost_per_query)) if singles else None
    by_name = {r.policy: r for r in runs}
    weak_q = by_name[weak].accuracy if weak in by_name else math.nan
    strong_q = by_name[strong].accuracy if strong in by_name else math.nan
    curves = {f: [curve_point(r, strong) for r in rs] for f, rs in (families or {}).items()}
    family_metrics = {f: _knob_metrics(p, weak=weak_q, strong=strong_q) for f, p in curves.items()}
    rows = []
    for r in runs:
        fam = (members or {}).get(r.policy)
        a, c50, c80 = family_metrics.get(fam, (None, None, None)) if fam else (None, None, None)
        rows.append(
            ResultRow(
                dataset=dataset,
                policy=r.policy,
                kind=r.kind,
                n=r.n,
                accuracy=r.accuracy,
                usd_per_1k=1000.0 * r.cost_per_query,
                pct_best_accuracy=_pct(r.accuracy, best.accuracy if best else math.nan),
                pct_best_cost=_pct(r.cost_per_query, best.cost_per_query if best else math.nan),
                escalation_rate=r.escalation_rate,
                strong_share=r.strong_share(strong),
                calls_per_query=r.calls_per_query,
                apgr=a,
                cpt50=c50,
                cpt80=c80,
                errors=r.errors,
                reference=best.policy if best else "",
                note=(notes or {}).get(r.policy, ""),
            )
        )
    return rows, curves


def task_rows(
    dataset: str, runs: Sequence[PolicyRun], *, task_of: Mapping[str, str], reference: str
) -> list[TaskRow]:
    """Per policy and task family (``task_of`` maps query ids to it): accuracy and cost,
    relative to the ``reference`` run on the same queries. Empty with fewer than two tasks."""
    tasks = sorted(set(task_of.values()))
    if len(tasks) < 2:
        return []
    by_name = {r.policy: r for r in runs}
    ref = by_name.get(reference)

    def totals(run: PolicyRun, task: str) -> tuple[int, float, float]:
        picked = [o for o in run.outcomes if task_of.get(o.query_id) == task]
        return len(picked), sum(o.score for o in picked), sum(o.cost_usd for o in picked)

    rows = []
    for run in runs:
        for task in tasks:
            n, score, cost = totals(run, task)
            if not n:
                continue
            _, ref_score, ref_cost = totals(ref, task) if ref else (0, math.nan, math.nan)
            rows.append(
                TaskRow(
                    dataset=dataset,
                    policy=run.policy,
                    kind=run.kind,
                    task=task,
                    n=n,
                    accuracy=score / n,
                    usd_per_1k=1000.0 * cost / n,
                    pct_reference_accuracy=_pct(score, ref_score),
                    pct_reference_cost=_pct(cost, ref_cost),
                    reference=reference,
                )
            )
    return rows


def _knob_metrics(
    points: Sequence[CurvePoint], *, weak: float, strong: float
) -> tuple[float | None, float | None, float | None]:
    """``(APGR, CPT(50%), CPT(80%))`` of a curve; ``None`` where undefined."""
    if math.isnan(weak) or math.isnan(strong):
        return (None, None, None)
    return (
        apgr(points, weak=weak, strong=strong),
        cpt(points, 0.5, weak=weak, strong=strong),
        cpt(points, 0.8, weak=weak, strong=strong),
    )


def _pct(value: float, reference: float) -> float:
    if not reference or math.isnan(reference):
        return math.nan
    return 100.0 * value / reference
