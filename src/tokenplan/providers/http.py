"""The HTTP provider: one :class:`~tokenplan.providers.base.ChatModel` per catalog model, speaking
its endpoint's wire dialect over the runtime's shared ``httpx.AsyncClient``.

This is the boundary where the outside world's failures become :mod:`tokenplan.errors` types:

=====================================  ==============================================
HTTP 429                               :class:`~tokenplan.errors.RateLimitError`
HTTP 401                               :class:`~tokenplan.errors.AuthenticationError`
HTTP 402, 403, 404, 400 on the model   :class:`~tokenplan.errors.ModelUnavailableError`
HTTP 5xx (Anthropic's 529 included)    :class:`~tokenplan.errors.UpstreamServerError`
other HTTP 3xx / 4xx                   :class:`~tokenplan.errors.ProviderHTTPError`
                                       (retryable for 408, 409 and 425 only)
error event inside a 200 stream        the class its status would have had
httpx timeouts / deadline passed       :class:`~tokenplan.errors.ProviderTimeoutError`
connect / read / protocol errors       :class:`~tokenplan.errors.ProviderConnectionError`
bad JSON, truncated stream             :class:`~tokenplan.errors.ResponseFormatError`
=====================================  ==============================================

Decisions use status codes and the vendors' structured error fields, never message text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import orjson

from tokenplan.errors import (
    AuthenticationError,
    ModelUnavailableError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    UpstreamServerError,
    redact,
)
from tokenplan.pricing import usage_cost
from tokenplan.providers.dialects import (
    InStreamError,
    MalformedPayload,
    Parsed,
    WireDialect,
    WireRequest,
    get_dialect,
)
from tokenplan.providers.sse import SSEDecoder
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.providers.endpoints import ResolvedEndpoint

__all__ = ["HTTPChatModel", "error_for_status"]

log = logging.getLogger(__name__)

_RETRYABLE_4XX = frozenset({408, 409, 425})
_USER_AGENT = "tokenplan/0.1"


def error_for_status(
    status: int,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    dialect: WireDialect,
    provider: str,
    model: str,
) -> ProviderHTTPError:
    """The typed error for an HTTP error answer (see the module docstring's table)."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = None
    info = dialect.error_info(status, parsed)
    hdrs = {k.lower(): redact(v, limit=1000) for k, v in headers.items()}
    if info.retry_after_s is not None and not ("retry-after" in hdrs or "retry-after-ms" in hdrs):
        # The body's structured retry hint (Gemini RetryInfo) stands in for the missing header.
        hdrs["retry-after"] = format(info.retry_after_s, "g")
    message = f"{provider} answered HTTP {status}"
    if info.kind:
        message += f" ({info.kind})"
    if info.message:
        message += f": {info.message}"
    cls: type[ProviderHTTPError]
    if status == 429:
        cls = RateLimitError
    elif status == 401:
        cls = AuthenticationError
    elif status in (402, 403, 404) or (status == 400 and info.on_model):
        cls = ModelUnavailableError
    elif status >= 500:
        cls = UpstreamServerError
    else:
        cls = ProviderHTTPError
    err = cls(message, status_code=status, body=raw, headers=hdrs, provider=provider, model=model)
    if cls is ProviderHTTPError and status in _RETRYABLE_4XX:
        err.retryable = True
    return err


class HTTPChatModel:
    """Answers requests for one catalog ``model`` through one resolved endpoint.

    ``timeout_s`` bounds a whole non-streamed call and, for streams, the wait for the response
    headers and for each further piece of the body; a request's own ``timeout_s`` wins.
    """

    def __init__(
        self,
        model: Model,
        endpoint: ResolvedEndpoint,
        *,
        client: httpx.AsyncClient,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.model = model
        self.endpoint = endpoint
        self.provider = endpoint.name
        self._dialect = get_dialect(endpoint.endpoint.dialect)
        self._client = client
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._headers = {
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            **self._dialect.auth_headers(endpoint.api_key),
            **endpoint.endpoint.headers,
        }
        self._stream_headers = {**self._headers, "accept": "text/event-stream"}
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self._timeouts: dict[float, dict[str, float | None]] = {}

    def __repr__(self) -> str:
        return f"HTTPChatModel({self.model.id!r}, endpoint={self.provider!r})"

    # -- the ChatModel protocol ---------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResponse:
        wire = self._dialect.build(request, self.model, self.endpoint.endpoint, stream=False)
        timeout_s = request.timeout_s or self._timeout_s
        started = time.perf_counter()
        try:
            http_request = self._request(wire, timeout_s, self._headers)
            with anyio.fail_after(timeout_s):
                response = await self._client.send(http_request)
        except TimeoutError:
            raise self._timeout(timeout_s) from None
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc
        except httpx.InvalidURL as exc:
            raise self._bad_url(exc) from exc
        if response.status_code >= 300:  # redirects are not followed: a wrong base URL
            raise self._status_error(response.status_code, response.content, response.headers)
        parser = self._dialect.parser()
        try:
            parser.feed_body(orjson.loads(response.content))
        except orjson.JSONDecodeError as exc:
            raise self._format_error("response body is not valid JSON", response.content) from exc
        except MalformedPayload as exc:
            raise self._format_error(exc.reason, exc.raw) from exc
        return self._finish(parser.result(), request, started)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        wire = self._dialect.build(request, self.model, self.endpoint.endpoint, stream=True)
        timeout_s = request.timeout_s or self._timeout_s
        started = time.perf_counter()
        try:
            http_request = self._request(wire, timeout_s, self._stream_headers)
            with anyio.fail_after(timeout_s):
                response = await self._client.send(http_request, stream=True)
        except TimeoutError:
            raise self._timeout(timeout_s) from None
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc
        except httpx.InvalidURL as exc:
            raise self._bad_url(exc) from exc
        try:
            if response.status_code >= 300:
                body = await response.aread()
                raise self._status_error(response.status_code, body, response.headers)
            parser = self._dialect.parser()
            decoder = SSEDecoder()
            async for piece in response.aiter_bytes():
                for event in decoder.feed(piece):
                    delta = parser.feed_event(event.event, event.data)
                    if delta:
                        yield StreamChunk(delta=delta)
            for event in decoder.close():
                delta = parser.feed_event(event.event, event.data)
                if delta:
                    yield StreamChunk(delta=delta)
            if not parser.done:
                raise self._format_error("stream ended before its end marker (truncated)", "")
            yield StreamChunk(response=self._finish(parser.result(), request, started))
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc
        except MalformedPayload as exc:
            raise self._format_error(exc.reason, exc.raw) from exc
        except InStreamError as exc:
            raise self._status_error(exc.status, exc.raw, {}) from None
        finally:
            await response.aclose()

    # -- helpers ------------------------------------------------------------------------------

    def _request(
        self, wire: WireRequest, timeout_s: float, headers: dict[str, str]
    ) -> httpx.Request:
        # URLs and timeouts are parsed once per model: httpx's per-request URL parsing and
        # merging is a large share of a call's CPU against a fast server.
        key = (wire.path, tuple(sorted(wire.params.items())) if wire.params else ())
        url = self._urls.get(key)
        if url is None:
            url = httpx.URL(self.endpoint.base_url + wire.path, params=wire.params)
            self._urls[key] = url
        timeout = self._timeouts.get(timeout_s)
        if timeout is None:
            connect = min(self._connect_timeout_s, timeout_s)
            timeout = httpx.Timeout(timeout_s, connect=connect).as_dict()
            self._timeouts[timeout_s] = timeout
        return httpx.Request(
            "POST",
            url,
            content=orjson.dumps(wire.body),
            headers=headers,
            extensions={"timeout": timeout},
        )

    def _finish(self, parsed: Parsed, request: ChatRequest, started: float) -> ChatResponse:
        usage = parsed.usage
        if usage is None:
            # No usage reported (a server that omits it): bill a conservative estimate rather
            # than nothing, so spend and budgets stay honest.
            usage = Usage(
                input_tokens=estimate_messages_tokens(m.content for m in request.messages),
                output_tokens=estimate_tokens(parsed.text) if parsed.text else 0,
            )
            log.info(
                "usage_missing",
                extra={"provider": self.provider, "model": self.model.id},
            )
        return ChatResponse(
            id=parsed.id,
            model=self.model.id,
            provider=self.provider,
            text=parsed.text,
            finish_reason=parsed.finish_reason,
            usage=usage,
            cost_usd=usage_cost(self.model, usage),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            raw=parsed.raw,
        )

    def _status_error(
        self, status: int, body: bytes | str, headers: Mapping[str, str]
    ) -> ProviderHTTPError:
        err = error_for_status(
            status,
            body,
            headers,
            dialect=self._dialect,
            provider=self.provider,
            model=self.model.id,
        )
        log.info(
            "provider_http_error",
            extra={"provider": self.provider, "model": self.model.id, "status": status},
        )
        return err

    def _timeout(self, timeout_s: float) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{self.provider} did not answer within {timeout_s:g}s",
            provider=self.provider,
            model=self.model.id,
        )

    def _format_error(self, reason: str, raw: bytes | str) -> ResponseFormatError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return ResponseFormatError(
            f"{self.provider}: {reason}", raw=text, provider=self.provider, model=self.model.id
        )

    def _bad_url(self, exc: Exception) -> ProviderConnectionError:
        err = ProviderConnectionError(
            f"{self.provider}: invalid base URL {self.endpoint.base_url!r}: {exc}",
            provider=self.provider,
            model=self.model.id,
        )
        err.retryable = False
        return err

    def _translate(self, exc: httpx.HTTPError) -> ProviderError:
        where = f"{self.provider} at {self.endpoint.base_url}"
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(
                f"{where} timed out ({detail})", provider=self.provider, model=self.model.id
            )
        if isinstance(exc, httpx.DecodingError):
            return ResponseFormatError(
                f"{where}: undecodable body ({detail})",
                provider=self.provider,
                model=self.model.id,
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return self._bad_url(exc)
        return ProviderConnectionError(
            f"{where}: connection failed ({detail})", provider=self.provider, model=self.model.id
        )
