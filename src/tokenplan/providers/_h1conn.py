"""One HTTP/1.1 connection of :class:`~tokenplan.providers.h1.H1Transport`: an asyncio protocol
reading responses with httptools, one exchange at a time.

Waiting is done on one future per wait, with a ``call_later`` timer instead of a cancel scope
(which costs more than the rest of a wait against a fast server). Failures are httpx
exceptions, set on the waiter by the callbacks.
"""

from __future__ import annotations

import asyncio
import select
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httptools
import httpx

if TYPE_CHECKING:
    from tokenplan.providers.h1 import Origin

__all__ = ["ClosedBeforeUse", "H1Response", "header_map"]

#: Response bytes buffered before the socket stops being read (flow control).
_HIGH_WATER = 1 << 20


class H1Response:
    """A whole response: ``status``, raw ``headers`` (lower-cased names) and ``content``."""

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    def header_map(self) -> dict[str, str]:
        return header_map(self.headers)

    async def read(self) -> bytes:
        return self.content

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.content

    async def aclose(self) -> None:
        return None


def header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


class ClosedBeforeUse(httpx.RemoteProtocolError):
    """The connection was found closed before any byte of the request was written to it."""


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(httpx.ReadTimeout("timed out waiting for the server"))


class Connection(asyncio.Protocol):
    """One socket and the response being read from it (one exchange at a time)."""

    __slots__ = (
        "_head_done",
        "_waiter",
        "body_until_eof",
        "buffered",
        "busy",
        "chunks",
        "closed",
        "complete",
        "error",
        "headers",
        "idle_since",
        "keep_alive",
        "loop",
        "origin",
        "parser",
        "paused",
        "received",
        "served",
        "status",
        "transport",
    )

    def __init__(self, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.served = 0  # responses read to the end on this connection
        self.busy = False  # handed out by the pool, not yet released
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self._head_done = False
        self.complete = False
        self.received = False
        self.keep_alive = True
        self.body_until_eof = False
        self.error: BaseException | None = None
        self.paused = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"invalid HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost finishes the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.complete or self.error is not None:
            return
        if self._head_done and self.body_until_eof:
            self.keep_alive = False
            self.on_message_complete()
        elif self._head_done:
            self._fail(httpx.ReadError("the server closed the connection mid-response"))
        else:
            self._fail(httpx.RemoteProtocolError("server disconnected without sending a response"))

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        framed = any(k in (b"content-length", b"transfer-encoding") for k, _ in self.headers)
        self.body_until_eof = not framed and self.status not in (204, 304)
        self._head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # -- the exchange -------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, data: bytes) -> None:
        """Write a request; :class:`ClosedBeforeUse` if the connection is known to be dead
        (nothing was written, so the request may go out on another connection)."""
        self._reset()
        transport = self.transport
        if self.closed or transport is None or transport.is_closing() or self._peer_closed():
            self.close()
            self.error = ClosedBeforeUse("the connection was closed before use")
            raise self.error
        transport.write(data)

    def _peer_closed(self) -> bool:
        """Whether a reused connection has something to read before we wrote anything: the
        server's close (or stray bytes), not yet seen by the event loop. Either way it cannot
        carry a request."""
        if not self.served or self.transport is None:
            return False
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], (), (), 0)
        except (OSError, ValueError):  # a descriptor select cannot watch: assume it is alive
            return False
        return bool(readable)

    async def _wait(self, deadline: float | None) -> None:
        """Wait for the next callback; ``deadline`` is in event loop time."""
        if self.error is not None:
            raise self.error
        fut: asyncio.Future[None] = self.loop.create_future()
        self._waiter = fut
        handle = self.loop.call_at(deadline, _expire, fut) if deadline is not None else None
        try:
            await fut
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    async def read_head(self, deadline: float | None) -> None:
        while not self._head_done:
            await self._wait(deadline)

    async def read_all(self, deadline: float | None) -> bytes:
        while not self.complete:
            await self._wait(deadline)
        return self.take()

    async def next_chunk(self, timeout_s: float | None) -> bytes | None:
        """The body bytes buffered so far (waiting up to ``timeout_s`` for some), or ``None``
        at the end."""
        while not self.chunks:
            if self.complete:
                return None
            await self._wait(self.loop.time() + timeout_s if timeout_s else None)
        return self.take()

    def take(self) -> bytes:
        chunks = self.chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()
        return data

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None
