"""``plan.json``: a plan, its allocation and what planning cost, saved and loaded again.

Format (``version`` 1)::

    {
      "version": 1,
      "created": "2025-06-01T12:00:00Z",
      "goal": "...",
      "steps": [{"id": ..., "title": ..., "instructions": ..., "capability": ...,
                 "depends_on": [...], "est_input_tokens": ..., "est_output_tokens": ...,
                 "acceptance": ..., "model": "openai/gpt-5-mini"   <- optional pin}],
      "planner": {"model": ..., "cost_usd": ..., "calls": ..., "simulated": ...} | null,
      "allocation": {"strategy": ..., "budget_usd": ..., "planner_cost_usd": ...,
                     "reserve_fraction": ..., "reserve_usd": ..., "total_est_cost_usd": ...,
                     "steps": [{"step_id": ..., "model": ..., "est_cost_usd": ..., "reason": ...,
                                "alternatives": [...]}, ...], ...} | null
    }

Editing: change steps freely, and pin a step to a model by adding ``"model"`` to it. A loaded
plan is validated again; the saved ``allocation`` is what was chosen when the file was written
(``PlanDocument.allocation_is_current`` says whether it still matches the steps) and is meant
to be recomputed: pins are the way to keep a model.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tokenplan.errors import InvalidPlanError, PlanParseError, UsageError
from tokenplan.planning.allocator import Allocation
from tokenplan.planning.schema import Plan
from tokenplan.planning.validate import parse_plan

if TYPE_CHECKING:
    from tokenplan.planning.planner import PlannerResult

__all__ = [
    "PLAN_FILE_VERSION",
    "PlanDocument",
    "PlannerInfo",
    "load_plan",
    "loads_plan",
    "plan_document",
    "save_plan",
]

PLAN_FILE_VERSION = 1


class PlannerInfo(BaseModel):
    """What planning cost: the planner model, its calls and their total cost."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model: str
    cost_usd: float = 0.0
    calls: int = 1
    simulated: bool = False

    @classmethod
    def from_result(cls, result: PlannerResult) -> PlannerInfo:
        return cls(
            model=result.model,
            cost_usd=result.cost_usd,
            calls=result.calls,
            simulated=result.simulated,
        )


@dataclass(frozen=True, slots=True)
class PlanDocument:
    """A loaded ``plan.json``."""

    plan: Plan
    allocation: Allocation | None = None
    planner: PlannerInfo | None = None
    created: str = ""
    version: int = PLAN_FILE_VERSION

    @property
    def allocation_is_current(self) -> bool:
        """Whether the saved allocation still covers exactly these steps and pins."""
        alloc = self.allocation
        if alloc is None or [s.step_id for s in alloc.steps] != list(self.plan.ids):
            return False
        for step, sa in zip(self.plan.steps, alloc.steps, strict=True):
            if step.model is not None and step.model != sa.model:
                return False
            if (step.capability, step.est_input_tokens) != (sa.capability, sa.est_input_tokens):
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return plan_document(
            self.plan, self.allocation, planner=self.planner, created=self.created or None
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def plan_document(
    plan: Plan,
    allocation: Allocation | None = None,
    *,
    planner: PlannerInfo | PlannerResult | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """The ``plan.json`` content as a JSON-ready dict (also what ``plan --json`` prints)."""
    info: PlannerInfo | None
    if planner is None or isinstance(planner, PlannerInfo):
        info = planner
    else:
        info = PlannerInfo.from_result(planner)
    return {
        "version": PLAN_FILE_VERSION,
        "created": created or _now(),
        "goal": plan.goal,
        "steps": [s.to_dict() for s in plan.steps],
        "planner": info.model_dump(mode="json") if info is not None else None,
        "allocation": allocation.model_dump(mode="json") if allocation is not None else None,
    }


def save_plan(
    path: str | os.PathLike[str],
    plan: Plan,
    allocation: Allocation | None = None,
    *,
    planner: PlannerInfo | PlannerResult | None = None,
    created: str | None = None,
) -> Path:
    """Write ``plan.json`` atomically, readable by its owner only (it holds the goal)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        plan_document(plan, allocation, planner=planner, created=created),
        indent=2,
        ensure_ascii=False,
    )
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_plan(path: str | os.PathLike[str], *, max_steps: int | None = None) -> PlanDocument:
    """Read and validate a ``plan.json``; :class:`UsageError` (one line) when it is unusable.

    The validation problems of an invalid plan are on the error's ``__cause__``
    (an :class:`InvalidPlanError` with ``problems``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"plan file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read plan file {p}: {exc}") from None
    return loads_plan(text, source=str(p), max_steps=max_steps)


def loads_plan(
    text: str, *, source: str = "plan.json", max_steps: int | None = None
) -> PlanDocument:
    """:func:`load_plan` for text already read."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: expected a JSON object with 'goal' and 'steps'")
    version = data.get("version", PLAN_FILE_VERSION)
    if not isinstance(version, int) or version < 1:
        raise UsageError(f"{source}: 'version' must be a positive whole number")
    if version > PLAN_FILE_VERSION:
        raise UsageError(
            f"{source} has format version {version}; this tokenplan reads up to "
            f"{PLAN_FILE_VERSION} - upgrade tokenplan"
        )
    goal = data.get("goal")
    if not isinstance(goal, str) or not goal.strip():
        raise UsageError(f"{source}: 'goal' must be a non-empty string")
    try:
        plan = parse_plan(data, goal=goal, max_steps=max_steps)
    except InvalidPlanError as exc:
        raise UsageError(f"{source}: {exc}") from exc
    except PlanParseError as exc:
        raise UsageError(f"{source}: {exc}") from exc
    return PlanDocument(
        plan=plan,
        allocation=_section(data, "allocation", Allocation, source),
        planner=_section(data, "planner", PlannerInfo, source),
        created=str(data.get("created") or ""),
        version=version,
    )


def _section(data: dict[str, Any], key: str, cls: type[Any], source: str) -> Any:
    value = data.get(key)
    if value is None:
        return None
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in (key, *first["loc"]))
        raise UsageError(f"{source}: {where}: {first['msg']}") from None
