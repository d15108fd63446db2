"""What an executor run records per step, and what it returns: :class:`ExecutionResult`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tokenplan.execution.result import EXIT_CODES, RunResult, RunStatus, StepStatus

if TYPE_CHECKING:
    from tokenplan.ledger.runs import RunStep
    from tokenplan.planning.schema import Step

__all__ = ["ExecutionResult", "StepRecord"]


@dataclass(slots=True)
class StepRecord:
    """One step of a run as ``run.json`` records it (updated while the run goes on).

    ``model`` is the model that produced the last answer (or the allocated one before any),
    ``attempts`` the model calls made (retries, failovers and escalations included) and
    ``cost_usd`` what they cost. ``escalations`` and ``trimmed`` hold dicts (see
    ``docs/executor.md``); ``notes`` says the same in one line each.
    """

    id: str
    title: str = ""
    capability: str = ""
    status: str = "pending"
    model: str | None = None
    tier: str | None = None
    attempts: int = 0
    cost_usd: float = 0.0
    output_path: str | None = None
    error: str | None = None
    blocked_by: str | None = None
    duration_s: float | None = None
    simulated: bool = False
    escalations: list[dict[str, Any]] = field(default_factory=list)
    trimmed: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def for_step(cls, step: Step, *, model: str | None, tier: str | None) -> StepRecord:
        return cls(step.id, step.title, step.capability, model=model, tier=tier)

    @classmethod
    def from_run_step(cls, saved: RunStep, step: Step) -> StepRecord:
        """The record an earlier run left, every field of it (resume keeps them)."""
        output = None
        if saved.output_path is not None:
            output = f"{saved.output_path.parent.name}/{saved.output_path.name}"
        return cls(
            step.id,
            step.title,
            step.capability,
            status=saved.status or "pending",
            model=saved.model,
            tier=saved.tier,
            attempts=saved.attempts,
            cost_usd=saved.cost_usd,
            output_path=output,
            error=saved.error,
            blocked_by=saved.blocked_by,
            duration_s=saved.duration_s,
            simulated=saved.simulated,
            escalations=[dict(e) for e in saved.escalations],
            trimmed=[dict(t) for t in saved.trimmed],
            notes=list(saved.notes),
        )

    @property
    def succeeded(self) -> bool:
        return self.status == StepStatus.SUCCEEDED.value

    def copy(self) -> StepRecord:
        return dataclasses.replace(
            self,
            escalations=list(self.escalations),
            trimmed=list(self.trimmed),
            notes=list(self.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        from tokenplan.ledger.runs import step_dict

        return step_dict(self)


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """A finished (or stopped) executor run.

    ``spent_usd`` is the run's whole spend (planner and earlier attempts of a resumed run
    included); ``outputs`` the text of every succeeded step; ``result_text`` what
    ``result.md`` holds (the sink steps' outputs assembled). ``run`` is the scheduler's
    :class:`RunResult` (timings, errors), ``None`` when no step was run.
    """

    run_id: str
    folder: Path
    goal: str
    status: RunStatus
    budget_usd: float | None
    spent_usd: float
    planner_cost_usd: float
    simulated: bool
    steps: Mapping[str, StepRecord]
    outputs: Mapping[str, str]
    result_text: str = ""
    run: RunResult | None = None

    @property
    def exit_code(self) -> int:
        """0 all steps succeeded, 1 some failed or blocked, 3 budget exhausted, 130 cancelled."""
        return EXIT_CODES[self.status]

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    @property
    def result_path(self) -> Path:
        return self.folder / "result.md"

    def counts(self) -> dict[str, int]:
        """``{status: steps}`` for every final step status (zeros included)."""
        out = {s.value: 0 for s in StepStatus}
        for record in self.steps.values():
            out[record.status] = out.get(record.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            "exit_code": self.exit_code,
            "goal": self.goal,
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "planner_cost_usd": self.planner_cost_usd,
            "simulated": self.simulated,
            "folder": str(self.folder),
            "result_path": str(self.result_path),
            "makespan_s": None if self.run is None else self.run.makespan_s,
            "counts": self.counts(),
            "steps": [r.to_dict() for r in self.steps.values()],
        }


def frozen_records(records: Mapping[str, StepRecord]) -> Mapping[str, StepRecord]:
    """Copies of ``records`` behind a read-only mapping (for an :class:`ExecutionResult`)."""
    return MappingProxyType({k: r.copy() for k, r in records.items()})
