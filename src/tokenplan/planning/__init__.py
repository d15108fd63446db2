"""Planning: a goal becomes a validated DAG of steps, each with a model that fits the budget.

* :mod:`~tokenplan.planning.schema` - :class:`Step`, :class:`Plan`, :data:`PLAN_JSON_SCHEMA`
* :mod:`~tokenplan.planning.validate` - every DAG rule, all problems at once
* :mod:`~tokenplan.planning.planner` - :func:`plan_goal` (model call, bounded repairs)
* :mod:`~tokenplan.planning.allocator` - :func:`allocate` (multiple-choice knapsack)
* :mod:`~tokenplan.planning.planfile` - ``plan.json`` load / save (pins)
* :mod:`~tokenplan.planning.render` - rich table / tree, Mermaid, JSON
* :mod:`~tokenplan.planning.pipeline` - :func:`plan_and_allocate`
"""

from tokenplan.planning.acceptance import AcceptanceSpec, parse_acceptance
from tokenplan.planning.allocator import (
    Allocation,
    StepAllocation,
    allocate,
    allocate_for_settings,
)
from tokenplan.planning.pipeline import PlanningResult, plan_and_allocate
from tokenplan.planning.planfile import PlanDocument, PlannerInfo, load_plan, save_plan
from tokenplan.planning.planner import PlannerResult, choose_planner_model, plan_goal
from tokenplan.planning.schema import PLAN_JSON_SCHEMA, Plan, Step
from tokenplan.planning.validate import parse_plan, validate_plan

__all__ = [
    "PLAN_JSON_SCHEMA",
    "AcceptanceSpec",
    "Allocation",
    "Plan",
    "PlanDocument",
    "PlannerInfo",
    "PlannerResult",
    "PlanningResult",
    "Step",
    "StepAllocation",
    "allocate",
    "allocate_for_settings",
    "choose_planner_model",
    "load_plan",
    "parse_acceptance",
    "parse_plan",
    "plan_and_allocate",
    "plan_goal",
    "save_plan",
    "validate_plan",
]
