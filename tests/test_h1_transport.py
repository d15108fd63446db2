"""tokenplan's own HTTP/1.1 transport against real loopback servers: framing, keep-alive,
the stale-connection retry, timeouts, flow control, the pool limit, cancellation and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

from _providers_support import KEY, catalog
from tokenplan.errors import ProviderConnectionError, ProviderTimeoutError, RateLimitError
from tokenplan.providers.endpoints import find_endpoint, resolve_endpoint
from tokenplan.providers.h1 import H1Transport, Origin
from tokenplan.providers.http import HTTPChatModel
from tokenplan.testing import FakeProviders, serve_fake
from tokenplan.types import ChatRequest

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Server:
    """A raw asyncio HTTP server whose handler writes whatever bytes a test wants."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.open_now = 0
        self.max_open = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.max_open = max(self.max_open, self.open_now)
        try:
            await self.handler(reader, writer, self.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[Server]:
    server = Server(handler)
    srv = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.port = srv.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        srv.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length) if length else b""
    return head, body


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def post(origin: Origin, body: bytes = b"{}", path: bytes = b"/x") -> bytes:
    return b"POST %s HTTP/1.1\r\nhost: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        path,
        origin.host_header.encode(),
        len(body),
        body,
    )


async def test_keep_alive_reuses_one_connection_and_frames_bodies() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            _, body = await read_request(reader)
            if body == b"chunked":
                writer.write(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nX-Kind: Chunked\r\n\r\n"
                    b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
                )
            else:
                writer.write(ok(b"echo:" + body, b"x-kind: plain\r\n"))
            await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        for i in range(5):
            r = await transport.request(origin, post(origin, b"%d" % i), timeout_s=5)
            assert (r.status, r.content) == (200, b"echo:%d" % i)
        chunked = await transport.request(origin, post(origin, b"chunked"), timeout_s=5)
        assert chunked.content == b"abcdefg"
        assert chunked.header_map()["x-kind"] == "Chunked"
        assert server.connections == 1
        await transport.aclose()


async def test_body_until_close_and_connection_close_header() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
        else:
            writer.write(ok(b"closing", b"connection: close\r\n"))
        await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        first = await transport.request(origin, post(origin), timeout_s=5)
        assert first.content == b"until the end"
        second = await transport.request(origin, post(origin), timeout_s=5)
        assert second.content == b"closing"
        third = await transport.request(origin, post(origin), timeout_s=5)
        assert third.content == b"closing"
        assert server.connections == 3  # neither kind of connection is reused
        await transport.aclose()


async def test_a_post_the_server_read_and_dropped_is_never_sent_twice() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            _, body = await read_request(reader)
            seen.append(body)
            if body == b"second":
                # The server read the request (and may have acted on it, and billed it), then
                # the connection died before any answer: the client cannot know, so it must
                # not send it again.
                await asyncio.sleep(0.05)
                return
            writer.write(ok(b"answer to " + body))
            await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        first = await transport.request(origin, post(origin, b"first"), timeout_s=5)
        assert first.content == b"answer to first"
        with pytest.raises(httpx.RemoteProtocolError):
            await transport.request(origin, post(origin, b"second"), timeout_s=5)
        assert seen == [b"first", b"second"]
        third = await transport.request(origin, post(origin, b"third"), timeout_s=5)
        assert third.content == b"answer to third"
        assert seen == [b"first", b"second", b"third"]
        assert server.connections == 2
        await transport.aclose()


async def test_an_idle_connection_the_server_closed_is_replaced_before_sending() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        _, body = await read_request(reader)
        seen.append(body)
        writer.write(ok(b"answer to " + body))  # keep-alive framing, then an idle close
        await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        assert (await transport.request(origin, post(origin, b"a"), timeout_s=5)).status == 200
        await asyncio.sleep(0.1)  # the server's close arrives while the connection is idle
        second = await transport.request(origin, post(origin, b"b"), timeout_s=5)
        assert second.content == b"answer to b"
        assert seen == [b"a", b"b"]
        assert server.connections == 2
        await transport.aclose()


def test_idle_connections_are_dropped_before_common_server_idle_timeouts() -> None:
    # uvicorn and Node close idle keep-alive connections after 5 s; reusing one the server is
    # closing is the race that loses requests.
    assert H1Transport().keepalive_s < 5.0


async def test_request_timeout_bounds_the_whole_exchange() -> None:
    body = b"x" * 200

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 8):  # a trickle: every wait for data is short
            writer.write(body[i : i + 8])
            await writer.drain()
            await asyncio.sleep(0.1)

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpx.ReadTimeout):
            await transport.request(origin, post(origin), timeout_s=0.5)
        assert asyncio.get_running_loop().time() - started < 1.5
        await transport.aclose()


