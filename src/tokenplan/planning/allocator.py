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
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tokenplan.catalog.catalog import Catalog
from tokenplan.errors import BudgetError, UsageError
from tokenplan.inputs import check_budget_usd
from tokenplan.money import format_usd
from tokenplan.planning import knapsack
from tokenplan.planning._money import ceil_usd
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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Alternative(_Frozen):
    """A model on the step's cost/quality front (what else could run it)."""

    model: str
    est_cost_usd: float
    prior: float


class StepAllocation(_Frozen):
    """The model chosen for one step and why."""

    step_id: str
    model: str
    provider: str
    tier: str
    capability: str
    prior: float
    est_input_tokens: int
    #: Output tokens the estimate assumes will be billed (reasoning included).
    est_output_tokens: int
    est_cost_usd: float
    weight: float
    critical: bool
    pinned: bool = False
    reason: str = ""
    candidates: int = 1
    alternatives: tuple[Alternative, ...] = ()


class Allocation(_Frozen):
    """Per-step models with estimated costs, and the budget they were fitted to.

    ``steps_cap_usd = budget_usd - planner_cost_usd - reserve_usd`` is what the steps may cost;
    ``left_usd`` is the part of it the allocation leaves unused (on top of the reserve).
    ``minimum_budget_usd`` is the smallest budget this plan fits (cheapest assignment).
    """

    strategy: str
    budget_usd: float
    planner_cost_usd: float
    reserve_fraction: float
    reserve_usd: float
    steps_cap_usd: float
    total_est_cost_usd: float
    left_usd: float
    minimum_budget_usd: float
    expected_success: float
    objective: float
    exact: bool = True
    steps: tuple[StepAllocation, ...] = Field(default=())

    @property
    def assignment(self) -> dict[str, str]:
        """Step id -> model id."""
        return {s.step_id: s.model for s in self.steps}

    def for_step(self, step_id: str) -> StepAllocation:
        for s in self.steps:
            if s.step_id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def unspent_usd(self) -> float:
        """Budget not committed to the planner or the steps' estimates (reserve included)."""
        return self.budget_usd - self.planner_cost_usd - self.total_est_cost_usd


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
    if critical_path_weight < 0 or balanced_rate < 0:
        raise UsageError("critical_path_weight and balanced_rate must be >= 0")
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
    reserve_usd = reserve_fraction * budget_usd
    cap = budget_usd - planner_cost_usd - reserve_usd
    cheapest = knapsack.solve_cheapest(inst.groups)
    minimum = minimum_budget_usd(
        cheapest.cost, planner_cost_usd=planner_cost_usd, reserve=reserve_fraction
    )
    if cheapest.cost > cap + knapsack.COST_EPS:
        raise BudgetError(
            f"a budget of {format_usd(budget_usd)} cannot cover this plan: its cheapest capable "
            f"models need ~{format_usd(cheapest.cost)} for {len(plan.steps)} steps, plus "
            f"{format_usd(planner_cost_usd)} spent on planning and a {reserve_fraction:.0%} "
            f"reserve for escalation; the minimum budget is {format_usd(minimum)}",
            budget_usd=budget_usd,
            spent_usd=planner_cost_usd,
            requested_usd=cheapest.cost,
            minimum_usd=minimum,
        )
    solution = _solve(
        inst, strategy, cap, cheapest=cheapest, balanced_rate=balanced_rate, max_work=max_work
    )
    chosen = [sc.candidates[i] for sc, i in zip(inst.per_step, solution.choice, strict=True)]
    total = math.fsum(c.cost_usd for c in chosen)
    return Allocation(
        strategy=strategy,
        budget_usd=budget_usd,
        planner_cost_usd=planner_cost_usd,
        reserve_fraction=reserve_fraction,
        reserve_usd=reserve_usd,
        steps_cap_usd=cap,
        total_est_cost_usd=total,
        left_usd=cap - total,
        minimum_budget_usd=minimum,
        expected_success=math.prod(c.prior for c in chosen),
        objective=solution.value,
        exact=solution.exact or strategy == "cheapest",
        steps=_step_allocations(inst, chosen, cheapest, strategy=strategy, left_usd=cap - total),
    )


