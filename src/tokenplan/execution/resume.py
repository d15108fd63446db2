"""Reloading a run to resume it: its plan, every step's record, the outputs of the steps that
succeeded, and a budget holding everything it spent so far (the ledger's record)."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from tokenplan.errors import BudgetError, UsageError
from tokenplan.execution.prepare import OnSettle, PlannedRun, available_ids, fresh_records
from tokenplan.execution.records import StepRecord
from tokenplan.execution.run_budget import RunBudget
from tokenplan.ledger.runs import RunInfo, read_run
from tokenplan.money import format_usd
from tokenplan.planning.allocator import allocate_for_settings
from tokenplan.planning.inputs import check_budget_usd, check_strategy
from tokenplan.planning.planfile import load_plan

if TYPE_CHECKING:
    from tokenplan.ledger.run_folder import RunFolder
    from tokenplan.planning.allocator import Allocation
    from tokenplan.planning.schema import Plan
    from tokenplan.runtime import Runtime

__all__ = ["ledger_spent_usd", "load_planned_run"]

log = logging.getLogger(__name__)


def load_planned_run(
    runtime: Runtime,
    folder: RunFolder,
    *,
    budget_usd: float | None = None,
    on_settle: OnSettle | None = None,
) -> PlannedRun:
    """Reload the run in ``folder`` to resume it: succeeded steps with a saved output become
    ``done``; every step keeps the record the run left; the budget starts from what the ledger
    says the run spent. Call it holding ``folder.exclusive()``: what it reads must not change
    before the run goes on."""
    settings = runtime.settings
    info = read_run(folder.path)
    if not folder.plan_file.is_file():
        raise UsageError(f"run {info.run_id} has no plan.json (planning did not finish)")
    doc = load_plan(folder.plan_file)
    plan = doc.plan
    if budget_usd is None:
        budget_usd = info.budget_usd if info.budget_usd is not None else settings.plan_budget_usd
    budget = _resume_budget(runtime, info, check_budget_usd(budget_usd), on_settle)
    strategy = check_strategy(info.strategy or settings.strategy)
    allocation = doc.allocation
    if allocation is None or not doc.allocation_is_current:
        allocation = allocate_for_settings(
            plan,
            runtime.catalog,
            settings,
            budget_usd=budget.limit_usd,
            planner_cost_usd=budget.spent_usd,
            strategy=strategy,
            available=available_ids(runtime),
        )
    records = _restore_records(plan, allocation, info)
    return PlannedRun(
        run_id=info.run_id,
        folder=folder,
        plan=plan,
        allocation=allocation,
        budget=budget,
        strategy=strategy,
        created=info.created or datetime.now(timezone.utc),
        planner=doc.planner,
        done=_done_outputs(folder, records),
        records=records,
        resumed=True,
        simulated=info.simulated,
    )


def _resume_budget(
    runtime: Runtime, info: RunInfo, budget_usd: float, on_settle: OnSettle | None
) -> RunBudget:
    """The run's budget with everything it spent so far (the ledger, or ``run.json`` if more)."""
    spent = max(ledger_spent_usd(runtime, info.run_id), info.spent_usd)
    budget = RunBudget(budget_usd, spent_usd=spent, on_settle=on_settle)
    if budget.available_usd <= 0:
        raise BudgetError(
            f"run {info.run_id} has spent {format_usd(spent)} of its {format_usd(budget_usd)} "
            f"budget; resume it with a higher budget (--budget)",
            budget_usd=budget_usd,
            spent_usd=spent,
        )
    return budget


def _restore_records(plan: Plan, allocation: Allocation, info: RunInfo) -> dict[str, StepRecord]:
    """Each step's record as the run left it (every field); a step it has no record of, or
    that was never allocated, gets the allocation's model and tier."""
    saved = {s.id: s for s in info.steps}
    records = fresh_records(plan, allocation)
    for step in plan.steps:
        old = saved.get(step.id)
        if old is None:
            continue
        fresh = records[step.id]
        records[step.id] = record = StepRecord.from_run_step(old, step)
        if record.model is None:
            record.model, record.tier = fresh.model, fresh.tier
    return records


def _done_outputs(folder: RunFolder, records: dict[str, StepRecord]) -> dict[str, str]:
    """The saved outputs of the steps that succeeded (a missing one runs again)."""
    done: dict[str, str] = {}
    for step_id, record in records.items():
        if not record.succeeded:
            continue
        text = folder.read_step_output(step_id)
        if text is None:
            log.warning("step output missing; the step runs again", extra={"step_id": step_id})
        else:
            done[step_id] = text
    return done


def ledger_spent_usd(runtime: Runtime, run_id: str) -> float:
    """What the ledger records run ``run_id`` as having spent."""
    from tokenplan.ledger.store import Ledger

    path = runtime.ledger.path if runtime.ledger is not None else runtime.settings.ledger_file
    return math.fsum(a.cost_usd for a in Ledger(path).read(run=run_id))
