"""Credentials configured for an endpoint (a base URL's ``user:password@``, a header holding a
key) never reach an error message, a repr, a log line or the ledger, and URL credentials work
the same on every transport."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest

from _providers_support import KEY, catalog, closed_port
from tokenplan.errors import ConfigError, ProviderConnectionError, redact
from tokenplan.ledger.store import Ledger
from tokenplan.providers.endpoints import find_endpoint, resolve_endpoint
from tokenplan.providers.h1 import H1Transport
from tokenplan.providers.http import HTTPChatModel
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, serve_fake
from tokenplan.types import ChatRequest

PASSWORD = "hunter2-secret-pw"
REQ = ChatRequest.from_prompt("hi", max_tokens=5)


def _provider(
    base_url: str, client: httpx.AsyncClient, h1: H1Transport | None, **env: str
) -> HTTPChatModel:
    endpoint = find_endpoint("openai")
    assert endpoint is not None
    resolved = resolve_endpoint(endpoint, env={"TOKENPLAN_OPENAI_BASE_URL": base_url, **env})
    return HTTPChatModel(catalog().get("openai/o-mini"), resolved, client=client, direct=h1)


@pytest.mark.parametrize("direct", [True, False])
async def test_url_credentials_never_reach_connection_errors(
    direct: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://alice:{PASSWORD}@127.0.0.1:{closed_port()}/v1?token=qsecret-123"
    h1 = H1Transport()
    async with httpx.AsyncClient(transport=h1) as client:
        provider = _provider(url, client, h1 if direct else None)
        with pytest.raises(ProviderConnectionError) as info:
            await provider.complete(REQ)
    text = f"{info.value} {info.value!r} {provider!r} {provider.endpoint!r} {caplog.text}"
    assert "127.0.0.1" in str(info.value)
    assert PASSWORD not in text
    assert "alice:" not in text
    assert info.value.sent is False


@pytest.mark.parametrize("direct", [True, False])
async def test_url_credentials_are_sent_as_basic_auth_on_every_transport(direct: bool) -> None:
    with serve_fake(FakeProviders()) as server:
        base = server.base_url("openai").replace("http://", f"http://alice:{PASSWORD}@")
        h1 = H1Transport()
        async with httpx.AsyncClient(transport=h1) as client:
            answer = await _provider(base, client, h1 if direct else None).complete(REQ)
        sent = server.fake.requests
    assert answer.text
    expected = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert sent[0].headers["authorization"] == f"Basic {expected}"
    assert redact(f"echoed: Basic {expected}") == "echoed: Basic ***"


async def test_url_credentials_and_a_bearer_key_at_once_are_refused() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ConfigError, match="user:password"):
            _provider(f"http://alice:{PASSWORD}@127.0.0.1:9/v1", client, None, OPENAI_API_KEY=KEY)


def test_display_url_drops_userinfo_and_query() -> None:
    from tokenplan.providers.endpoints import display_url

    assert display_url("https://u:p@h.example:8443/v1?key=abc#x") == "https://h.example:8443/v1"
    assert display_url("http://h/v1") == "http://h/v1"


def test_header_values_stay_out_of_reprs_and_messages() -> None:
    config = {"openai": {"headers": {"api-key": "azure-secret-value-1", "x-title": "mine"}}}
    settings = Settings.load({"endpoints": config}, env={})
    endpoint = find_endpoint("openai", settings.endpoints)
    assert endpoint is not None
    resolved = resolve_endpoint(endpoint, env={"OPENAI_API_KEY": KEY}, config=settings.endpoints)
    assert endpoint.headers["api-key"] == "azure-secret-value-1"
    for shown in (repr(endpoint), repr(resolved), repr(settings)):
        assert "azure-secret-value-1" not in shown
        assert KEY not in shown
    assert redact("upstream said: key azure-secret-value-1 is wrong") == (
        "upstream said: key *** is wrong"
    )


async def test_url_credentials_stay_out_of_the_ledger(tmp_path: object) -> None:
    env = {"TOKENPLAN_OPENAI_BASE_URL": f"http://alice:{PASSWORD}@127.0.0.1:{closed_port()}/v1"}
    settings = Settings.load(env={"TOKENPLAN_HOME": str(tmp_path), **env})
    async with Runtime(settings, ledger=Ledger(settings.ledger_file)) as rt:
        with pytest.raises(ProviderConnectionError) as info:
            await rt.chat_model("openai/gpt-5-mini").complete(
                ChatRequest.from_prompt("hi", model="openai/gpt-5-mini")
            )
        rows = rt.endpoint_status()
    ledger = settings.ledger_file.read_text()
    assert json.loads(ledger.splitlines()[-1])["error"]
    assert PASSWORD not in ledger
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(rows)


async def test_url_credentials_and_a_configured_authorization_header_in_any_case_are_refused() -> (
    None
):
    config = {"openai": {"headers": {"Authorization": "Bearer from-config-0000000000"}}}
    settings = Settings.load({"endpoints": config}, env={})
    endpoint = find_endpoint("openai", settings.endpoints)
    assert endpoint is not None
    env = {"TOKENPLAN_OPENAI_BASE_URL": f"http://alice:{PASSWORD}@127.0.0.1:9/v1"}
    resolved = resolve_endpoint(endpoint, env=env, config=settings.endpoints)
    async with httpx.AsyncClient() as client:
        with pytest.raises(ConfigError, match="user:password"):
            HTTPChatModel(catalog().get("openai/o-mini"), resolved, client=client)
