"""Test isolation: every test gets its own TOKENPLAN_HOME, no provider keys and no real network.

Loopback (127.0.0.1 / ::1 / unix sockets) stays allowed, for the fake servers.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

PROVIDER_ENV_PREFIXES = ("TOKENPLAN_",)
PROVIDER_KEYS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
    "MISTRAL_API_KEY",
    "XAI_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TOKENPLAN_HOME and an environment without keys or tokenplan settings."""
    import os

    for name in list(os.environ):
        if name.startswith(PROVIDER_ENV_PREFIXES) or name in PROVIDER_KEYS:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "tokenplan-home"
    home.mkdir()
    monkeypatch.setenv("TOKENPLAN_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    return home


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests must not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: any connection to a non-loopback address raises."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
