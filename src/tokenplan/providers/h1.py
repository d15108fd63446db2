"""A lean HTTP/1.1 client on asyncio protocols and httptools: the default transport.

:class:`H1Transport` is an ``httpx.AsyncBaseTransport`` (so the runtime's one
``httpx.AsyncClient`` keeps working for every caller) with a second, direct entry for the
provider hot path: :meth:`H1Transport.request` and :meth:`H1Transport.stream` take a prepared
:class:`Origin` and the request bytes, and skip building ``httpx.Request`` / ``httpx.Response``
objects, which cost more CPU than the exchange itself against a fast server.
``HTTPChatModel`` uses the direct entry when the runtime's client runs on this transport.

What it does: keep-alive connection pooling per origin (``limit`` connections in all, idle ones
dropped after ``keepalive_s`` or when the server closes them), TLS with httpx's default context,
``content-length``, chunked and read-until-close bodies, read flow control for large bodies,
and one timeout per exchange that bounds all of it. A request is written at most once: a pooled
connection found closed before sending is replaced, but a connection that dies after the
request went out is an error, never a silent re-send (the server may have acted on the POST
and billed it; the caller's retry policy decides). It does not follow redirects, speak
HTTP/2 or use proxies (httpx ignores proxy variables when a transport is given, as with any
custom transport). It needs an asyncio event loop (uvloop included).

Failures are raised as httpx exceptions (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
``ReadError``, ``RemoteProtocolError``), so the provider boundary sees one exception tree
whichever way a call came.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tokenplan.providers._h1conn import ClosedBeforeUse, Connection, H1Response, header_map

__all__ = ["H1Response", "H1Stream", "H1Transport", "Origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin:
    """Where requests go: scheme, host and port, plus what a request head needs."""

    __slots__ = ("host", "host_header", "key", "port", "scheme", "tls")

    def __init__(self, scheme: str, host: str, port: int | None) -> None:
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        if not host:
            raise httpx.UnsupportedProtocol("URL has no host")
        self.scheme = scheme
        self.host = host
        self.port = port or _DEFAULT_PORTS[scheme]
        self.tls = scheme == "https"
        shown = f"[{host}]" if ":" in host else host
        default = port is None or port == _DEFAULT_PORTS[scheme]
        self.host_header = shown if default else f"{shown}:{port}"
        self.key = (scheme, host, self.port)

    @classmethod
    def of(cls, url: httpx.URL) -> Origin:
        return cls(url.scheme, url.host, url.port)

    def __repr__(self) -> str:
        return f"Origin({self.scheme}://{self.host_header})"


def _pool_timeout(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.PoolTimeout("timed out waiting for a free connection"))


class H1Stream:
    """A response whose head has arrived; read its body with :meth:`chunks` or :meth:`read`,
    then :meth:`aclose` it (which returns the connection to the pool if it is reusable)."""

    __slots__ = ("_conn", "_pool", "_read_timeout_s", "headers", "status")

    def __init__(self, pool: H1Transport, conn: Connection, read_timeout_s: float | None) -> None:
        self._pool = pool
        self._conn = conn
        self._read_timeout_s = read_timeout_s
        self.status = conn.status
        self.headers = conn.headers

    def header_map(self) -> dict[str, str]:
        return header_map(self.headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            data = await conn.next_chunk(self._read_timeout_s)
            if data is None:
                return
            yield data

    async def read(self) -> bytes:
        conn, timeout_s = self._conn, self._read_timeout_s
        return await conn.read_all(conn.loop.time() + timeout_s if timeout_s else None)

    async def aclose(self) -> None:
        self._pool._release(self._conn)


class H1Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive connection pool; see the module docstring.

    ``limit`` caps open connections over all origins (a request beyond it waits for one);
    ``keepalive_s`` is how long an idle connection is kept (below the 5 s after which uvicorn
    and Node close idle connections, so a reused one is rarely closing as we write);
    ``ssl_context`` defaults to httpx's (certifi roots).
    """

    def __init__(
        self,
        *,
        limit: int = 512,
        keepalive_s: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self.keepalive_s = keepalive_s
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._open = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the direct entry ---------------------------------------------------------------------

    async def request(
        self,
        origin: Origin,
        data: bytes,
        *,
        timeout_s: float | None,
        connect_timeout_s: float | None = None,
    ) -> H1Response:
        """Send ``data`` (a whole HTTP/1.1 request) and read the whole response.

        ``timeout_s`` bounds the whole exchange: waiting for a pool slot, connecting, sending
        and reading every byte of the answer (``httpx.PoolTimeout``, ``ConnectTimeout`` or
        ``ReadTimeout`` past it); ``connect_timeout_s`` bounds the connection set-up alone.
        """
        deadline = self._deadline(timeout_s)
        conn = await self._exchange(origin, data, deadline, connect_timeout_s)
        try:
            content = await conn.read_all(deadline)
        except BaseException:
            conn.close()
            self._release(conn)
            raise
        response = H1Response(conn.status, conn.headers, content)
        self._release(conn)
        return response

    async def stream(
        self,
        origin: Origin,
        data: bytes,
        *,
        timeout_s: float | None,
        connect_timeout_s: float | None = None,
    ) -> H1Stream:
        """Send ``data`` and return once the response head has arrived.

        ``timeout_s`` bounds everything up to the head (as for :meth:`request`), then each
        wait for a further piece of the body.
        """
        conn = await self._exchange(origin, data, self._deadline(timeout_s), connect_timeout_s)
        return H1Stream(self, conn, timeout_s)

    def _deadline(self, timeout_s: float | None) -> float | None:
        return asyncio.get_running_loop().time() + timeout_s if timeout_s else None

    async def _exchange(
        self,
        origin: Origin,
        data: bytes,
        deadline: float | None,
        connect_timeout_s: float | None,
    ) -> Connection:
        """A connection whose response head to ``data`` has been read.

        A request is sent at most once: a connection found dead *before* anything was written
        is replaced, but once the bytes went out, a failure is raised, since the server may
        have received and acted on the request (and billed it).
        """
        conn = await self._acquire(origin, connect_timeout_s, deadline)
        try:
            conn.send(data)
        except ClosedBeforeUse:
            self._release(conn)
            conn = await self._acquire(origin, connect_timeout_s, deadline, fresh=True)
            try:
                conn.send(data)
            except BaseException:
                conn.close()
                self._release(conn)
                raise
        try:
            await conn.read_head(deadline)
        except BaseException:
            conn.close()
            self._release(conn)
            raise
        return conn

    # -- the pool -----------------------------------------------------------------------------

    async def _acquire(
        self,
        origin: Origin,
        connect_timeout_s: float | None,
        deadline: float | None,
        *,
        fresh: bool = False,
    ) -> Connection:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._forget_pool()
            self._loop = loop
        while True:
            if not fresh:
                idle = self._idle.get(origin.key)
                now = loop.time()
                while idle:
                    conn = idle.pop()
                    if not conn.closed and now - conn.idle_since < self.keepalive_s:
                        conn.busy = True
                        return conn
                    self._discard(conn)
            if self._open < self._limit or self._close_one_idle():
                break
            # Every slot is busy: wait for a connection to come back or to close.
            await self._wait_for_slot(loop, deadline)
        if deadline is not None:
            left = deadline - loop.time()
            if left <= 0:
                raise httpx.PoolTimeout("timed out waiting for a connection")
            connect_timeout_s = min(connect_timeout_s or left, left)
        self._open += 1
        try:
            conn = await self._connect(loop, origin, connect_timeout_s)
        except BaseException:
            self._open -= 1
            self._wake_slot()
            raise
        conn.busy = True
        return conn

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        waiter: asyncio.Future[None] = loop.create_future()
        self._slot_waiters.append(waiter)
        timer = loop.call_at(deadline, _pool_timeout, waiter) if deadline is not None else None
        try:
            await waiter
        except BaseException:
            if waiter in self._slot_waiters:
                self._slot_waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._wake_slot()  # woken and cancelled at once: pass the turn on
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, origin: Origin, timeout_s: float | None
    ) -> Connection:
        tls = self._ssl_context() if origin.tls else None
        make = loop.create_connection(
            lambda: Connection(origin, loop),
            origin.host,
            origin.port,
            ssl=tls,
            server_hostname=origin.host if tls is not None else None,
        )
        try:
            if timeout_s:
                _, conn = await asyncio.wait_for(make, timeout_s)
            else:
                _, conn = await make
        except (asyncio.TimeoutError, TimeoutError):
            raise httpx.ConnectTimeout(f"connecting to {origin.host_header} timed out") from None
        except ssl.SSLError as exc:
            raise httpx.ConnectError(f"TLS with {origin.host_header} failed: {exc}") from exc
        except OSError as exc:
            detail = exc.strerror or str(exc) or type(exc).__name__
            raise httpx.ConnectError(f"cannot connect to {origin.host_header}: {detail}") from exc
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _release(self, conn: Connection) -> None:
        """Back to the idle list if it can serve another request, else closed."""
        if not conn.busy:
            return
        conn.busy = False
        if conn.reusable and self._loop is conn.loop:
            conn.served += 1
            conn.idle_since = conn.loop.time()
            self._idle.setdefault(conn.origin.key, []).append(conn)
            self._wake_slot()
            return
        self._discard(conn)

    def _discard(self, conn: Connection) -> None:
        if conn.transport is not None and not conn.closed:
            conn.close()
        if conn.loop is self._loop:
            self._open -= 1
            self._wake_slot()

    def _close_one_idle(self) -> bool:
        for idle in self._idle.values():
            if idle:
                self._discard(idle.pop(0))
                return True
        return False

    def _wake_slot(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget_pool(self) -> None:
        """Drop connections of a previous event loop (they cannot be used from this one)."""
        for idle in self._idle.values():
            for conn in idle:
                if conn.transport is not None and not conn.loop.is_closed():
                    conn.transport.close()
        self._idle.clear()
        self._open = 0
        self._slot_waiters.clear()

    async def aclose(self) -> None:
        """Close the idle connections; busy ones stay counted and close when released."""
        for idle in self._idle.values():
            while idle:
                self._discard(idle.pop())
        self._idle.clear()

    # -- httpx.AsyncBaseTransport -------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        url = request.url
        origin = Origin.of(url)
        body = await request.aread()
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
        has_host = False
        for name, value in request.headers.raw:
            lower = name.lower()
            if lower in (b"content-length", b"transfer-encoding", b"connection"):
                continue
            has_host = has_host or lower == b"host"
            head.append(b"%s: %s\r\n" % (name, value))
        if not has_host:
            head.append(b"host: %s\r\n" % origin.host_header.encode("ascii"))
        if body or request.method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            head.append(b"content-length: %d\r\n" % len(body))
        head.append(b"\r\n")
        read_s = timeouts.get("read")
        stream = await self.stream(
            origin,
            b"".join(head) + body,
            timeout_s=read_s,
            connect_timeout_s=timeouts.get("connect"),
        )
        if request.method == "HEAD":  # no body follows, whatever the headers say
            stream._conn.keep_alive = False
            stream._conn.complete = True
        return httpx.Response(
            stream.status,
            headers=stream.headers,
            stream=_Body(stream),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": b""},
        )


class _Body(httpx.AsyncByteStream):
    """An :class:`H1Stream` body as an httpx byte stream."""

    def __init__(self, stream: H1Stream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream.chunks():
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()