async def test_waiting_for_a_pool_slot_counts_against_the_timeout() -> None:
    gate = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        await gate.wait()

    async with raw_server(handler) as server:
        transport = H1Transport(limit=1)
        origin = Origin("http", "127.0.0.1", server.port)
        busy = asyncio.ensure_future(transport.request(origin, post(origin), timeout_s=10))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await transport.request(origin, post(origin), timeout_s=0.3)
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy
        gate.set()
        await transport.aclose()


async def test_a_new_connection_dropped_before_answering_is_an_error_not_a_retry() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        with pytest.raises(httpx.RemoteProtocolError):
            await transport.request(origin, post(origin), timeout_s=5)
        assert server.connections == 1


async def test_drop_mid_body_malformed_answer_and_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        _, body = await read_request(reader)
        if body == b"cut":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        elif body == b"junk":
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        else:
            await asyncio.sleep(5)
        await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        with pytest.raises(httpx.ReadError):
            await transport.request(origin, post(origin, b"cut"), timeout_s=5)
        with pytest.raises(httpx.RemoteProtocolError):
            await transport.request(origin, post(origin, b"junk"), timeout_s=5)
        with pytest.raises(httpx.ReadTimeout):
            await transport.request(origin, post(origin, b"slow"), timeout_s=0.2)
        await transport.aclose()


async def test_connect_errors() -> None:
    transport = H1Transport()
    with anyio.CancelScope() as scope:
        srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        srv.close()
        await srv.wait_closed()
    assert not scope.cancel_called
    origin = Origin("http", "127.0.0.1", port)
    with pytest.raises(httpx.ConnectError):
        await transport.request(origin, post(origin), timeout_s=5)
    with pytest.raises(httpx.UnsupportedProtocol):
        Origin("ftp", "example.com", None)


async def test_stream_flow_control_delivers_a_large_body_intact() -> None:
    payload = bytes(range(256)) * (6 * 4096)  # 6 MiB

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload))
        for i in range(0, len(payload), 65536):
            writer.write(payload[i : i + 65536])
            await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        stream = await transport.stream(origin, post(origin), timeout_s=5)
        received = bytearray()
        async for chunk in stream.chunks():
            received += chunk
            await asyncio.sleep(0)  # a slow reader: the transport must pause the socket
        await stream.aclose()
        assert bytes(received) == payload
        await transport.aclose()


async def test_pool_limit_queues_requests_and_cancellation_frees_the_slot() -> None:
    gate = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            _, body = await read_request(reader)
            if body == b"hang":
                await gate.wait()
            writer.write(ok(body))
            await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport(limit=2)
        origin = Origin("http", "127.0.0.1", server.port)

        async def one(i: int) -> bytes:
            return (await transport.request(origin, post(origin, b"%d" % i), timeout_s=5)).content

        results = await asyncio.gather(*(one(i) for i in range(10)))
        assert results == [b"%d" % i for i in range(10)]
        assert server.max_open <= 2

        hung = asyncio.ensure_future(transport.request(origin, post(origin, b"hang"), timeout_s=5))
        await asyncio.sleep(0.05)
        hung.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung
        # The cancelled exchange's connection was closed, not leaked: both slots serve again.
        results = await asyncio.gather(*(one(i) for i in range(4)))
        assert results == [b"%d" % i for i in range(4)]
        gate.set()
        await transport.aclose()


async def test_as_an_httpx_transport_headers_go_out_and_httpx_decodes() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            head, body = await read_request(reader)
            seen.append(head + body)
            packed = gzip.compress(b"decoded " + body)
            writer.write(ok(packed, b"content-encoding: gzip\r\n"))
            await writer.drain()

    async with raw_server(handler) as server:
        async with httpx.AsyncClient(transport=H1Transport()) as client:
            url = f"http://127.0.0.1:{server.port}/v1/thing?q=1"
            r = await client.post(url, content=b"payload", headers={"X-Test": "yes"})
            got = await client.get(url)
        assert r.status_code == 200
        assert r.text == "decoded payload"
        assert got.text == "decoded "
        first = seen[0].lower()
        assert first.startswith(b"post /v1/thing?q=1 http/1.1\r\n")
        assert b"x-test: yes\r\n" in first
        assert b"content-length: 7\r\n" in first
        assert b"host: 127.0.0.1:%d\r\n" % server.port in first
        assert b"content-length" not in seen[1].lower()


