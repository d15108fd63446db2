"""End to end over real loopback HTTP: the uvicorn-served fake, the runtime's default client
stack, both transports, configured by environment only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from _providers_support import KEY, catalog
from tokenplan.errors import ConfigError
from tokenplan.ledger.attempt import Attempt
from tokenplan.providers.h1 import H1Transport
from tokenplan.providers.transport import AiohttpTransport, default_transport
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, Fault, fast_retries, serve_fake
from tokenplan.testing.fake_server import serve_app
from tokenplan.types import ChatRequest

REQ = ChatRequest.from_prompt("Name three prime numbers.", system="Be terse.", max_tokens=200)


@pytest.mark.parametrize("transport", ["h1", "aiohttp", "httpx"])
async def test_retries_failover_and_streams_over_loopback(
    transport: str, isolated_env: Path
) -> None:
    fake = FakeProviders(cached_tokens=3, reasoning_tokens=4, api_keys=[KEY])
    fake.add_fault(Fault(status=429, headers={"retry-after": "1"}), model="o-mini")
    fake.add_fault(Fault(truncate_after=2), model="claude-t")  # cut before any text: retried
    fake.add_fault(Fault(status=404), model="chat-big")
    sink: list[Attempt] = []
    with serve_fake(fake) as server:
        env = {
            **server.env(key=KEY),
            "TOKENPLAN_HOME": str(isolated_env),
            "TOKENPLAN_HTTP_TRANSPORT": transport,
        }
        async with Runtime(
            Settings.load(env=env), catalog=catalog(), attempt_sink=sink.append
        ) as rt:
            assert not rt.simulated
            with fast_retries() as sleeps:
                first = await rt.fallback_model(["openai/o-mini"]).complete(REQ)
                ladder = rt.fallback_model(
                    ["openai/chat-big", "anthropic/claude-t", "gemini/gemini-t"]
                )
                chunks = [c async for c in ladder.stream(REQ)]
                gemini = await rt.chat_model("gemini/gemini-t").complete(REQ)
    assert first.text == "Echo from o-mini: Name three prime numbers."
    assert first.usage.cached_tokens == 3
    assert first.usage.reasoning_tokens == 4
    streamed = chunks[-1].response
    assert streamed is not None
    assert streamed.model == "anthropic/claude-t"
    assert (
        "".join(c.delta for c in chunks)
        == streamed.text
        == "Echo from claude-t: Name three prime numbers."
    )
    assert gemini.provider == "gemini"
    assert gemini.usage.output_tokens > gemini.usage.reasoning_tokens == 4
    assert sleeps[0] == 1.0
    assert len(sleeps) == 2
    assert [(a.model, a.outcome) for a in sink] == [
        ("openai/o-mini", "error"),
        ("openai/o-mini", "ok"),
        ("openai/chat-big", "error"),
        ("anthropic/claude-t", "error"),
        ("anthropic/claude-t", "ok"),
        ("gemini/gemini-t", "ok"),
    ]
    assert sink[0].error is not None
    assert sink[0].error.startswith("RateLimitError")
    assert sink[3].error is not None
    assert sink[3].error.startswith("ResponseFormatError")
    assert all(KEY not in repr(a) for a in sink)
    assert [r.dialect for r in fake.requests].count("anthropic") == 2


async def test_transport_choice() -> None:
    transport = default_transport("auto")
    assert isinstance(transport, H1Transport)
    await transport.aclose()
    assert isinstance(default_transport("h1"), H1Transport)
    via_aiohttp = default_transport("aiohttp")
    assert isinstance(via_aiohttp, AiohttpTransport)
    await via_aiohttp.aclose()
    plain = default_transport("httpx")
    assert isinstance(plain, httpx.AsyncHTTPTransport)
    await plain.aclose()
    with pytest.raises(ConfigError):
        default_transport("curl")
    with pytest.raises(ConfigError, match="TOKENPLAN_HTTP_TRANSPORT"):
        Settings.load(env={"TOKENPLAN_HTTP_TRANSPORT": "curl"})


async def test_aiohttp_transport_passes_httpx_headers_and_lets_httpx_decode() -> None:
    import gzip

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    seen: dict[str, str] = {}

    async def echo(request: Request) -> Response:
        seen.update({k.lower(): v for k, v in request.headers.items()})
        body = gzip.compress(b'{"ok": true}')
        return Response(
            body, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )

    app = Starlette(routes=[Route("/x", echo, methods=["GET"])])
    with serve_app(app) as root:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            r = await client.get(root + "/x", headers={"x-custom": "1"})
    assert r.json() == {"ok": True}
    assert seen["x-custom"] == "1"
    assert "gzip" in seen["accept-encoding"]
    assert seen["user-agent"].startswith("python-httpx")
