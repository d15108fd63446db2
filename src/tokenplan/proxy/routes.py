"""Which models may answer a request: the ``model`` field turned into a ladder.

* ``auto``, ``auto:cost``, ``auto:balance``, ``auto:quality``, ``auto:latency``: the router
  classifies the messages and ranks the models under that strategy (and under the caller's
  remaining budget, when it has one); the ladder is the chosen model plus up to
  ``max_fallbacks`` next-best rungs.
* a catalog id, alias or bare API name: that model, then the models configured for it in
  ``[proxy.fallbacks]`` (none by default).

Retries and failover along the ladder are the provider layer's
(:class:`~tokenplan.providers.fallback.FallbackModel`), not the proxy's.

What a model can take is checked here, in OpenAI's terms and the same way for both kinds: a
prompt (plus ``max_tokens``) larger than the context window is a 400
``context_length_exceeded`` naming ``messages``; a ``max_tokens`` above what the model writes
is a 400 ``invalid_value`` naming ``max_tokens`` (for ``auto*``: above what any model it may
route to writes). A request without ``max_tokens`` gets ``[proxy] default_max_tokens``, lowered
to what the model writes and what its context window leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenplan.errors import ConfigError, NoCandidateError, UnknownModelError
from tokenplan.proxy.errors import ApiError, no_candidate_error
from tokenplan.tokens import estimate_messages_tokens
from tokenplan.types import Message

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.proxy.config import ProxyConfig
    from tokenplan.routing.decision import RouteDecision
    from tokenplan.routing.router import Router
    from tokenplan.runtime import Runtime
    from tokenplan.types import ChatRequest

__all__ = ["AUTO_MODELS", "Route", "Routes", "header_text"]

#: The router aliases the proxy serves as model names, with what each optimizes.
AUTO_MODELS: dict[str, str] = {
    "auto": "balance quality and cost (the configured strategy)",
    "auto:cost": "cheapest model that can do the task",
    "auto:balance": "best quality per dollar",
    "auto:quality": "best quality within the budget",
    "auto:latency": "balanced, preferring models with low observed latency",
}
_HEADER_CHARS = 240
_CACHE_LIMIT = 4096
#: Rungs kept beyond ``max_fallbacks``, for when a prompt's exact checks drop some.
_SPARE_RUNGS = 4


@dataclass(frozen=True, slots=True)
class Route:
    """``ladder``: catalog ids, best first; ``label``: strategy and reason for the
    ``x-tokenplan-route`` header; ``capability``: what the router classified (auto only);
    ``model``: the model named by the request (``None`` for auto)."""

    ladder: tuple[str, ...]
    label: str
    capability: str | None = None
    model: Model | None = None


class Routes:
    """Resolves ``model`` fields for one runtime (build once per app)."""

    def __init__(self, runtime: Runtime, config: ProxyConfig) -> None:
        self._runtime = runtime
        self._max_fallbacks = config.max_fallbacks
        catalog = runtime.catalog
        self._default_max_tokens = config.default_max_tokens
        # The default for auto*: never above what the model writing the most could write.
        most = max((m.max_output_tokens for m in catalog), default=config.default_max_tokens)
        self._auto_max_tokens = min(config.default_max_tokens, most)
        self._fallbacks: dict[str, tuple[str, ...]] = {}
        for model_id, rungs in config.fallbacks.items():
            head = _known(catalog.find(model_id), model_id, "proxy.fallbacks")
            self._fallbacks[head] = tuple(
                _known(catalog.find(r), r, f"proxy.fallbacks.{model_id}") for r in rungs
            )
        self._explicit: dict[str, Route] = {}
        self._rungs: dict[tuple[Any, ...], tuple[Model, ...]] = {}
        self._router: Router | None = None

    @property
    def router(self) -> Router:
        """The router (built on first use: it reads endpoint availability and the ledger)."""
        if self._router is None:
            from tokenplan.ledger.stats import latency_p50
            from tokenplan.routing.router import Router

            rt = self._runtime
            latency = latency_p50(rt.settings.ledger_file)
            self._router = Router(
                rt.catalog, rt.settings, available=rt.available, latency_ms=latency
            )
        return self._router

    def resolve(self, request: ChatRequest, *, budget_usd: float | None) -> Route:
        name = request.model
        if name in AUTO_MODELS:
            return self._auto(request, name, budget_usd)
        found = self._explicit.get(name)
        if found is None:
            found = self._named(name)
            if len(self._explicit) > 4096:
                self._explicit.clear()
            self._explicit[name] = found
        return found

    def _named(self, name: str) -> Route:
        rt = self._runtime
        model = rt.catalog.find(name)
        if model is None:
            err = UnknownModelError(name, rt.catalog.suggest(name))
            raise ApiError(
                404,
                f"The model '{name}' does not exist here. {err.message}; "
                "or use auto, auto:cost, auto:balance, auto:quality, auto:latency",
                code="model_not_found",
                param="model",
            )
        if not rt.simulated:
            try:
                usable = rt.resolve(model).usable
            except ConfigError:
                usable = False
            if not usable:
                raise ApiError(
                    404,
                    f"The model '{model.id}' is not available on this proxy: its provider "
                    f"{model.provider} has no key or base URL configured.",
                    code="model_not_found",
                    param="model",
                )
        ladder = (model.id, *self._fallbacks.get(model.id, ()))
        return Route(ladder, "explicit" if len(ladder) == 1 else "explicit+fallbacks", None, model)

    def sized(self, request: ChatRequest, route: Route) -> ChatRequest:
        """``request`` with its ``max_tokens`` (the default when it has none), or a 400 when a
        named model cannot take it. (For ``auto*`` the router already checked the ladder.)"""
        model, asked = route.model, request.max_tokens
        if model is None:
            if asked is not None:
                return request
            return request.model_copy(update={"max_tokens": self._auto_max_tokens})
        if asked is not None and asked > model.max_output_tokens:
            raise max_tokens_error(asked, model.max_output_tokens, "This model supports")
        tokens = estimate_messages_tokens(m.content for m in request.messages)
        room = model.context_window - tokens
        if room < (asked or 1):
            raise context_error(
                tokens, asked, model.context_window, "This model's maximum context length is"
            )
        if asked is not None:
            return request
        fit = min(self._default_max_tokens, model.max_output_tokens, room)
        return request.model_copy(update={"max_tokens": fit})

    def _auto(self, request: ChatRequest, name: str, budget_usd: float | None) -> Route:
        # Plain ``auto`` follows the configured strategy (routing.strategy).
        strategy = self._runtime.settings.strategy if name == "auto" else name
        out = request.max_tokens or self._auto_max_tokens
        try:
            decision = self.router.route(
                _routable(request),
                strategy=strategy,
                budget_usd=budget_usd,
                max_tokens=out,
                strict=False,
            )
        except NoCandidateError as exc:
            raise self._no_candidate(request, out, exc) from None
        tokens, out = decision.estimated_input_tokens, decision.max_tokens
        budget = decision.budget_usd if decision.within_budget else None
        ladder = [decision.model.id]
        for m in self._next_rungs(decision, request, budget):
            if len(ladder) > self._max_fallbacks:
                break
            # Exact checks for this prompt (the cached order is per prompt size class).
            if out > m.max_output_tokens or tokens + out > m.context_window:
                continue
            if budget is not None and m.worst_case_cost(tokens, out) > budget:
                continue
            ladder.append(m.id)
        label = f"{name} {decision.capability}/{decision.complexity}: {decision.reason}"
        return Route(tuple(ladder), header_text(label), decision.capability)

    def _no_candidate(self, request: ChatRequest, out: int, exc: NoCandidateError) -> ApiError:
        """Why no model can take an ``auto*`` request, in OpenAI's terms where one applies."""
        rt = self._runtime
        models = [m for m in rt.catalog if rt.available(m)] or list(rt.catalog)
        if not models:
            return no_candidate_error(exc)
        most_out = max(m.max_output_tokens for m in models)
        if request.max_tokens is not None and out > most_out:
            return max_tokens_error(out, most_out, "The models this proxy routes to support")
        tokens = estimate_messages_tokens(m.content for m in request.messages)
        widest = max(m.context_window for m in models)
        if tokens + out > widest:
            return context_error(
                tokens,
                request.max_tokens,
                widest,
                "The largest context window of the models this proxy routes to is",
            )
        return no_candidate_error(exc)

    def _next_rungs(
        self, decision: RouteDecision, request: ChatRequest, budget: float | None
    ) -> tuple[Model, ...]:
        """The router's ladder after the chosen model, cached per decision class.

        Explaining a decision (``decision.ladder``) walks the whole catalog and costs several
        times the decision itself; the order only changes with what the key holds (prompt size
        by powers of two, as the router's own order cache does, and the budget by quarter
        powers of two), so it is computed once per key.
        """
        key = (
            decision.requested,
            decision.model.id,
            decision.capability,
            decision.complexity,
            decision.quality_floor,
            decision.max_tokens,
            decision.estimated_input_tokens.bit_length(),
            request.response_format is not None or request.json_mode,
            None if budget is None else math.floor(4 * math.log2(max(budget, 1e-12))),
        )
        rungs = self._rungs.get(key)
        if rungs is None:
            keep = self._max_fallbacks + _SPARE_RUNGS
            rungs = tuple(c.model for c in decision.ladder[1 : 1 + keep])
            if len(self._rungs) >= _CACHE_LIMIT:
                self._rungs.clear()
            self._rungs[key] = rungs
        return rungs


