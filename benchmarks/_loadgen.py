"""Load generator and zero-latency fake upstream for ``bench_proxy.py`` (each in a process of
its own; see that script).

* ``python benchmarks/_loadgen.py fake``: a zero-latency OpenAI chat-completions server on
  asyncio + httptools (uvloop when installed) answering every request with the same prebuilt
  body (the bytes ``tokenplan.testing.fakes`` would send), or an SSE stream when the request
  says ``"stream": true``. Prints ``listening on http://127.0.0.1:PORT``.
* ``python benchmarks/_loadgen.py load URL ...``: ``--concurrency`` keep-alive connections,
  each sending requests back to back; prints one JSON object with per-request latencies (ms)
  to the end of the response and to its first body byte (the time to first token of a stream).

Both are raw-socket programs: a few microseconds of CPU per request, so they disturb what is
measured as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import sys
import time
from typing import Any

import httptools
import orjson

MODEL = "gpt-5-mini"
TEXT = "Echo from gpt-5-mini: Summarize the plot of a short story about a lighthouse keeper."


def _answer_bytes() -> tuple[bytes, bytes]:
    from tokenplan.testing._wire import Answer, render_body, render_stream

    words = TEXT.split(" ")
    answer = Answer(
        id="chatcmpl-bench000001",
        model=MODEL,
        text=TEXT,
        chunks=tuple(w if i == 0 else " " + w for i, w in enumerate(words)),
        finish="stop",
        input_tokens=24,
        output_tokens=len(words),
    )
    body = orjson.dumps(render_body("openai", answer))
    stream = b"".join(render_stream("openai", answer, include_usage=True))
    json_reply = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    sse_reply = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s"
        % (len(stream), stream)
    )
    return json_reply, sse_reply


class _FakeServer(asyncio.Protocol):
    def __init__(self, replies: tuple[bytes, bytes]) -> None:
        self._replies = replies
        self._parser = httptools.HttpRequestParser(self)
        self._body: list[bytes] = []
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            assert self._transport is not None
            self._transport.close()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self._body)
        self._body = []
        stream = b'"stream":true' in body or b'"stream": true' in body
        assert self._transport is not None
        self._transport.write(self._replies[1] if stream else self._replies[0])


async def _serve_fake(host: str, port: int) -> None:
    replies = _answer_bytes()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _FakeServer(replies), host, port, backlog=2048)
    bound = server.sockets[0].getsockname()
    sys.stdout.write(f"listening on http://{bound[0]}:{bound[1]}\n")
    sys.stdout.flush()
    await server.serve_forever()


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, float]] | None = None
        self.first = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        if not self.first:
            self.first = time.perf_counter()

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), self.first))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))


async def _load(
    host: str, port: int, request: bytes, concurrency: int, requests: int, warmup: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    total: list[float] = []
    first: list[float] = []
    statuses: dict[int, int] = {}

    async def worker(count: int, record: bool) -> None:
        _, conn = await loop.create_connection(_Conn, host, port)
        assert conn.transport is not None
        for _ in range(count):
            conn.waiter = loop.create_future()
            conn.first = 0.0
            started = time.perf_counter()
            conn.transport.write(request)
            status, at_first = await conn.waiter
            ended = time.perf_counter()
            if record:
                total.append((ended - started) * 1000.0)
                first.append(((at_first or ended) - started) * 1000.0)
                statuses[status] = statuses.get(status, 0) + 1
        conn.transport.close()

    await asyncio.gather(*(worker(warmup, False) for _ in range(concurrency)))
    per_worker = max(1, requests // concurrency)
    wall0 = time.perf_counter()
    await asyncio.gather(*(worker(per_worker, True) for _ in range(concurrency)))
    wall = time.perf_counter() - wall0
    return {
        "latency_ms": total,
        "first_byte_ms": first,
        "statuses": statuses,
        "wall_s": wall,
        "requests": len(total),
    }


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", "content-type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"content-length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fake = sub.add_parser("fake")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=0)
    load = sub.add_parser("load")
    load.add_argument("url", help="http://HOST:PORT")
    load.add_argument("--path", default="/v1/chat/completions")
    load.add_argument("--body", required=True, help="the JSON body")
    load.add_argument("--header", action="append", default=[], help="NAME:VALUE")
    load.add_argument("--concurrency", type=int, default=1)
    load.add_argument("--requests", type=int, default=1000)
    load.add_argument("--warmup", type=int, default=50, help="requests per connection, unmeasured")
    args = parser.parse_args(argv)
    if args.command == "fake":
        try:
            _run(_serve_fake(args.host, args.port))
        except KeyboardInterrupt:
            pass
        return 0
    host, _, port = args.url.removeprefix("http://").rstrip("/").rpartition(":")
    headers = dict(h.split(":", 1) for h in args.header)
    request = build_request(host, int(port), args.path, args.body.encode(), headers)
    result = _run(_load(host, int(port), request, args.concurrency, args.requests, args.warmup))
    for name in ("latency_ms", "first_byte_ms"):
        result[name] = [round(x, 4) for x in result[name]]
    _write_all(sys.stdout.fileno(), (json.dumps(result) + "\n").encode())
    return 0


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` whole, whether or not the event loop left ``fd`` non-blocking.

    (Clearing O_NONBLOCK first was not enough on a loaded machine: a result of a few hundred
    kB reached the benchmark cut at 128 kB and garbled.)
    """
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])


if __name__ == "__main__":
    raise SystemExit(main())
