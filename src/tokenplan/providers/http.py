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
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import httpx
import orjson

from tokenplan.errors import (
    AuthenticationError,
    ConfigError,
    ModelUnavailableError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    UpstreamServerError,
    redact,
    register_secret,
)
from tokenplan.pricing import usage_cost
from tokenplan.providers._h1conn import ClosedBeforeUse
from tokenplan.providers.dialects import (
    InStreamError,
    MalformedPayload,
    Parsed,
    WireDialect,
    WireRequest,
    get_dialect,
)
from tokenplan.providers.endpoints import display_url
from tokenplan.providers.h1 import H1Transport, Origin
from tokenplan.providers.sse import SSEDecoder
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.providers.endpoints import ResolvedEndpoint

#: httpx failures raised before any byte of the request was written.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, ClosedBeforeUse)

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


class _Body(Protocol):
    """A streamed response whose head has arrived (either way to the server)."""

    @property
    def status(self) -> int: ...

    def header_map(self) -> Mapping[str, str]: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def read(self) -> bytes: ...

    async def aclose(self) -> None: ...


class _HttpxBody:
    __slots__ = ("_response", "status")

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code

    def header_map(self) -> Mapping[str, str]:
        return self._response.headers

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    async def read(self) -> bytes:
        return await self._response.aread()

    async def aclose(self) -> None:
        await self._response.aclose()


