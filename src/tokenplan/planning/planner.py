"""The planner: one model call turns a goal into a validated plan, with bounded repairs.

The request follows the plan contract: a system prompt, then ``<goal>...</goal>`` and
``<max_steps>N</max_steps>``; the answer is asked for as ``JsonSchemaFormat(name="tokenplan_plan",
schema=PLAN_JSON_SCHEMA)`` when the planner model supports JSON schemas (catalog flag), else as
JSON mode with the schema spelled out in the prompt. The answer is parsed (code fences
tolerated) and validated; on any problem the model is re-asked with its previous answer and the
exact problems, at most ``max_repairs`` times. Then the last error is raised: a plan is never
replaced by a fallback.

Every call is made under ``call_context(kind="plan")``, so the metering layer of the provider
stack reserves budget for it and writes its ledger line; the planner writes nothing itself. The
sum of the calls' ``cost_usd`` is returned so the run's budget counts it.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tokenplan.catalog.catalog import Catalog
from tokenplan.catalog.model import Model
from tokenplan.errors import InvalidPlanError, NoCandidateError, PlanParseError, UsageError
from tokenplan.ledger.context import call_context
from tokenplan.money import format_usd
from tokenplan.planning.inputs import check_goal, check_max_steps
from tokenplan.planning.prompts import (
    goal_message,
    parse_error_message,
    problems_message,
    system_prompt,
)
from tokenplan.planning.schema import PLAN_JSON_SCHEMA, Plan
from tokenplan.planning.validate import parse_plan
from tokenplan.providers.base import ChatModel
from tokenplan.types import ChatRequest, ChatResponse, JsonSchemaFormat, Message, Usage

if TYPE_CHECKING:
    from tokenplan.budget import Budget

__all__ = [
    "DEFAULT_MAX_REPAIRS",
    "DEFAULT_PLANNER_MAX_TOKENS",
    "PLANNER_MIN_OUTPUT_TOKENS",
    "OutputMode",
    "PlannerResult",
    "choose_planner_model",
    "plan_goal",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_REPAIRS = 2
#: Room for a 12-step plan plus a reasoning model's hidden thinking; the budget layer may lower it.
DEFAULT_PLANNER_MAX_TOKENS = 8192
#: The least output room a planning call is made with: a plan of a few steps in the schema's
#: JSON shape takes about this many tokens, so with less the answer is certain to be cut off
#: (the call is refused with a ``BudgetError`` instead; capped at ``max_tokens``).
PLANNER_MIN_OUTPUT_TOKENS = 1024
#: Minimum reasoning prior of an automatically chosen planner model.
PLANNER_MIN_PRIOR = 0.75
# A typical planning call, used to rank planner models by price.
_PLAN_CALL_INPUT_TOKENS = 1_500
_PLAN_CALL_OUTPUT_TOKENS = 2_500

#: How the answer's format is requested: the provider's JSON-schema mode, JSON mode, or only
#: the prompt (for endpoints that support neither).
OutputMode = Literal["auto", "json_schema", "json_mode", "prompt"]


@dataclass(frozen=True, slots=True)
class PlannerResult:
    """A valid plan and what it took to get it.

    ``answers`` holds every raw answer (the last one produced ``plan``); ``rejected`` the
    problems found in each earlier answer; ``cost_usd`` the sum of all calls' costs.
    """

    plan: Plan
    model: str
    cost_usd: float
    calls: int
    usage: Usage
    answers: tuple[str, ...]
    rejected: tuple[tuple[str, ...], ...]
    output_mode: str
    simulated: bool = False

    @property
    def repairs(self) -> int:
        return self.calls - 1


def choose_planner_model(
    catalog: Catalog, *, available: Collection[str] | None = None, model_id: str | None = None
) -> Model:
    """The planner model: ``model_id`` if given, else a cheap capable one.

    The automatic choice is the cheapest model (for a typical planning call) that supports JSON
    schemas and has a reasoning prior of at least :data:`PLANNER_MIN_PRIOR`; if none does, the
    best-rated reasoning model. ``available`` restricts the choice to usable models.
    """
    if model_id:
        return catalog.get(model_id)
    usable = [m for m in catalog if m.can("reasoning") and (available is None or m.id in available)]
    if not usable:
        raise NoCandidateError("no available model can plan (none is rated for reasoning)")
    good = [m for m in usable if m.json_schema and m.prior("reasoning") >= PLANNER_MIN_PRIOR]
    if not good:
        return max(usable, key=lambda m: (m.prior("reasoning"), -_plan_call_cost(m), m.id))
    return min(good, key=lambda m: (_plan_call_cost(m), -m.prior("reasoning"), m.id))


def _plan_call_cost(model: Model) -> float:
    factor = 2.0 if model.reasoning else 1.0
    return model.worst_case_cost(
        _PLAN_CALL_INPUT_TOKENS, math.ceil(_PLAN_CALL_OUTPUT_TOKENS * factor)
    )


def _resolve_mode(mode: OutputMode, info: Model | None) -> str:
    if mode != "auto":
        return mode
    if info is None:
        return "json_mode"  # unknown model: JSON mode is the most widely supported
    return "json_schema" if info.json_schema else "json_mode"


async def plan_goal(
    goal: str,
    *,
    model: ChatModel,
    planner_model_id: str,
    catalog: Catalog | None = None,
    max_steps: int = 12,
    max_repairs: int = DEFAULT_MAX_REPAIRS,
    max_tokens: int = DEFAULT_PLANNER_MAX_TOKENS,
    output_mode: OutputMode = "auto",
    temperature: float | None = None,
    run_id: str | None = None,
    budget: Budget | None = None,
) -> PlannerResult:
    """Ask ``model`` (as ``planner_model_id``) for a plan of ``goal``; validate and repair.

    ``catalog`` tells whether the planner model supports JSON schemas (``output_mode="auto"``)
    and caps ``max_tokens`` at its output limit.
    ``run_id`` and ``budget`` (a :class:`tokenplan.budget.Budget`) are set on the call
    context for the metering layer; when omitted, the enclosing context's are kept.

    Raises :class:`UsageError` for an empty goal or bad limits, :class:`PlanParseError` or
    :class:`InvalidPlanError` (with the last problems) when ``1 + max_repairs`` calls gave no
    valid plan, and whatever the model raises (:class:`ProviderError` subclasses).
    """
    goal, max_steps = _check_inputs(goal, max_steps, max_repairs=max_repairs, max_tokens=max_tokens)
    mode, max_tokens = _call_format(catalog, planner_model_id, output_mode, max_tokens)
    messages = _first_messages(goal, max_steps=max_steps, mode=mode)
    transcript = _Transcript(model=planner_model_id)
    last: PlanParseError | InvalidPlanError | None = None
    with call_context(**_context_fields(run_id, budget, max_tokens=max_tokens)):
        for call in range(1, max_repairs + 2):
            request = _request(planner_model_id, messages, mode, max_tokens, temperature)
            response = await model.complete(request)
            transcript.add(response)
            try:
                plan = parse_plan(response.text, goal=goal, max_steps=max_steps, allow_pins=False)
            except (PlanParseError, InvalidPlanError) as exc:
                last = exc
                _ask_for_repair(messages, transcript, response, exc, call=call)
            else:
                log.info(
                    "plan accepted",
                    extra={"model": transcript.model, "calls": call, "steps": len(plan.steps)},
                )
                return transcript.result(plan, output_mode=mode)
    raise _final_error(
        last, planner=transcript.model, calls=len(transcript.answers), cost_usd=transcript.cost_usd
    )


def _check_inputs(
    goal: str, max_steps: int, *, max_repairs: int, max_tokens: int
) -> tuple[str, int]:
    """The goal and step limit, checked and normalized; :class:`UsageError` for bad limits."""
    goal = check_goal(goal)
    max_steps = check_max_steps(max_steps)
    if max_repairs < 0:
        raise UsageError("max_repairs must be >= 0")
    if max_tokens < 1:
        raise UsageError("max_tokens must be >= 1")
    return goal, max_steps


def _call_format(
    catalog: Catalog | None, model_id: str, output_mode: OutputMode, max_tokens: int
) -> tuple[str, int]:
    """The output mode to request and ``max_tokens`` capped at the model's output limit."""
    info = catalog.find(model_id) if catalog is not None else None
    mode = _resolve_mode(output_mode, info)
    if info is not None:
        max_tokens = min(max_tokens, info.max_output_tokens)
    return mode, max_tokens


