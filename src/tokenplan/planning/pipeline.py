"""Goal to allocated plan in one call: pick the planner, plan under the run's budget, allocate.

This is what ``tokenplan plan`` (and the library's callers) run before executing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokenplan.budget import Budget
from tokenplan.planning.allocator import Allocation, allocate_for_settings
from tokenplan.planning.inputs import check_budget_usd, check_goal, check_max_steps, check_strategy
from tokenplan.planning.planner import PlannerResult, choose_planner_model, plan_goal

if TYPE_CHECKING:
    from tokenplan.catalog.catalog import Catalog
    from tokenplan.planning.schema import Plan
    from tokenplan.providers.base import ChatModel
    from tokenplan.settings import Settings

__all__ = ["PlanningResult", "plan_and_allocate"]


@dataclass(frozen=True, slots=True)
class PlanningResult:
    """The plan, its allocation, what planning cost, and the run's budget to keep using."""

    plan: Plan
    allocation: Allocation
    planner: PlannerResult
    budget: Budget


async def plan_and_allocate(
    goal: str,
    *,
    model: ChatModel,
    catalog: Catalog,
    settings: Settings,
    budget_usd: float | None = None,
    strategy: str | None = None,
    max_steps: int | None = None,
    planner_model_id: str | None = None,
    available: Collection[str] | None = None,
    run_id: str | None = None,
    budget: Budget | None = None,
) -> PlanningResult:
    """Plan ``goal`` with ``model`` and allocate models to the steps, all under one budget.

    Arguments left ``None`` come from ``settings`` (``plan_budget_usd``, ``strategy``,
    ``max_steps``, ``planner_model``; an unset planner model is chosen by
    :func:`choose_planner_model`). ``budget`` is the run's :class:`Budget` (created from
    ``budget_usd`` when omitted); the planner's calls are made against it and the allocation
    fits what is left after them and the reserve.
    """
    goal = check_goal(goal)
    budget_usd = check_budget_usd(settings.plan_budget_usd if budget_usd is None else budget_usd)
    strategy = check_strategy(settings.strategy if strategy is None else strategy)
    max_steps = check_max_steps(settings.max_steps if max_steps is None else max_steps)
    planner = choose_planner_model(
        catalog, available=available, model_id=planner_model_id or settings.planner_model
    )
    run_budget = budget if budget is not None else Budget(budget_usd)
    result = await plan_goal(
        goal,
        model=model,
        planner_model_id=planner.id,
        catalog=catalog,
        max_steps=max_steps,
        run_id=run_id,
        budget=run_budget,
    )
    allocation = allocate_for_settings(
        result.plan,
        catalog,
        settings,
        budget_usd=budget_usd,
        planner_cost_usd=result.cost_usd,
        strategy=strategy,
        available=available,
    )
    return PlanningResult(
        plan=result.plan, allocation=allocation, planner=result, budget=run_budget
    )
