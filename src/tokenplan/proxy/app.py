"""The OpenAI-compatible ASGI app: ``create_app(runtime)``.

Routes: ``POST /v1/chat/completions`` (JSON or SSE), ``GET /v1/models``,
``GET /v1/models/{id}``, ``GET /healthz`` (``/chat/completions`` and ``/models`` too, for
clients whose base URL has no ``/v1``); ``HEAD`` wherever ``GET`` is served.
A lean raw-ASGI router, no framework: the whole request path is a few dict lookups plus the
model call, which matters against fast upstreams (see ``benchmarks/bench_proxy.py``).

Each request: authenticate the bearer key, read and validate the body, resolve ``model`` to a
ladder and size ``max_tokens`` (:mod:`tokenplan.proxy.routes`), then call the runtime's
:class:`~tokenplan.providers.fallback.FallbackModel`, with the request's own retry budget
(:mod:`tokenplan.proxy.retries`), under
``call_context(kind="proxy", run_id="proxy:<key>", step_id=<request id>, budget=<key budget>)``:
retries, failover, budget reservations and one ledger line per upstream call all happen in the
provider layer. The answer carries ``x-tokenplan-*`` headers (model, provider, cost, savings
against ``settings.baseline_model``, route); a stream carries the route in its headers and the
cost in the ``tokenplan`` field of its last chunk.

The app holds no module state: everything lives on the :class:`ProxyApp` instance.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

from tokenplan.errors import BudgetError, ConfigError
from tokenplan.ledger.context import call_context
from tokenplan.pricing import usage_cost
from tokenplan.proxy.auth import KeyRing
from tokenplan.proxy.budgets import KeyBudgets, quota_error, short_call_usd
from tokenplan.proxy.config import ProxyConfig, ProxyKey
from tokenplan.proxy.errors import ApiError, api_error_for
from tokenplan.proxy.models import model_object, model_objects
from tokenplan.proxy.request import ParsedChat, parse_chat_request
from tokenplan.proxy.response import completion_body
from tokenplan.proxy.retries import request_retries
from tokenplan.proxy.routes import Route, Routes, header_text
from tokenplan.proxy.streaming import stream_completion

if TYPE_CHECKING:
    from tokenplan.budget import Budget
    from tokenplan.providers.endpoints import ResolvedEndpoint
    from tokenplan.runtime import Runtime
    from tokenplan.types import ChatRequest, ChatResponse

__all__ = ["ProxyApp", "create_app"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_MODEL_PATHS = ("/v1/models/", "/models/")


def create_app(runtime: Runtime, *, config: ProxyConfig | None = None) -> ProxyApp:
    """The proxy's ASGI app over ``runtime`` (``config`` defaults to the settings' ``[proxy]``
    table). The caller owns the runtime and closes it after the server stops."""
    return ProxyApp(runtime, config or ProxyConfig.from_settings(runtime.settings))


class ProxyApp:
    """An ASGI 3 application; see the module docstring."""

    def __init__(self, runtime: Runtime, config: ProxyConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.keys = KeyRing(config)
        self.budgets = KeyBudgets(runtime.settings.ledger_file)
        self.routes = Routes(runtime, config)
        self._baseline = runtime.catalog.find(runtime.settings.baseline_model)
        self._short_call_usd: float | None = None
        self._prefix = f"chatcmpl-tp{os.urandom(4).hex()}"
        self._ids = itertools.count(1)
        self._handlers: dict[tuple[str, str], Handler] = {}
        for path in ("/v1/chat/completions", "/chat/completions"):
            self._handlers["POST", path] = self._chat
        for path in ("/v1/models", "/models"):
            self._handlers["GET", path] = self._models
        self._handlers["GET", "/healthz"] = self._health
        self._paths = {path for _, path in self._handlers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._handlers.get((scope["method"], scope["path"]))
        try:
            if handler is None:
                handler = self._other_route(scope)
            await handler(scope, receive, send)
        except Exception as exc:
            err = api_error_for(exc)
            if err is None:
                log.exception("proxy_internal_error", extra={"path": scope.get("path")})
                err = ApiError(
                    500,
                    f"internal error in the tokenplan proxy ({type(exc).__name__}); "
                    "see the server log",
                    type="server_error",
                    code="internal_error",
                )
            await _send_json(send, err.status, err.body(), err.headers)

    def _other_route(self, scope: Scope) -> Handler:
        """``GET /v1/models/{id}``, ``HEAD`` on every ``GET`` route, or a 404 / 405."""
        method, path = scope["method"], scope["path"]
        get = self._handlers.get(("GET", path))
        if get is None and path.startswith(_MODEL_PATHS):
            get = self._model
        if get is not None and method == "GET":
            return get
        if get is not None and method == "HEAD":
            return _head(get)
        if get is not None or path in self._paths:
            methods = {m for m, p in self._handlers if p == path}
            allowed = sorted(methods | {"GET", "HEAD"} if get is not None else methods)
            raise ApiError(
                405,
                f"Method {method} is not allowed on {path}; use {', '.join(allowed)}.",
                headers=[(b"allow", ", ".join(allowed).encode())],
            )
        raise ApiError(
            404,
            f"Unknown path {path!r}: this tokenplan proxy serves POST /v1/chat/completions, "
            "GET /v1/models, GET /v1/models/{id} and GET /healthz.",
            code="unknown_url",
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    # Build the router (it reads endpoints and ledger latencies), price the
                    # short call and read each key's spend from the ledger now, not during
                    # someone's first request.
                    _ = self.routes.router, self.short_call_usd
                    for key in self.config.keys or (self.config.anonymous,):
                        self.budgets.budget(key)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- POST /v1/chat/completions -------------------------------------------------------------

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.keys.authenticate(scope["headers"])
        parsed = parse_chat_request(await self._body(scope, receive))
        budget = self.budgets.budget(key)
        if budget is not None and budget.available_usd < self.short_call_usd:
            raise quota_error(key, budget, short_call_usd=self.short_call_usd)
        route = self.routes.resolve(
            parsed.request, budget_usd=budget.available_usd if budget is not None else None
        )
        request = self._request_for(parsed, route)
        rt = self.runtime
        policy = request_retries(
            max_attempts=rt.retry_policy.max_attempts, retry_budget_s=self.config.retry_budget_s
        )
        model = rt.fallback_model(route.ladder, policy=policy)
        request_id = f"{self._prefix}{next(self._ids):x}"
        created = int(time.time())
        try:
            with call_context(
                kind="proxy",
                run_id=key.run_id,
                step_id=request_id,
                budget=budget,
                capability=route.capability,
            ):
                if parsed.stream:
                    await stream_completion(
                        self, model, request, parsed, route, send, receive, request_id, created
                    )
                    return
                response = await model.complete(request)
        except BudgetError as exc:
            raise self._quota_error(key, budget, exc) from None
        info = self.tokenplan_info(response, route)
        body = completion_body(response, request_id=request_id, created=created, tokenplan=info)
        headers = self.result_headers(
            request_id, response.model, response.provider, route, response.simulated
        )
        headers.append((b"x-tokenplan-cost-usd", _usd(info["cost_usd"])))
        if info["saved_usd"] is not None:
            headers.append((b"x-tokenplan-saved-usd", _usd(info["saved_usd"])))
        await _send_json(send, 200, body, headers)

    def _request_for(self, parsed: ParsedChat, route: Route) -> ChatRequest:
        request = self.routes.sized(parsed.request, route)
        extra = parsed.openai_extra
        if extra and all(
            (e := self._endpoint(m)) is not None and e.endpoint.dialect == "openai"
            for m in route.ladder
        ):
            request = request.model_copy(update={"extra": extra})
        return request

    @property
    def short_call_usd(self) -> float:
        """What a short call costs on the cheapest model served: below it a budget is used up."""
        if self._short_call_usd is None:
            rt = self.runtime
            self._short_call_usd = short_call_usd(m for m in rt.catalog if rt.available(m))
        return self._short_call_usd

    def _quota_error(self, key: ProxyKey, budget: Budget | None, exc: BudgetError) -> ApiError:
        if budget is None:  # a budget that is not the key's: say what the error says
            err = api_error_for(exc)
            assert err is not None
            return err
        return quota_error(
            key, budget, short_call_usd=self.short_call_usd, needed_usd=exc.requested_usd
        )

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.config.max_body_bytes
        message = await receive()
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > limit:
                raise _too_large(limit)
            return body
        parts = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ApiError(400, "the client disconnected while sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
        return b"".join(parts)

    # -- what every answer says ----------------------------------------------------------------

    def _endpoint(self, model_id: str) -> ResolvedEndpoint | None:
        """The endpoint serving ``model_id`` (``None`` when the runtime is simulated)."""
        rt = self.runtime
        if rt.simulated:
            return None
        try:
            return rt.resolve(rt.catalog.get(model_id))
        except ConfigError:
            return None

    def provider_of(self, model_id: str) -> str:
        """The endpoint billing ``model_id``, as the ledger names it (simulated ones too)."""
        rt = self.runtime
        return rt.provider_name(rt.catalog.get(model_id))

    def result_headers(
        self, request_id: str, model_id: str, provider: str, route: Route, simulated: bool
    ) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-tokenplan-model", header_text(model_id).encode()),
            (b"x-tokenplan-provider", header_text(provider).encode()),
            (b"x-tokenplan-route", route.label.encode()),
        ]
        if simulated:
            headers.append((b"x-tokenplan-simulated", b"true"))
        return headers

    def tokenplan_info(self, response: ChatResponse, route: Route) -> dict[str, Any]:
        """The ``tokenplan`` extension field: who answered, the cost, the saving, the route."""
        saved = None
        if self._baseline is not None:
            saved = usage_cost(self._baseline, response.usage) - response.cost_usd
        return {
            "model": response.model,
            "provider": response.provider,
            "cost_usd": response.cost_usd,
            "saved_usd": saved,
            "baseline_model": self._baseline.id if self._baseline is not None else None,
            "route": route.label,
            "simulated": response.simulated,
        }

    # -- GET /v1/models, GET /healthz ----------------------------------------------------------

    async def _models(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.keys.authenticate(scope["headers"])
        body = {"object": "list", "data": model_objects(self.runtime)}
        await _send_json(send, 200, orjson.dumps(body), ())

    async def _model(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.keys.authenticate(scope["headers"])
        path: str = scope["path"]
        name = path[len(_MODEL_PATHS[0] if path.startswith(_MODEL_PATHS[0]) else _MODEL_PATHS[1]) :]
        await _send_json(send, 200, orjson.dumps(model_object(self.runtime, name)), ())

    async def _health(self, scope: Scope, receive: Receive, send: Send) -> None:
        rt = self.runtime
        body = {
            "status": "ok",
            "simulated": rt.simulated,
            "auth": "keys" if self.keys.required else "none",
        }
        await _send_json(send, 200, orjson.dumps(body), ())


def _head(get: Handler) -> Handler:
    """``HEAD``: the ``GET`` answer's status and headers, without its body."""

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        async def head_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await get(scope, receive, head_send)

    return handler


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit} bytes.", code="body_too_large")


def _usd(value: float) -> bytes:
    return f"{value:.10f}".rstrip("0").rstrip(".").encode() if value else b"0"


async def _send_json(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", b"%d" % len(body)), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