def _first_messages(goal: str, *, max_steps: int, mode: str) -> list[Message]:
    return [
        Message(role="system", content=system_prompt(include_schema=mode != "json_schema")),
        Message(role="user", content=goal_message(goal, max_steps=max_steps)),
    ]


def _ask_for_repair(
    messages: list[Message],
    transcript: _Transcript,
    response: ChatResponse,
    exc: PlanParseError | InvalidPlanError,
    *,
    call: int,
) -> None:
    """Record a rejected answer and append it and the repair request to ``messages``."""
    problems, feedback = _feedback(exc, truncated=response.finish_reason == "length")
    transcript.rejected.append(problems)
    log.info(
        "plan rejected",
        extra={"model": transcript.model, "call": call, "problems": len(problems)},
    )
    messages.append(Message(role="assistant", content=response.text or "(empty answer)"))
    messages.append(Message(role="user", content=feedback))


@dataclass
class _Transcript:
    """What the planner's calls produced and cost so far."""

    model: str
    answers: list[str] = field(default_factory=list)
    rejected: list[tuple[str, ...]] = field(default_factory=list)
    cost_usd: float = 0.0
    usage: Usage = field(default_factory=Usage)
    simulated: bool = False

    def add(self, response: ChatResponse) -> None:
        self.answers.append(response.text)
        self.cost_usd += response.cost_usd
        self.usage = self.usage + response.usage
        self.simulated = self.simulated or response.simulated
        self.model = response.model or self.model

    def result(self, plan: Plan, *, output_mode: str) -> PlannerResult:
        return PlannerResult(
            plan=plan,
            model=self.model,
            cost_usd=self.cost_usd,
            calls=len(self.answers),
            usage=self.usage,
            answers=tuple(self.answers),
            rejected=tuple(self.rejected),
            output_mode=output_mode,
            simulated=self.simulated,
        )


