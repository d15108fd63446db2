"""The executor's core: an event-driven DAG scheduler over step callables.

It knows nothing about LLMs: give it a graph and ``async def run_step(step_id)``; it returns a
:class:`RunResult`. See ``docs/executor.md``.
"""

from tokenplan.execution.events import (
    Event,
    EventSink,
    RunFinished,
    RunStarted,
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
    "DagIndex",
    "Event",
    "EventSink",
    "Graph",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "RunStatus",
    "RunStep",
    "Scheduler",
    "SignalWatch",
    "StepFinished",
    "StepOutcome",
    "StepReady",
    "StepResult",
    "StepStarted",
    "StepStatus",
    "cancel_on_signals",
    "critical_path",
    "exit_code",
    "run_dag",
]
