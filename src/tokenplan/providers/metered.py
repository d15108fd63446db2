"""Metering: budget reservation and exactly one ledger :class:`~tokenplan.ledger.attempt.Attempt`
per model call, whatever its outcome.

:class:`MeteredModel` wraps any :class:`~tokenplan.providers.base.ChatModel` serving one catalog
model. Each call (every retry and every failover is a call of its own):

1. reserves its worst case from ``current_context().budget`` when there is one: input is
   :func:`tokenplan.tokens.estimate_request_tokens` (messages, response schema, ``extra``), and
   ``max_tokens`` is lowered so the worst case fits what is left; when not even the context's
   ``min_output_tokens`` fit it raises :class:`~tokenplan.errors.BudgetError` and makes no call
   (and writes no line);
2. settles the reservation when the call ends: on success at the actual cost
   (:func:`tokenplan.pricing.usage_cost`; a warning is logged if that is above the
   reservation); on a failure the provider does not bill (an HTTP error status, a connection
   refused before the request was sent) at 0, or at an estimate of the partial output a
   stream had delivered; and when the outcome is unknown - a timeout, a cancellation, a
   connection lost after sending, an unreadable answer - at the reservation itself, the worst
   case the provider may bill, flagged in the ledger line's ``error``;
3. hands one ``Attempt`` to the sink, with the context's run, kind, step, attempt number,
   capability and escalation fields. A sink that fails (a full disk) is logged and never
   replaces the call's own outcome.

The response it returns names the catalog model, the endpoint that bills the call
(``provider``), the catalog cost and whether it was simulated: the same values as the ledger.

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

from tokenplan.errors import (
    AcceptanceError,
    BudgetError,
    ProviderConnectionError,
    ProviderTimeoutError,
    ResponseFormatError,
    TokenplanError,
    error_summary,
)
from tokenplan.ledger.attempt import Attempt, Outcome
from tokenplan.ledger.context import CallContext, current_context
from tokenplan.money import format_usd
from tokenplan.pricing import usage_cost
from tokenplan.providers._streams import closing_stream
from tokenplan.tokens import estimate_request_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

if TYPE_CHECKING:
    from tokenplan.budget import Budget, Reservation
    from tokenplan.catalog.model import Model
    from tokenplan.providers.base import ChatModel

__all__ = ["COST_UNKNOWN_NOTE", "AttemptSink", "MeteredModel"]

log = logging.getLogger(__name__)

#: Receives one :class:`Attempt` per model call (the ledger's ``append``).
AttemptSink = Callable[[Attempt], None]

_RESERVE_TRIES = 3
#: What an unknown outcome's ledger line says (its cost is the reservation, the worst case).
COST_UNKNOWN_NOTE = "cost unknown: settled at the reservation"


@dataclass(slots=True)
class _Call:
    request: ChatRequest
    ctx: CallContext
    attempt: int
    input_estimate: int
    max_output_tokens: int
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
        # Before any copy: the estimate is remembered for the request object the caller made.
        input_estimate = estimate_request_tokens(request)
        if request.model != model.id:  # an alias or router name: inner models see the catalog id
            request = request.model_copy(update={"model": model.id})
        asked = request.max_tokens or model.max_output_tokens
        reservation: Reservation | None = None
        budget = ctx.budget
        if budget is not None and budget.limit_usd is not None:
            floor = min(max(1, ctx.min_output_tokens), asked)
            for _ in range(_RESERVE_TRIES):
                fit = budget.fit_max_tokens(
                    model, input_tokens=input_estimate, max_tokens=asked, min_output_tokens=floor
                )
                if fit is None:
                    break
                reservation = budget.try_reserve(model.worst_case_cost(input_estimate, fit))
                if reservation is not None:
                    asked = fit
                    if fit != request.max_tokens:
                        request = request.model_copy(update={"max_tokens": fit})
                    break
            if reservation is None:
                raise _exhausted(model, budget, input_tokens=input_estimate, output_tokens=floor)
            est = reservation.amount_usd
        else:
            est = model.worst_case_cost(input_estimate, asked)
            if budget is not None:  # unlimited: still tracked
                reservation = budget.try_reserve(est)
        return _Call(
            request=request,
            ctx=ctx,
            attempt=ctx.next_attempt(),
            input_estimate=input_estimate,
            max_output_tokens=asked,
            est_cost_usd=est,
            reservation=reservation,
            started=time.perf_counter(),
        )

    def _succeeded(self, call: _Call, response: ChatResponse) -> ChatResponse:
        cost = usage_cost(self.model, response.usage)
        if call.reservation is not None:
            call.reservation.settle(cost)
        if cost > call.est_cost_usd * (1 + 1e-9) + 1e-12:
            log.warning(
                "%s cost %s, above its reservation of %s (%d input tokens billed, %d estimated)",
                self.model.id,
                format_usd(cost),
                format_usd(call.est_cost_usd),
                response.usage.input_tokens,
                call.input_estimate,
                extra={
                    "model": self.model.id,
                    "provider": self.provider,
                    "cost_usd": cost,
                    "reserved_usd": call.est_cost_usd,
                    "input_tokens": response.usage.input_tokens,
                    "input_estimate": call.input_estimate,
                    "output_tokens": response.usage.output_tokens,
                    "max_tokens": call.max_output_tokens,
                },
            )
        simulated = response.simulated or self.simulated
        stamped = {"cost_usd": cost, "model": self.model.id, "provider": self.provider}
        if simulated != response.simulated or any(
            getattr(response, k) != v for k, v in stamped.items()
        ):
            response = response.model_copy(update={**stamped, "simulated": simulated})
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
        note = None
        if _cost_unknown(exc):
            # Sent, and the answer was not seen to its end: the provider may bill up to the
            # whole generation. Settle the worst case that was reserved for it.
            usage = Usage(input_tokens=call.input_estimate, output_tokens=call.max_output_tokens)
            cost, note = call.est_cost_usd, COST_UNKNOWN_NOTE
        elif partial_text:
            # The provider bills what it streamed before failing: settle an estimate of it.
            output = min(estimate_tokens(partial_text), call.max_output_tokens)
            usage = Usage(input_tokens=call.input_estimate, output_tokens=output)
            cost = usage_cost(self.model, usage)
        if call.reservation is not None:
            call.reservation.settle(cost)
        cancelled = isinstance(exc, (anyio.get_cancelled_exc_class(), GeneratorExit))
        outcome: Outcome = (
            "cancelled" if cancelled or isinstance(exc, KeyboardInterrupt) else "error"
        )
        self._record(call, outcome, usage, cost, exc, self.simulated, note=note)

    def _record(
        self,
        call: _Call,
        outcome: Outcome,
        usage: Usage,
        cost: float,
        exc: BaseException | None,
        simulated: bool,
        *,
        note: str | None = None,
    ) -> None:
        latency_ms = (time.perf_counter() - call.started) * 1000.0
        error = None
        if exc is not None:
            summary = error_summary(exc)
            error = f"{summary['type']}: {summary['message']}" if summary["message"] else None
            error = error or summary["type"]
        if note is not None:
            error = f"{error} ({note})" if error else note
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
        if self._sink is None:
            return
        try:
            self._sink(attempt)
        except Exception as failure:
            # The call's own outcome (a paid answer, its error, a cancellation) stands.
            log.error(
                "the ledger line of a model call was not written",
                extra={
                    "model": self.model.id,
                    "outcome": outcome,
                    "cost_usd": cost,
                    "error": error_summary(failure)["message"],
                },
            )
            if exc is not None:
                exc.add_note(f"tokenplan: this call's ledger line was not written: {failure}")


def _cost_unknown(exc: BaseException) -> bool:
    """Whether the request may have been billed though no answer (or usage) came back."""
    if isinstance(
        exc,
        (
            anyio.get_cancelled_exc_class(),
            GeneratorExit,
            KeyboardInterrupt,
            ResponseFormatError,
        ),
    ):
        return True
    if isinstance(exc, (ProviderTimeoutError, ProviderConnectionError)):
        # The HTTP layer says whether the request got out (a timeout: unless it says not).
        return exc.sent
    # Our own errors (HTTP statuses, budget, keys, replay misses) are decided before or
    # without a billed generation; anything else is a failure we cannot place.
    return not isinstance(exc, TokenplanError)


def _exhausted(
    model: Model, budget: Budget, *, input_tokens: int, output_tokens: int
) -> BudgetError:
    floor = model.worst_case_cost(input_tokens, output_tokens)
    limit = budget.limit_usd or 0.0
    return BudgetError(
        f"budget exhausted: {model.id} needs at least {format_usd(floor)} for ~{input_tokens:,} "
        f"input and {output_tokens:,} output tokens; {format_usd(budget.available_usd)} left "
        f"of {format_usd(limit)}",
        budget_usd=limit,
        spent_usd=budget.spent_usd,
        requested_usd=floor,
    )
