"""The executor: an event-driven DAG scheduler over step callables, and the LLM executor on it.

The scheduler (:class:`Scheduler`, :func:`run_dag`) knows nothing about LLMs: give it a graph
and ``async def run_step(step_id)``; it returns a :class:`RunResult`. :class:`Executor` plans
goals and runs plans with LLM steps (:class:`StepRunner`) under a hard budget, with run folders
and resume. See ``docs/executor.md``.
"""

from typing import TYPE_CHECKING

from tokenplan._lazy import lazy_exports
from tokenplan.execution.events import (
    BudgetWait,
    Event,
    EventSink,
    ExecutorEvent,
    RunFinished,
    RunPlanned,
    RunStarted,
    SpendUpdated,
    StepAttempt,
    StepEscalated,
    StepFinished,
    StepReady,
    StepStarted,
)
from tokenplan.execution.graph import DagIndex, Graph, critical_path
from tokenplan.execution.result import (
    EXIT_CODES,
    RunResult,
    RunStatus,
    StepOutcome,
    StepResult,
    StepStatus,
    exit_code,
)
from tokenplan.execution.scheduler import RunStep, Scheduler, run_dag
from tokenplan.execution.signals import SignalWatch, cancel_on_signals

__all__ = [
    "EXIT_CODES",
    "BudgetWait",
    "DagIndex",
    "Event",
    "EventSink",
    "ExecutionResult",
    "Executor",
    "ExecutorEvent",
    "Graph",
    "PlannedRun",
    "RunBudget",
    "RunFinished",
    "RunPlanned",
    "RunResult",
    "RunStarted",
    "RunStatus",
    "RunStep",
    "Scheduler",
    "SignalWatch",
    "SpendUpdated",
    "StepAttempt",
    "StepEscalated",
    "StepFinished",
    "StepOutcome",
    "StepReady",
    "StepRecord",
    "StepResult",
    "StepRunner",
    "StepStarted",
    "StepStatus",
    "cancel_on_signals",
    "critical_path",
    "exit_code",
    "run_dag",
]

# The LLM executor pulls in planning (pydantic, networkx): imported on first use, so code that
# only needs the scheduler stays light.
_LAZY: dict[str, str] = {
    "Executor": "tokenplan.execution.executor",
    "ExecutionResult": "tokenplan.execution.records",
    "PlannedRun": "tokenplan.execution.prepare",
    "RunBudget": "tokenplan.execution.run_budget",
    "StepRecord": "tokenplan.execution.records",
    "StepRunner": "tokenplan.execution.steps",
}


__getattr__, _ = lazy_exports(__name__, globals(), _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from tokenplan.execution.executor import Executor as Executor
    from tokenplan.execution.prepare import PlannedRun as PlannedRun
    from tokenplan.execution.records import ExecutionResult as ExecutionResult
    from tokenplan.execution.records import StepRecord as StepRecord
    from tokenplan.execution.run_budget import RunBudget as RunBudget
    from tokenplan.execution.steps import StepRunner as StepRunner
