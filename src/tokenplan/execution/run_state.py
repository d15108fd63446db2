"""One run's bookkeeping: its step records, outputs and ``run.json``, kept in step with the
scheduler's events, and the :class:`ExecutionResult` at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from tokenplan.errors import error_summary
from tokenplan.execution.events import ExecutorEvent, RunPlanned, StepFinished, StepStarted
from tokenplan.execution.prepare import PlannedRun, write_run
from tokenplan.execution.records import ExecutionResult, StepRecord, frozen_records
from tokenplan.execution.report import result_markdown
from tokenplan.execution.result import RunResult, StepStatus

__all__ = ["RunState"]

#: Least time between two rewrites of ``run.json`` while a run goes on; and at most this share
#: of the run's time is spent rewriting it (a huge plan's file takes a while to write).
_WRITE_EVERY_S = 0.5
_WRITE_SHARE = 0.05


class RunState:
    """Records, outputs and ``run.json`` of ``planned`` while it runs.

    Steps that did not succeed before start over as ``pending``; the steps that did keep their
    records as they were, and ``outputs`` starts with their outputs (``planned.done``).
    ``simulated()`` says whether any output so far is simulated; ``emit`` forwards the
    scheduler's events once they are recorded.
    """

    def __init__(
        self,
        planned: PlannedRun,
        *,
        simulated: Callable[[], bool],
        emit: Callable[[ExecutorEvent], None],
    ) -> None:
        self.planned = planned
        self.records = planned.records
        self.outputs: dict[str, str] = dict(planned.done)
        self.status = "running"
        self._simulated = simulated
        self._emit = emit
        self._next_write = 0.0
        chosen = {sa.step_id: sa for sa in planned.allocation.steps}
        for step in planned.plan.steps:
            record = self.records.get(step.id)
            if record is None:
                sa = chosen[step.id]
                self.records[step.id] = StepRecord.for_step(step, model=sa.model, tier=sa.tier)
            elif step.id not in planned.done:
                # It runs again: its outcome starts over; attempts, cost, escalations and
                # notes keep counting (the run's simulated flag remembers earlier calls).
                record.status, record.error, record.blocked_by = "pending", None, None
                record.duration_s, record.simulated = None, False

    def planned_event(self) -> RunPlanned:
        from tokenplan.planning.planfile import plan_document

        planned = self.planned
        return RunPlanned(
            planned.run_id,
            planned.plan.goal,
            len(planned.plan.steps),
            planned.budget.limit_usd,
            planned.budget.spent_usd,
            str(planned.folder.path),
            self._simulated(),
            resumed=planned.resumed,
            plan=plan_document(planned.plan, planned.allocation, planner=planned.planner),
        )

    def on_event(self, event: Any) -> None:
        if isinstance(event, StepStarted):
            self.records[event.step_id].status = "running"
        elif isinstance(event, StepFinished):
            record = self.records[event.step_id]
            if event.status is StepStatus.SUCCEEDED and event.duration_s is None:
                pass  # reused from an earlier run: its record stays as it was
            else:
                record.status = event.status.value
                record.blocked_by = event.blocked_by
                if event.status is not StepStatus.SUCCEEDED and record.error is None:
                    record.error = _why(event)
            if time.perf_counter() >= self._next_write:
                self.write(self.status)
        self._emit(event)

    def write(self, status: str, *, finished: datetime | None = None) -> None:
        started = time.perf_counter()
        self.status = status
        write_run(self.planned, status, simulated=self._simulated(), finished=finished)
        done = time.perf_counter()
        self._next_write = done + max(_WRITE_EVERY_S, (done - started) / _WRITE_SHARE)

    def finish(self, result: RunResult) -> ExecutionResult:
        """Final statuses, ``result.md`` and ``run.json``; the run's :class:`ExecutionResult`."""
        outputs = self.outputs
        planned = self.planned
        for sid, step_result in result.steps.items():
            record = self.records[sid]
            if record.status in ("pending", "running"):
                record.status = step_result.status.value
        simulated = self._simulated()
        text = result_markdown(
            planned.plan,
            self.records,
            outputs,
            run_id=planned.run_id,
            status=result.status.value,
            spent_usd=planned.budget.spent_usd,
            budget_usd=planned.budget.limit_usd,
            simulated=simulated,
        )
        planned.folder.write_result(text)
        self.write(result.status.value, finished=datetime.now(timezone.utc))
        return ExecutionResult(
            run_id=planned.run_id,
            folder=planned.folder.path,
            goal=planned.plan.goal,
            status=result.status,
            budget_usd=planned.budget.limit_usd,
            spent_usd=planned.budget.spent_usd,
            planner_cost_usd=planned.planner_cost_usd,
            simulated=simulated,
            steps=frozen_records(self.records),
            outputs=dict(outputs),
            result_text=text,
            run=result,
        )


def _why(event: StepFinished) -> str | None:
    if event.status is StepStatus.BLOCKED:
        return f"blocked: '{event.blocked_by}' did not succeed" if event.blocked_by else None
    if event.error is not None:
        summary = error_summary(event.error)
        return str(summary["message"] or summary["type"])
    if event.status is StepStatus.NOT_RUN:
        return "not run: the run stopped first"
    return None
