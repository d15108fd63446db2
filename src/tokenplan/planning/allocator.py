"""The budget allocator: one model per step so the plan fits the budget and is most likely to work.

The problem is a multiple-choice knapsack (:mod:`tokenplan.planning.knapsack`): each step picks
one candidate model (:mod:`tokenplan.planning.candidates`); the steps' estimated costs must
fit ``cap = budget - planner cost - reserve`` (reserve = ``reserve_fraction * budget``, held back
for escalations); the objective is the plan's expected success, the product of the steps'
quality priors, as a sum of logs in which each step weighs ``1 + critical_path_weight *
criticality`` (criticality is 1 on the critical path and falls with slack: a failure there
delays the whole run, elsewhere it may hide in slack).

Strategies:

* ``cheapest``: the cheapest candidate of every step (quality floor applies, see candidates).
* ``best_quality``: the highest objective that fits the cap (exact branch-and-bound; on very
  large plans the best solution found within a fixed effort, ``Allocation.exact`` says which).
* ``balanced``: the same optimisation under a lower cap at the knee of the cost/success
  frontier: upgrades are kept while they buy at least the frontier's average success per dollar
  and at least ``balanced_rate`` relative success per relative share of the cap (default 1: an
  upgrade costing 10% of the cap must raise expected success by ~10%). It spends more as the
  budget grows, but does not spend a budget just because it is there.

Estimated step cost is the worst case of the step's token estimates on the model
(:meth:`Model.worst_case_cost`), with a reasoning model's output multiplied by
``reasoning_output_factor`` (hidden reasoning is billed as output). If even the cheapest
assignment does not fit, :class:`BudgetError` names the smallest budget that would, before
anything is spent.

The result types (:class:`Allocation`, :class:`StepAllocation`, :class:`Alternative`) and each
step's reason live in :mod:`tokenplan.planning.allocation` and are importable from here too.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokenplan.catalog.catalog import Catalog
from tokenplan.errors import BudgetError, UsageError
from tokenplan.inputs import check_budget_usd
from tokenplan.money import format_usd
from tokenplan.planning import knapsack
from tokenplan.planning._money import ceil_usd
from tokenplan.planning.allocation import (
    Allocation,
    Alternative,
    StepAllocation,
    step_allocations,
)
from tokenplan.planning.candidates import (
    DEFAULT_QUALITY_FLOOR,
    DEFAULT_REASONING_OUTPUT_FACTOR,
    Candidate,
    CandidateFilter,
    StepCandidates,
    step_candidates,
)
from tokenplan.planning.inputs import check_strategy
from tokenplan.planning.schema import Plan
from tokenplan.planning.validate import validate_plan

if TYPE_CHECKING:
    from tokenplan.settings import Settings

__all__ = [
    "DEFAULT_BALANCED_RATE",
    "DEFAULT_CRITICAL_PATH_WEIGHT",
    "Allocation",
    "Alternative",
    "StepAllocation",
    "allocate",
    "allocate_for_settings",
    "ceil_usd",
    "format_usd",
    "minimum_budget_usd",
]

#: Extra weight of a critical-path step's log-success in the objective.
DEFAULT_CRITICAL_PATH_WEIGHT = 0.25
#: ``balanced``: relative success an upgrade must buy per relative share of the cap it costs.
DEFAULT_BALANCED_RATE = 1.0


def minimum_budget_usd(steps_cost_usd: float, *, planner_cost_usd: float, reserve: float) -> float:
    """Smallest budget ``B`` with ``steps_cost <= B - planner_cost - reserve * B``, rounded up."""
    exact = (steps_cost_usd + planner_cost_usd) / (1.0 - reserve)
    rounded = ceil_usd(exact)
    return rounded if rounded >= exact else exact


def allocate(
    plan: Plan,
    catalog: Catalog,
    *,
    budget_usd: float,
    planner_cost_usd: float = 0.0,
    reserve_fraction: float = 0.2,
    strategy: str = "balanced",
    available: Collection[str] | None = None,
    include_models: Sequence[str] = (),
    exclude_models: Sequence[str] = (),
    include_providers: Sequence[str] = (),
    exclude_providers: Sequence[str] = (),
    require_features: Sequence[str] = (),
    rules: Mapping[str, str] | None = None,
    quality_floor: float = DEFAULT_QUALITY_FLOOR,
    critical_path_weight: float = DEFAULT_CRITICAL_PATH_WEIGHT,
    reasoning_output_factor: float = DEFAULT_REASONING_OUTPUT_FACTOR,
    balanced_rate: float = DEFAULT_BALANCED_RATE,
    max_work: int = 400_000,
) -> Allocation:
    """Choose a model for every step of ``plan`` under ``budget_usd`` (USD, planner included).

    ``planner_cost_usd`` is what planning already spent; ``reserve_fraction`` of the budget is
    held back for escalations. ``available`` limits the models to usable ones (``None``: all).
    The filters match model ids with shell-style patterns (``openai/*``) and providers exactly.

    Raises :class:`UsageError` for bad arguments or unusable pins, :class:`InvalidPlanError` for
    an invalid plan, :class:`NoCandidateError` when a step has no model, and
    :class:`BudgetError` (with ``minimum_usd``) when the cheapest assignment does not fit.
    """
    strategy = _check_args(budget_usd, planner_cost_usd, reserve_fraction, strategy)
    _check_weights(critical_path_weight, balanced_rate)
    validate_plan(plan)
    flt = CandidateFilter(
        available=available,
        include_models=tuple(include_models),
        exclude_models=tuple(exclude_models),
        include_providers=tuple(include_providers),
        exclude_providers=tuple(exclude_providers),
        require_features=tuple(require_features),
        rules=dict(rules or {}),
        quality_floor=quality_floor,
        reasoning_output_factor=reasoning_output_factor,
    )
    inst = _instance(plan, catalog, flt, critical_path_weight)
    split = _Budget(budget_usd, planner_cost_usd, reserve_fraction)
    cheapest, minimum = _cheapest_fit(inst, split)
    solution = _solve(inst, strategy, split.cap_usd, cheapest, balanced_rate, max_work)
    return _allocation(inst, split, strategy, cheapest, solution, minimum)


@dataclass(frozen=True, slots=True)
class _Budget:
    """How the budget splits: planning already spent, the reserve, and what the steps may cost."""

    budget_usd: float
    planner_cost_usd: float
    reserve_fraction: float

    @property
    def reserve_usd(self) -> float:
        return self.reserve_fraction * self.budget_usd

    @property
    def cap_usd(self) -> float:
        return self.budget_usd - self.planner_cost_usd - self.reserve_usd


@dataclass(frozen=True, slots=True)
class _Instance:
    """The knapsack view of a plan: candidates, weights and items per step."""

    per_step: list[StepCandidates]
    weights: list[float]
    critical: list[bool]
    groups: list[list[knapsack.Item]]

    def picks(self, solution: knapsack.Solution) -> list[Candidate]:
        """The candidate ``solution`` chooses for every step."""
        return [sc.candidates[i] for sc, i in zip(self.per_step, solution.choice, strict=True)]


def _instance(
    plan: Plan, catalog: Catalog, flt: CandidateFilter, critical_path_weight: float
) -> _Instance:
    per_step = [step_candidates(step, catalog, flt) for step in plan.steps]
    crit = plan.criticality()
    weights = [1.0 + critical_path_weight * crit[s.id] for s in plan.steps]
    groups = [
        [knapsack.Item(c.cost_usd, w * math.log(c.prior)) for c in sc.candidates]
        for sc, w in zip(per_step, weights, strict=True)
    ]
    critical = [crit[s.id] >= 1 - 1e-9 for s in plan.steps]
    return _Instance(per_step, weights, critical, groups)


def _cheapest_fit(inst: _Instance, split: _Budget) -> tuple[knapsack.Solution, float]:
    """The cheapest assignment and the minimum budget; :class:`BudgetError` if it does not fit."""
    cheapest = knapsack.solve_cheapest(inst.groups)
    minimum = minimum_budget_usd(
        cheapest.cost, planner_cost_usd=split.planner_cost_usd, reserve=split.reserve_fraction
    )
    if cheapest.cost > split.cap_usd + knapsack.COST_EPS:
        raise BudgetError(
            f"a budget of {format_usd(split.budget_usd)} cannot cover this plan: its cheapest "
            f"capable models need ~{format_usd(cheapest.cost)} for {len(inst.per_step)} steps, "
            f"plus {format_usd(split.planner_cost_usd)} spent on planning and a "
            f"{split.reserve_fraction:.0%} reserve for escalation; the minimum budget is "
            f"{format_usd(minimum)}",
            budget_usd=split.budget_usd,
            spent_usd=split.planner_cost_usd,
            requested_usd=cheapest.cost,
            minimum_usd=minimum,
        )
    return cheapest, minimum


def _solve(
    inst: _Instance,
    strategy: str,
    cap: float,
    cheapest: knapsack.Solution,
    balanced_rate: float,
    max_work: int,
) -> knapsack.Solution:
    if strategy == "cheapest":
        return cheapest
    if strategy == "balanced":
        min_rate = balanced_rate / cap if cap > 0 else math.inf
        cap = knapsack.knee_cap(inst.groups, cap, min_rate=min_rate)
    return knapsack.solve_exact(inst.groups, cap, priority=inst.weights, max_work=max_work)


def _allocation(
    inst: _Instance,
    split: _Budget,
    strategy: str,
    cheapest: knapsack.Solution,
    solution: knapsack.Solution,
    minimum: float,
) -> Allocation:
    chosen = inst.picks(solution)
    total = math.fsum(c.cost_usd for c in chosen)
    cap = split.cap_usd
    steps = step_allocations(
        inst.per_step,
        chosen,
        inst.picks(cheapest),
        weights=inst.weights,
        critical=inst.critical,
        strategy=strategy,
        left_usd=cap - total,
    )
    return Allocation(
        strategy=strategy,
        budget_usd=split.budget_usd,
        planner_cost_usd=split.planner_cost_usd,
        reserve_fraction=split.reserve_fraction,
        reserve_usd=split.reserve_usd,
        steps_cap_usd=cap,
        total_est_cost_usd=total,
        left_usd=cap - total,
        minimum_budget_usd=minimum,
        expected_success=math.prod(c.prior for c in chosen),
        objective=solution.value,
        exact=solution.exact or strategy == "cheapest",
        steps=steps,
    )


def allocate_for_settings(
    plan: Plan,
    catalog: Catalog,
    settings: Settings,
    *,
    budget_usd: float | None = None,
    planner_cost_usd: float = 0.0,
    strategy: str | None = None,
    available: Collection[str] | None = None,
) -> Allocation:
    """:func:`allocate` with budget, reserve, strategy, filters and rules from ``settings``.

    ``budget_usd`` and ``strategy`` override ``settings.plan_budget_usd`` / ``settings.strategy``.
    """
    return allocate(
        plan,
        catalog,
        budget_usd=settings.plan_budget_usd if budget_usd is None else budget_usd,
        planner_cost_usd=planner_cost_usd,
        reserve_fraction=settings.reserve_fraction,
        strategy=settings.strategy if strategy is None else strategy,
        available=available,
        include_models=settings.include_models,
        exclude_models=settings.exclude_models,
        include_providers=settings.include_providers,
        exclude_providers=settings.exclude_providers,
        require_features=settings.require_features,
        rules=settings.rules,
    )


def _check_args(budget: float, planner_cost: float, reserve: float, strategy: str) -> str:
    check_budget_usd(budget)
    if not (math.isfinite(planner_cost) and planner_cost >= 0):
        raise UsageError(f"planner cost must be >= 0 USD, got {planner_cost!r}")
    if not 0.0 <= reserve < 1.0:
        raise UsageError(f"reserve fraction must be within [0, 1), got {reserve!r}")
    return check_strategy(strategy)


def _check_weights(critical_path_weight: float, balanced_rate: float) -> None:
    if critical_path_weight < 0 or balanced_rate < 0:
        raise UsageError("critical_path_weight and balanced_rate must be >= 0")
