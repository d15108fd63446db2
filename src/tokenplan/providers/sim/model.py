"""``SimulatorModel``: an offline, deterministic stand-in for every model in the catalog.

It is never a real model. Every free-text answer starts with a marker line naming the simulator
and every response has ``simulated=True``; JSON answers stay pure JSON (the flag is their label).
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from tokenplan.catalog.model import CAPABILITIES, Model
from tokenplan.errors import ProviderError, ProviderTimeoutError
from tokenplan.ledger.context import current_context
from tokenplan.pricing import usage_cost
from tokenplan.providers.sim.answers import Draft, compose, invalid_kind, runaway, spoil
from tokenplan.providers.sim.config import RatesLike, SimConfig
from tokenplan.providers.sim.faults import context_overflow, model_not_found, transient_fault
from tokenplan.providers.sim.latency import Timing, timing
from tokenplan.providers.sim.prompt import capability_of, task_text
from tokenplan.providers.sim.rng import Rng, digest
from tokenplan.providers.sim.shape import cut_at_stop, pieces, text_tokens, truncate
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, FinishReason, StreamChunk, Usage

if TYPE_CHECKING:
    from tokenplan.catalog.catalog import Catalog
    from tokenplan.settings import Settings

__all__ = ["SimulatorModel"]

logger = logging.getLogger(__name__)

#: Output cap of a runaway answer when the request sets no ``max_tokens``.
RUNAWAY_TOKENS = 8192
#: Implicit prompt caching: prefixes at least this long are cached, in steps of this size.
_CACHE_MIN_TOKENS = 1024
_CACHE_STEP_TOKENS = 128
#: Providers whose caching needs explicit markers we never send (so no implicit cache hits).
_EXPLICIT_CACHE_PROVIDERS = frozenset({"anthropic"})
#: Hidden reasoning per visible token, by capability; scaled by tier below.
_REASONING_RATIO: Mapping[str, tuple[float, float]] = {
    "math": (0.8, 1.6),
    "reasoning": (0.6, 1.3),
    "code": (0.4, 1.0),
    "general": (0.1, 0.4),
}
_REASONING_TIER: Mapping[str, float] = {"budget": 0.7, "mid": 1.0, "flagship": 1.3, "local": 0.5}
_MEMORY = 50_000  # requests remembered for attempt numbers and the prompt cache


@dataclass(frozen=True, slots=True)
class _Outcome:
    """Everything decided about one call before any waiting happens."""

    response: ChatResponse | None
    timing: Timing
    error: ProviderError | None = None
    error_after_s: float = 0.0

    @property
    def total_s(self) -> float:
        if self.response is None:
            return self.error_after_s
        usage = self.response.usage
        return self.timing.total_s(usage.output_tokens - usage.reasoning_tokens)


class SimulatorModel:
    """Serves every catalog model offline, deterministically. Satisfies ``ChatModel``.

    ``failure_rates`` is the share of answers that come back *invalid* per tier (empty, cut off
    by the length limit, malformed JSON, Python that does not parse); scaled for each model by
    its quality prior for the request's capability relative to its tier's average, and fixed
    per (model, request) so that retrying the same model repeats the mistake while another
    model may not. ``error_rates`` is the share of calls failing *transiently* (429 with
    ``retry-after``, 503), drawn afresh for every attempt so that a retry can succeed.
    Either may be one number for all tiers or a per-tier mapping; tiers left out keep their
    defaults (:data:`~tokenplan.providers.sim.config.DEFAULT_FAILURE_RATES`).
    ``latency_scale`` multiplies the tier latency profiles (0 = answer without sleeping).
    Same ``seed``, model and request (messages, response format, json mode) give the same
    answer; ``temperature`` is ignored.
    """

    provider = "sim"

    def __init__(
        self,
        catalog: Catalog,
        *,
        failure_rates: RatesLike | None = None,
        error_rates: RatesLike | None = None,
        latency_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.catalog = catalog
        self.config = SimConfig.build(
            failure_rates=failure_rates,
            error_rates=error_rates,
            latency_scale=latency_scale,
            seed=seed,
        )
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._prefixes: OrderedDict[str, None] = OrderedDict()
        self._tier_priors: dict[tuple[str, str], float] = {}

    @classmethod
    def from_config(cls, catalog: Catalog, config: SimConfig) -> SimulatorModel:
        return cls(
            catalog,
            failure_rates=config.failure_rates,
            error_rates=config.error_rates,
            latency_scale=config.latency_scale,
            seed=config.seed,
        )

    @classmethod
    def from_settings(cls, catalog: Catalog, settings: Settings) -> SimulatorModel:
        """Built from the ``[sim]`` config table and ``TOKENPLAN_SIM_*`` (ConfigError if bad)."""
        return cls.from_config(catalog, SimConfig.from_settings(settings))

    # -- the ChatModel protocol ---------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.monotonic()
        outcome = self._decide(request)
        if outcome.error is not None:
            await _sleep(outcome.error_after_s)
            raise outcome.error
        assert outcome.response is not None
        await self._wait(outcome.total_s, request, outcome.response.model)
        return _finished(outcome.response, started)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        started = time.monotonic()
        outcome = self._decide(request)
        if outcome.error is not None:
            await _sleep(outcome.error_after_s)
            raise outcome.error
        response = outcome.response
        assert response is not None
        await self._wait(outcome.timing.first_token_s, request, response.model)
        text = response.text
        visible = response.usage.output_tokens - response.usage.reasoning_tokens
        sent = 0
        for piece in pieces(text):
            if outcome.timing.per_token_s > 0:
                share = sent / len(text)
                due = started + outcome.timing.first_token_s
                due += share * visible * outcome.timing.per_token_s
                await _sleep(due - time.monotonic())
            sent += len(piece)
            yield StreamChunk(delta=piece)
        if outcome.timing.per_token_s > 0:
            await _sleep(started + outcome.total_s - time.monotonic())
        yield StreamChunk(response=_finished(response, started))

    # -- knobs a caller may want to read --------------------------------------------------------

    def invalid_rate(self, model: str | Model, capability: str | None = None) -> float:
        """The share of invalid answers ``model`` gives for ``capability`` (tier rate if None)."""
        m = model if isinstance(model, Model) else self._resolve(model)
        base = self.config.failure_rates.get(m.tier, 0.0)
        if capability is None or capability not in CAPABILITIES:
            return base
        reference = self._tier_prior(m.tier, capability)
        if reference >= 1.0:
            return base
        return min(1.0, base * (1.0 - m.prior(capability)) / (1.0 - reference))

    def _tier_prior(self, tier: str, capability: str) -> float:
        key = (tier, capability)
        if key not in self._tier_priors:
            priors = [m.prior(capability) for m in self.catalog.filter(tier=tier)]
            priors = [p for p in priors if p > 0.0]
            self._tier_priors[key] = sum(priors) / len(priors) if priors else 0.0
        return self._tier_priors[key]

    # -- one call -------------------------------------------------------------------------------

    def _decide(self, request: ChatRequest) -> _Outcome:
        model = self._resolve(request.model)
        key = _request_key(self.config.seed, model, request)
        attempt = self._next_attempt(key)
        input_tokens = estimate_messages_tokens(m.content for m in request.messages)
        if input_tokens > model.context_window:
            raise context_overflow(model, input_tokens)
        fault = self._fault(model, key, attempt)
        if fault is not None:
            return fault
        capability = _capability(request)
        draft = compose(request, model, capability=capability, rng=Rng(key, "answer"))
        text, finish, reasoning, spoiled = self._limit(model, request, draft, capability, key)
        visible = text_tokens(text)
        usage = Usage(
            input_tokens=input_tokens,
            output_tokens=visible + reasoning,
            cached_tokens=self._cached_tokens(model, request),
            reasoning_tokens=reasoning,
        )
        plan = timing(
            model.tier,
            input_tokens=input_tokens,
            reasoning_tokens=reasoning,
            rng=Rng(key, "latency", attempt),
            scale=self.config.latency_scale,
        )
        logger.debug(
            "sim.answer",
            extra={"model": model.id, "form": draft.form, "invalid": spoiled, "finish": finish},
        )
        response = ChatResponse(
            id=f"sim-{key[:16]}-{attempt}",
            model=model.id,
            provider=self.provider,
            text=text,
            finish_reason=finish,
            usage=usage,
            cost_usd=usage_cost(model, usage),
            simulated=True,
        )
        return _Outcome(response=response, timing=plan)

    def _limit(
        self, model: Model, request: ChatRequest, draft: Draft, capability: str, key: str
    ) -> tuple[str, FinishReason, int, str | None]:
        """Apply the invalid-answer draw, stop sequences and ``max_tokens``."""
        bad = Rng(key, "invalid")
        kind = (
            invalid_kind(draft, bad) if bad.chance(self.invalid_rate(model, capability)) else None
        )
        cap = min(request.max_tokens or model.max_output_tokens, model.max_output_tokens)
        planned = self._planned_reasoning(model, capability, draft, Rng(key, "reasoning"))
        if kind == "length":
            limit = cap if request.max_tokens else min(cap, RUNAWAY_TOKENS)
            reasoning = min(planned, limit // 4)
            return (
                truncate(
                    runaway(draft, tokens=limit, task=task_text(request), rng=Rng(key, "runaway")),
                    limit - reasoning,
                ),
                "length",
                reasoning,
                kind,
            )
        text = spoil(draft, kind, bad) if kind is not None else draft.text
        if request.stop and not draft.is_json:
            text = cut_at_stop(text, request.stop)
        visible = text_tokens(text)
        if request.max_tokens is not None and visible > cap:
            return truncate(text, cap), "length", 0, kind
        reasoning = min(planned, cap - visible)
        return text, "stop", reasoning, kind

    def _planned_reasoning(self, model: Model, capability: str, draft: Draft, rng: Rng) -> int:
        if not model.reasoning:
            return 0
        low, high = _REASONING_RATIO.get(capability, _REASONING_RATIO["general"])
        if draft.form == "plan":
            low, high = _REASONING_RATIO["reasoning"]
        ratio = rng.uniform(low, high) * _REASONING_TIER.get(model.tier, 1.0)
        return int(estimate_tokens(draft.text) * ratio)

    def _fault(self, model: Model, key: str, attempt: int) -> _Outcome | None:
        rate = self.config.error_rates.get(model.tier, 0.0)
        scale = self.config.latency_scale
        fault = transient_fault(model, rng=Rng(key, "fault", attempt), rate=rate, scale=scale)
        if fault is None:
            return None
        error, after_s = fault
        return _Outcome(None, Timing(0.0, 0.0), error=error, error_after_s=after_s)

    def _resolve(self, model_id: str) -> Model:
        model = self.catalog.find(model_id)
        if model is None:
            raise model_not_found(model_id)
        return model

    def _next_attempt(self, key: str) -> int:
        n = self._attempts.pop(key, 0) + 1
        self._attempts[key] = n
        if len(self._attempts) > _MEMORY:
            self._attempts.popitem(last=False)
        return n

    def _cached_tokens(self, model: Model, request: ChatRequest) -> int:
        """Implicit prompt caching: a repeated prefix of >= 1024 tokens is read from cache."""
        if model.cached_input_per_mtok is None or model.provider in _EXPLICIT_CACHE_PROVIDERS:
            return 0
        messages = request.messages
        cached = 0
        for end in (len(messages) - 1, len(messages)):
            if end <= 0:
                continue
            prefix = messages[:end]
            tokens = estimate_messages_tokens(m.content for m in prefix)
            if tokens < _CACHE_MIN_TOKENS:
                continue
            key = digest(model.id, [(m.role, m.content) for m in prefix])
            if key in self._prefixes:
                self._prefixes.move_to_end(key)
                cached = max(cached, (tokens // _CACHE_STEP_TOKENS) * _CACHE_STEP_TOKENS)
            else:
                self._prefixes[key] = None
                if len(self._prefixes) > _MEMORY:
                    self._prefixes.popitem(last=False)
        return cached

    async def _wait(self, seconds: float, request: ChatRequest, model_id: str) -> None:
        if request.timeout_s is not None and seconds > request.timeout_s:
            await _sleep(request.timeout_s)
            raise ProviderTimeoutError(
                f"simulated {model_id} did not answer within {request.timeout_s:g}s",
                provider=self.provider,
                model=model_id,
            )
        await _sleep(seconds)


def _capability(request: ChatRequest) -> str:
    """The step's capability when the caller set one in the call context, else a guess."""
    capability = current_context().capability
    if capability in CAPABILITIES:
        return capability
    return capability_of(task_text(request))


def _request_key(seed: int, model: Model, request: ChatRequest) -> str:
    fmt = request.response_format
    schema = json.dumps(fmt.json_schema, sort_keys=True, default=str) if fmt is not None else ""
    return digest(
        seed,
        model.id,
        [(m.role, m.content, m.name) for m in request.messages],
        fmt.name if fmt is not None else None,
        schema,
        request.json_mode,
    )


def _finished(response: ChatResponse, started: float) -> ChatResponse:
    latency_ms = (time.monotonic() - started) * 1000.0
    return response.model_copy(update={"latency_ms": latency_ms})


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await anyio.sleep(seconds)
