"""Getting a run ready: plan a goal, or take a given plan (reloading a run to resume it is
:mod:`tokenplan.execution.resume`).

Each path ends in a :class:`PlannedRun` (the plan, its models, the run's budget with what was
already spent, its folder) that :class:`~tokenplan.execution.executor.Executor` executes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tokenplan.errors import BudgetError, UsageError
from tokenplan.execution.records import StepRecord
from tokenplan.execution.run_budget import RunBudget
from tokenplan.ledger.run_folder import RunFolder, run_document
from tokenplan.money import format_usd
from tokenplan.planning.allocator import Allocation, allocate_for_settings, ceil_usd
from tokenplan.planning.inputs import (
    check_budget_usd,
    check_goal,
    check_max_steps,
    check_strategy,
)
from tokenplan.planning.planfile import PlannerInfo, save_plan
from tokenplan.planning.schema import Plan
from tokenplan.send import new_run_id

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.runtime import Runtime

__all__ = [
    "PlannedRun",
    "available_ids",
    "budget_arg",
    "fresh_records",
    "plan_run",
    "prepare_run",
    "write_run",
]

#: Output tokens a planner call needs per allowed step (the simulator uses ~150-250).
_PLAN_TOKENS_PER_STEP = 200

OnSettle = Callable[[RunBudget], object]


@dataclass(slots=True)
class PlannedRun:
    """A plan with its models and budget, in its run folder, ready to run (or resume).

    ``budget`` already holds what was spent (the planner; on resume, everything so far).
    ``done`` maps steps that succeeded earlier to their outputs; ``records`` the steps' records.
    ``simulated``: outputs or spend of the run so far came from the offline simulator (a run
    resumed with real keys still says so).
    """

    run_id: str
    folder: RunFolder
    plan: Plan
    allocation: Allocation
    budget: RunBudget
    strategy: str
    created: datetime
    planner: PlannerInfo | None = None
    done: dict[str, str] = field(default_factory=dict)
    records: dict[str, StepRecord] = field(default_factory=dict)
    resumed: bool = False
    simulated: bool = False

    @property
    def planner_cost_usd(self) -> float:
        return self.planner.cost_usd if self.planner is not None else 0.0


def available_ids(runtime: Runtime) -> list[str]:
    """Catalog ids the runtime can call now."""
    return [m.id for m in runtime.available_models()]


def write_run(
    planned: PlannedRun, status: str, *, simulated: bool, finished: datetime | None = None
) -> None:
    """Write the run's ``run.json`` with ``status`` and its records as they are now."""
    _write_document(
        planned.folder,
        planned.plan,
        budget=planned.budget,
        strategy=planned.strategy,
        created=planned.created,
        planner=planned.planner,
        records=planned.records.values(),
        status=status,
        simulated=simulated,
        finished=finished,
    )


def _write_document(
    folder: RunFolder,
    plan: Plan,
    *,
    budget: RunBudget,
    strategy: str,
    created: datetime,
    planner: PlannerInfo | None,
    records: Iterable[StepRecord],
    status: str,
    simulated: bool,
    finished: datetime | None,
) -> None:
    folder.write_document(
        run_document(
            run_id=folder.run_id,
            goal=plan.goal,
            status=status,
            budget_usd=budget.limit_usd,
            spent_usd=budget.spent_usd,
            created=created,
            finished=finished,
            strategy=strategy,
            steps=[r.to_dict() for r in records],
            simulated=simulated,
            planner=planner.model_dump(mode="json") if planner else None,
        )
    )


async def plan_run(
    runtime: Runtime,
    goal: str,
    *,
    runs_dir: Path,
    budget_usd: float | None = None,
    strategy: str | None = None,
    max_steps: int | None = None,
    on_settle: OnSettle | None = None,
) -> PlannedRun:
    """Plan ``goal`` under a new run's budget, allocate models, create the run folder.

    The planner's calls are ledger lines of the new run (``kind="plan"``) and count against its
    budget. When the budget cannot cover the plan, the plan is still saved (status
    ``budget_exhausted``) and :class:`BudgetError` names the minimum budget and how to resume.
    """
    from tokenplan.planning.planner import choose_planner_model, plan_goal

    settings = runtime.settings
    goal = check_goal(goal)
    budget_usd = check_budget_usd(settings.plan_budget_usd if budget_usd is None else budget_usd)
    strategy = check_strategy(settings.strategy if strategy is None else strategy)
    max_steps = check_max_steps(settings.max_steps if max_steps is None else max_steps)
    available = available_ids(runtime)
    planner = choose_planner_model(
        runtime.catalog, available=available, model_id=settings.planner_model
    )
    _check_planner_fits(planner, budget_usd, max_steps)
    run_id = new_run_id()
    budget = RunBudget(budget_usd, on_settle=on_settle)
    result = await plan_goal(
        goal,
        model=runtime.fallback_model([planner.id]),
        planner_model_id=planner.id,
        catalog=runtime.catalog,
        max_steps=max_steps,
        run_id=run_id,
        budget=budget,
    )
    info = PlannerInfo.from_result(result)
    folder = RunFolder.create(runs_dir, run_id)
    created = datetime.now(timezone.utc)
    allocation = _allocate_new_plan(
        runtime, folder, result.plan, info, budget, strategy, created, available
    )
    planned = PlannedRun(
        run_id=run_id,
        folder=folder,
        plan=result.plan,
        allocation=allocation,
        budget=budget,
        strategy=strategy,
        created=created,
        planner=info,
        records=fresh_records(result.plan, allocation),
    )
    write_run(planned, "planned", simulated=runtime.simulated or info.simulated)
    return planned


