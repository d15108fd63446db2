"""Loopback fake LLM servers: OpenAI chat completions, Anthropic Messages and Gemini
generateContent on one ASGI app, with fault injection.

The fake answers any model name deterministically (``Echo from MODEL: <last user message>``,
or a minimal JSON instance of the requested schema), reports usage from text lengths (optionally
with cached, cache-write and reasoning tokens), and records every request it receives.

Routes (``ROOT`` is where it listens):

=================================================  =====================================
``POST ROOT/v1/chat/completions``                  OpenAI (base URL ``ROOT/v1``)
``POST ROOT/v1/messages``                          Anthropic (base URL ``ROOT``)
``POST ROOT/v1beta/models/M:generateContent``      Gemini (base URL ``ROOT/v1beta``)
``POST ROOT/v1beta/models/M:streamGenerateContent?alt=sse``
``GET ROOT/v1/models``                             OpenAI model list
``POST ROOT/_fake/faults`` / ``GET ROOT/_fake/requests`` / ``POST ROOT/_fake/reset``
=================================================  =====================================

The ``_fake`` routes drive a fake running in another process (``python -m
tokenplan.testing.fakes --port N``). In-process, use the object::

    fake = FakeProviders()
    fake.add_fault(Fault(status=429, headers={"retry-after": "2"}), model="gpt-5-mini")
    transport = httpx.ASGITransport(app=fake.app)       # or: with serve_fake(fake) as server:

Fault injection is a queue per model name plus a global one (model-specific faults first);
each :class:`Fault` applies to its next ``times`` requests.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tokenplan.testing._wire import (
    Answer,
    error_body,
    render_body,
    render_stream,
    stream_error_event,
)

__all__ = ["DroppedConnection", "FakeProviders", "Fault", "RecordedRequest"]


class DroppedConnection(Exception):
    """Raised inside the app to abort a response mid-way (the server then drops the socket)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do instead of (or on top of) a normal answer.

    * ``status``: answer with this HTTP status and the dialect's error body (or ``body``);
      ``headers`` go with it (``{"retry-after": "2"}``).
    * ``latency_s``: wait before answering; ``first_byte_delay_s``: for streams, wait after the
      response headers before the first event.
    * ``malformed``: a body (or first stream event) that is not valid JSON.
    * ``truncate_after``: streams close after this many events, without the end marker;
      a non-streamed body is cut in half.
    * ``stream_error``: inside a 200 stream, after the first event, an error event with this
      status (Anthropic ``event: error``, an ``{"error": ...}`` chunk for the others).
    * ``drop``: abort after part of the response; over a socket the client sees the connection
      reset (through ``httpx.ASGITransport(raise_app_exceptions=False)``, a cut body).
    * ``times``: how many requests this fault applies to.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    latency_s: float = 0.0
    first_byte_delay_s: float = 0.0
    malformed: bool = False
    truncate_after: int | None = None
    stream_error: int | None = None
    drop: bool = False
    times: int = 1

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received. ``headers`` are lower-cased."""

    dialect: str
    path: str
    model: str
    stream: bool
    headers: dict[str, str]
    body: Any
    query: dict[str, str]

    def to_dict(self, *, mask_auth: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if mask_auth:
            d["headers"] = {
                k: ("***" if k in _AUTH_HEADERS else v) for k, v in self.headers.items()
            }
        return d


_AUTH_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key"})


@dataclass(frozen=True, slots=True)
class _Call:
    dialect: str
    model: str
    stream: bool
    body: dict[str, Any]
    include_usage: bool


def _count(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class FakeProviders:
    """The fake server state and its ASGI :attr:`app`.

    * ``cached_tokens`` / ``cache_write_tokens`` / ``reasoning_tokens``: reported in every
      answer's usage (cached ones capped by the prompt size).
    * ``latency_s``: added to every answer.
    * ``api_keys``: when given, requests must carry one of them in the dialect's auth header
      or get a 401.
    * ``reply``: ``reply(dialect, model, body) -> str`` replaces the echo text.
    * ``words_per_chunk``: how much text each stream event carries.
    """

    def __init__(
        self,
        *,
        cached_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        latency_s: float = 0.0,
        api_keys: Iterable[str] | None = None,
        reply: Callable[[str, str, dict[str, Any]], str] | None = None,
        words_per_chunk: int = 1,
    ) -> None:
        self.cached_tokens = cached_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reasoning_tokens = reasoning_tokens
        self.latency_s = latency_s
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.reply = reply
        self.words_per_chunk = max(1, words_per_chunk)
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str | None, deque[list[Any]]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app = self._build_app()

    # -- fault queue --------------------------------------------------------------------------

    def add_fault(self, fault: Fault, *, model: str | None = None) -> None:
        """Queue ``fault`` for requests to ``model`` (any model when ``None``)."""
        with self._lock:
            self._faults.setdefault(model, deque()).append([fault, fault.times])

    def fail(self, status: int, *, model: str | None = None, times: int = 1, **kw: Any) -> None:
        """Shorthand: the next ``times`` requests (to ``model``) answer HTTP ``status``."""
        self.add_fault(Fault(status=status, times=times, **kw), model=model)

    def reset(self) -> None:
        """Forget queued faults and recorded requests."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    def _next_fault(self, model: str) -> Fault | None:
        with self._lock:
            for key in (model, None):
                queue = self._faults.get(key)
                if queue:
                    entry = queue[0]
                    entry[1] -= 1
                    if entry[1] <= 0:
                        queue.popleft()
                    fault: Fault = entry[0]
                    return fault
        return None

    # -- answers ------------------------------------------------------------------------------

    def answer(self, call: _Call) -> Answer:
        text = self._text(call)
        max_tokens = _max_tokens(call.dialect, call.body)
        words = text.split(" ")
        visible = _count(text)
        finish = "stop"
        budget = None if max_tokens is None else max(0, max_tokens - self.reasoning_tokens)
        if budget is not None and visible > budget:
            while words and _count(" ".join(words)) > budget:
                words.pop()
            text = " ".join(words)
            visible = min(budget, _count(text)) if text else 0
            finish = "length"
        n = self.words_per_chunk
        pieces = [" ".join(words[i : i + n]) for i in range(0, len(words), n)] if text else []
        chunks = tuple(p if i == 0 else " " + p for i, p in enumerate(pieces))
        prompt = _prompt_tokens(call.dialect, call.body)
        cached = min(self.cached_tokens, prompt)
        writes = min(self.cache_write_tokens, prompt - cached)
        return Answer(
            id=_answer_id(call.dialect, next(self._ids)),
            model=call.model,
            text=text,
            chunks=chunks,
            finish=finish,
            input_tokens=prompt,
            output_tokens=visible + self.reasoning_tokens,
            cached_tokens=cached,
            cache_write_tokens=writes,
            reasoning_tokens=self.reasoning_tokens,
        )

    def _text(self, call: _Call) -> str:
        if self.reply is not None:
            return self.reply(call.dialect, call.model, call.body)
        schema = _schema(call.dialect, call.body)
        if schema is not None:
            return orjson.dumps(example_for_schema(schema)).decode()
        last = _last_user_text(call.dialect, call.body)
        return f"Echo from {call.model}: {last}".strip()

    # -- ASGI ---------------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/v1beta/models/{target:path}", self._gemini, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_fake/faults", self._control_faults, methods=["POST"]),
                Route("/_fake/requests", self._control_requests, methods=["GET"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
            ]
        )

    async def _openai(self, request: Request) -> Response:
        return await self._handle(request, "openai", None)

    async def _anthropic(self, request: Request) -> Response:
        return await self._handle(request, "anthropic", None)

    async def _gemini(self, request: Request) -> Response:
        target = request.path_params["target"]
        model, _, method = target.rpartition(":")
        if method not in ("generateContent", "streamGenerateContent") or not model:
            return _json(error_body("gemini", 404, f"unknown method {target!r}"), 404)
        return await self._handle(request, "gemini", (model, method == "streamGenerateContent"))

    async def _models(self, request: Request) -> Response:
        data = [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "tokenplan"}]
        return _json({"object": "list", "data": data}, 200)

    async def _handle(
        self, request: Request, dialect: str, gemini: tuple[str, bool] | None
    ) -> Response:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = orjson.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except ValueError:
            return _json(error_body(dialect, 400, "request body is not a JSON object"), 400)
        if gemini is not None:
            model, stream = gemini
        else:
            model, stream = str(body.get("model", "")), bool(body.get("stream", False))
        self.requests.append(
            RecordedRequest(
                dialect, request.url.path, model, stream, headers, body, dict(request.query_params)
            )
        )
        if (
            self.api_keys is not None
            and _presented_key(dialect, headers, request) not in self.api_keys
        ):
            return _json(error_body(dialect, 401, "invalid or missing API key"), 401)
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        call = _Call(dialect, model, stream, body, include_usage)
        fault = self._next_fault(model) or Fault(times=0)
        delay = self.latency_s + fault.latency_s
        if delay > 0:
            await asyncio.sleep(delay)
        if fault.status is not None:
            content = (
                fault.body
                if fault.body is not None
                else error_body(dialect, fault.status, f"injected HTTP {fault.status}")
            )
            return _json(content, fault.status, headers=fault.headers)
        answer = self.answer(call)
        if stream:
            return StreamingResponse(
                self._events(call, answer, fault),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", **fault.headers},
            )
        payload = orjson.dumps(render_body(dialect, answer))
        if fault.malformed:
            payload = payload[: len(payload) // 2] + b"}{"
        if fault.truncate_after is not None or fault.drop:
            return StreamingResponse(
                _cut(payload, drop=fault.drop),
                media_type="application/json",
                headers=dict(fault.headers),
            )
        return Response(payload, media_type="application/json", headers=dict(fault.headers))

    async def _events(self, call: _Call, answer: Answer, fault: Fault) -> AsyncIterator[bytes]:
        if fault.first_byte_delay_s > 0:
            await asyncio.sleep(fault.first_byte_delay_s)
        events = render_stream(call.dialect, answer, include_usage=call.include_usage)
        for i, event in enumerate(events):
            if fault.truncate_after is not None and i >= fault.truncate_after:
                return
            if fault.drop and i >= 1:
                raise DroppedConnection("fake dropped the connection")
            if fault.malformed and i == 0:
                yield b"data: {not json\n\n"
                continue
            yield event
            if fault.stream_error is not None and i == 0:
                yield stream_error_event(call.dialect, fault.stream_error, "injected stream error")
                return

    # -- control routes (for a fake in another process) ----------------------------------------

    async def _control_faults(self, request: Request) -> Response:
        try:
            data = orjson.loads(await request.body())
            faults = [Fault.from_dict(f) for f in data.get("faults", [])]
        except (ValueError, TypeError, AttributeError) as exc:
            return _json({"error": str(exc)}, 400)
        for fault in faults:
            self.add_fault(fault, model=data.get("model"))
        return _json({"queued": len(faults)}, 200)

    async def _control_requests(self, request: Request) -> Response:
        return _json([r.to_dict() for r in self.requests], 200)

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return _json({"reset": True}, 200)


async def _cut(payload: bytes, *, drop: bool) -> AsyncIterator[bytes]:
    yield payload[: len(payload) // 2]
    if drop:
        raise DroppedConnection("fake dropped the connection")


def _json(content: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    data = content.encode() if isinstance(content, str) else orjson.dumps(content)
    return Response(
        data, status_code=status, media_type="application/json", headers=dict(headers or {})
    )


def _answer_id(dialect: str, n: int) -> str:
    prefix = {"openai": "chatcmpl-fake", "anthropic": "msg_fake", "gemini": "fake-response-"}
    return f"{prefix[dialect]}{n:06d}"


def _presented_key(dialect: str, headers: Mapping[str, str], request: Request) -> str | None:
    if dialect == "anthropic":
        return headers.get("x-api-key")
    if dialect == "gemini":
        return headers.get("x-goog-api-key") or request.query_params.get("key")
    auth = headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def _max_tokens(dialect: str, body: dict[str, Any]) -> int | None:
    if dialect == "gemini":
        config = body.get("generationConfig") or {}
        value = config.get("maxOutputTokens")
    elif dialect == "anthropic":
        value = body.get("max_tokens")
    else:
        value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) else None


def _texts(dialect: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every message, system included."""
    out: list[tuple[str, str]] = []
    if dialect == "gemini":
        system = body.get("systemInstruction") or {}
        out += [("system", p.get("text", "")) for p in system.get("parts", [])]
        for content in body.get("contents") or []:
            out += [
                (content.get("role", "user"), p.get("text", "")) for p in content.get("parts", [])
            ]
        return out
    if dialect == "anthropic" and isinstance(body.get("system"), str):
        out.append(("system", body["system"]))
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(b.get("text", "") for b in content if isinstance(b, dict))
        out.append((str(message.get("role", "user")), str(content or "")))
    return out


def _prompt_tokens(dialect: str, body: dict[str, Any]) -> int:
    return sum(_count(text) + 3 for _, text in _texts(dialect, body)) + 3


def _last_user_text(dialect: str, body: dict[str, Any]) -> str:
    users = [text for role, text in _texts(dialect, body) if role == "user"]
    return users[-1] if users else ""


def _schema(dialect: str, body: dict[str, Any]) -> dict[str, Any] | None:
    if dialect == "openai":
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
        return {"type": "object"} if fmt.get("type") == "json_object" else None
    if dialect == "anthropic":
        fmt = (body.get("output_config") or {}).get("format") or {}
        return fmt.get("schema") if fmt.get("type") == "json_schema" else None
    config = body.get("generationConfig") or {}
    if config.get("responseJsonSchema") is not None:
        schema: dict[str, Any] = config["responseJsonSchema"]
        return schema
    return {"type": "object"} if config.get("responseMimeType") == "application/json" else None


def example_for_schema(schema: Any, *, _depth: int = 0) -> Any:
    """A small value matching ``schema`` (objects with their required properties, first enum
    value, empty strings become ``"example"``), for fake structured-output answers."""
    if not isinstance(schema, dict) or _depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_for_schema(schema[key][0], _depth=_depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {k: example_for_schema(props.get(k, {}), _depth=_depth + 1) for k in required}
    if kind == "array":
        n = int(schema.get("minItems", 0) or 0)
        return [example_for_schema(schema.get("items", {}), _depth=_depth + 1) for _ in range(n)]
    if kind == "string":
        return "example"
    if kind == "integer":
        return int(schema.get("minimum", 0) or 0)
    if kind == "number":
        return float(schema.get("minimum", 0) or 0)
    if kind == "boolean":
        return False
    return None


if __name__ == "__main__":  # python -m tokenplan.testing.fakes
    from tokenplan.testing.fake_server import main

    raise SystemExit(main())