async def test_tls_with_a_trusted_certificate() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok(b"secure"))
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = srv.sockets[0].getsockname()[1]
    try:
        transport = H1Transport(ssl_context=client_ctx)
        origin = Origin("https", "localhost", port)
        r = await transport.request(origin, post(origin), timeout_s=5)
        assert r.content == b"secure"
        untrusted = H1Transport(ssl_context=ssl.create_default_context())
        with pytest.raises(httpx.ConnectError, match="TLS"):
            await untrusted.request(origin, post(origin), timeout_s=5)
        await transport.aclose()
    finally:
        srv.close()


async def test_provider_direct_path_matches_the_httpx_path() -> None:
    cat = catalog()
    model = cat.get("openai/o-mini")
    endpoint = find_endpoint("openai")
    assert endpoint is not None
    request = ChatRequest.from_prompt("Name a prime.", max_tokens=50)
    with serve_fake(FakeProviders(cached_tokens=2, api_keys=[KEY])) as server:
        env = {"TOKENPLAN_OPENAI_BASE_URL": server.base_url("openai"), "OPENAI_API_KEY": KEY}
        resolved = resolve_endpoint(endpoint, env=env)
        h1 = H1Transport()
        async with httpx.AsyncClient(transport=h1) as client:
            direct = HTTPChatModel(model, resolved, client=client, direct=h1)
            plain = HTTPChatModel(model, resolved, client=client)
            a = await direct.complete(request)
            b = await plain.complete(request)
            streamed = [c async for c in direct.stream(request)]
        sent = server.fake.requests
    assert a.text == b.text == "Echo from o-mini: Name a prime."
    assert a.usage == b.usage
    assert streamed[-1].response is not None
    assert streamed[-1].response.text == a.text
    assert [r.body for r in sent[:2]] == [sent[0].body, sent[0].body]
    assert sent[0].headers["authorization"] == f"Bearer {KEY}"
    assert sent[2].headers["accept"] == "text/event-stream"


async def test_a_key_with_a_line_break_never_reaches_the_wire() -> None:
    model = catalog().get("openai/o-mini")
    endpoint = find_endpoint("openai")
    assert endpoint is not None
    resolved = resolve_endpoint(
        endpoint,
        env={
            "TOKENPLAN_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_API_KEY": "sk-a\r\nX: y",
        },
    )
    h1 = H1Transport()
    async with httpx.AsyncClient(transport=h1) as client:
        provider = HTTPChatModel(model, resolved, client=client, direct=h1)
        with pytest.raises(ProviderConnectionError) as info:
            await provider.complete(ChatRequest.from_prompt("hi"))
    assert not info.value.retryable
    assert "sk-a" not in str(info.value)


async def test_bytes_after_a_response_retire_the_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await read_request(reader)
            writer.write(ok(b"answer %d" % n))
            await writer.drain()
            if n == 1:
                await asyncio.sleep(0.05)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray")
                await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport()
        origin = Origin("http", "127.0.0.1", server.port)
        assert (await transport.request(origin, post(origin), timeout_s=5)).content == b"answer 1"
        await asyncio.sleep(0.2)  # the stray response arrives while the connection is idle
        assert (await transport.request(origin, post(origin), timeout_s=5)).content == b"answer 2"
        assert server.connections == 2
        await transport.aclose()


def _provider(
    port: int,
    h1: H1Transport,
    client: httpx.AsyncClient,
    *,
    direct: bool,
    timeout_s: float = 0.5,
    connect_timeout_s: float = 10.0,
) -> HTTPChatModel:
    endpoint = find_endpoint("openai")
    assert endpoint is not None
    env = {"TOKENPLAN_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": KEY}
    resolved = resolve_endpoint(endpoint, env=env)
    model = catalog().get("openai/o-mini")
    return HTTPChatModel(
        model,
        resolved,
        client=client,
        timeout_s=timeout_s,
        connect_timeout_s=connect_timeout_s,
        direct=h1 if direct else None,
    )


