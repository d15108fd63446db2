"""The LLM step runner: what the scheduler calls for each step of a plan.

For one step it builds the prompt (goal, instructions, direct dependencies' outputs, fitted to
the model's context window), calls the step's *rung* (its model, then same-tier alternatives:
the provider layer retries and fails over) under the run's budget, checks the answer, and
escalates to the next tier up when the answer is rejected or the rung is dead. Every call is
made under ``call_context(kind="step", ...)``, so the metering layer reserves budget for it and
writes its ledger line (``invalid`` when the check rejects the answer).

Budget: a call that does not fit while other calls are in flight waits for them to settle
(reservations are worst cases); only when nothing is in flight and it still does not fit is
the budget exhausted, which the scheduler turns into a ``budget_exhausted`` run.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from tokenplan.errors import AllCandidatesFailed, BudgetError, StepFailedError, redact
from tokenplan.execution.acceptance import check_output
from tokenplan.execution.events import BudgetWait, ExecutorEvent, StepAttempt, StepEscalated
from tokenplan.execution.ladder import Ladder, rung_limits
from tokenplan.execution.prompts import StepInput, build_step_prompt
from tokenplan.execution.result import StepOutcome
from tokenplan.ledger.context import call_context
from tokenplan.planning.acceptance import AcceptanceSpec, parse_acceptance
from tokenplan.planning.candidates import DEFAULT_REASONING_OUTPUT_FACTOR, billed_output_tokens
from tokenplan.tokens import estimate_request_tokens
from tokenplan.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.execution.records import StepRecord
    from tokenplan.execution.run_budget import RunBudget
    from tokenplan.ledger.runs import RunFolder
    from tokenplan.planning.schema import Plan, Step
    from tokenplan.runtime import Runtime

__all__ = ["OUTPUT_HEADROOM", "OUTPUT_HEADROOM_TOKENS", "TRUNCATED_ALLOWANCE_FACTOR", "StepRunner"]

log = logging.getLogger(__name__)

#: ``max_tokens`` = expected (billed) output x this + :data:`OUTPUT_HEADROOM_TOKENS`: room for
#: an answer longer than planned, so it is not cut off (which would force an escalation).
OUTPUT_HEADROOM = 1.5
OUTPUT_HEADROOM_TOKENS = 256
#: An answer cut off by the length limit escalates with this many times the output allowance.
TRUNCATED_ALLOWANCE_FACTOR = 2.0
_REASON_CHARS = 300


class _Rejected(Exception):
    """A rung gave no usable answer; ``answered_by`` is the model whose answer was rejected."""

    def __init__(
        self, reason: str, *, answered_by: str | None = None, truncated: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answered_by = answered_by
        self.truncated = truncated


class _Verdicts:
    """A step's acceptance check, run once per answer.

    The metering layer asks first (for the ledger line); the runner then reads the same
    verdict for the same response instead of parsing the answer again.
    """

    __slots__ = ("_last", "spec")

    def __init__(self, spec: AcceptanceSpec) -> None:
        self.spec = spec
        self._last: tuple[ChatResponse, str | None] | None = None

    def __call__(self, response: ChatResponse) -> str | None:
        verdict = check_output(response, self.spec)
        self._last = (response, verdict)
        return verdict

    def of(self, response: ChatResponse) -> str | None:
        last = self._last
        return last[1] if last is not None and last[0] is response else self(response)


class StepRunner:
    """``await runner(step_id)`` runs one step of ``plan`` and returns a :class:`StepOutcome`.

    ``assignment`` maps step ids to the allocated model ids; ``outputs`` holds the text of the
    steps that succeeded (read for dependencies, written on success); ``records`` the
    :class:`StepRecord` of every step (updated in place). ``folder`` (if any) receives
    ``steps/<id>.md``. ``emit`` receives progress events; ``clock()`` gives their ``t_s``.
    """

    def __init__(
        self,
        *,
        runtime: Runtime,
        plan: Plan,
        assignment: Mapping[str, str],
        budget: RunBudget,
        run_id: str,
        ladder: Ladder,
        outputs: MutableMapping[str, str],
        records: MutableMapping[str, StepRecord],
        folder: RunFolder | None = None,
        max_rungs: int = 4,
        emit: Callable[[ExecutorEvent], object] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._runtime = runtime
        self._catalog = runtime.catalog
        self._plan = plan
        self._steps = {s.id: s for s in plan.steps}
        self._assignment = assignment
        self._budget = budget
        self._run_id = run_id
        self._ladder = ladder
        self._outputs = outputs
        self._records = records
        self._folder = folder
        self._max_rungs = max(1, max_rungs)
        self._emit = emit
        self._clock = clock

    async def __call__(self, step_id: str) -> StepOutcome:
        step = self._steps[step_id]
        record = self._records[step_id]
        record.status = "running"
        spec = parse_acceptance(step.acceptance)
        inputs = [
            StepInput(d, self._steps[d].title, self._outputs.get(d, "")) for d in step.depends_on
        ]
        started = time.perf_counter()
        reasons: list[str] = []
        response: ChatResponse | None = None
        budget_error: BudgetError | None = None
        verdicts = _Verdicts(spec)
        with call_context(
            run_id=self._run_id,
            kind="step",
            step_id=step_id,
            capability=step.capability,
            escalated_from=None,
            budget=self._budget,
            accept=verdicts,
        ) as ctx:
            try:
                response = await self._climb(step, verdicts, inputs, reasons)
            except BudgetError as exc:
                budget_error = exc
            finally:
                calls = ctx.next_attempt() - 1
                record.attempts += calls
                record.duration_s = time.perf_counter() - started
        if response is not None:
            return self._succeeded(step, record, response, calls)
        if budget_error is not None:
            record.error = budget_error.message
            return StepOutcome.failure(budget_error, attempts=calls, info=self._info(record))
        limit = (
            "the attempt limit was reached"
            if len(reasons) >= self._max_rungs
            else "no higher tier can run it"
        )
        why = "; ".join(reasons)
        error = StepFailedError(f"step '{step_id}' failed: {why}; {limit}", step_id=step_id)
        record.error = error.message
        return StepOutcome.failure(error, attempts=calls, info=self._info(record))

    async def _climb(
        self, step: Step, verdicts: _Verdicts, inputs: list[StepInput], reasons: list[str]
    ) -> ChatResponse | None:
        """Try rungs from the allocated model up; the accepted answer, or ``None``."""
        model = self._catalog.get(self._assignment[step.id])
        escalated_from: str | None = None
        allowance = 1.0
        for rung in range(1, self._max_rungs + 1):
            try:
                return await self._rung(
                    step, verdicts, model, rung, inputs, escalated_from, allowance=allowance
                )
            except _Rejected as exc:
                if exc.truncated:  # the answer needed more room than planned: give it twice
                    allowance *= TRUNCATED_ALLOWANCE_FACTOR
                escalated_from = exc.answered_by or model.id
                reasons.append(f"{escalated_from}: {exc.reason}")
                last = rung == self._max_rungs
                nxt = self._escalate(
                    step, self._records[step.id], model, escalated_from, exc.reason, last=last
                )
                if nxt is None:
                    return None
                model = nxt
        return None

    # -- one rung -----------------------------------------------------------------------------

    async def _rung(
        self,
        step: Step,
        verdicts: _Verdicts,
        model: Model,
        rung_no: int,
        inputs: list[StepInput],
        escalated_from: str | None,
        *,
        allowance: float = 1.0,
    ) -> ChatResponse:
        record = self._records[step.id]
        rung = self._ladder.rung(step, model)
        window, max_out = rung_limits(rung)
        expected = self._expected_output(step, model)
        prompt = build_step_prompt(
            step,
            self._plan.goal,
            inputs,
            model_id=model.id,
            context_window=window,
            max_tokens=self._max_tokens(expected, max_out, allowance),
        )
        for trim in prompt.trims:
            record.trimmed.append(trim.to_dict())
            record.notes.append(trim.note())
        request = ChatRequest(
            model=model.id,
            messages=prompt.messages,
            max_tokens=prompt.max_tokens,
            json_mode=verdicts.spec.kind == "json",
        )
        if self._emit is not None:
            self._emit(
                StepAttempt(
                    step.id,
                    model.id,
                    model.tier,
                    rung_no,
                    self._clock(),
                    max_tokens=prompt.max_tokens,
                    fallbacks=tuple(m.id for m in rung[1:]),
                    escalated_from=escalated_from,
                    trimmed=len(prompt.trims),
                )
            )
        # The one input estimate of this call (the metering layer reads the same number).
        input_tokens = estimate_request_tokens(request, messages_tokens=prompt.input_tokens)
        needed = model.worst_case_cost(input_tokens, prompt.max_tokens)
        # Less room than the step is expected to need would only buy a cut-off answer.
        scope = call_context(
            min_output_tokens=min(expected, prompt.max_tokens),
            # The step's context has escalated_from=None: only an escalated rung sets it.
            **({"escalated_from": escalated_from} if escalated_from else {}),
        )
        with scope:
            try:
                response = await self._call(step.id, [m.id for m in rung], request, needed)
            except AllCandidatesFailed as exc:
                raise _Rejected(_dead_rung(exc)) from exc
        self._account(record, response)
        verdict = verdicts.of(response)
        if verdict is not None:
            raise _Rejected(
                verdict,
                answered_by=response.model,
                truncated=response.finish_reason == "length",
            )
        return response

    async def _call(
        self, step_id: str, ladder: list[str], request: ChatRequest, needed_usd: float
    ) -> ChatResponse:
        """Call the rung, waiting for in-flight calls to settle while the budget is short."""
        budget = self._budget
        model = self._runtime.fallback_model(ladder)
        while True:
            if not budget.fits(needed_usd) and budget.outstanding > 0:
                if self._emit is not None:
                    self._emit(BudgetWait(step_id, needed_usd, budget.available_usd, self._clock()))
                await budget.wait_for_room(needed_usd)
            # Nothing suspends between the check above and the metering layer's reservation.
            try:
                return await model.complete(request)
            except BudgetError:
                if budget.outstanding > 0:
                    await budget.wait_for_settle()
                    continue
                raise
            except AllCandidatesFailed as exc:
                short = [e for e in exc.exceptions if isinstance(e, BudgetError)]
                if not short:
                    raise
                if budget.outstanding > 0:
                    await budget.wait_for_settle()
                    continue
                raise short[0] from exc

    @staticmethod
    def _expected_output(step: Step, model: Model) -> int:
        """The output ``model`` is expected to bill for ``step`` (hidden reasoning included)."""
        billed = billed_output_tokens(
            model, step, reasoning_output_factor=DEFAULT_REASONING_OUTPUT_FACTOR
        )
        return max(1, math.ceil(billed))

    @staticmethod
    def _max_tokens(expected: int, max_out: int, allowance: float) -> int:
        want = math.ceil((expected * OUTPUT_HEADROOM + OUTPUT_HEADROOM_TOKENS) * allowance)
        return max(1, min(want, max_out))

    # -- bookkeeping --------------------------------------------------------------------------

    def _account(self, record: StepRecord, response: ChatResponse) -> None:
        record.model = response.model
        found = self._catalog.find(response.model)
        record.tier = found.tier if found is not None else record.tier
        record.cost_usd += response.cost_usd
        record.simulated = record.simulated or response.simulated

    def _escalate(
        self, step: Step, record: StepRecord, model: Model, from_id: str, reason: str, *, last: bool
    ) -> Model | None:
        """Record the failed rung; the next tier's model, or ``None`` when the step gives up."""
        budget = self._budget
        left = math.inf if budget.limit_usd is None else budget.limit_usd - budget.spent_usd
        nxt = None if last else self._ladder.next_model(step, model, budget_left_usd=left)
        to_id = nxt.id if nxt is not None else None
        record.escalations.append({"from": from_id, "to": to_id, "reason": reason})
        if to_id is not None:
            record.notes.append(f"escalated {from_id} -> {to_id}: {reason}")
        else:
            why = "attempt limit reached" if last else "no higher tier"
            record.notes.append(f"{from_id} failed ({reason}); {why}")
        log.info("step escalated", extra={"step_id": step.id, "from": from_id, "to": to_id})
        if self._emit is not None:
            self._emit(StepEscalated(step.id, from_id, to_id, reason, self._clock()))
        return nxt

    def _succeeded(
        self, step: Step, record: StepRecord, response: ChatResponse, calls: int
    ) -> StepOutcome:
        text = response.text
        self._outputs[step.id] = text
        if self._folder is not None:
            self._folder.write_step_output(step.id, text)
            record.output_path = self._folder.step_output_relpath(step.id)
        record.error = None
        return StepOutcome.success(text, attempts=calls, info=self._info(record))

    def _info(self, record: StepRecord) -> dict[str, Any]:
        return {
            "model": record.model,
            "tier": record.tier,
            "cost_usd": record.cost_usd,
            "spent_usd": self._budget.spent_usd,
            "escalations": len(record.escalations),
        }


def _dead_rung(exc: AllCandidatesFailed) -> str:
    parts = []
    for e in exc.exceptions:
        model = getattr(e, "model", "") or "?"
        parts.append(f"{model}: {type(e).__name__}")
    return redact("no model of the rung answered (" + ", ".join(parts) + ")", limit=_REASON_CHARS)
