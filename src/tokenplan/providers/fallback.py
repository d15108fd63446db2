"""Retries and failover, written once for the router, planner, executor, proxy and benchmark.

:class:`FallbackModel` is itself a :class:`~tokenplan.providers.base.ChatModel` over a ladder of
catalog ids (best candidate first, as the router ranks them). For each rung it:

* skips the model if the cooldown registry has it (or its endpoint) out;
* calls it, retrying transient errors (:attr:`~tokenplan.errors.ProviderError.retryable`) per
  the :class:`~tokenplan.providers.retry.RetryPolicy`, honouring ``retry-after``;
* on :class:`~tokenplan.errors.ModelUnavailableError` (400 on the model, 402, 403, 404) cools
  the model down; on :class:`~tokenplan.errors.AuthenticationError` (401) blocks the endpoint
  so its other models are skipped too; then, or when retries run out, fails over to the next
  rung. A non-retryable 4xx (bad request) and a :class:`~tokenplan.errors.BudgetError` for
  this rung also move on: the next model may accept the request or fit the budget.
* when the endpoint cannot be reached at all (connection refused, DNS, TLS, a bad base URL:
  a :class:`~tokenplan.errors.ProviderConnectionError` raised before the request was sent),
  skips that endpoint's other rungs for the rest of the call.

A skipped rung is recorded as a :class:`~tokenplan.errors.CooledDownError` naming that rung,
its endpoint, the cause and when it may be tried again, never as the cause itself.

Streams fail over only while nothing has been yielded; after the first chunk an error
propagates (the caller has already shown part of an answer). The first chunk yielded carries
the answering rung's id in :attr:`~tokenplan.types.StreamChunk.model`. When every rung fails,
:class:`~tokenplan.errors.AllCandidatesFailed` carries each rung's last error, except that when
every rung failed on the budget the first :class:`~tokenplan.errors.BudgetError` is raised
instead, since no model was called.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

from tokenplan.errors import (
    AllCandidatesFailed,
    AuthenticationError,
    BudgetError,
    ConfigError,
    CooledDownError,
    ModelUnavailableError,
    ProviderConnectionError,
    ProviderError,
    TokenplanError,
)
from tokenplan.providers import retry
from tokenplan.providers._streams import closing_stream
from tokenplan.providers.retry import RetryPolicy
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk

if TYPE_CHECKING:
    from tokenplan.providers.base import ChatModel
    from tokenplan.providers.cooldown import Cooldowns

__all__ = ["FallbackModel"]

log = logging.getLogger(__name__)


class FallbackModel:
    """A ladder of catalog ids answered by the first model that succeeds.

    ``factory(model_id)`` returns the (metered) model for an id; it may raise a
    :class:`~tokenplan.errors.TokenplanError` (for example a missing key), which skips the rung.
    ``endpoint_of(model_id)`` names the endpoint serving it, so a blocked endpoint is skipped
    before any call. ``cooldowns`` is shared across calls (the runtime owns one).
    """

    def __init__(
        self,
        ladder: Sequence[str],
        *,
        factory: Callable[[str], ChatModel],
        policy: RetryPolicy | None = None,
        cooldowns: Cooldowns | None = None,
        endpoint_of: Callable[[str], str | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not ladder:
            raise ValueError("FallbackModel needs at least one model id")
        self.ladder = tuple(ladder)
        self.policy = policy or RetryPolicy()
        self.cooldowns = cooldowns
        self._factory = factory
        self._endpoint_of = endpoint_of
        self._rng = rng

    def __repr__(self) -> str:
        return f"FallbackModel({list(self.ladder)!r})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        errors: list[Exception] = []
        unreachable: dict[str, ProviderError] = {}
        for model_id in self.ladder:
            model = self._candidate(model_id, errors, unreachable)
            if model is None:
                continue
            rung_request = _for_model(request, model_id)
            started = time.monotonic()
            attempt = 0
            while True:
                attempt += 1
                try:
                    return await model.complete(rung_request)
                except BudgetError as exc:
                    errors.append(exc)
                    break
                except ProviderError as exc:
                    delay = self._after_failure(model_id, exc, attempt, started, unreachable)
                    if delay is None:
                        errors.append(exc)
                        break
                await retry.sleep(delay)
        raise self._exhausted(errors)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        errors: list[Exception] = []
        unreachable: dict[str, ProviderError] = {}
        for model_id in self.ladder:
            model = self._candidate(model_id, errors, unreachable)
            if model is None:
                continue
            rung_request = _for_model(request, model_id)
            started = time.monotonic()
            attempt = 0
            while True:
                attempt += 1
                yielded = False
                try:
                    async with closing_stream(model.stream(rung_request)) as chunks:
                        async for chunk in chunks:
                            if not yielded:
                                yielded = True
                                if chunk.model != model_id:
                                    chunk = chunk.model_copy(update={"model": model_id})
                            yield chunk
                    return
                except BudgetError as exc:
                    if yielded:
                        raise
                    errors.append(exc)
                    break
                except ProviderError as exc:
                    if yielded:
                        raise
                    delay = self._after_failure(model_id, exc, attempt, started, unreachable)
                    if delay is None:
                        errors.append(exc)
                        break
                await retry.sleep(delay)
        raise self._exhausted(errors)

    # -- helpers ------------------------------------------------------------------------------

    def _candidate(
        self, model_id: str, errors: list[Exception], unreachable: dict[str, ProviderError]
    ) -> ChatModel | None:
        endpoint = self._endpoint_of(model_id) if self._endpoint_of else None
        skipped: CooledDownError | None = None
        if endpoint is not None and endpoint in unreachable:
            skipped = CooledDownError(
                model=model_id,
                endpoint=endpoint,
                cause=unreachable[endpoint],
                until=None,
                whole_endpoint=True,
                this_call=True,
            )
        elif self.cooldowns is not None:
            skipped = self.cooldowns.check(model_id, endpoint)
        if skipped is not None:
            log.info("candidate_skipped", extra={"model": model_id, "reason": "cooldown"})
            errors.append(skipped)
            return None
        try:
            return self._factory(model_id)
        except TokenplanError as exc:
            log.info("candidate_skipped", extra={"model": model_id, "reason": type(exc).__name__})
            errors.append(exc)
            return None

    def _after_failure(
        self,
        model_id: str,
        exc: ProviderError,
        attempt: int,
        started: float,
        unreachable: dict[str, ProviderError],
    ) -> float | None:
        """Register cooldowns; the delay before retrying this model, or ``None`` to move on."""
        if isinstance(exc, ProviderConnectionError) and not exc.sent:
            # Nothing reached the server: the endpoint itself is unreachable (refused, DNS,
            # TLS, bad URL), which no other model on it will change during this call.
            endpoint = exc.provider or (self._endpoint_of(model_id) if self._endpoint_of else "")
            if endpoint:
                unreachable[endpoint] = exc
        if self.cooldowns is not None:
            if isinstance(exc, ModelUnavailableError):
                self.cooldowns.cool_model(model_id, exc)
            elif isinstance(exc, AuthenticationError):
                endpoint = exc.provider or (
                    self._endpoint_of(model_id) if self._endpoint_of else ""
                )
                if endpoint:
                    self.cooldowns.block_endpoint(endpoint, exc)
        delay = self.policy.delay_s(
            exc, attempt=attempt, elapsed_s=time.monotonic() - started, rng=self._rng
        )
        log.info(
            "call_failed",
            extra={
                "model": model_id,
                "error": type(exc).__name__,
                "attempt": attempt,
                "retry_in_s": delay,
            },
        )
        return delay

    def _exhausted(self, errors: list[Exception]) -> Exception:
        # One cause for every rung (the budget, or a configuration error such as a base URL
        # with credentials beside an API key): that error itself, not a list of copies.
        for kind in (BudgetError, ConfigError):
            if errors and all(isinstance(e, kind) for e in errors):
                return errors[0]
        return AllCandidatesFailed(f"all {len(self.ladder)} candidate model(s) failed", errors)


def _for_model(request: ChatRequest, model_id: str) -> ChatRequest:
    return request if request.model == model_id else request.model_copy(update={"model": model_id})