async def _call(provider: HTTPChatModel, request: ChatRequest, *, stream: bool) -> None:
    if stream:
        async for _ in provider.stream(request):
            pass
    else:
        await provider.complete(request)


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("stream", [False, True])
async def test_the_call_timeout_bounds_the_whole_call_on_every_path(
    direct: bool, stream: bool
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        # A server that keeps every single wait short but never finishes in time: the body
        # (or, for a stream, the response head) trickles in a few bytes at a time.
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        if not stream:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 300\r\n\r\n")
        for i in range(30):
            if stream and i == 0:
                writer.write(head)
            writer.write(b"x-pad-%d: 1\r\n" % i if stream else b"{" * 10)
            await writer.drain()
            await asyncio.sleep(0.1)

    async with raw_server(handler) as server:
        h1 = H1Transport()
        async with httpx.AsyncClient(transport=h1) as client:
            provider = _provider(server.port, h1, client, direct=direct)
            request = ChatRequest.from_prompt("hi", max_tokens=5)
            started = asyncio.get_running_loop().time()
            with pytest.raises(ProviderTimeoutError):
                await _call(provider, request, stream=stream)
            assert asyncio.get_running_loop().time() - started < 1.5


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("stream", [False, True])
async def test_a_request_lost_after_sending_is_flagged_as_sent(direct: bool, stream: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)  # read, then the connection dies without an answer

    async with raw_server(handler) as server:
        h1 = H1Transport()
        async with httpx.AsyncClient(transport=h1) as client:
            provider = _provider(server.port, h1, client, direct=direct)
            request = ChatRequest.from_prompt("hi", max_tokens=5)
            with pytest.raises(ProviderConnectionError) as info:
                await _call(provider, request, stream=stream)
        assert info.value.sent is True
        assert info.value.retryable
        assert server.connections == 1

    # Nothing listens there any more: refused before anything was sent.
    async with httpx.AsyncClient(transport=h1) as client:
        provider = _provider(server.port, h1, client, direct=direct)
        with pytest.raises(ProviderConnectionError) as refused:
            await provider.complete(ChatRequest.from_prompt("hi", max_tokens=5))
    assert refused.value.sent is False


async def test_aclose_with_a_busy_connection_keeps_the_pool_limit() -> None:
    gate = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            _, body = await read_request(reader)
            if body == b"wait":
                await gate.wait()
            writer.write(ok(b"0123456789"))
            await writer.drain()

    async with raw_server(handler) as server:
        transport = H1Transport(limit=1)
        origin = Origin("http", "127.0.0.1", server.port)
        busy = await transport.stream(origin, post(origin, b"busy"), timeout_s=5)
        await transport.aclose()  # the busy connection is not the pool's to close yet
        await busy.aclose()  # released: back to the pool, its slot still counted once
        waiting = [
            asyncio.ensure_future(transport.request(origin, post(origin, b"wait"), timeout_s=5))
            for _ in range(2)
        ]
        await asyncio.sleep(0.3)
        assert server.open_now <= 1  # still one connection at a time
        gate.set()
        answers = await asyncio.gather(*waiting)
        assert [a.content for a in answers] == [b"0123456789"] * 2
        await transport.aclose()


@pytest.mark.parametrize("direct", [True, False])
async def test_a_connect_timeout_is_a_connection_failure_before_sending(direct: bool) -> None:
    # A listener whose accept queue is full: new connections are never completed.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        h1 = H1Transport()
        async with httpx.AsyncClient(transport=h1) as client:
            provider = _provider(
                port, h1, client, direct=direct, timeout_s=5, connect_timeout_s=0.2
            )
            with pytest.raises(ProviderConnectionError) as info:
                await provider.complete(ChatRequest.from_prompt("hi", max_tokens=5))
        assert info.value.sent is False
        assert "timed out" in str(info.value)
    finally:
        for s in (listener, *fillers):
            s.close()


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("stream", [False, True])
async def test_an_error_status_whose_body_comes_later_is_that_error(
    direct: bool, stream: bool
) -> None:
    body = b'{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
            b"retry-after: 7\r\ncontent-length: %d\r\n\r\n" % len(body)
        )
        await writer.drain()
        await asyncio.sleep(0.05)  # the head first, the body a moment later
        writer.write(body)
        await writer.drain()

    async with raw_server(handler) as server:
        h1 = H1Transport()
        async with httpx.AsyncClient(transport=h1) as client:
            provider = _provider(server.port, h1, client, direct=direct, timeout_s=5)
            request = ChatRequest.from_prompt("hi", max_tokens=5)
            with pytest.raises(RateLimitError) as info:
                await _call(provider, request, stream=stream)
    assert info.value.retry_after_s == 7.0
    assert "slow down" in str(info.value)


async def test_a_call_that_never_got_a_pool_slot_was_not_sent() -> None:
    # The direct path (the default). On the httpx path the call's own deadline and httpx's
    # pool timeout end together, and a plain deadline cannot tell what was sent.
    direct = True

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        await asyncio.sleep(2)  # holds the only connection

    async with raw_server(handler) as server:
        h1 = H1Transport(limit=1)
        async with httpx.AsyncClient(transport=h1) as client:
            slow = _provider(server.port, h1, client, direct=direct, timeout_s=5)
            first = asyncio.ensure_future(slow.complete(ChatRequest.from_prompt("hi")))
            await asyncio.sleep(0.2)
            provider = _provider(server.port, h1, client, direct=direct, timeout_s=0.3)
            with pytest.raises(ProviderTimeoutError) as info:
                await provider.complete(ChatRequest.from_prompt("hi", max_tokens=5))
            first.cancel()
            with contextlib.suppress(BaseException):
                await first
    assert info.value.sent is False
    assert server.connections == 1
