"""Behind an HTTP(S)_PROXY the runtime's default client goes through it (httpx's transport)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from _providers_support import KEY, catalog
from tokenplan.providers.transport import proxy_configured
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, serve_fake
from tokenplan.testing.fake_server import serve_app
from tokenplan.types import ChatRequest


def test_proxy_configured_reads_the_usual_variables() -> None:
    assert not proxy_configured({})
    assert not proxy_configured({"HTTPS_PROXY": ""})
    assert proxy_configured({"https_proxy": "http://proxy:3128"})
    assert proxy_configured({"ALL_PROXY": "socks5://proxy:1080"})


def forwarding_proxy(upstream: str, seen: list[str]) -> Any:
    """A minimal HTTP forward proxy (absolute-form requests) as an ASGI app."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(scope["path"])
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        async with httpx.AsyncClient(trust_env=False) as client:
            r = await client.request(
                scope["method"], upstream + scope["path"], content=body, headers=headers
            )
        await send(
            {
                "type": "http.response.start",
                "status": r.status_code,
                "headers": [(b"content-type", r.headers["content-type"].encode())],
            }
        )
        await send({"type": "http.response.body", "body": r.content})

    return app


async def test_calls_go_through_the_proxy_named_in_the_environment(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    with (
        serve_fake(FakeProviders(api_keys=[KEY])) as server,
        serve_app(forwarding_proxy(server.url, seen)) as proxy_url,
    ):
        # httpx reads proxies from the process environment.
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        env = {**server.env(key=KEY), "TOKENPLAN_HOME": str(isolated_env)}
        env["HTTP_PROXY"] = proxy_url
        async with Runtime(Settings.load(env=env), catalog=catalog()) as rt:
            response = await rt.chat_model("openai/o-mini").complete(
                ChatRequest.from_prompt("Hello via the proxy.", max_tokens=50)
            )
    assert response.text == "Echo from o-mini: Hello via the proxy."
    assert len(seen) == 1
    assert seen[0].endswith("/chat/completions")
