"""Typed events a run emits, for progress views and ``--json`` event streams.

Every run emits, in order: one :class:`RunStarted`; per step zero or one :class:`StepReady`
and :class:`StepStarted` and exactly one :class:`StepFinished` (blocked, not-run and reused
steps included, so a view always sees every step end); one :class:`RunFinished` last. ``t_s`` is
seconds since the run started (monotonic clock).

A sink is a callable (called synchronously on the event loop: keep it quick, never block) or
an anyio memory object send stream created with an unbounded buffer (``math.inf``), so the
scheduler never waits on a slow reader. A sink that raises or whose stream is closed is
detached (logged once); the run goes on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from tokenplan.errors import UsageError, error_summary
from tokenplan.execution.result import RunStatus, StepStatus

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectSendStream

__all__ = [
    "BudgetWait",
    "Event",
    "EventSink",
    "ExecutorEvent",
    "ExecutorEventSink",
    "RunFinished",
    "RunPlanned",
    "RunStarted",
    "SpendUpdated",
    "StepAttempt",
    "StepEscalated",
    "StepFinished",
    "StepReady",
    "StepStarted",
]

logger = logging.getLogger(__name__)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run began: ``steps`` in the graph, ``reused`` of them succeeded in an earlier run."""

    kind: ClassVar[str] = "run_started"
    steps: int
    reused: int
    t_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "steps": self.steps, "reused": self.reused, "t_s": self.t_s}


@dataclass(frozen=True, slots=True)
class StepReady:
    """Every dependency of the step succeeded; it waits for a free slot."""

    kind: ClassVar[str] = "step_ready"
    step_id: str
    t_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "step_id": self.step_id, "t_s": self.t_s}


@dataclass(frozen=True, slots=True)
class StepStarted:
    """The step's callable was called."""

    kind: ClassVar[str] = "step_started"
    step_id: str
    t_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "step_id": self.step_id, "t_s": self.t_s}


@dataclass(frozen=True, slots=True)
class StepFinished:
    """The step reached its final status. ``duration_s`` is ``None`` if it never ran."""

    kind: ClassVar[str] = "step_finished"
    step_id: str
    status: StepStatus
    t_s: float
    duration_s: float | None = None
    error: BaseException | None = None
    attempts: int | None = None
    blocked_by: str | None = None
    info: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "step_id": self.step_id,
            "status": self.status.value,
            "t_s": self.t_s,
            "duration_s": self.duration_s,
            "error": None if self.error is None else error_summary(self.error),
            "attempts": self.attempts,
            "blocked_by": self.blocked_by,
            "info": dict(self.info),
        }


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended; ``counts`` maps each step status to its number of steps."""

    kind: ClassVar[str] = "run_finished"
    status: RunStatus
    t_s: float
    counts: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "status": self.status.value,
            "t_s": self.t_s,
            "counts": dict(self.counts),
        }


Event: TypeAlias = RunStarted | StepReady | StepStarted | StepFinished | RunFinished
EventSink: TypeAlias = "Callable[[Event], object] | MemoryObjectSendStream[Event]"


# -- what the LLM executor adds on top of the scheduler's events ---------------------------------


@dataclass(frozen=True, slots=True)
class RunPlanned:
    """The executor is about to run ``run_id`` (first event of an executor run).

    ``spent_usd`` is what the run spent before its steps (the planner; on resume, everything
    so far). ``plan`` is the ``plan.json`` document.
    """

    kind: ClassVar[str] = "run_planned"
    run_id: str
    goal: str
    steps: int
    budget_usd: float | None
    spent_usd: float
    folder: str
    simulated: bool
    resumed: bool = False
    plan: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    t_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "run_id": self.run_id,
            "goal": self.goal,
            "steps": self.steps,
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "folder": self.folder,
            "simulated": self.simulated,
            "resumed": self.resumed,
            "plan": dict(self.plan),
            "t_s": self.t_s,
        }


@dataclass(frozen=True, slots=True)
class StepAttempt:
    """A step sends its prompt to ``model`` (``rung`` 1 is the allocated model's tier;
    ``fallbacks`` are the same-tier models the provider layer may fail over to)."""

    kind: ClassVar[str] = "step_attempt"
    step_id: str
    model: str
    tier: str
    rung: int
    t_s: float
    max_tokens: int = 0
    fallbacks: tuple[str, ...] = ()
    escalated_from: str | None = None
    trimmed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "step_id": self.step_id,
            "model": self.model,
            "tier": self.tier,
            "rung": self.rung,
            "max_tokens": self.max_tokens,
            "fallbacks": list(self.fallbacks),
            "escalated_from": self.escalated_from,
            "trimmed": self.trimmed,
            "t_s": self.t_s,
        }


@dataclass(frozen=True, slots=True)
class StepEscalated:
    """A rung failed (``reason``); the step moves up to ``to_model`` (``None``: no tier left)."""

    kind: ClassVar[str] = "step_escalated"
    step_id: str
    from_model: str
    to_model: str | None
    reason: str
    t_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "step_id": self.step_id,
            "from": self.from_model,
            "to": self.to_model,
            "reason": self.reason,
            "t_s": self.t_s,
        }


@dataclass(frozen=True, slots=True)
class BudgetWait:
    """A step's call does not fit the budget while other calls are in flight: it waits for
    them to settle (their reservations are worst cases)."""

    kind: ClassVar[str] = "budget_wait"
    step_id: str
    needed_usd: float
    available_usd: float
    t_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "step_id": self.step_id,
            "needed_usd": self.needed_usd,
            "available_usd": self.available_usd,
            "t_s": self.t_s,
        }


@dataclass(frozen=True, slots=True)
class SpendUpdated:
    """A model call settled: the run has spent ``spent_usd`` (planner and earlier runs
    included) and holds ``reserved_usd`` for calls in flight."""

    kind: ClassVar[str] = "spend"
    spent_usd: float
    reserved_usd: float
    budget_usd: float | None
    t_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "spent_usd": self.spent_usd,
            "reserved_usd": self.reserved_usd,
            "budget_usd": self.budget_usd,
            "t_s": self.t_s,
        }


ExecutorEvent: TypeAlias = (
    Event | RunPlanned | StepAttempt | StepEscalated | BudgetWait | SpendUpdated
)
ExecutorEventSink: TypeAlias = "Callable[[ExecutorEvent], object]"


def as_callback(sink: EventSink | None) -> Callable[[Event], None] | None:
    """Wrap ``sink`` so that a failing sink is detached instead of breaking the run."""
    if sink is None:
        return None
    send: Callable[[Event], object]
    if callable(sink):
        send = sink
    else:
        size = sink.statistics().max_buffer_size
        if not math.isinf(size):
            raise UsageError(
                "an event stream must have an unbounded buffer "
                "(anyio.create_memory_object_stream(math.inf)): the scheduler never waits on it"
            )
        send = sink.send_nowait
    broken = False

    def emit(event: Event) -> None:
        nonlocal broken
        if broken:
            return
        try:
            send(event)
        except Exception:
            broken = True
            logger.warning("event sink failed; detached for the rest of the run", exc_info=True)

    return emit
