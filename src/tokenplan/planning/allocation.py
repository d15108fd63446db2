"""What :func:`~tokenplan.planning.allocator.allocate` returns, and why each step got its model.

:class:`Allocation` holds the budget split and one :class:`StepAllocation` per step: the chosen
model, its estimated cost, the step's cost/quality front (:class:`Alternative`) and a one-line
reason (cheapest, upgraded, or why an upgrade was not taken). How the models are chosen lives in
:mod:`tokenplan.planning.allocator`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from tokenplan.money import format_usd
from tokenplan.planning.candidates import Candidate, StepCandidates

__all__ = ["Allocation", "Alternative", "StepAllocation", "step_allocations"]


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


def step_allocations(
    per_step: Sequence[StepCandidates],
    chosen: Sequence[Candidate],
    cheapest: Sequence[Candidate],
    *,
    weights: Sequence[float],
    critical: Sequence[bool],
    strategy: str,
    left_usd: float,
) -> tuple[StepAllocation, ...]:
    """One :class:`StepAllocation` per step, explaining ``chosen`` against ``cheapest``.

    ``left_usd`` is the cap the allocation leaves unused (an upgrade costing more did not fit).
    """
    return tuple(
        _step_allocation(
            sc, pick, low, weight=w, critical=crit, strategy=strategy, left_usd=left_usd
        )
        for sc, pick, low, w, crit in zip(
            per_step, chosen, cheapest, weights, critical, strict=True
        )
    )


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
