"""Shared helpers for the provider-layer tests (plain functions, no fixtures)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import httpx

from tokenplan.catalog.catalog import Catalog
from tokenplan.providers.endpoints import find_endpoint, resolve_endpoint
from tokenplan.providers.http import HTTPChatModel
from tokenplan.testing.fakes import FakeProviders

KEY = "sk-test-abcdefghijklmnop0123"

ROOT = "http://fake.test"
BASE = {"openai": ROOT + "/v1", "anthropic": ROOT, "gemini": ROOT + "/v1beta"}


def _row(mid: str, tier: str, inp: float, out: float, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": mid,
        "provider": mid.split("/")[0],
        "api_name": mid.split("/")[1],
        "tier": tier,
        "input_per_mtok": inp,
        "output_per_mtok": out,
        "context_window": 128000,
        "max_output_tokens": 16000,
        "quality": {"general": 0.7, "code": 0.7},
        "json_schema": True,
    }
    row.update(kw)
    return row


ROWS = [
    _row("openai/o-mini", "budget", 1.0, 4.0, cached_input_per_mtok=0.1, reasoning=True),
    _row("openai/chat-big", "flagship", 5.0, 20.0),
    _row(
        "anthropic/claude-t", "mid", 3.0, 15.0, cached_input_per_mtok=0.3, cache_write_per_mtok=3.75
    ),
    _row("gemini/gemini-t", "budget", 0.3, 2.5, cached_input_per_mtok=0.03, reasoning=True),
    _row("deepseek/ds-chat", "budget", 0.28, 0.42, cached_input_per_mtok=0.028),
    _row("mistral/mis-small", "budget", 0.1, 0.3),
]

MODEL_FOR = {
    "openai": "openai/o-mini",
    "anthropic": "anthropic/claude-t",
    "gemini": "gemini/gemini-t",
}


def catalog() -> Catalog:
    return Catalog.from_rows(ROWS, source="tests")


def fake_env(root: str = ROOT, *, key: str | None = KEY) -> dict[str, str]:
    """Env pointing every endpoint of the test catalog at a fake rooted at ``root``."""
    env = {
        "TOKENPLAN_OPENAI_BASE_URL": root + "/v1",
        "TOKENPLAN_ANTHROPIC_BASE_URL": root,
        "TOKENPLAN_GEMINI_BASE_URL": root + "/v1beta",
        "TOKENPLAN_DEEPSEEK_BASE_URL": root + "/v1",
        "TOKENPLAN_MISTRAL_BASE_URL": root + "/v1",
    }
    if key:
        env.update(
            OPENAI_API_KEY=key,
            ANTHROPIC_API_KEY=key,
            GEMINI_API_KEY=key,
            DEEPSEEK_API_KEY=key,
            MISTRAL_API_KEY=key,
        )
    return env


def asgi_client(fake: FakeProviders) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))


def http_model(
    model_id: str,
    client: httpx.AsyncClient,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> HTTPChatModel:
    model = catalog().get(model_id)
    endpoint = find_endpoint(model.provider)
    assert endpoint is not None
    resolved = resolve_endpoint(endpoint, env=env if env is not None else fake_env())
    return HTTPChatModel(model, resolved, client=client, timeout_s=timeout_s)


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