def _solve(
    inst: _Instance,
    strategy: str,
    cap: float,
    *,
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


@dataclass(frozen=True, slots=True)
class _Instance:
    """The knapsack view of a plan: candidates, weights and items per step."""

    per_step: list[StepCandidates]
    weights: list[float]
    critical: list[bool]
    groups: list[list[knapsack.Item]]


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


def _step_allocations(
    inst: _Instance,
    chosen: Sequence[Candidate],
    cheapest: knapsack.Solution,
    *,
    strategy: str,
    left_usd: float,
) -> tuple[StepAllocation, ...]:
    base = [sc.candidates[i] for sc, i in zip(inst.per_step, cheapest.choice, strict=True)]
    return tuple(
        _step_allocation(
            sc, pick, low, weight=w, critical=crit, strategy=strategy, left_usd=left_usd
        )
        for sc, pick, low, w, crit in zip(
            inst.per_step, chosen, base, inst.weights, inst.critical, strict=True
        )
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


def _step_allocation(
    sc: StepCandidates,
    pick: Candidate,
    base: Candidate,
    *,
    weight: float,
    critical: bool,
    strategy: str,
    left_usd: float,
) -> StepAllocation:
    step = sc.step
    front = _front(sc.candidates)
    return StepAllocation(
        step_id=step.id,
        model=pick.model.id,
        provider=pick.model.provider,
        tier=pick.model.tier,
        capability=step.capability,
        prior=pick.prior,
        est_input_tokens=step.est_input_tokens,
        est_output_tokens=pick.output_tokens,
        est_cost_usd=pick.cost_usd,
        weight=weight,
        critical=critical,
        pinned=sc.source == "pinned",
        reason=_reason(sc, pick, base, front, strategy=strategy, left_usd=left_usd),
        candidates=len(sc.candidates),
        alternatives=tuple(
            Alternative(model=c.model.id, est_cost_usd=c.cost_usd, prior=c.prior) for c in front
        ),
    )


def _front(cands: Sequence[Candidate]) -> list[Candidate]:
    """Candidates nobody beats on both price and prior, by increasing cost."""
    front: list[Candidate] = []
    for c in cands:  # sorted by cost, then prior descending
        if not front or c.prior > front[-1].prior:
            front.append(c)
    return front


def _reason(
    sc: StepCandidates,
    pick: Candidate,
    base: Candidate,
    front: Sequence[Candidate],
    *,
    strategy: str,
    left_usd: float,
) -> str:
    if sc.source:
        return sc.note
    suffix = f"; {sc.note}" if sc.note else ""
    best = front[-1]
    if len(front) == 1:
        return f"cheapest and best rated of {len(sc.candidates)} capable{suffix}"
    if pick.model.id == base.model.id:
        if strategy == "cheapest":
            return f"cheapest capable (prior {pick.prior:.2f}){suffix}"
        up = next(c for c in front if c.prior > pick.prior)
        extra = up.cost_usd - pick.cost_usd
        if extra > left_usd:
            why = f"upgrade to {up.model.id} (+{format_usd(extra)}) does not fit the budget"
        elif strategy == "balanced":
            why = f"upgrade to {up.model.id} not worth +{format_usd(extra)}"
        else:
            why = "budget better spent on other steps"
        return f"cheapest capable (prior {pick.prior:.2f}); {why}{suffix}"
    extra = pick.cost_usd - base.cost_usd
    rated = "best rated" if pick.prior >= best.prior else "upgraded"
    return (
        f"{rated} for {sc.step.capability}: prior {base.prior:.2f} -> {pick.prior:.2f} for "
        f"+{format_usd(extra)} over {base.model.id}{suffix}"
    )
