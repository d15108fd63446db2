"""The scheduler's per-step bookkeeping: live states, final outcomes, timings and the result.

One list per field, indexed by step number (the :class:`~tokenplan.execution.graph.DagIndex`
order), so the scheduler's hot loop reads and writes plain lists. The table records each step's
final status exactly once (emitting its :class:`~tokenplan.execution.events.StepFinished`),
blocks descendants of a step that did not succeed, settles what is left when a run ends, and
builds the :class:`~tokenplan.execution.result.RunResult`. Which step runs when is the
scheduler's business (:mod:`tokenplan.execution.scheduler`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tokenplan.execution.events import Event, StepFinished
from tokenplan.execution.graph import DagIndex
from tokenplan.execution.result import RunResult, RunStatus, StepResult, StepStatus

__all__ = ["DISPATCHED", "DONE", "PENDING", "READY", "RUNNING", "StepTable"]

# Internal per-step states while the run is live; the final status is kept separately.
PENDING, READY, DISPATCHED, RUNNING, DONE = range(5)


class StepTable:
    """The per-step state of one run over ``dag``; ``reused``: ``{step number: value}``."""

    def __init__(
        self, dag: DagIndex, *, emit: Callable[[Event], None] | None, reused: dict[int, Any]
    ) -> None:
        n = len(dag)
        self.dag = dag
        self.ids = dag.ids
        self.children = dag.children
        self.emit = emit
        self.reused = reused
        self.state = [PENDING] * n
        self.status: list[StepStatus | None] = [None] * n
        self.missing = [len(d) for d in dag.deps]
        self.value: list[Any] = [None] * n
        self.error: list[BaseException | None] = [None] * n
        self.attempts: list[int | None] = [None] * n
        self.info: list[Mapping[str, Any] | None] = [None] * n
        self.start: list[float | None] = [None] * n
        self.end: list[float | None] = [None] * n
        self.blocked_by = [-1] * n
        self.t0 = 0.0
        self.started_at = 0.0

    def start_clock(self) -> None:
        """Time zero of the run: :meth:`now` counts seconds from here."""
        self.t0 = time.perf_counter()
        self.started_at = time.time()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def mark_reused(self) -> None:
        """Record the steps reused from an earlier run as succeeded, for their dependents too."""
        missing = self.missing
        for i, value in self.reused.items():
            self.state[i] = DONE
            self.status[i] = StepStatus.SUCCEEDED
            self.value[i] = value
            if self.emit is not None:
                self.emit(StepFinished(self.ids[i], StepStatus.SUCCEEDED, 0.0))
            for c in self.children[i]:
                missing[c] -= 1

    def finish(
        self, i: int, status: StepStatus, *, error: BaseException | None = None, via: int = -1
    ) -> None:
        """Record step ``i``'s final status (exactly once) and emit its event."""
        self.state[i] = DONE
        self.status[i] = status
        started = self.start[i]
        t = self.now()
        if started is not None:
            self.end[i] = t
        if error is not None:
            self.error[i] = error
        self.blocked_by[i] = via
        if self.emit is not None:
            self.emit(
                StepFinished(
                    self.ids[i],
                    status,
                    t,
                    None if started is None else t - started,
                    error,
                    self.attempts[i],
                    None if via < 0 else self.ids[via],
                    self.info[i] or {},
                )
            )

    def block_descendants(self, i: int) -> None:
        stack = [(c, i) for c in self.children[i]]
        state = self.state
        while stack:
            c, via = stack.pop()
            # Only pending steps can be reached: a descendant of a step that did not succeed
            # was never ready. Steps already blocked (or reused from ``done``) stop the walk.
            if state[c] != PENDING:
                continue
            self.finish(c, StepStatus.BLOCKED, via=via)
            stack.extend((g, c) for g in self.children[c])

    def settle(self) -> None:
        """Give every step without a final status one, as the run ends."""
        status_of = self.status
        for i in self.dag.topo:
            state = self.state[i]
            if state == DONE:
                continue
            if state == RUNNING:  # only if a step task vanished without unwinding
                self.finish(i, StepStatus.CANCELLED)
            elif state == PENDING:
                via = next(
                    (d for d in self.dag.deps[i] if status_of[d] is not StepStatus.SUCCEEDED), -1
                )
                self.finish(i, StepStatus.BLOCKED if via >= 0 else StepStatus.NOT_RUN, via=via)
            else:  # ready, or handed to a worker that never called it
                self.finish(i, StepStatus.NOT_RUN)

    def run_status(self, *, interrupted: bool, budget_hit: bool) -> RunStatus:
        """The run's status once every step has one (after :meth:`settle`)."""
        statuses = [s for s in self.status if s is not None]
        all_ok = all(s is StepStatus.SUCCEEDED for s in statuses)
        if interrupted and not all_ok:
            return RunStatus.CANCELLED
        if budget_hit:
            return RunStatus.BUDGET_EXHAUSTED
        if all_ok:
            return RunStatus.SUCCEEDED
        return RunStatus.FAILED

    def result(self, run_status: RunStatus) -> RunResult:
        ids, status_of = self.ids, self.status
        steps = {
            ids[i]: StepResult(
                step_id=ids[i],
                status=status_of[i] or StepStatus.NOT_RUN,
                value=self.value[i],
                error=self.error[i],
                started_s=self.start[i],
                finished_s=self.end[i],
                attempts=self.attempts[i],
                blocked_by=None if self.blocked_by[i] < 0 else ids[self.blocked_by[i]],
                reused=i in self.reused,
                info=self.info[i] or {},
            )
            for i in range(len(ids))
        }
        return RunResult(
            status=run_status, steps=steps, started_at=self.started_at, makespan_s=self.now()
        )
