"""Running the proxy: bind, check that the address is safe to expose, serve with uvicorn.

:func:`serve` is what ``tokenplan serve`` calls. It binds the sockets itself (so ``port=0``
works and the real port can be printed; ``localhost`` on both IPv4 and IPv6), refuses a
non-loopback address when no bearer keys are configured unless ``insecure`` is set, opens the
runtime (one shared HTTP client, the ledger, cooldowns that expire after ``[proxy]
cooldown_s``), and runs uvicorn with uvloop and httptools when they are installed, access log
off by default.
"""

from __future__ import annotations

import errno
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


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on ``host:port`` (``0``: a free port, the same on every socket).

    An IP address gets one socket; ``localhost`` gets ``127.0.0.1`` and ``::1`` (clients differ
    in which one they try first), another name every address it resolves to. An address this
    machine lacks (no IPv6) is skipped as long as one other is bound.
    """
    addresses = _addresses(host, port)
    for tries_left in range(2, -1, -1):
        try:
            return _bind_all(addresses, port)
        except _PortTaken:  # port 0: the free port of the first address was taken on another
            if tries_left == 0:
                break
    raise ConfigError(f"cannot listen on {host}:{port}: no port free on every address")


class _PortTaken(Exception):
    pass


def _addresses(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    name = host.strip("[]")
    if name == "localhost":
        return [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, name)]
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    found = [(socket.AddressFamily(f), str(addr[0])) for f, _, _, _, addr in infos]
    return list(dict.fromkeys(found))


def _bind_all(addresses: list[tuple[socket.AddressFamily, str]], port: int) -> list[socket.socket]:
    socks: list[socket.socket] = []
    try:
        for family, address in addresses:
            try:
                sock = _listen(family, address, port)
            except OSError as exc:
                if socks and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue  # e.g. no IPv6 on this machine: the other address serves
                if socks and port == 0 and exc.errno == errno.EADDRINUSE:
                    raise _PortTaken from None
                shown = f"[{address}]" if ":" in address else address
                raise ConfigError(
                    f"cannot listen on {shown}:{port}: {exc.strerror or exc}"
                ) from None
            socks.append(sock)
            port = port or sock.getsockname()[1]
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def _listen(family: socket.AddressFamily, address: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def open_runtime(settings: Settings, config: ProxyConfig) -> Runtime:
    """The proxy's runtime: the settings' ledger, cooldowns that expire (a long-running
    server must try a model again some time after it answered 404 or 401; 0: no cooldown)."""
    from tokenplan.providers.cooldown import Cooldowns
    from tokenplan.runtime import Runtime

    runtime = Runtime.open(settings, cooldowns=Cooldowns(ttl_s=config.cooldown_s))
    if runtime.simulated:
        _ = runtime.simulator  # a bad [sim] value stops the start, not every request later
    return runtime


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
    socks = bind(host, port)
    runtime = open_runtime(settings, config)
    app = ProxyApp(runtime, config)
    bound_host, bound_port = socks[0].getsockname()[:2]
    if not _is_ip(host):  # a name (localhost): say it, it is what clients use
        bound_host = host
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if announce is not None:
        announce(f"http://{shown}:{bound_port}", app)
    _run(app, runtime, socks, log_level=log_level, access_log=access_log)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _run(
    app: ProxyApp,
    runtime: Runtime,
    socks: list[socket.socket],
    *,
    log_level: str,
    access_log: bool,
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
            await server.serve(sockets=socks)

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
        for sock in socks:
            sock.close()
        sys.stderr.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
