"""Helpers for the proxy tests: the app in-process over a fake upstream, SSE parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _providers_support import catalog, fake_env
from tokenplan.catalog.catalog import Catalog
from tokenplan.proxy import ProxyApp, ProxyConfig, create_app
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders

KEY_A = "tp-team-a-0123456789abcdef"
KEY_B = "tp-team-b-0123456789abcdef"


@dataclass
class Harness:
    client: httpx.AsyncClient
    app: ProxyApp
    fake: FakeProviders
    runtime: Runtime

    @property
    def ledger_path(self) -> Path:
        return self.runtime.settings.ledger_file

    def ledger(self) -> list[dict[str, Any]]:
        path = self.ledger_path
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]


@asynccontextmanager
async def proxy(
    home: Path,
    *,
    fake: FakeProviders | None = None,
    table: Mapping[str, Any] | None = None,
    cat: Catalog | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Harness]:
    """The proxy app over a runtime whose endpoints all reach ``fake`` (in-process)."""
    fake = fake or FakeProviders()
    full_env = {
        **fake_env(),
        "TOKENPLAN_HOME": str(home),
        "TOKENPLAN_BASELINE_MODEL": "openai/chat-big",
        **(env or {}),
    }
    settings = Settings.load(env=full_env)
    config = ProxyConfig.from_table(table or {}, env=full_env)
    async with Runtime.open(
        settings, catalog=cat or catalog(), transport=httpx.ASGITransport(app=fake.app)
    ) as runtime:
        app = create_app(runtime, config=config)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            yield Harness(client, app, fake, runtime)


def chat(model: str = "openai/o-mini", text: str = "Name three prime numbers.", **kw: Any) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}], **kw}


def sse_events(raw: str) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    return [block[len("data: ") :] for block in raw.split("\n\n") if block.startswith("data: ")]


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}
