"""Runtime: endpoint usability, simulated mode, model factory, keys, secrets, sync entry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from _providers_support import KEY, asgi_client, catalog, fake_env
from tokenplan._sync import run_sync
from tokenplan.errors import (
    AllCandidatesFailed,
    CooledDownError,
    MissingKeyError,
    ModelUnavailableError,
    UnknownModelError,
    redact,
)
from tokenplan.ledger.attempt import Attempt
from tokenplan.providers.keys import KeyStore
from tokenplan.runtime import Runtime, offline_notice
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, ScriptedModel
from tokenplan.types import ChatRequest

REQ = ChatRequest.from_prompt("hi there", max_tokens=100)


def _settings(env: dict[str, str], home: Path, **overrides: object) -> Settings:
    return Settings.load(overrides, env={"TOKENPLAN_HOME": str(home), **env})


async def test_no_usable_endpoint_means_simulated_and_the_simulator_serves_everything(
    isolated_env: Path,
) -> None:
    sim = ScriptedModel([], default="synthetic answer")
    sink: list[Attempt] = []
    async with Runtime(
        _settings({}, isolated_env), catalog=catalog(), simulator=sim, attempt_sink=sink.append
    ) as rt:
        assert rt.simulated
        assert all(rt.available(m) for m in rt.catalog)
        resp = await rt.chat_model("anthropic/claude-t").complete(REQ)
        fm = rt.fallback_model(["gemini/gemini-t"])
        await fm.complete(REQ)
        notice = offline_notice(rt)
    assert resp.text == "synthetic answer"
    assert resp.model == "anthropic/claude-t"
    assert [r.model for r in sim.requests] == ["anthropic/claude-t", "gemini/gemini-t"]
    assert all(a.simulated for a in sink)
    assert [a.provider for a in sink] == ["anthropic", "gemini"]
    assert notice is not None
    assert "offline simulator" in notice
    assert "OPENAI_API_KEY" in notice


async def test_offline_setting_forces_the_simulator(isolated_env: Path) -> None:
    settings = _settings({**fake_env(), "TOKENPLAN_OFFLINE": "1"}, isolated_env)
    async with Runtime(settings, catalog=catalog(), simulator=ScriptedModel([], default="x")) as rt:
        assert rt.simulated
        assert "offline mode" in (offline_notice(rt) or "")


async def test_usable_endpoints_decide_availability(isolated_env: Path) -> None:
    env = {"OPENAI_API_KEY": KEY}
    async with Runtime(_settings(env, isolated_env), catalog=catalog()) as rt:
        assert not rt.simulated
        assert offline_notice(rt) is None
        assert rt.available("openai/o-mini")
        assert not rt.available("anthropic/claude-t")
        assert [m.id for m in rt.available_models()] == ["openai/o-mini", "openai/chat-big"]
        with pytest.raises(MissingKeyError) as info:
            rt.chat_model("anthropic/claude-t")
        assert info.value.env_var == "ANTHROPIC_API_KEY"
        assert "tokenplan keys set anthropic" in str(info.value)
        with pytest.raises(UnknownModelError):
            rt.chat_model("nope/nothing")
        status = {row["endpoint"]: row for row in rt.endpoint_status()}
        assert status["openai"]["usable"]
        assert status["openai"]["key_source"] == "OPENAI_API_KEY"
        assert not status["anthropic"]["usable"]
        assert KEY not in repr(status)


async def test_a_local_server_base_url_needs_no_key(isolated_env: Path) -> None:
    fake = FakeProviders()
    env = {"TOKENPLAN_OPENAI_BASE_URL": "http://fake.test/v1"}
    async with Runtime(
        _settings(env, isolated_env), catalog=catalog(), transport=httpx.ASGITransport(app=fake.app)
    ) as rt:
        assert not rt.simulated
        assert rt.available("openai/o-mini")
        resp = await rt.chat_model("o-mini").complete(REQ)
    assert resp.provider == "openai"
    assert not resp.simulated
    assert "authorization" not in fake.requests[0].headers


async def test_stored_keys_are_used_and_env_wins(isolated_env: Path) -> None:
    settings = _settings({}, isolated_env)
    KeyStore(settings.paths.keys_file).set("anthropic", "sk-ant-stored-000000000000")
    async with Runtime(settings, catalog=catalog()) as rt:
        r = rt.resolve(catalog().get("anthropic/claude-t"))
        assert (r.api_key, r.key_source) == ("sk-ant-stored-000000000000", "keys-file")
    env_settings = _settings({"ANTHROPIC_API_KEY": "sk-ant-env-1111111111"}, isolated_env)
    async with Runtime(env_settings, catalog=catalog()) as rt:
        assert rt.resolve(catalog().get("anthropic/claude-t")).key_source == "ANTHROPIC_API_KEY"


async def test_resolved_keys_are_registered_as_secrets(isolated_env: Path) -> None:
    odd_key = "team-secret-value-9f8e7d"  # matches no known key shape
    fake = FakeProviders()
    fake.fail(401, body={"error": {"message": f"key {odd_key} rejected", "type": "auth"}})
    env = {**fake_env(key=None), "OPENAI_API_KEY": odd_key}
    sink: list[Attempt] = []
    async with Runtime(
        _settings(env, isolated_env),
        catalog=catalog(),
        transport=httpx.ASGITransport(app=fake.app),
        attempt_sink=sink.append,
    ) as rt:
        with pytest.raises(AllCandidatesFailed) as info:
            await rt.fallback_model(["openai/o-mini"]).complete(REQ)
    assert odd_key not in str(info.value)
    assert odd_key not in repr(sink)
    assert redact(f"x {odd_key} y") == "x *** y"


async def test_runtime_fallback_cools_down_and_availability_follows(isolated_env: Path) -> None:
    fake = FakeProviders()
    fake.fail(404, model="o-mini")
    sink: list[Attempt] = []
    async with Runtime(
        _settings(fake_env(), isolated_env),
        catalog=catalog(),
        transport=httpx.ASGITransport(app=fake.app),
        attempt_sink=sink.append,
    ) as rt:
        resp = await rt.fallback_model(["openai/o-mini", "anthropic/claude-t"]).complete(REQ)
        assert resp.model == "anthropic/claude-t"
        assert resp.provider == "anthropic"
        assert not rt.available("openai/o-mini")
        with pytest.raises(AllCandidatesFailed) as info:
            await rt.fallback_model(["openai/o-mini"]).complete(REQ)
        skipped = info.value.exceptions[0]
        assert isinstance(skipped, CooledDownError)  # skipped, with the stored cause
        assert isinstance(skipped.cause, ModelUnavailableError)
    assert [(a.model, a.outcome) for a in sink] == [
        ("openai/o-mini", "error"),
        ("anthropic/claude-t", "ok"),
    ]


async def test_runtime_owns_and_closes_one_client(isolated_env: Path) -> None:
    rt = Runtime(_settings({}, isolated_env), catalog=catalog())
    client = rt.client
    assert rt.client is client
    await rt.aclose()
    assert client.is_closed
    own = httpx.AsyncClient()
    async with Runtime(_settings({}, isolated_env), catalog=catalog(), client=own) as rt2:
        assert rt2.client is own
    assert not own.is_closed  # an injected client belongs to the caller
    await own.aclose()


def test_run_sync_outside_and_inside_a_running_loop() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert run_sync(add, 1, 2) == 3

    async def inside() -> int:
        return run_sync(add, 3, 4)  # e.g. a notebook cell calling the sync helper

    assert asyncio.run(inside()) == 7

    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(_call_sync(boom))


async def _call_sync(fn: object) -> object:
    return run_sync(fn)  # type: ignore[arg-type]


async def test_asgi_client_helper_is_an_httpx_client() -> None:
    async with asgi_client(FakeProviders()) as client:
        assert isinstance(client, httpx.AsyncClient)


def test_every_builtin_key_variable_ends_in_api_key() -> None:
    """Runtime.simulated's quick check relies on it (no key var -> no endpoint is keyed)."""
    from tokenplan.providers.endpoints import ENDPOINTS, base_url_env_var

    for endpoint in ENDPOINTS:
        assert all(var.endswith("_API_KEY") for var in endpoint.key_env), endpoint.name
        assert base_url_env_var(endpoint.name).startswith("TOKENPLAN_")
        assert base_url_env_var(endpoint.name).endswith("_BASE_URL")


def test_nothing_configured_is_simulated_without_touching_endpoints(isolated_env: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tokenplan.runtime import Runtime\n"
        "from tokenplan.settings import Settings\n"
        "rt = Runtime(Settings.load())\n"
        "assert rt.simulated and rt.available('openai/gpt-5-nano')\n"
        "print('tokenplan.providers.endpoints' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "env",
    [
        {"OPENAI_API_KEY": "sk-test-0123456789abcdef"},
        {"TOKENPLAN_OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"},
    ],
)
def test_a_key_or_base_url_in_the_environment_is_not_simulated(
    isolated_env: Path, env: dict[str, str]
) -> None:
    settings = Settings.load(env={"TOKENPLAN_HOME": str(isolated_env), **env})
    assert not Runtime(settings).simulated