class HTTPChatModel:
    """Answers requests for one catalog ``model`` through one resolved endpoint.

    ``timeout_s`` bounds a whole non-streamed call and, for streams, the wait for the response
    headers and for each further piece of the body; a request's own ``timeout_s`` wins.

    ``direct`` is the :class:`~tokenplan.providers.h1.H1Transport` under ``client``, when it is
    one (the runtime passes it): requests then go straight to it with a request head prebuilt
    per URL, skipping httpx's request/response objects. The wire bytes, timeouts, errors and
    their translation are the same either way.
    """

    def __init__(
        self,
        model: Model,
        endpoint: ResolvedEndpoint,
        *,
        client: httpx.AsyncClient,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        direct: H1Transport | None = None,
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
        if endpoint.basic_auth is not None:
            self._headers["authorization"] = self._basic_auth(endpoint)
        self._stream_headers = {**self._headers, "accept": "text/event-stream"}
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self._timeouts: dict[float, dict[str, float | None]] = {}
        self._direct = direct
        self._heads: dict[tuple[Any, ...], tuple[Origin, bytes]] = {}

    def __repr__(self) -> str:
        return f"HTTPChatModel({self.model.id!r}, endpoint={self.provider!r})"

    def _basic_auth(self, endpoint: ResolvedEndpoint) -> str:
        """HTTP Basic auth from the base URL's ``user:password@`` (the same on every transport)."""
        import base64

        assert endpoint.basic_auth is not None
        if "authorization" in self._headers:
            raise ConfigError(
                f"endpoint {self.provider}: the base URL carries user:password and the endpoint "
                "also sends an authorization header (its API key or a configured header); "
                "keep only one of them"
            )
        user, password = endpoint.basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        register_secret(token)
        return f"Basic {token}"

    # -- the ChatModel protocol ---------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResponse:
        wire = self._dialect.build(request, self.model, self.endpoint.endpoint, stream=False)
        timeout_s = request.timeout_s or self._timeout_s
        started = time.perf_counter()
        if self._direct is not None:
            status, content, headers = await self._post_direct(wire, timeout_s)
        else:
            status, content, headers = await self._post_httpx(wire, timeout_s)
        if status >= 300:  # redirects are not followed: a wrong base URL
            raise self._status_error(status, content, headers())
        parser = self._dialect.parser()
        try:
            parser.feed_body(orjson.loads(content))
        except orjson.JSONDecodeError as exc:
            raise self._format_error("response body is not valid JSON", content) from exc
        except MalformedPayload as exc:
            raise self._format_error(exc.reason, exc.raw) from exc
        return self._finish(parser.result(), request, started)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        wire = self._dialect.build(request, self.model, self.endpoint.endpoint, stream=True)
        timeout_s = request.timeout_s or self._timeout_s
        started = time.perf_counter()
        if self._direct is not None:
            body: _Body = await self._open_direct(wire, timeout_s)
        else:
            body = await self._open_httpx(wire, timeout_s)
        try:
            if body.status >= 300:
                raise self._status_error(body.status, await body.read(), body.header_map())
            parser = self._dialect.parser()
            decoder = SSEDecoder()
            async for piece in body.chunks():
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
            await body.aclose()

    # -- the two ways to the server -----------------------------------------------------------

    async def _post_direct(
        self, wire: WireRequest, timeout_s: float
    ) -> tuple[int, bytes, Callable[[], Mapping[str, str]]]:
        """POST on the runtime's :class:`H1Transport` without httpx objects (the hot path)."""
        assert self._direct is not None
        origin, head = self._head(wire, stream=False)
        content = orjson.dumps(wire.body)
        try:
            response = await self._direct.request(
                origin,
                b"%s%d\r\n\r\n%s" % (head, len(content), content),
                timeout_s=timeout_s,
                connect_timeout_s=min(self._connect_timeout_s, timeout_s),
            )
        except httpx.TimeoutException:
            raise self._timeout(timeout_s) from None
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc
        return response.status, response.content, response.header_map

    async def _post_httpx(
        self, wire: WireRequest, timeout_s: float
    ) -> tuple[int, bytes, Callable[[], Mapping[str, str]]]:
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
        headers = response.headers
        return response.status_code, response.content, lambda: headers

    async def _open_direct(self, wire: WireRequest, timeout_s: float) -> _Body:
        assert self._direct is not None
        origin, head = self._head(wire, stream=True)
        content = orjson.dumps(wire.body)
        try:
            return await self._direct.stream(
                origin,
                b"%s%d\r\n\r\n%s" % (head, len(content), content),
                timeout_s=timeout_s,
                connect_timeout_s=min(self._connect_timeout_s, timeout_s),
            )
        except httpx.TimeoutException:
            raise self._timeout(timeout_s) from None
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc

    async def _open_httpx(self, wire: WireRequest, timeout_s: float) -> _Body:
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
        return _HttpxBody(response)

    # -- helpers ------------------------------------------------------------------------------

    def _url(self, wire: WireRequest) -> httpx.URL:
        # URLs are parsed once per model: httpx's per-request URL parsing and merging is a
        # large share of a call's CPU against a fast server.
        key = (wire.path, tuple(sorted(wire.params.items())) if wire.params else ())
        url = self._urls.get(key)
        if url is None:
            url = httpx.URL(self.endpoint.base_url + wire.path, params=wire.params)
            self._urls[key] = url
        return url

    def _head(self, wire: WireRequest, *, stream: bool) -> tuple[Origin, bytes]:
        """The request head up to the content length's value, built once per path."""
        key = (wire.path, tuple(sorted(wire.params.items())) if wire.params else (), stream)
        found = self._heads.get(key)
        if found is None:
            try:
                url = self._url(wire)
                origin = Origin.of(url)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise self._bad_url(exc) from exc
            headers = self._stream_headers if stream else self._headers
            lines = [f"POST {url.raw_path.decode('ascii')} HTTP/1.1", f"host: {origin.host_header}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            text = "\r\n".join(lines) + "\r\ncontent-length: "
            if any(c in value for value in headers.values() for c in "\r\n\0"):
                raise self._bad_header()
            try:
                found = (origin, text.encode("latin-1"))
            except UnicodeEncodeError:
                raise self._bad_header() from None
            self._heads[key] = found
        return found

    def _request(
        self, wire: WireRequest, timeout_s: float, headers: dict[str, str]
    ) -> httpx.Request:
        url = self._url(wire)
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
            # than nothing, so spend and budgets stay honest. A reasoning model's hidden
            # reasoning is billed as output but never shown, so it is billed at the cap.
            visible = estimate_tokens(parsed.text) if parsed.text else 0
            output = visible
            if self.model.reasoning:
                output = max(visible, request.max_tokens or self.model.max_output_tokens)
            usage = Usage(
                input_tokens=estimate_messages_tokens(m.content for m in request.messages),
                output_tokens=output,
                reasoning_tokens=output - visible,
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
            f"{self.provider}: invalid base URL {display_url(self.endpoint.base_url)!r}: {exc}",
            provider=self.provider,
            model=self.model.id,
        )
        err.retryable = False
        return err

    def _bad_header(self) -> ProviderConnectionError:
        err = ProviderConnectionError(
            f"{self.provider}: a configured header or key holds characters HTTP headers cannot "
            "carry (line breaks or non-Latin-1 text); check the key and endpoint headers",
            provider=self.provider,
            model=self.model.id,
        )
        err.retryable = False
        return err

    def _translate(self, exc: httpx.HTTPError) -> ProviderError:
        where = f"{self.provider} at {display_url(self.endpoint.base_url)}"
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
            f"{where}: connection failed ({detail})",
            provider=self.provider,
            model=self.model.id,
            sent=not isinstance(exc, _NOT_SENT),
        )
