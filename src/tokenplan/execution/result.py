"""What a step callable returns, and what a run reports: statuses, per-step results, exit codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from tokenplan.errors import error_summary

__all__ = [
    "EXIT_CODES",
    "RunResult",
    "RunStatus",
    "StepOutcome",
    "StepResult",
    "StepStatus",
    "exit_code",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class StepStatus(str, Enum):
    """How a step ended.

    * ``succeeded``: its callable returned a success (or it succeeded in an earlier run).
    * ``failed``: its callable returned a failure, raised, or ran past the step timeout.
    * ``blocked``: never run because a dependency did not succeed (see ``blocked_by``).
    * ``cancelled``: it was running when the run was cancelled.
    * ``budget_exhausted``: it failed with :class:`~tokenplan.errors.BudgetError`.
    * ``not_run``: its dependencies succeeded, but the run stopped (budget or cancel) first.
    """

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    BUDGET_EXHAUSTED = "budget_exhausted"
    NOT_RUN = "not_run"

    def __str__(self) -> str:
        return self.value


class RunStatus(str, Enum):
    """How a run ended (the run folder's ``status``), in order of precedence:

    ``cancelled`` (cancelled before every step succeeded) > ``budget_exhausted`` (some step
    hit the budget) > ``failed`` (some step did not succeed) > ``succeeded``.
    """

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


#: CLI exit code per run status: 0 all succeeded, 1 failed or blocked, 3 budget, 130 cancelled.
EXIT_CODES: Mapping[RunStatus, int] = MappingProxyType(
    {
        RunStatus.SUCCEEDED: 0,
        RunStatus.FAILED: 1,
        RunStatus.BUDGET_EXHAUSTED: 3,
        RunStatus.CANCELLED: 130,
    }
)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a step callable returns: a success with a value, or a failure with an error.

    ``attempts`` (model calls made, if the callable counts them) and ``info`` (small,
    JSON-friendly facts such as the model used) are carried into the result and events.
    A callable may also return any other value (a success with that value) or raise (a
    failure with that error).
    """

    ok: bool
    value: Any = None
    error: Exception | None = None
    attempts: int | None = None
    info: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def success(
        cls, value: Any = None, *, attempts: int | None = None, info: Mapping[str, Any] = _EMPTY
    ) -> StepOutcome:
        return cls(True, value, None, attempts, info)

    @classmethod
    def failure(
        cls, error: Exception, *, attempts: int | None = None, info: Mapping[str, Any] = _EMPTY
    ) -> StepOutcome:
        return cls(False, None, error, attempts, info)


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step's final state.

    ``started_s`` / ``finished_s`` are seconds since the run started (monotonic clock);
    ``None`` when the step never ran. ``blocked_by`` names the dependency that did not
    succeed. ``reused`` marks a step that succeeded in an earlier run (``done``).
    """

    step_id: str
    status: StepStatus
    value: Any = None
    error: BaseException | None = None
    started_s: float | None = None
    finished_s: float | None = None
    attempts: int | None = None
    blocked_by: str | None = None
    reused: bool = False
    info: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def duration_s(self) -> float | None:
        if self.started_s is None or self.finished_s is None:
            return None
        return self.finished_s - self.started_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (without ``value``: outputs belong in the run folder)."""
        return {
            "step_id": self.step_id,
            "status": self.status.value,
            "started_s": self.started_s,
            "finished_s": self.finished_s,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "blocked_by": self.blocked_by,
            "reused": self.reused,
            "error": None if self.error is None else error_summary(self.error),
            "info": dict(self.info),
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished run: its status and every step's result, in the graph's order.

    ``started_at`` is Unix time; ``makespan_s`` the wall time from start to end.
    """

    status: RunStatus
    steps: Mapping[str, StepResult]
    started_at: float
    makespan_s: float

    @property
    def exit_code(self) -> int:
        """See :func:`exit_code`."""
        return EXIT_CODES[self.status]

    @property
    def succeeded(self) -> frozenset[str]:
        """Ids of the steps that succeeded: pass as ``done=`` to resume the run."""
        return frozenset(s.step_id for s in self.steps.values() if s.status is StepStatus.SUCCEEDED)

    def with_status(self, status: StepStatus) -> list[StepResult]:
        """The steps that ended with ``status``, in graph order."""
        return [s for s in self.steps.values() if s.status is status]

    def counts(self) -> dict[str, int]:
        """``{status: number of steps}`` for every step status (zeros included)."""
        out = {s.value: 0 for s in StepStatus}
        for step in self.steps.values():
            out[step.status.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "exit_code": self.exit_code,
            "started_at": self.started_at,
            "makespan_s": self.makespan_s,
            "counts": self.counts(),
            "steps": [s.to_dict() for s in self.steps.values()],
        }


def exit_code(result: RunResult) -> int:
    """The CLI exit code for a run: 0 all succeeded, 1 some failed or blocked, 3 budget
    exhausted, 130 cancelled (usage errors, 2, never reach a run)."""
    return EXIT_CODES[result.status]
