"""The HTTP provider: one :class:`~tokenplan.providers.base.ChatModel` per catalog model, speaking
its endpoint's wire dialect over the runtime's shared ``httpx.AsyncClient``.

This is the boundary where the outside world's failures become :mod:`tokenplan.errors` types
(the table is in :mod:`tokenplan.providers.http_errors`). Every call goes through one request
path, :meth:`HTTPChatModel._send`, with one deadline, whichever transport is underneath.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Protocol

import anyio
import httpx
import orjson

from tokenplan.errors import ConfigError, ProviderHTTPError, register_secret
from tokenplan.pricing import usage_cost
from tokenplan.providers.dialects import (
    InStreamError,
    MalformedPayload,
    Parsed,
    WireRequest,
    get_dialect,
)
from tokenplan.providers.h1 import H1Transport, Origin
from tokenplan.providers.http_errors import ErrorFactory, error_for_status
from tokenplan.providers.sse import SSEDecoder
from tokenplan.tokens import estimate_request_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.providers.endpoints import ResolvedEndpoint

__all__ = ["HTTPChatModel", "error_for_status"]

log = logging.getLogger(__name__)

_USER_AGENT = "tokenplan/0.1"


class _Body(Protocol):
    """A response whose head has arrived (whichever way it came); for a non-streamed call its
    body has been read too."""

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


class _Target:
    """One URL of the endpoint, parsed once (httpx's per-request URL parsing and merging is a
    large share of a call's CPU against a fast server), with its request heads for the direct
    path built on first use."""

    __slots__ = ("heads", "url")

    def __init__(self, url: httpx.URL) -> None:
        self.url = url
        self.heads: dict[bool, tuple[Origin, bytes]] = {}


class HTTPChatModel:
    """Answers requests for one catalog ``model`` through one resolved endpoint.

    ``timeout_s`` (a request's own ``timeout_s`` wins) bounds a whole non-streamed call:
    waiting for a pooled connection, connecting, sending and reading the whole answer. For a
    stream it bounds the same up to the response headers, then each wait for a further piece.

    ``direct`` is the :class:`~tokenplan.providers.h1.H1Transport` under ``client``, when it is
    one (the runtime passes it): requests then go straight to it with a request head prebuilt
    per URL, skipping httpx's request/response objects. The wire bytes, the deadline, errors
    and their translation are the same either way.
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
        self._errors = ErrorFactory(
            dialect=self._dialect,
            provider=self.provider,
            model=model.id,
            base_url=endpoint.base_url,
        )
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
        self._targets: dict[tuple[str, tuple[tuple[str, str], ...]], _Target] = {}
        self._timeouts: dict[float, dict[str, float | None]] = {}
        self._direct = direct

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
        started = time.perf_counter()
        body = await self._send(wire, stream=False, timeout_s=request.timeout_s or self._timeout_s)
        content = await body.read()  # already read within the deadline
        if body.status >= 300:  # redirects are not followed: a wrong base URL
            raise self._status_error(body.status, content, body.header_map())
        parser = self._dialect.parser()
        try:
            parser.feed_body(orjson.loads(content))
        except orjson.JSONDecodeError as exc:
            raise self._errors.format("response body is not valid JSON", content) from exc
        except MalformedPayload as exc:
            raise self._errors.format(exc.reason, exc.raw) from exc
        return self._finish(parser.result(), request, started)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        wire = self._dialect.build(request, self.model, self.endpoint.endpoint, stream=True)
        started = time.perf_counter()
        body = await self._send(wire, stream=True, timeout_s=request.timeout_s or self._timeout_s)
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
                raise self._errors.format("stream ended before its end marker (truncated)", "")
            yield StreamChunk(response=self._finish(parser.result(), request, started))
        except httpx.HTTPError as exc:
            raise self._errors.transport(exc) from exc
        except MalformedPayload as exc:
            raise self._errors.format(exc.reason, exc.raw) from exc
        except InStreamError as exc:
            raise self._status_error(exc.status, exc.raw, {}) from None
        finally:
            await body.aclose()

    # -- the one way to the server ------------------------------------------------------------

    async def _send(self, wire: WireRequest, *, stream: bool, timeout_s: float) -> _Body:
        """POST ``wire``; return at the response head (``stream``) or with the whole body read.

        One deadline, ``timeout_s`` from now, covers the wait for a pooled connection, the
        connection set-up, sending and reading (up to the head for a stream). On the runtime's
        :class:`H1Transport` the request bytes go to it directly (the hot path: its own timer,
        no cancel scope); any other transport goes through httpx under a cancel scope.
        """
        target = self._target(wire)
        try:
            if self._direct is not None:
                origin, head = self._head(target, stream=stream)
                content = orjson.dumps(wire.body)
                data = b"%s%d\r\n\r\n%s" % (head, len(content), content)
                connect_s = min(self._connect_timeout_s, timeout_s)
                if stream:
                    return await self._direct.stream(
                        origin, data, timeout_s=timeout_s, connect_timeout_s=connect_s
                    )
                return await self._direct.request(
                    origin, data, timeout_s=timeout_s, connect_timeout_s=connect_s
                )
            http_request = self._request(target, wire, timeout_s, stream=stream)
            with anyio.fail_after(timeout_s):
                return _HttpxBody(await self._client.send(http_request, stream=stream))
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing sent
            raise self._errors.transport(exc) from exc
        except (TimeoutError, httpx.TimeoutException):
            raise self._errors.timeout(timeout_s) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise self._errors.bad_url(exc) from exc
        except httpx.HTTPError as exc:
            raise self._errors.transport(exc) from exc

    def _target(self, wire: WireRequest) -> _Target:
        key = (wire.path, tuple(sorted(wire.params.items())) if wire.params else ())
        target = self._targets.get(key)
        if target is None:
            try:
                url = httpx.URL(self.endpoint.base_url + wire.path, params=wire.params)
            except httpx.InvalidURL as exc:
                raise self._errors.bad_url(exc) from exc
            target = self._targets[key] = _Target(url)
        return target

    def _head(self, target: _Target, *, stream: bool) -> tuple[Origin, bytes]:
        """The direct path's request head up to the content length's value."""
        found = target.heads.get(stream)
        if found is None:
            url = target.url
            origin = Origin.of(url)
            headers = self._stream_headers if stream else self._headers
            lines = [f"POST {url.raw_path.decode('ascii')} HTTP/1.1", f"host: {origin.host_header}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            text = "\r\n".join(lines) + "\r\ncontent-length: "
            if any(c in value for value in headers.values() for c in "\r\n\0"):
                raise self._errors.bad_header()
            try:
                found = (origin, text.encode("latin-1"))
            except UnicodeEncodeError:
                raise self._errors.bad_header() from None
            target.heads[stream] = found
        return found

    def _request(
        self, target: _Target, wire: WireRequest, timeout_s: float, *, stream: bool
    ) -> httpx.Request:
        timeout = self._timeouts.get(timeout_s)
        if timeout is None:
            connect = min(self._connect_timeout_s, timeout_s)
            timeout = httpx.Timeout(timeout_s, connect=connect).as_dict()
            self._timeouts[timeout_s] = timeout
        return httpx.Request(
            "POST",
            target.url,
            content=orjson.dumps(wire.body),
            headers=self._stream_headers if stream else self._headers,
            extensions={"timeout": timeout},
        )

    # -- results ------------------------------------------------------------------------------

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
                input_tokens=estimate_request_tokens(request),
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
        log.info(
            "provider_http_error",
            extra={"provider": self.provider, "model": self.model.id, "status": status},
        )
        return self._errors.status(status, body, headers)
