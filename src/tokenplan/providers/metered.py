"""Metering: budget reservation and exactly one ledger :class:`~tokenplan.ledger.attempt.Attempt`
per model call, whatever its outcome.

:class:`MeteredModel` wraps any :class:`~tokenplan.providers.base.ChatModel` serving one catalog
model. Each call (every retry and every failover is a call of its own):

1. reserves its worst case from ``current_context().budget`` when there is one, lowering
   ``max_tokens`` so the worst case fits what is left; when not even one output token fits it
   raises :class:`~tokenplan.errors.BudgetError` and makes no call (and writes no line);
2. settles the reservation to the actual cost (:func:`tokenplan.pricing.usage_cost`) when the
   call ends: on success, on failure (0, or an estimate of a stream's partial output, which the
   provider bills) and on cancellation;
3. hands one ``Attempt`` to the sink, with the context's run, kind, step, attempt number,
   capability and escalation fields.

Streams should be consumed to the end or closed (``contextlib.aclosing``); a stream closed early
is recorded as ``cancelled``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from tokenplan.errors import AcceptanceError, BudgetError, ResponseFormatError, error_summary
from tokenplan.ledger.attempt import Attempt, Outcome
from tokenplan.ledger.context import CallContext, current_context
from tokenplan.pricing import usage_cost
from tokenplan.providers._streams import closing_stream
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

if TYPE_CHECKING:
    from tokenplan.budget import Reservation
    from tokenplan.catalog.model import Model
    from tokenplan.providers.base import ChatModel

__all__ = ["AttemptSink", "MeteredModel"]

log = logging.getLogger(__name__)

#: Receives one :class:`Attempt` per model call (the ledger's ``append``).
AttemptSink = Callable[[Attempt], None]

_RESERVE_TRIES = 3


@dataclass(slots=True)
class _Call:
    request: ChatRequest
    ctx: CallContext
    attempt: int
    input_estimate: int
    est_cost_usd: float
    reservation: Reservation | None
    started: float


class MeteredModel:
    """``inner`` serving catalog ``model``, with budget reservations and one ledger line per call.

    ``provider`` is the name recorded in the ledger (the endpoint that bills the call);
    ``sink`` receives each :class:`Attempt` (``None`` records nothing).
    """

    def __init__(
        self,
        inner: ChatModel,
        model: Model,
        *,
        provider: str,
        sink: AttemptSink | None = None,
        simulated: bool = False,
    ) -> None:
        self.inner = inner
        self.model = model
        self.provider = provider
        self.simulated = simulated
        self._sink = sink

    def __repr__(self) -> str:
        return f"MeteredModel({self.inner!r})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        call = self._begin(request)
        try:
            response = await self.inner.complete(call.request)
        except BaseException as exc:
            self._failed(call, exc, partial_text="")
            raise
        return self._succeeded(call, response)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        call = self._begin(request)
        parts: list[str] = []
        final: ChatResponse | None = None
        try:
            async with closing_stream(self.inner.stream(call.request)) as chunks:
                async for chunk in chunks:
                    if chunk.response is not None:
                        final = chunk.response
                    elif chunk.delta:
                        parts.append(chunk.delta)
                        yield chunk
            if final is None:
                raise ResponseFormatError(
                    "stream ended without a final response",
                    provider=self.provider,
                    model=self.model.id,
                )
        except BaseException as exc:
            self._failed(call, exc, partial_text="".join(parts))
            raise
        yield StreamChunk(response=self._succeeded(call, final))

    # -- one call's bookkeeping ----------------------------------------------------------------

    def _begin(self, request: ChatRequest) -> _Call:
        ctx = current_context()
        model = self.model
        if request.model != model.id:  # an alias or router name: inner models see the catalog id
            request = request.model_copy(update={"model": model.id})
        input_estimate = estimate_messages_tokens(m.content for m in request.messages)
        reservation: Reservation | None = None
        budget = ctx.budget
        if budget is not None and budget.limit_usd is not None:
            asked = request.max_tokens or model.max_output_tokens
            for _ in range(_RESERVE_TRIES):
                fit = budget.fit_max_tokens(model, input_tokens=input_estimate, max_tokens=asked)
                if fit is None:
                    break
                reservation = budget.try_reserve(model.worst_case_cost(input_estimate, fit))
                if reservation is not None:
                    if fit != request.max_tokens:
                        request = request.model_copy(update={"max_tokens": fit})
                    break
            if reservation is None:
                floor = model.worst_case_cost(input_estimate, 1)
                raise BudgetError(
                    f"budget exhausted: {model.id} needs at least ${floor:.6f} for "
                    f"~{input_estimate} input tokens, ${budget.available_usd:.6f} left of "
                    f"${budget.limit_usd:.4f}",
                    budget_usd=budget.limit_usd,
                    spent_usd=budget.spent_usd,
                    requested_usd=floor,
                )
            est = reservation.amount_usd
        else:
            est = model.worst_case_cost(
                input_estimate, request.max_tokens or model.max_output_tokens
            )
            if budget is not None:  # unlimited: still tracked
                reservation = budget.try_reserve(est)
        return _Call(
            request=request,
            ctx=ctx,
            attempt=ctx.next_attempt(),
            input_estimate=input_estimate,
            est_cost_usd=est,
            reservation=reservation,
            started=time.perf_counter(),
        )

    def _succeeded(self, call: _Call, response: ChatResponse) -> ChatResponse:
        cost = usage_cost(self.model, response.usage)
        if call.reservation is not None:
            call.reservation.settle(cost)
        if response.cost_usd != cost or response.model != self.model.id:
            response = response.model_copy(update={"cost_usd": cost, "model": self.model.id})
        simulated = response.simulated or self.simulated
        rejected = call.ctx.accept(response) if call.ctx.accept is not None else None
        if rejected is None:
            self._record(call, "ok", response.usage, cost, None, simulated)
        else:
            self._record(
                call, "invalid", response.usage, cost, AcceptanceError(rejected), simulated
            )
        return response

    def _failed(self, call: _Call, exc: BaseException, *, partial_text: str) -> None:
        usage = Usage()
        cost = 0.0
        if partial_text:
            # The provider bills what it streamed before failing: settle an estimate of it.
            usage = Usage(
                input_tokens=call.input_estimate, output_tokens=estimate_tokens(partial_text)
            )
            cost = usage_cost(self.model, usage)
        if call.reservation is not None:
            call.reservation.settle(cost)
        cancelled = isinstance(exc, (anyio.get_cancelled_exc_class(), GeneratorExit))
        outcome: Outcome = (
            "cancelled" if cancelled or isinstance(exc, KeyboardInterrupt) else "error"
        )
        self._record(call, outcome, usage, cost, exc, self.simulated)

    def _record(
        self,
        call: _Call,
        outcome: Outcome,
        usage: Usage,
        cost: float,
        exc: BaseException | None,
        simulated: bool,
    ) -> None:
        latency_ms = (time.perf_counter() - call.started) * 1000.0
        error = None
        if exc is not None:
            summary = error_summary(exc)
            error = f"{summary['type']}: {summary['message']}" if summary["message"] else None
            error = error or summary["type"]
        ctx = call.ctx
        attempt = Attempt(
            run_id=ctx.run_id,
            kind=ctx.kind,
            model=self.model.id,
            provider=self.provider,
            outcome=outcome,
            step_id=ctx.step_id,
            attempt=call.attempt,
            tier=self.model.tier,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost_usd=cost,
            est_cost_usd=call.est_cost_usd,
            latency_ms=round(latency_ms, 3),
            error=error,
            escalated_from=ctx.escalated_from,
            capability=ctx.capability,
            simulated=simulated,
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "model_call",
                extra={
                    "model": self.model.id,
                    "provider": self.provider,
                    "outcome": outcome,
                    "cost_usd": cost,
                    "latency_ms": attempt.latency_ms,
                },
            )
        if self._sink is not None:
            self._sink(attempt)
