"""The executor: plan a goal, run the plan's DAG with LLM steps under a hard budget, resume.

::

    async with Runtime.open() as runtime:
        executor = Executor(runtime, on_event=print)
        result = await executor.run_goal("Compare three note-taking apps", budget_usd=0.05)
        print(result.status, result.spent_usd, result.result_text)

Each run has a folder (``<data>/runs/<run_id>/``: ``run.json``, ``plan.json``, ``steps/<id>.md``,
``result.md``) and its model calls are ledger lines with its run id. The scheduler
(:mod:`tokenplan.execution.scheduler`) does the concurrency; :class:`StepRunner` the model
calls, checks and escalations; :class:`RunBudget` the hard ceiling (planner included).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tokenplan.errors import UsageError
from tokenplan.execution.events import ExecutorEvent, SpendUpdated
from tokenplan.execution.ladder import Ladder
from tokenplan.execution.prepare import PlannedRun
from tokenplan.execution.records import ExecutionResult
from tokenplan.execution.run_budget import RunBudget
from tokenplan.execution.run_state import RunState
from tokenplan.execution.scheduler import Scheduler
from tokenplan.execution.steps import StepRunner

if TYPE_CHECKING:
    from tokenplan.planning.allocator import Allocation
    from tokenplan.planning.schema import Plan
    from tokenplan.runtime import Runtime
    from tokenplan.settings import Settings

__all__ = ["Executor", "PlannedRun"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Executor:
    """Plans goals and runs plans with the models of ``runtime``.

    Options (keyword-only; ``None`` takes the runtime's settings): ``concurrency`` (steps at
    once), ``provider_concurrency`` (steps per provider at once), ``step_timeout_s``,
    ``max_attempts_per_step`` (models tried per step: the allocated one, then one per tier
    up), ``runs_dir`` (where run folders go), ``on_event`` (receives every
    :data:`~tokenplan.execution.events.ExecutorEvent`; called on the event loop, keep it quick).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int | None = None,
        provider_concurrency: int | None = None,
        step_timeout_s: float | None = None,
        max_attempts_per_step: int | None = None,
        runs_dir: str | Path | None = None,
        on_event: Callable[[ExecutorEvent], object] | None = None,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.settings: Settings = settings
        self.concurrency = _positive("concurrency", concurrency, settings.concurrency)
        self.provider_concurrency = _positive(
            "provider_concurrency", provider_concurrency, settings.provider_concurrency
        )
        self.max_attempts_per_step = _positive(
            "max_attempts_per_step", max_attempts_per_step, settings.max_attempts_per_step
        )
        self.step_timeout_s = (
            step_timeout_s if step_timeout_s is not None else (settings.step_timeout_s)
        )
        self.runs_dir = Path(runs_dir) if runs_dir is not None else settings.paths.runs_dir
        self._sink = on_event
        self._scheduler: Scheduler | None = None
        self._cancel_requested = False
        self._t0 = time.perf_counter()

    # -- public API ---------------------------------------------------------------------------

    async def plan(
        self,
        goal: str,
        *,
        budget_usd: float | None = None,
        strategy: str | None = None,
        max_steps: int | None = None,
    ) -> PlannedRun:
        """Plan ``goal`` (one billed planner call, plus repairs), allocate models, and create
        the run folder (status ``planned``). See :func:`tokenplan.execution.prepare.plan_run`."""
        from tokenplan.execution.prepare import plan_run

        return await plan_run(
            self.runtime,
            goal,
            runs_dir=self.runs_dir,
            budget_usd=budget_usd,
            strategy=strategy,
            max_steps=max_steps,
            on_settle=self._on_settle,
        )

    def prepare(
        self,
        plan: Plan,
        allocation: Allocation | None = None,
        *,
        budget_usd: float | None = None,
        strategy: str | None = None,
        run_id: str | None = None,
    ) -> PlannedRun:
        """A new run of ``plan`` (its folder created, nothing spent), ready for :meth:`run`.

        Without ``allocation`` the plan is allocated for ``budget_usd`` and ``strategy``
        (pinned steps keep their models); :class:`~tokenplan.errors.BudgetError` with
        ``minimum_usd`` when the budget cannot cover it.
        """
        from tokenplan.execution.prepare import prepare_run

        return prepare_run(
            self.runtime,
            plan,
            allocation,
            runs_dir=self.runs_dir,
            budget_usd=budget_usd,
            strategy=strategy,
            run_id=run_id,
            on_settle=self._on_settle,
        )

    async def run(
        self,
        plan: Plan | PlannedRun,
        allocation: Allocation | None = None,
        *,
        budget_usd: float | None = None,
        strategy: str | None = None,
        run_id: str | None = None,
    ) -> ExecutionResult:
        """Run a plan: a :class:`PlannedRun` (from :meth:`plan`), or a :class:`Plan` with an
        optional ``allocation`` (else one is made for ``budget_usd`` and ``strategy``).

        Step failures never raise: they are in the result. Raises
        :class:`~tokenplan.errors.BudgetError` (with ``minimum_usd``) before any spend when the
        budget cannot cover the plan, and :class:`~tokenplan.errors.UsageError` for bad input.
        """
        if isinstance(plan, PlannedRun):
            planned = plan
        else:
            planned = self.prepare(
                plan, allocation, budget_usd=budget_usd, strategy=strategy, run_id=run_id
            )
        with planned.folder.exclusive():
            return await self._execute(planned)

    async def run_goal(
        self,
        goal: str,
        *,
        budget_usd: float | None = None,
        strategy: str | None = None,
        max_steps: int | None = None,
    ) -> ExecutionResult:
        """:meth:`plan` then :meth:`run`: the whole job under one budget."""
        planned = await self.plan(
            goal, budget_usd=budget_usd, strategy=strategy, max_steps=max_steps
        )
        return await self.run(planned)

    async def resume(self, run_id: str, *, budget_usd: float | None = None) -> ExecutionResult:
        """Finish run ``run_id``: its succeeded steps are reused (never run again), the others
        run with what is left of its budget (``budget_usd`` sets a new ceiling for the whole
        run). The ledger is the record of what the run spent so far.

        Raises :class:`~tokenplan.errors.UnknownRunError` (with close matches) for an unknown
        id and :class:`~tokenplan.errors.BudgetError` when nothing is left to spend.
        """
        from tokenplan.execution.resume import load_planned_run
        from tokenplan.ledger.run_folder import RunFolder
        from tokenplan.ledger.runs import find_run_folder

        folder = RunFolder(find_run_folder(self.runs_dir, run_id))
        with folder.exclusive():  # before anything is read: another process may be running it
            planned = load_planned_run(
                self.runtime, folder, budget_usd=budget_usd, on_settle=self._on_settle
            )
            return await self._execute(planned)

    def run_sync(self, plan: Plan | PlannedRun, **kwargs: Any) -> ExecutionResult:
        """:meth:`run` from sync code, also inside a running event loop (a notebook): then it
        runs on its own loop in a worker thread. The runtime's HTTP client is closed after it
        (the next call opens a new one on its own loop)."""
        from tokenplan._sync import run_sync

        result: ExecutionResult = run_sync(self._then_close, self.run, plan, **kwargs)
        return result

    def run_goal_sync(self, goal: str, **kwargs: Any) -> ExecutionResult:
        """:meth:`run_goal` from sync code (see :meth:`run_sync`)."""
        from tokenplan._sync import run_sync

        result: ExecutionResult = run_sync(self._then_close, self.run_goal, goal, **kwargs)
        return result

    def cancel(self) -> None:
        """Cancel the run in progress (from the event loop's thread): in-flight calls are
        cancelled and recorded, nothing new starts, the run ends ``cancelled`` and can be
        resumed. A run that has not started yet starts cancelled."""
        self._cancel_requested = True
        if self._scheduler is not None:
            self._scheduler.cancel()

    @property
    def running(self) -> bool:
        """Whether a run's steps are being executed now."""
        return self._scheduler is not None

    # -- one run ------------------------------------------------------------------------------

    async def _then_close(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        finally:
            await self.runtime.aclose()

    async def _execute(self, planned: PlannedRun) -> ExecutionResult:
        from tokenplan.planning.schema import step_latency_weight

        plan = planned.plan
        self._t0 = time.perf_counter()
        state = RunState(planned, simulated=lambda: self._simulated(planned), emit=self._emit)
        state.write("running")
        self._emit(state.planned_event())
        runner = StepRunner(
            runtime=self.runtime,
            plan=plan,
            assignment=planned.allocation.assignment,
            budget=planned.budget,
            run_id=planned.run_id,
            ladder=self._ladder(),
            outputs=state.outputs,
            records=planned.records,
            folder=planned.folder,
            max_rungs=self.max_attempts_per_step,
            emit=self._emit,
            clock=self._clock,
        )
        provider = {sa.step_id: sa.provider for sa in planned.allocation.steps}
        scheduler = Scheduler(
            {s.id: list(s.depends_on) for s in plan.steps},
            runner,
            concurrency=self.concurrency,
            limiter_key=provider.__getitem__,
            limits=dict.fromkeys(set(provider.values()), self.provider_concurrency),
            step_timeout_s=self.step_timeout_s,
            done=planned.done,
            on_event=state.on_event,
            duration_hint_s={s.id: step_latency_weight(s) for s in plan.steps},
        )
        self._scheduler = scheduler
        if self._cancel_requested:
            scheduler.cancel()
        try:
            result = await scheduler.run()
        except BaseException:
            if scheduler.result is not None:  # an outer cancellation: record the run, re-raise
                state.finish(scheduler.result)
            raise
        finally:
            self._scheduler = None
            self._cancel_requested = False
        return state.finish(result)

    def _ladder(self) -> Ladder:
        from tokenplan.planning.candidates import CandidateFilter

        s = self.settings
        flt = CandidateFilter(
            include_models=s.include_models,
            exclude_models=s.exclude_models,
            include_providers=s.include_providers,
            exclude_providers=s.exclude_providers,
            require_features=s.require_features,
        )
        return Ladder(self.runtime.catalog, available=self.runtime.available, flt=flt)

    def _simulated(self, planned: PlannedRun) -> bool:
        planner = planned.planner is not None and planned.planner.simulated
        records = planned.records.values()
        earlier = planned.simulated  # a resumed run whose earlier calls were simulated
        return self.runtime.simulated or earlier or planner or any(r.simulated for r in records)

    def _clock(self) -> float:
        return time.perf_counter() - self._t0

    def _emit(self, event: ExecutorEvent) -> None:
        if self._sink is None:
            return
        try:
            self._sink(event)
        except Exception:
            log.warning("event sink failed; detached for the rest of the run", exc_info=True)
            self._sink = None

    def _on_settle(self, budget: RunBudget) -> None:
        # The planner's spend is reported by RunPlanned; spend events belong to the run.
        if self._sink is not None and self._scheduler is not None:
            self._emit(
                SpendUpdated(budget.spent_usd, budget.reserved_usd, budget.limit_usd, self._clock())
            )


def _positive(name: str, value: int | None, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive whole number, got {value!r}")
    return value