def _allocate_new_plan(
    runtime: Runtime,
    folder: RunFolder,
    plan: Plan,
    planner: PlannerInfo,
    budget: RunBudget,
    strategy: str,
    created: datetime,
    available: list[str],
) -> Allocation:
    """Allocate a freshly planned run and save its ``plan.json``. A budget that cannot cover
    the plan still saves it (``run.json`` status ``budget_exhausted``) and raises
    :class:`BudgetError` with the command that resumes it."""
    try:
        allocation = allocate_for_settings(
            plan,
            runtime.catalog,
            runtime.settings,
            budget_usd=budget.limit_usd,
            planner_cost_usd=planner.cost_usd,
            strategy=strategy,
            available=available,
        )
    except BudgetError as exc:
        save_plan(folder.plan_file, plan, None, planner=planner)
        _write_document(
            folder,
            plan,
            budget=budget,
            strategy=strategy,
            created=created,
            planner=planner,
            records=[StepRecord.for_step(s, model=None, tier=None) for s in plan.steps],
            status="budget_exhausted",
            simulated=runtime.simulated or planner.simulated,
            finished=datetime.now(timezone.utc),
        )
        raise _with_resume_hint(exc, folder.run_id) from None
    save_plan(folder.plan_file, plan, allocation, planner=planner)
    return allocation


def prepare_run(
    runtime: Runtime,
    plan: Plan,
    allocation: Allocation | None = None,
    *,
    runs_dir: Path,
    budget_usd: float | None = None,
    strategy: str | None = None,
    run_id: str | None = None,
    on_settle: OnSettle | None = None,
) -> PlannedRun:
    """A new run of a plan made elsewhere (edited ``plan.json``, your own code).

    Without ``allocation`` the plan is allocated (pinned steps keep their models); a budget it
    cannot fit raises :class:`BudgetError` before anything is created or spent.
    """
    from tokenplan.planning.validate import validate_plan

    settings = runtime.settings
    validate_plan(plan)
    if budget_usd is None:
        budget_usd = allocation.budget_usd if allocation is not None else settings.plan_budget_usd
    budget_usd = check_budget_usd(budget_usd)
    if strategy is None:
        strategy = allocation.strategy if allocation is not None else settings.strategy
    strategy = check_strategy(strategy)
    if allocation is None:
        allocation = allocate_for_settings(
            plan,
            runtime.catalog,
            settings,
            budget_usd=budget_usd,
            strategy=strategy,
            available=available_ids(runtime),
        )
    elif [s.step_id for s in allocation.steps] != list(plan.ids):
        raise UsageError("the allocation does not cover exactly the plan's steps, in order")
    run_id = run_id or new_run_id()
    try:
        folder = RunFolder.create(runs_dir, run_id)
    except FileExistsError:
        raise UsageError(f"run {run_id} exists already; resume it or pick another id") from None
    save_plan(folder.plan_file, plan, allocation)
    planned = PlannedRun(
        run_id=run_id,
        folder=folder,
        plan=plan,
        allocation=allocation,
        budget=RunBudget(budget_usd, on_settle=on_settle),
        strategy=strategy,
        created=datetime.now(timezone.utc),
        records=fresh_records(plan, allocation),
    )
    write_run(planned, "planned", simulated=runtime.simulated)
    return planned


def fresh_records(plan: Plan, allocation: Allocation) -> dict[str, StepRecord]:
    """Each step's record before anything ran: pending, on the model the allocation chose."""
    chosen = {sa.step_id: sa for sa in allocation.steps}
    return {
        s.id: StepRecord.for_step(s, model=chosen[s.id].model, tier=chosen[s.id].tier)
        for s in plan.steps
    }


def _check_planner_fits(planner: Model, budget_usd: float, max_steps: int) -> None:
    from tokenplan.planning.planner import _PLAN_CALL_INPUT_TOKENS

    need = planner.worst_case_cost(_PLAN_CALL_INPUT_TOKENS, _PLAN_TOKENS_PER_STEP * max_steps)
    if need > budget_usd:
        raise BudgetError(
            f"a budget of {format_usd(budget_usd)} cannot cover planning: the planner "
            f"({planner.id}) may need up to {format_usd(need)} for a {max_steps}-step plan, "
            "before any step runs; raise --budget",
            budget_usd=budget_usd,
            requested_usd=need,
        )


def _with_resume_hint(exc: BudgetError, run_id: str) -> BudgetError:
    again = f" --budget {budget_arg(exc.minimum_usd)}" if exc.minimum_usd else " --budget USD"
    return BudgetError(
        f"{exc.message}. The plan is saved: 'tokenplan plan --resume {run_id}{again}' runs it",
        budget_usd=exc.budget_usd,
        spent_usd=exc.spent_usd,
        requested_usd=exc.requested_usd,
        minimum_usd=exc.minimum_usd,
    )


def budget_arg(usd: float) -> str:
    """``usd`` as a ``--budget`` value to type: rounded up to two significant digits, a plain
    decimal (``0.00012``, never ``1.2e-04``), no ``$`` (a shell would expand it)."""
    from decimal import Decimal

    return f"{Decimal(repr(ceil_usd(usd))):f}"
