"""An event-driven DAG scheduler on anyio: it runs step callables and knows nothing about LLMs.

A step starts the moment its own dependencies have all succeeded (no waves), within a global
concurrency limit and optional per-key limits (for example per provider). Among ready steps
waiting for a slot, the one heading the longest remaining chain goes first. Failures block
their descendants at once; a :class:`~tokenplan.errors.BudgetError` stops new starts; cancelling
(:meth:`Scheduler.cancel` or an enclosing cancel scope) cancels in-flight steps promptly and
still produces a full :class:`~tokenplan.execution.result.RunResult`.

Workers are elastic: the task that finishes a step carries on with the best ready step, and
new tasks are spawned only when more steps may run at once. One anyio task group holds them.
The per-step bookkeeping (states, outcomes, timings, the result) is a
:class:`~tokenplan.execution._step_table.StepTable`.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias

import anyio
from anyio.abc import TaskGroup
from anyio.lowlevel import checkpoint, checkpoint_if_cancelled

from tokenplan.errors import BudgetError, StepTimeoutError, UsageError
from tokenplan.execution._options import Slots, check_timeout, reused_steps
from tokenplan.execution._step_table import DISPATCHED, PENDING, READY, RUNNING, StepTable
from tokenplan.execution.events import (
    EventSink,
    RunFinished,
    RunStarted,
    StepReady,
    StepStarted,
    as_callback,
)
from tokenplan.execution.graph import DagIndex, Graph
from tokenplan.execution.result import RunResult, StepOutcome, StepStatus

__all__ = ["RunStep", "Scheduler", "run_dag"]

logger = logging.getLogger(__name__)

#: A step callable: ``await run_step(step_id)`` -> a :class:`StepOutcome` (or any value, a
#: success), or raises (a failure).
RunStep: TypeAlias = Callable[[str], Awaitable[Any]]

#: Longest a worker runs steps back to back without letting other tasks in.
_YIELD_EVERY_S = 0.002


class Scheduler:
    """Runs ``run_step`` over every step of ``graph`` once, dependencies first.

    ``graph``: ``{step_id: [dependency ids]}`` or a ``networkx.DiGraph`` (edges dependency ->
    step); validated up front (:class:`~tokenplan.errors.InvalidPlanError`).

    Options (keyword-only):

    * ``concurrency``: most steps running at once (``None``: unlimited), or an
      ``anyio.CapacityLimiter`` shared with other runs.
    * ``limiter_key`` + ``limits``: ``limiter_key(step_id)`` names a key (e.g. the provider)
      and ``limits[key]`` caps the steps of that key running at once. Keys without a limit,
      and ``None``, are only bound by ``concurrency``.
    * ``step_timeout_s``: a step running longer is cancelled and fails with
      :class:`~tokenplan.errors.StepTimeoutError` (waiting for a slot does not count).
    * ``done``: steps that succeeded in an earlier run (ids, or ``{id: value}``): never run
      again, and count as succeeded for their dependents.
    * ``on_event``: a callable or unbounded memory object stream receiving
      :mod:`~tokenplan.execution.events` events.
    * ``duration_hint_s``: estimated seconds per step; only orders ready steps competing for
      a slot (longest remaining path first). Default: every step weighs the same.

    A scheduler runs once. :meth:`cancel` stops it from the event loop's thread.
    """

    def __init__(
        self,
        graph: Graph,
        run_step: RunStep,
        *,
        concurrency: int | anyio.CapacityLimiter | None = None,
        limiter_key: Callable[[str], str | None] | None = None,
        limits: Mapping[str, int] | None = None,
        step_timeout_s: float | None = None,
        done: Mapping[str, Any] | Iterable[str] = (),
        on_event: EventSink | None = None,
        duration_hint_s: Mapping[str, float] | None = None,
    ) -> None:
        dag = DagIndex.build(graph)
        self._dag = dag
        self._run_step = run_step
        self._emit = emit = as_callback(on_event)
        self._timeout = check_timeout(step_timeout_s)
        self._slots = slots = Slots.build(
            dag.ids, concurrency=concurrency, limiter_key=limiter_key, limits=limits
        )
        self._shared = slots.shared
        self._bucket, self._caps = slots.bucket, slots.caps
        # Ready steps per limit bucket, best first: (-remaining path, readiness order, step).
        self._heaps: list[list[tuple[float, int, int]]] = [[] for _ in self._caps]
        self._busy = [0] * len(self._caps)
        self._inflight = 0
        self._priority = [-level for level in dag.bottom_levels(duration_hint_s)]
        self._seq = 0

        # The hot loop reaches the table's lists and methods through these names directly.
        self._table = table = StepTable(dag, emit=emit, reused=reused_steps(dag, done))
        self._ids, self._children = table.ids, table.children
        self._state, self._missing, self._start = table.state, table.missing, table.start
        self._value, self._attempts, self._info = table.value, table.attempts, table.info
        self._now = table.now
        self._finish = table.finish

        self._tg: TaskGroup | None = None
        self._cancelled_exc: type[BaseException] = BaseException
        self._stopping = False
        self._cancel_requested = False
        self._budget_hit = False
        self._started = False
        self._result: RunResult | None = None

    # ------------------------------------------------------------------ public API

    @property
    def result(self) -> RunResult | None:
        """The run's result once it ended, also when an outer cancellation interrupted it."""
        return self._result

    async def run(self) -> RunResult:
        """Run every step; return when none is running.

        Step failures never raise: they are in the result. If an enclosing cancel scope
        cancels the run, in-flight steps are recorded ``cancelled``, :attr:`result` is set
        and the cancellation propagates.
        """
        if self._started:
            raise UsageError("a Scheduler runs once; create a new one for another run")
        self._started = True
        self._cancelled_exc = anyio.get_cancelled_exc_class()
        self._table.start_clock()
        if self._emit is not None:
            self._emit(RunStarted(len(self._ids), len(self._table.reused), 0.0))
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if self._cancel_requested:
                    tg.cancel_scope.cancel()
                self._begin()
        except BaseException:
            self._finalize(interrupted=True)
            raise
        return self._finalize(interrupted=self._cancel_requested)

    def cancel(self) -> None:
        """Stop the run: in-flight steps are cancelled, nothing new starts. Idempotent.

        Call it from the event loop's thread (from another thread, through
        ``anyio.from_thread.run_sync``). :meth:`run` then returns a ``cancelled`` result.
        """
        if self._result is not None:
            return
        self._cancel_requested = True
        self._stop()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    # ------------------------------------------------------------------ dispatch

    def _begin(self) -> None:
        self._table.mark_reused()
        if self._stopping:
            return
        missing = self._missing
        for i in self._dag.topo:
            if missing[i] == 0 and self._state[i] == PENDING:
                self._make_ready(i)
        self._fill()

    def _make_ready(self, i: int) -> None:
        self._state[i] = READY
        self._seq += 1
        heapq.heappush(self._heaps[self._bucket[i]], (self._priority[i], self._seq, i))
        if self._emit is not None:
            self._emit(StepReady(self._ids[i], self._now()))

    def _take(self) -> int | None:
        """Claim a slot for the best ready step that may start now, if any."""
        if self._stopping or self._inflight >= self._slots.global_limit():
            return None
        heaps, busy, caps = self._heaps, self._busy, self._caps
        best_b = -1
        for b, heap in enumerate(heaps):
            if heap and busy[b] < caps[b] and (best_b < 0 or heap[0] < heaps[best_b][0]):
                best_b = b
        if best_b < 0:
            return None
        i = heapq.heappop(heaps[best_b])[2]
        busy[best_b] += 1
        self._inflight += 1
        self._state[i] = DISPATCHED
        return i

    def _fill(self) -> None:
        assert self._tg is not None
        while (i := self._take()) is not None:
            self._tg.start_soon(self._worker, i)

    def _release(self, i: int) -> None:
        self._inflight -= 1
        self._busy[self._bucket[i]] -= 1

    async def _worker(self, i: int) -> None:
        held_since = time.perf_counter()
        while True:
            if self._shared is None:
                await self._call(i)
            else:
                async with self._shared:
                    await self._call(i)
            nxt = self._take()
            if nxt is None:
                return
            self._fill()
            # Steps that never suspend (cache hits) would otherwise hold the loop for a whole
            # chain: let other tasks (signals, progress views) in every couple of ms.
            if time.perf_counter() - held_since > _YIELD_EVERY_S:
                await checkpoint()
                held_since = time.perf_counter()
            i = nxt

    # ------------------------------------------------------------------ one step

    async def _call(self, i: int) -> None:
        if self._stopping:
            self._release(i)
            self._finish(i, StepStatus.NOT_RUN)
            return
        sid = self._ids[i]
        self._state[i] = RUNNING
        t = self._now()
        self._start[i] = t
        if self._emit is not None:
            self._emit(StepStarted(sid, t))
        outcome: Any = None
        try:
            if self._timeout is None:
                outcome = await self._run_step(sid)
            else:
                with anyio.move_on_after(self._timeout) as scope:
                    outcome = await self._run_step(sid)
                if scope.cancelled_caught:
                    outcome = StepOutcome.failure(
                        StepTimeoutError(
                            f"step {sid!r} ran past its {self._timeout:g} s timeout",
                            step_id=sid,
                            timeout_s=self._timeout,
                        )
                    )
        except self._cancelled_exc:
            self._release(i)
            self._finish(i, StepStatus.CANCELLED)
            raise
        except Exception as exc:
            # An error raised while the run is being cancelled is part of the cancellation.
            try:
                await checkpoint_if_cancelled()
            except self._cancelled_exc:
                self._release(i)
                self._finish(i, StepStatus.CANCELLED, error=exc)
                raise
            outcome = StepOutcome.failure(exc)
        self._complete(i, outcome)

    def _complete(self, i: int, outcome: Any) -> None:
        self._release(i)
        if not isinstance(outcome, StepOutcome):
            outcome = StepOutcome(True, outcome)
        self._attempts[i] = outcome.attempts
        self._info[i] = outcome.info
        if outcome.ok:
            self._value[i] = outcome.value
            self._finish(i, StepStatus.SUCCEEDED)
            missing = self._missing
            for c in self._children[i]:
                missing[c] -= 1
                if missing[c] == 0 and self._state[c] == PENDING and not self._stopping:
                    self._make_ready(c)
            return
        error = outcome.error
        if isinstance(error, BudgetError):
            self._budget_hit = True
            self._finish(i, StepStatus.BUDGET_EXHAUSTED, error=error)
            self._stop()
        else:
            self._finish(i, StepStatus.FAILED, error=error)
        self._table.block_descendants(i)

    def _stop(self) -> None:
        """No new starts: steps waiting for a slot become ``not_run``."""
        if self._stopping:
            return
        self._stopping = True
        for heap in self._heaps:
            for _, _, i in sorted(heap):
                self._finish(i, StepStatus.NOT_RUN)
            heap.clear()

    # ------------------------------------------------------------------ the end

    def _finalize(self, *, interrupted: bool) -> RunResult:
        if self._result is not None:
            return self._result
        table = self._table
        table.settle()
        run_status = table.run_status(interrupted=interrupted, budget_hit=self._budget_hit)
        result = self._result = table.result(run_status)
        if self._emit is not None:
            self._emit(RunFinished(run_status, result.makespan_s, result.counts()))
        logger.debug(
            "run finished",
            extra={
                "status": run_status.value,
                "steps": len(self._ids),
                "makespan_s": result.makespan_s,
            },
        )
        return result


async def run_dag(
    graph: Graph,
    run_step: RunStep,
    *,
    concurrency: int | anyio.CapacityLimiter | None = None,
    limiter_key: Callable[[str], str | None] | None = None,
    limits: Mapping[str, int] | None = None,
    step_timeout_s: float | None = None,
    done: Mapping[str, Any] | Iterable[str] = (),
    on_event: EventSink | None = None,
    duration_hint_s: Mapping[str, float] | None = None,
) -> RunResult:
    """Build a :class:`Scheduler` and run it (see there for the options)."""
    scheduler = Scheduler(
        graph,
        run_step,
        concurrency=concurrency,
        limiter_key=limiter_key,
        limits=limits,
        step_timeout_s=step_timeout_s,
        done=done,
        on_event=on_event,
        duration_hint_s=duration_hint_s,
    )
    return await scheduler.run()
