"""Running the proxy: bind, check that the address is safe to expose, serve with uvicorn.

:func:`serve` is what ``tokenplan serve`` calls. It binds the socket itself (so ``port=0``
works and the real port can be printed), refuses a non-loopback address when no bearer keys
are configured unless ``insecure`` is set, opens the runtime (one shared HTTP client, the
ledger, cooldowns that expire after ``[proxy] cooldown_s``), and runs uvicorn with uvloop and
httptools when they are installed, access log off by default.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

from tokenplan.errors import ConfigError

if TYPE_CHECKING:
    from tokenplan.proxy.app import ProxyApp
    from tokenplan.proxy.config import ProxyConfig
    from tokenplan.runtime import Runtime
    from tokenplan.settings import Settings

__all__ = ["bind", "is_loopback", "serve"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, config: ProxyConfig, *, insecure: bool) -> None:
    """:class:`ConfigError` for a non-loopback ``host`` without keys (unless ``insecure``)."""
    if is_loopback(host) or config.keys or insecure:
        return
    raise ConfigError(
        f"refusing to serve on {host} without bearer keys: anyone who can reach it could spend "
        "on your provider keys. Add [[proxy.keys]] to the config file (or set "
        "TOKENPLAN_PROXY_KEY), or pass --insecure if the network is trusted"
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``0``: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def open_runtime(settings: Settings, config: ProxyConfig) -> Runtime:
    """The proxy's runtime: the settings' ledger, cooldowns that expire (a long-running
    server must try a model again some time after it answered 404 or 401; 0: no cooldown)."""
    from tokenplan.providers.cooldown import Cooldowns
    from tokenplan.runtime import Runtime

    return Runtime.open(settings, cooldowns=Cooldowns(ttl_s=config.cooldown_s))


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    insecure: bool = False,
    log_level: str = "warning",
    access_log: bool = False,
    announce: Any = None,
) -> None:
    """Serve the proxy until interrupted. ``announce(url, app)`` is called once listening
    (the CLI prints the banner there)."""
    from tokenplan.proxy.app import ProxyApp
    from tokenplan.proxy.config import ProxyConfig

    config = ProxyConfig.from_settings(settings)
    host = host or config.host
    port = config.port if port is None else port
    check_exposure(host, config, insecure=insecure)
    sock = bind(host, port)
    runtime = open_runtime(settings, config)
    app = ProxyApp(runtime, config)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if announce is not None:
        announce(f"http://{shown}:{bound_port}", app)
    _run(app, runtime, sock, log_level=log_level, access_log=access_log)


def _run(
    app: ProxyApp, runtime: Runtime, sock: socket.socket, *, log_level: str, access_log: bool
) -> None:
    import uvicorn

    options: dict[str, Any] = {"loop": "asyncio", "http": "h11"}
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:  # pragma: no cover - httptools is a dependency
        pass
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        server_header=False,
        timeout_keep_alive=30,
        **options,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        async with runtime:
            await server.serve(sockets=[sock])

    # uvicorn stops gracefully on SIGINT / SIGTERM, then raises the signal again: make SIGTERM
    # an interrupt too (not an abrupt exit), so both end here, after the runtime was closed.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        try:
            import uvloop
        except ImportError:  # pragma: no cover - Windows / PyPy
            import asyncio

            asyncio.run(main())
        else:
            uvloop.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sock.close()
        sys.stderr.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
