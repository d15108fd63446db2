"""Run :class:`~tokenplan.testing.fakes.FakeProviders` on 127.0.0.1 under uvicorn.

In a test, a thread of this process::

    with serve_fake(FakeProviders()) as server:
        env = server.env()      # TOKENPLAN_OPENAI_BASE_URL=..., OPENAI_API_KEY=..., ...
        ...

For benchmarks and subprocess tests, a process of its own::

    python -m tokenplan.testing.fakes --port 0     # prints "listening on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenplan.testing.fakes import FakeProviders

if TYPE_CHECKING:
    import uvicorn

__all__ = ["FakeServer", "main", "serve_app", "serve_fake"]

#: Dialect of each built-in endpoint, and the path under the fake's root where it is served.
_DIALECT_PATHS = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}


@dataclass(frozen=True, slots=True)
class FakeServer:
    """A running fake: ``url`` is its root (``http://127.0.0.1:PORT``)."""

    url: str
    fake: FakeProviders

    def base_url(self, dialect: str) -> str:
        """The base URL a client of ``dialect`` (``openai``, ``anthropic``, ``gemini``) uses."""
        return self.url + _DIALECT_PATHS[dialect]

    def env(self, *, keys: bool = True, key: str = "sk-fake-key-0000000000") -> dict[str, str]:
        """Environment pointing every built-in endpoint at this fake.

        With ``keys``, each endpoint also gets ``key`` in its key variable (a fake with
        ``api_keys`` set checks it).
        """
        from tokenplan.providers.endpoints import ENDPOINTS, base_url_env_var

        env: dict[str, str] = {}
        for endpoint in ENDPOINTS:
            env[base_url_env_var(endpoint.name)] = self.base_url(endpoint.dialect)
            if keys and endpoint.key_env:
                env[endpoint.key_env[0]] = key
        return env


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _server(app: Any, *, log_level: str) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        http="httptools",
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


@contextmanager
def serve_fake(
    fake: FakeProviders | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout_s: float = 10.0,
) -> Iterator[FakeServer]:
    """Serve ``fake`` (a new one if ``None``) on ``host:port`` (0 = a free port) in a thread."""
    fake = fake or FakeProviders()
    with serve_app(fake.app, host=host, port=port, startup_timeout_s=startup_timeout_s) as url:
        yield FakeServer(url, fake)


@contextmanager
def serve_app(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 10.0
) -> Iterator[str]:
    """Serve any ASGI ``app`` on ``host:port`` under uvicorn in a thread; yields its root URL."""
    sock = _bind(host, port)
    server = _server(app, log_level="critical")
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tokenplan-fake", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("fake server did not start")
        time.sleep(0.005)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    try:
        yield f"http://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tokenplan.testing.fakes``: serve a fake until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m tokenplan.testing.fakes",
        description="Serve fake OpenAI / Anthropic / Gemini endpoints on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--cached-tokens", type=int, default=0)
    parser.add_argument("--reasoning-tokens", type=int, default=0)
    parser.add_argument("--api-key", action="append", help="require this key (repeatable)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    fake = FakeProviders(
        latency_s=args.latency_ms / 1000.0,
        cached_tokens=args.cached_tokens,
        reasoning_tokens=args.reasoning_tokens,
        api_keys=args.api_key,
    )
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    server = _server(fake.app, log_level=args.log_level)
    logging.getLogger("uvicorn.error").setLevel(args.log_level.upper())
    sys.stdout.write(f"listening on http://{host}:{port}\n")
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0
