"""HTTP transports behind the httpx API.

Everything in tokenplan talks to ``httpx.AsyncClient``; what moves the bytes is a transport.
:class:`AiohttpTransport` is an ``httpx.AsyncBaseTransport`` backed by an aiohttp connection
pool, which costs less CPU per request and holds up better under concurrency than httpx's own
pool (``benchmarks/bench_providers.py`` measures both). aiohttp errors are translated into the
matching httpx exceptions here, so the provider boundary only ever sees httpx's tree.

:func:`default_transport` picks the transport the runtime uses: the ``http_transport`` setting
(``TOKENPLAN_HTTP_TRANSPORT`` / ``[providers] http_transport``) = ``h1``, ``aiohttp`` or ``httpx``
chooses explicitly; ``auto`` (the default) is ``h1``, tokenplan's own HTTP/1.1 client
(:mod:`tokenplan.providers.h1`), which the provider hot path can also call without httpx
objects in between.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport", "default_transport"]

# httpx computes these for its own connection handling; aiohttp computes its own.
_SKIP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


#: Environment variables that route HTTP through a proxy (curl's and httpx's convention).
PROXY_ENV_VARS: tuple[str, ...] = (
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
)  # fmt: skip


def proxy_configured(env: Mapping[str, str]) -> bool:
    """True when ``env`` asks for an HTTP(S) proxy, which only httpx's own transport honours."""
    return any(env.get(name) for name in PROXY_ENV_VARS)


def default_transport(name: str = "auto") -> httpx.AsyncBaseTransport:
    """A new transport: ``name`` = ``auto`` | ``h1`` | ``aiohttp`` | ``httpx``.

    ``auto`` is ``h1`` (:class:`~tokenplan.providers.h1.H1Transport`, the leanest per call).
    """
    choice = name.strip().lower()
    if choice not in ("auto", "h1", "aiohttp", "httpx"):
        from tokenplan.errors import ConfigError

        raise ConfigError(f"http_transport: expected auto, h1, aiohttp or httpx, got {choice!r}")
    if choice in ("auto", "h1"):
        from tokenplan.providers.h1 import H1Transport

        return H1Transport()
    if choice == "aiohttp":
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            from tokenplan.errors import ConfigError

            raise ConfigError("http_transport is aiohttp but aiohttp is not installed") from None
        return AiohttpTransport()
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)
    )


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as an httpx byte stream."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as exc:
            translated = _translate(exc, self._request, reading=True)
            if translated is exc:
                raise
            raise translated from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx transport on an aiohttp connection pool.

    ``limit`` caps open connections (all hosts), ``keepalive_s`` how long idle ones are kept.
    The session is created on first use, inside the running event loop (so a transport serves
    one event loop), and closed by :meth:`aclose` (``httpx.AsyncClient.aclose`` calls it).
    Response bodies are passed through undecoded; httpx decodes them, as with its own transport.
    """

    def __init__(self, *, limit: int = 100, keepalive_s: float = 30.0) -> None:
        self._limit = limit
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit, keepalive_timeout=self._keepalive_s, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                # Send only the headers httpx put on the request: in particular no
                # Accept-Encoding httpx could not decode (it decodes, aiohttp passes through).
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        session = self._get_session()
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.lower().decode("latin-1") not in _SKIP_HEADERS
        ]
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
            )
        except Exception as exc:
            translated = _translate(exc, request, reading=False)
            if translated is exc:
                raise
            raise translated from exc
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _translate(exc: Exception, request: httpx.Request, *, reading: bool) -> Exception:
    """The httpx exception that means what the aiohttp one does (``exc`` itself if none)."""
    import asyncio

    import aiohttp

    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        if reading:
            return httpx.ReadError(message, request=request)
        return httpx.ConnectError(message, request=request)
    return exc