def _context_fields(
    run_id: str | None, budget: Budget | None, *, max_tokens: int
) -> dict[str, Any]:
    # A fresh attempt counter numbers the planner's calls 1, 2, 3; run id and budget are only
    # set when given, so an enclosing run's context is inherited otherwise.
    fields: dict[str, Any] = {
        "kind": "plan",
        "step_id": None,
        "capability": "reasoning",
        "escalated_from": None,
        "attempts": itertools.count(1),
    }
    if run_id is not None:
        fields["run_id"] = run_id
    if budget is not None:
        fields["budget"] = budget
    fields["min_output_tokens"] = min(max_tokens, PLANNER_MIN_OUTPUT_TOKENS)
    return fields


def _feedback(
    exc: PlanParseError | InvalidPlanError, *, truncated: bool
) -> tuple[tuple[str, ...], str]:
    """The problems of a rejected answer and the repair request that lists them."""
    if isinstance(exc, InvalidPlanError):
        return exc.problems, problems_message(exc.problems)
    return (exc.message,), parse_error_message(exc.message, truncated=truncated)


def _request(
    model_id: str,
    messages: list[Message],
    mode: str,
    max_tokens: int,
    temperature: float | None,
) -> ChatRequest:
    return ChatRequest(
        model=model_id,
        messages=tuple(messages),
        max_tokens=max_tokens,
        temperature=temperature,
        response_format=(
            JsonSchemaFormat(name="tokenplan_plan", json_schema=PLAN_JSON_SCHEMA)
            if mode == "json_schema"
            else None
        ),
        json_mode=mode == "json_mode",
    )


def _final_error(
    last: PlanParseError | InvalidPlanError | None, *, planner: str, calls: int, cost_usd: float
) -> PlanParseError | InvalidPlanError:
    head = (
        f"the planner ({planner}) gave no valid plan in {calls} "
        f"{'call' if calls == 1 else 'calls'} ({format_usd(cost_usd)} spent)"
    )
    if isinstance(last, InvalidPlanError):
        return InvalidPlanError(
            last.problems, message=f"{head}; last problems: {'; '.join(last.problems)}"
        )
    assert last is not None
    return PlanParseError(f"{head}; last answer: {last.message}", raw=last.raw)