def max_tokens_error(asked: int, most: int, who: str) -> ApiError:
    """OpenAI's 400 for a ``max_tokens`` above what the model writes."""
    return ApiError(
        400,
        f"max_tokens is too large: {asked:,}. {who} at most {most:,} completion tokens.",
        code="invalid_value",
        param="max_tokens",
    )


def context_error(tokens: int, asked: int | None, window: int, subject: str) -> ApiError:
    """OpenAI's 400 ``context_length_exceeded`` for a prompt the context window cannot hold."""
    if asked is None:
        want = f"your messages resulted in about {tokens:,} tokens"
        fix = "the messages"
    else:
        want = (
            f"you requested about {tokens + asked:,} tokens ({tokens:,} in the messages, "
            f"{asked:,} in the completion)"
        )
        fix = "the messages or max_tokens"
    return ApiError(
        400,
        f"{subject} {window:,} tokens. However, {want}. Please reduce the length of {fix}.",
        code="context_length_exceeded",
        param="messages",
    )


def _routable(request: ChatRequest) -> ChatRequest:
    """``request``, or for an all-empty conversation (which OpenAI accepts) a one-word stand-in:
    the router needs some text to classify, and routes it as the short prompt it is."""
    if any(m.content.strip() for m in request.messages):
        return request
    return request.model_copy(update={"messages": (Message(role="user", content="hi"),)})


def _known(model: object, name: str, where: str) -> str:
    from tokenplan.catalog.model import Model

    if not isinstance(model, Model):
        raise ConfigError(f"{where}: unknown model {name!r}")
    return model.id


def header_text(text: str) -> str:
    """Printable ASCII only (header values), cut to a sane length."""
    clean = text if text.isascii() and text.isprintable() else _ascii(text)
    return clean if len(clean) <= _HEADER_CHARS else clean[: _HEADER_CHARS - 3] + "..."


def _ascii(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)
