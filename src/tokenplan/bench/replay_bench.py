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


def _cheap_pair(train: OutcomeDataset, strong: str, catalog: Catalog) -> list[str]:
    limit = 0.25 * train.mean_cost(strong)
    cheap = [
        m
        for m in train.models
        if m != strong and train.has_responses(m) and train.mean_cost(m) <= limit
    ]
    cheap.sort(key=lambda m: (-train.accuracy(m), train.mean_cost(m), m))
    return cheap[:2]


def _policies(
    train: OutcomeDataset,
    catalog: Catalog,
    *,
    strong: str,
    weak: str,
    budgets: Sequence[float],
    curve_points: int,
    seed: int,
) -> tuple[list[Policy], dict[str, list[Policy]], dict[str, str], dict[str, Any], dict[str, str]]:
    sid, wid = train.model_id(strong), train.model_id(weak)
    policies: list[Policy] = [SingleModelPolicy(train.model_id(m)) for m in train.models]
    notes = {
        sid: "strong model (best train score)",
        wid: "weak model (best train score at <= 10% of the strong model's cost)",
    }
    # Acceptance checks read responses: without recorded responses they cannot run.
    checks = all(train.has_responses(m) for m in train.models)
    for strategy in ("cheapest", "balanced", "best_quality"):
        name = f"standin:{strategy}"
        accept = acceptance_check if checks else None
        policies.append(LadderPolicy(name, catalog_ladder(catalog, strategy), accept=accept))
        notes[name] = "catalog stand-in for the product router" + (
            " + acceptance-check escalation" if checks else " (no responses: no checks)"
        )
    if checks:
        policies.append(LadderPolicy("escalation-ladder", catalog_ladder(catalog, "escalation")))
        notes["escalation-ladder"] = "budget -> mid -> flagship on failed acceptance checks"
    families: dict[str, list[Policy]] = {}
    members: dict[str, str] = {}
    fitted: dict[str, Any] = {}
    pair = _cheap_pair(train, strong, catalog)
    if len(pair) == 2:
        ranks = [catalog.get(train.model_id(m)).prior("general") for m in pair]
        policies.append(
            UnanimousCascade(
                "agree-2", panel=[train.model_id(m) for m in pair], strong=sid, ranks=ranks
            )
        )
        notes["agree-2"] = f"accept when {' and '.join(pair)} agree, else {strong}"
    fit = CascadeFit(train, catalog, strong=strong)
    if fit.usable:
        for fraction in budgets:
            policy = fit.for_budget(fraction, seed=seed)
            policies.append(policy)
            members[policy.name] = "agree-cascade"
            fitted[policy.name] = policy.to_dict()  # type: ignore[attr-defined]
            notes[policy.name] = f"fitted on train to <= {fraction:.0%} of the strong model's cost"
        families["agree-cascade"] = [
            fit.policy(lam, name=f"agree-cascade λ={lam:.3g}")
            for lam in fit.lambda_grid(curve_points)
        ]
    mix = [RandomMixPolicy(weak=wid, strong=sid, strong_share=s, seed=seed) for s in _MIX_SHARES]
    families["random-mix"] = list(mix)
    policies.append(mix[len(mix) // 2])
    members[mix[len(mix) // 2].name] = "random-mix"
    notes[mix[len(mix) // 2].name] = "RouteLLM's random baseline (APGR ~0.5)"
    return policies, families, members, fitted, notes


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
    policies, families, members, fitted, notes = _policies(
        train,
        catalog,
        strong=strong,
        weak=weak,
        budgets=budgets,
        curve_points=curve_points,
        seed=split.seed,
    )
    policies.append(OraclePolicy(evaluation))
    notes["oracle"] = "UPPER BOUND: reads the grades (cheapest correct model)"
    replay = ReplayModel(evaluation)
    grader = LabelGrader(evaluation)
    queries = [Query(s.id, s.text, s.capability) for s in evaluation.samples]
    cache: dict[str, PolicyRun] = {}

    async def run(policy: Policy) -> PolicyRun:
        if policy.name not in cache:
            cache[policy.name] = await run_policy(policy, queries, model=replay, grader=grader)
        return cache[policy.name]

    runs = [await run(p) for p in policies]
    family_runs = {f: [await run(p) for p in ps] for f, ps in families.items()}
    for f in families:
        have = {r.policy for r in family_runs[f]}
        family_runs[f] += [r for r in runs if members.get(r.policy) == f and r.policy not in have]
    rows, curves = summarize(
        dataset.name,
        runs,
        strong=dataset.model_id(strong),
        weak=dataset.model_id(weak),
        families=family_runs,
        members=members,
        notes=notes,
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
        fitted={"catalog": [m.to_dict() for m in catalog], "cascades": fitted},
        seconds=time.perf_counter() - started,
    )
