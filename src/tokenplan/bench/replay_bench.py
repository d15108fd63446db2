"""The replay benchmark of one dataset: split, fit on train, run every policy on eval.

1. The dataset is split deterministically (:class:`~tokenplan.bench.dataset.Split`).
2. On the train part only: the dataset catalog (prices, tiers, quality priors), the strong and
   weak models (best train score; best train score at <= 10% of the strong model's cost), the
   cascade tables and their budget operating points.
3. On the eval part: every policy runs through the replay provider and is graded from labels.

Policies: every single model; the product's router (``router:cheapest``, ``router:balanced``,
``router:best_quality``) over the dataset catalog; the product's escalation
(``escalation:cheapest``, ``escalation:balanced``: the router's choice, then the next tier up on
an answer the acceptance checks reject); when responses were recorded, the unanimous-pair
cascade and the fitted agreement cascade (one row per budget, plus its cost weight sweep for
APGR/CPT); the random strong/weak mix (APGR baseline); the oracle, and the *cascade bounds*
(``cascade-bound@X%``: the agreement cascade fitted on the eval part itself, so the best its
response-only signals allow at that budget - upper bounds, marked ``oracle``).

Every call goes through the product's metering (:mod:`tokenplan.bench.metering`) over the
replay provider; with ``budget_usd`` each policy runs under its own hard
:class:`~tokenplan.budget.Budget` of that size.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenplan.bench.catalog import build_catalog
from tokenplan.bench.dataset import OutcomeDataset, Split
from tokenplan.bench.harness import LabelGrader, PolicyRun, run_policy
from tokenplan.bench.metering import MeteredModels
from tokenplan.bench.policies.base import Policy, Query
from tokenplan.bench.policies.cascade import UnanimousCascade
from tokenplan.bench.policies.fit import CascadeFit
from tokenplan.bench.policies.product import EscalationPolicy, RouterPolicy
from tokenplan.bench.policies.simple import (
    OraclePolicy,
    RandomMixPolicy,
    SingleModelPolicy,
    UpperBound,
)
from tokenplan.bench.prices import PriceTable
from tokenplan.bench.replay import ReplayModel
from tokenplan.bench.results import BenchResult, summarize, task_rows
from tokenplan.budget import Budget
from tokenplan.catalog import Catalog
from tokenplan.errors import UsageError
from tokenplan.providers.metered import AttemptSink
from tokenplan.routing.router import Router
from tokenplan.settings import Settings

__all__ = ["DEFAULT_BUDGETS", "pick_pair", "run_replay_benchmark"]

#: Cascade operating points: fractions of the strong model's train cost.
DEFAULT_BUDGETS: tuple[float, ...] = (0.10, 0.20)
_WEAK_COST_RATIO = 0.10
_MIX_SHARES = tuple(i / 10 for i in range(11))


def pick_pair(train: OutcomeDataset) -> tuple[str, str]:
    """``(strong, weak)`` dataset model names, chosen on ``train`` only.

    Strong: the best mean score (ties: cheaper). Weak: the best score among models costing at
    most 10% of the strong one (none: the cheapest other model).
    """
    strong = max(train.models, key=lambda m: (train.accuracy(m), -train.mean_cost(m), m))
    others = [m for m in train.models if m != strong]
    if not others:
        raise UsageError(f"{train.name} has one model; a benchmark needs at least two")
    cap = _WEAK_COST_RATIO * train.mean_cost(strong)
    cheap = [m for m in others if train.mean_cost(m) <= cap]
    if cheap:
        weak = max(cheap, key=lambda m: (train.accuracy(m), -train.mean_cost(m), m))
    else:
        weak = min(others, key=lambda m: (train.mean_cost(m), m))
    return strong, weak


def _cheap_pair(train: OutcomeDataset, strong: str) -> list[str]:
    limit = 0.25 * train.mean_cost(strong)
    cheap = [
        m
        for m in train.models
        if m != strong and train.has_responses(m) and train.mean_cost(m) <= limit
    ]
    cheap.sort(key=lambda m: (-train.accuracy(m), train.mean_cost(m), m))
    return cheap[:2]


@dataclass
class _Lineup:
    """The policies of a run, the knob families behind APGR/CPT, notes and fitted tables."""

    policies: list[Policy] = field(default_factory=list)
    families: dict[str, list[Policy]] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    fitted: dict[str, Any] = field(default_factory=dict)

    def add(self, policy: Policy, note: str = "", *, family: str | None = None) -> None:
        self.policies.append(policy)
        if note:
            self.notes[policy.name] = note
        if family:
            self.members[policy.name] = family


def _product(lineup: _Lineup, train: OutcomeDataset, catalog: Catalog) -> None:
    # Default settings, not the user's config: its rules and lists name other catalogs' models.
    router = Router(catalog, Settings())
    for strategy in ("cheapest", "balanced", "best_quality"):
        lineup.add(
            RouterPolicy(router, strategy=strategy),
            "the product router over the dataset catalog (classifier capability, fitted priors)",
        )
    # Acceptance checks read responses: without recorded responses they cannot run.
    if all(train.has_responses(m) for m in train.models):
        for strategy in ("cheapest", "balanced"):
            lineup.add(
                EscalationPolicy(router, strategy=strategy),
                f"router:{strategy}, then the next tier up when the answer fails its checks",
            )


def _cascades(
    lineup: _Lineup,
    train: OutcomeDataset,
    catalog: Catalog,
    *,
    strong: str,
    budgets: Sequence[float],
    curve_points: int,
    seed: int,
) -> None:
    sid = train.model_id(strong)
    pair = _cheap_pair(train, strong)
    if len(pair) == 2:
        panel = [train.model_id(m) for m in pair]
        ranks = [catalog.get(m).prior("general") for m in panel]
        lineup.add(
            UnanimousCascade("agree-2", panel=panel, strong=sid, ranks=ranks),
            f"accept when {' and '.join(pair)} agree, else {strong}",
        )
    fit = CascadeFit(train, catalog, strong=strong)
    if not fit.usable:
        return
    for fraction in budgets:
        policy = fit.for_budget(fraction, seed=seed)
        note = f"fitted on train to {fraction:.0%} of the strong model's cost"
        lineup.add(policy, note, family="agree-cascade")
        lineup.fitted[policy.name] = policy.to_dict()  # type: ignore[attr-defined]
    lineup.families["agree-cascade"] = [
        fit.policy(lam, name=f"agree-cascade λ={lam:.3g}") for lam in fit.lambda_grid(curve_points)
    ]


def _lineup(
    train: OutcomeDataset,
    evaluation: OutcomeDataset,
    catalog: Catalog,
    *,
    strong: str,
    weak: str,
    budgets: Sequence[float],
    curve_points: int,
    seed: int,
) -> _Lineup:
    sid, wid = train.model_id(strong), train.model_id(weak)
    lineup = _Lineup()
    for m in train.models:
        lineup.add(SingleModelPolicy(train.model_id(m)))
    lineup.notes[sid] = "strong model (best train score)"
    lineup.notes[wid] = "weak model (best train score at <= 10% of the strong model's cost)"
    _product(lineup, train, catalog)
    _cascades(
        lineup, train, catalog, strong=strong, budgets=budgets, curve_points=curve_points, seed=seed
    )
    mix = [RandomMixPolicy(weak=wid, strong=sid, strong_share=s, seed=seed) for s in _MIX_SHARES]
    lineup.families["random-mix"] = list(mix)
    lineup.add(mix[len(mix) // 2], "RouteLLM's random baseline (APGR ~0.5)", family="random-mix")
    _bounds(lineup, evaluation, strong=strong, budgets=budgets, seed=seed)
    lineup.add(OraclePolicy(evaluation), "UPPER BOUND: reads the grades (cheapest correct model)")
    return lineup


def _bounds(
    lineup: _Lineup, evaluation: OutcomeDataset, *, strong: str, budgets: Sequence[float], seed: int
) -> None:
    """Agreement cascades fitted on the eval part itself: what the response-only signals they
    read could give at each budget if the fit knew the eval grades (an upper bound only)."""
    fit = CascadeFit(evaluation, build_catalog(evaluation), strong=strong, smoothing=0.0)
    if not fit.usable:
        return
    for fraction in budgets:
        name = f"cascade-bound@{fraction:.0%}"
        lineup.add(
            UpperBound(fit.for_budget(fraction, name=name, seed=seed), name=name),
            "UPPER BOUND: the agreement cascade fitted on the eval grades themselves",
        )


async def _run_lineup(
    lineup: _Lineup,
    evaluation: OutcomeDataset,
    catalog: Catalog,
    *,
    budget_usd: float | None,
    ledger: AttemptSink | None,
    run_id: str,
) -> tuple[list[PolicyRun], dict[str, list[PolicyRun]]]:
    replay = ReplayModel(evaluation, catalog=catalog)
    models = MeteredModels.wrapping(replay, catalog, provider="replay", forward=ledger)
    grader = LabelGrader(evaluation)
    queries = [Query(s.id, s.text, s.capability) for s in evaluation.samples]
    cache: dict[str, PolicyRun] = {}

    async def run(policy: Policy) -> PolicyRun:
        if policy.name not in cache:
            budget = Budget(budget_usd) if budget_usd is not None else None
            cache[policy.name] = await run_policy(
                policy, queries, models=models, grader=grader, budget=budget, run_id=run_id
            )
        return cache[policy.name]

    runs = [await run(p) for p in lineup.policies]
    family_runs = {f: [await run(p) for p in ps] for f, ps in lineup.families.items()}
    for f, family in family_runs.items():
        have = {r.policy for r in family}
        family += [r for r in runs if lineup.members.get(r.policy) == f and r.policy not in have]
    return runs, family_runs


async def run_replay_benchmark(
    dataset: OutcomeDataset,
    *,
    split: Split,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    prices: PriceTable | None = None,
    curve_points: int = 13,
    budget_usd: float | None = None,
    ledger: AttemptSink | None = None,
    run_id: str = "bench",
) -> BenchResult:
    """Benchmark every policy on ``dataset``'s eval part (see the module docstring).

    ``budget_usd`` gives each policy a hard budget for the whole eval part (queries whose
    calls cannot fit score 0 and count as errors); ``ledger`` receives every call's
    :class:`~tokenplan.ledger.attempt.Attempt` (``kind="bench"``, under ``run_id``).
    """
    started = time.perf_counter()
    train, evaluation = dataset.split(split)
    if not len(train) or not len(evaluation):
        raise UsageError(
            f"split {split} leaves {len(train)} train and {len(evaluation)} eval prompts in "
            f"{dataset.name}; both parts need prompts"
        )
    catalog = build_catalog(train, prices=prices)
    strong, weak = pick_pair(train)
    lineup = _lineup(
        train,
        evaluation,
        catalog,
        strong=strong,
        weak=weak,
        budgets=budgets,
        curve_points=curve_points,
        seed=split.seed,
    )
    runs, family_runs = await _run_lineup(
        lineup, evaluation, catalog, budget_usd=budget_usd, ledger=ledger, run_id=run_id
    )
    rows, curves = summarize(
        dataset.name,
        runs,
        strong=dataset.model_id(strong),
        weak=dataset.model_id(weak),
        families=family_runs,
        members=lineup.members,
        notes=lineup.notes,
    )
    reference = rows[0].reference if rows else ""
    tasks = task_rows(
        dataset.name,
        runs,
        task_of={s.id: s.task.split("/", 1)[0] for s in evaluation.samples},
        reference=reference,
    )
    result_notes = [
        *dataset.notes,
        f"split {split}: {len(train)} train / {len(evaluation)} eval prompts; everything "
        "fitted on train, every figure measured on eval",
        f"strong/weak pair for APGR/CPT: {strong} / {weak}",
    ]
    return BenchResult(
        dataset=dataset.name,
        rows=rows,
        curves=curves,
        tasks=tasks,
        strong=dataset.model_id(strong),
        weak=dataset.model_id(weak),
        notes=result_notes,
        fitted={"catalog": [m.to_dict() for m in catalog], "cascades": lineup.fitted},
        seconds=time.perf_counter() - started,
    )
