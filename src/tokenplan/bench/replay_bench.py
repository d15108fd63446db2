"""The replay benchmark of one dataset: split, fit on train, run every policy on eval.

1. The dataset is split deterministically (:class:`~tokenplan.bench.dataset.Split`).
2. On the train part only: the dataset catalog (prices, tiers, quality priors), the strong and
   weak models (best train score; best train score at <= 10% of the strong model's cost), the
   cascade tables and their budget operating points.
3. On the eval part: every policy runs through the replay provider and is graded from labels.

Policies: every single model; the router stand-ins ``cheapest``/``balanced``/``best_quality``
and the tier-escalation ladder with acceptance checks; when responses were recorded, the
unanimous-pair cascade and the fitted agreement cascade (one row per budget, plus its cost
weight sweep for APGR/CPT); the random strong/weak mix (APGR baseline); the oracle.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenplan.bench.catalog import build_catalog
from tokenplan.bench.dataset import OutcomeDataset, Split
from tokenplan.bench.harness import LabelGrader, PolicyRun, run_policy
from tokenplan.bench.policies.base import Policy, Query
from tokenplan.bench.policies.cascade import UnanimousCascade
from tokenplan.bench.policies.fit import CascadeFit
from tokenplan.bench.policies.ladder import LadderPolicy, acceptance_check, catalog_ladder
from tokenplan.bench.policies.simple import OraclePolicy, RandomMixPolicy, SingleModelPolicy
from tokenplan.bench.prices import PriceTable
from tokenplan.bench.replay import ReplayModel
from tokenplan.bench.results import BenchResult, summarize
from tokenplan.catalog import Catalog
from tokenplan.errors import UsageError

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


def _ladders(lineup: _Lineup, train: OutcomeDataset, catalog: Catalog) -> None:
    # Acceptance checks read responses: without recorded responses they cannot run.
    checks = all(train.has_responses(m) for m in train.models)
    accept = acceptance_check if checks else None
    suffix = " + acceptance-check escalation" if checks else " (no responses: no checks)"
    for strategy in ("cheapest", "balanced", "best_quality"):
        lineup.add(
            LadderPolicy(f"standin:{strategy}", catalog_ladder(catalog, strategy), accept=accept),
            "catalog stand-in for the product router" + suffix,
        )
    if checks:
        lineup.add(
            LadderPolicy("escalation-ladder", catalog_ladder(catalog, "escalation")),
            "budget -> mid -> flagship on failed acceptance checks",
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
    _ladders(lineup, train, catalog)
    _cascades(
        lineup, train, catalog, strong=strong, budgets=budgets, curve_points=curve_points, seed=seed
    )
    mix = [RandomMixPolicy(weak=wid, strong=sid, strong_share=s, seed=seed) for s in _MIX_SHARES]
    lineup.families["random-mix"] = list(mix)
    lineup.add(mix[len(mix) // 2], "RouteLLM's random baseline (APGR ~0.5)", family="random-mix")
    lineup.add(OraclePolicy(evaluation), "UPPER BOUND: reads the grades (cheapest correct model)")
    return lineup


async def _run_lineup(
    lineup: _Lineup, evaluation: OutcomeDataset
) -> tuple[list[PolicyRun], dict[str, list[PolicyRun]]]:
    replay = ReplayModel(evaluation)
    grader = LabelGrader(evaluation)
    queries = [Query(s.id, s.text, s.capability) for s in evaluation.samples]
    cache: dict[str, PolicyRun] = {}

    async def run(policy: Policy) -> PolicyRun:
        if policy.name not in cache:
            cache[policy.name] = await run_policy(policy, queries, model=replay, grader=grader)
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
) -> BenchResult:
    """Benchmark every policy on ``dataset``'s eval part (see the module docstring)."""
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
    runs, family_runs = await _run_lineup(lineup, evaluation)
    rows, curves = summarize(
        dataset.name,
        runs,
        strong=dataset.model_id(strong),
        weak=dataset.model_id(weak),
        families=family_runs,
        members=lineup.members,
        notes=lineup.notes,
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
        strong=dataset.model_id(strong),
        weak=dataset.model_id(weak),
        notes=result_notes,
        fitted={"catalog": [m.to_dict() for m in catalog], "cascades": lineup.fitted},
        seconds=time.perf_counter() - started,
    )
