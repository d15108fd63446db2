"""``tokenplan models refresh``: conversion, merge, failures - in process and over real HTTP."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_openrouter import FakeOpenRouter, free_port, or_model, sample_payload, serve
from tokenplan.catalog import Model, load_catalog
from tokenplan.catalog.loading import bundled_snapshot
from tokenplan.catalog.openrouter import (
    DEFAULT_PRIORS,
    convert_models,
    openrouter_base_url,
    refresh_catalog,
)
from tokenplan.errors import (
    AuthenticationError,
    ConfigError,
    ProviderConnectionError,
    ResponseFormatError,
    UpstreamServerError,
)
from tokenplan.settings import Settings


def _settings(home: Path, **env: str) -> Settings:
    return Settings.load(env={"TOKENPLAN_HOME": str(home), **env})


def _client(fake: FakeOpenRouter) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()))


def _convert(payload: Any) -> Any:
    snap = bundled_snapshot()
    return convert_models(payload, bundled=snap.models, rule=snap.tier_rule)


# -- conversion ---------------------------------------------------------------------------------


def test_conversion_updates_adds_and_skips_by_reason() -> None:
    result = _convert(sample_payload())
    assert result.updated == ("openrouter/deepseek/deepseek-v3.2",)
    assert set(result.added) == {
        "openrouter/openai/gpt-5",
        "openrouter/acme/widget-70b",
        "openrouter/acme/big-brain",
    }
    assert result.skipped == {
        "variable-price": 1,
        "free": 1,
        "not-text": 1,
        "request-fee": 1,
        "malformed": 1,
    }
    # Bundled OpenRouter models the answer did not list are reported, not dropped.
    assert "openrouter/openai/gpt-oss-120b" in result.missing


def test_prices_are_strings_of_usd_per_token() -> None:
    by_id = {m.id: m for m in _convert(sample_payload()).models}
    widget = by_id["openrouter/acme/widget-70b"]
    assert widget.input_per_mtok == 0.2
    assert widget.output_per_mtok == 0.6
    big = by_id["openrouter/acme/big-brain"]
    assert big.reasoning_output_per_mtok == 50.0  # differs from completion: kept
    assert big.extra["long_context"] == {"above_input_tokens": 200000, "input_per_mtok": 10.0}
    assert big.max_output_tokens == 16384  # max_completion_tokens null: conservative default
    assert big.tier == "flagship"
    assert widget.tier == "budget"


def test_new_models_get_general_only_default_priors_and_twins_copy_curated() -> None:
    by_id = {m.id: m for m in _convert(sample_payload()).models}
    widget = by_id["openrouter/acme/widget-70b"]
    assert dict(widget.quality) == {"general": DEFAULT_PRIORS["budget"]}
    assert widget.source == "openrouter-refresh"
    assert "defaults" in widget.notes
    gpt5 = by_id["openrouter/openai/gpt-5"]
    curated = {m.id: m for m in bundled_snapshot().models}["openai/gpt-5"]
    assert dict(gpt5.quality) == dict(curated.quality)
    assert gpt5.extra["priors_from"] == "openai/gpt-5"


def test_updated_model_keeps_curated_tier_priors_and_aliases() -> None:
    curated = {m.id: m for m in bundled_snapshot().models}["openrouter/deepseek/deepseek-v3.2"]
    fresh = {m.id: m for m in _convert(sample_payload()).models}[curated.id]
    assert fresh.input_per_mtok == 0.25
    assert fresh.output_per_mtok == 0.38
    assert fresh.cached_input_per_mtok == 0.025
    assert fresh.max_output_tokens == 65536
    assert (fresh.tier, dict(fresh.quality), fresh.aliases) == (
        curated.tier,
        dict(curated.quality),
        curated.aliases,
    )
    assert (fresh.json_schema, fresh.tools, fresh.reasoning) == (True, True, True)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"models": []},
        {"data": "nope"},
        {"data": [or_model("openrouter/auto", prompt="-1", completion="-1")]},
    ],
)
def test_answers_without_usable_models_are_format_errors(payload: Any) -> None:
    with pytest.raises(ResponseFormatError):
        _convert(payload)


# -- base URL -----------------------------------------------------------------------------------


def test_base_url_precedence_and_api_suffix(tmp_path: Path) -> None:
    assert openrouter_base_url(_settings(tmp_path)) == "https://openrouter.ai"
    cfg = tmp_path / "config.toml"
    cfg.write_text('[endpoints.openrouter]\nbase_url = "http://cfg.example/api/v1/"\n')
    from_cfg = Settings.load(env={"TOKENPLAN_HOME": str(tmp_path)})
    assert openrouter_base_url(from_cfg) == "http://cfg.example"
    env = Settings.load(
        env={"TOKENPLAN_HOME": str(tmp_path), "TOKENPLAN_OPENROUTER_BASE_URL": "http://env:9"}
    )
    assert openrouter_base_url(env) == "http://env:9"
    with pytest.raises(ConfigError, match="TOKENPLAN_OPENROUTER_BASE_URL"):
        openrouter_base_url(_settings(tmp_path, TOKENPLAN_OPENROUTER_BASE_URL="ftp://nowhere"))


# -- in process, through ASGITransport -----------------------------------------------------------


async def test_refresh_writes_cache_and_load_catalog_merges_it(tmp_path: Path) -> None:
    fake = FakeOpenRouter()
    settings = _settings(tmp_path)
    async with _client(fake) as client:
        result = await refresh_catalog(settings, client=client)
    summary = result.to_dict()
    assert (summary["updated"], summary["added"], summary["skipped"]) == (1, 3, 5)
    assert "authorization" not in fake.requests[0]  # no key set: no header
    cache = json.loads(settings.paths.refreshed_catalog_file.read_text())
    assert len(cache["models"]) == 4
    catalog = load_catalog(settings)
    assert catalog.get("openrouter/deepseek/deepseek-v3.2").input_per_mtok == 0.25
    assert catalog.get("openrouter/acme/widget-70b").source == "openrouter-refresh"
    assert len(catalog) == len(bundled_snapshot().models) + 3


def test_refresh_cache_updates_curated_rows_but_not_their_judgement() -> None:
    from tokenplan.catalog.loading import merge_refreshed

    curated = {m.id: m for m in bundled_snapshot().models}
    payload = {
        "data": [
            or_model(
                "openai/gpt-oss-120b",
                prompt="0.0000001",
                completion="0.0000005",
                overrides=[{"min_prompt_tokens": 100000, "prompt": "0.0000002"}],
            )
        ]
    }
    (row,) = _convert(payload).models
    # A cache written by an older package carries that package's judgement: it must not win.
    stale = dataclasses.replace(row, tier="flagship", quality={"general": 0.1}, notes="old")
    by_id = dict(curated)
    merge_refreshed(by_id, [stale])
    merged = by_id["openrouter/openai/gpt-oss-120b"]
    before = curated["openrouter/openai/gpt-oss-120b"]
    assert (merged.input_per_mtok, merged.output_per_mtok) == (0.1, 0.5)
    assert merged.extra["long_context"]["above_input_tokens"] == 100000
    assert merged.extra["price_key"] == before.extra["price_key"]
    assert (merged.tier, dict(merged.quality), merged.notes) == (
        before.tier,
        dict(before.quality),
        before.notes,
    )


async def test_key_is_sent_when_set_and_never_leaks_into_errors(tmp_path: Path) -> None:
    key = "sk-or-v1-0123456789abcdef0123456789"
    fake = FakeOpenRouter(status=401)
    settings = _settings(tmp_path, OPENROUTER_API_KEY=key)
    async with _client(fake) as client:
        with pytest.raises(AuthenticationError) as info:
            await refresh_catalog(settings, client=client)
    assert fake.requests[0]["authorization"] == f"Bearer {key}"
    assert key not in str(info.value)
    assert info.value.status_code == 401


@pytest.mark.parametrize(
    ("fake", "error"),
    [
        (FakeOpenRouter(status=500), UpstreamServerError),
        (FakeOpenRouter(raw_body=b'{"data": [tru'), ResponseFormatError),
        (FakeOpenRouter(payload={"data": []}), ResponseFormatError),
        (FakeOpenRouter(payload={"oops": 1}), ResponseFormatError),
    ],
)
async def test_failures_leave_the_previous_cache_untouched(
    tmp_path: Path, fake: FakeOpenRouter, error: type[Exception]
) -> None:
    settings = _settings(tmp_path)
    cache = settings.paths.refreshed_catalog_file
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text('{"version": 1, "models": []}\n')
    before = cache.read_bytes()
    async with _client(fake) as client:
        with pytest.raises(error):
            await refresh_catalog(settings, client=client)
    assert cache.read_bytes() == before
    assert [p.name for p in cache.parent.iterdir() if p.name.endswith(".tmp")] == []


async def test_unreachable_endpoint_is_a_connection_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, TOKENPLAN_OPENROUTER_BASE_URL=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderConnectionError):
        await refresh_catalog(settings, timeout_s=5)
    assert not settings.paths.refreshed_catalog_file.exists()


# -- the CLI against a real loopback server ------------------------------------------------------


def _cli(*args: str, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOKENPLAN_OPENROUTER_BASE_URL": base_url}
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", "models", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_refresh_over_http_then_models_lists_merged(isolated_env: Path) -> None:
    fake = FakeOpenRouter()
    with serve(fake) as base_url:
        done = _cli("refresh", "--json", base_url=base_url)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["updated"], summary["added"], summary["skipped"]) == (1, 3, 5)
    assert summary["skipped_by_reason"]["variable-price"] == 1
    assert "updated 1, added 3, skipped 5" in done.stderr
    assert len(fake.requests) == 1
    listed = _cli("--provider", "openrouter", "--json", base_url="http://unused")
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["openrouter/acme/widget-70b"]["source"] == "openrouter-refresh"
    assert rows["openrouter/deepseek/deepseek-v3.2"]["input_per_mtok"] == 0.25


@pytest.mark.parametrize(
    ("fake", "needle"),
    [
        (FakeOpenRouter(status=500), "HTTP 500"),
        (FakeOpenRouter(raw_body=b"<html>not json"), "not valid JSON"),
    ],
)
def test_cli_refresh_failures_exit_1_with_one_line(
    isolated_env: Path, fake: FakeOpenRouter, needle: str
) -> None:
    cache = isolated_env / "openrouter-models.json"
    cache.write_text('{"version": 1, "models": []}\n')
    with serve(fake) as base_url:
        done = _cli("refresh", base_url=base_url)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ")
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert cache.read_text() == '{"version": 1, "models": []}\n'


def test_cli_refresh_connection_refused(isolated_env: Path) -> None:
    done = _cli("refresh", base_url=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach OpenRouter")
    assert done.stderr.count("\n") == 1
    assert not (isolated_env / "openrouter-models.json").exists()


def test_cli_refresh_bad_base_url_is_usage_error(isolated_env: Path) -> None:
    done = _cli("refresh", base_url="not a url")
    assert done.returncode == 2
    assert done.stderr.startswith("error: TOKENPLAN_OPENROUTER_BASE_URL")


# -- robustness: whatever OpenRouter sends, conversion skips it or yields a valid row ------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0", "-1", "abc", "", "text", "image", "inf", "nan"]),
)
_json_value = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# Plausible values, with junk mixed in: most entries are near-valid, so both the conversion and
# the skip paths are exercised.
_good_price = st.floats(1e-9, 1e-3).map(repr) | st.sampled_from(["0.0000001", "0.000003"])
_price = st.one_of(_good_price, _good_price, _good_price, st.sampled_from(["0", "-1"]), _json_leaf)
_good_tokens = st.integers(1, 2_000_000)
_tokens = st.one_of(_good_tokens, _good_tokens, _good_tokens, st.integers(-10, 0), _json_leaf)
_entry = st.fixed_dictionaries(
    {
        "id": st.sampled_from(
            ["a/b", "deepseek/deepseek-v3.2", "openai/gpt-5", "x/y:free", "nope"]
        ),
        "pricing": st.fixed_dictionaries(
            {"prompt": _price, "completion": _price},
            optional={
                "request": _price,
                "input_cache_read": _price,
                "input_cache_write": _price,
                "internal_reasoning": _price,
                "overrides": st.lists(
                    st.fixed_dictionaries(
                        {"min_prompt_tokens": _tokens, "prompt": _price, "completion": _price}
                    ),
                    max_size=2,
                )
                | _json_value,
            },
        ),
        "context_length": _tokens,
    },
    optional={
        "name": _json_value,
        "architecture": st.fixed_dictionaries(
            {
                "input_modalities": st.lists(
                    st.sampled_from(["text", "image", "file"]), max_size=3
                ),
                "output_modalities": st.lists(st.sampled_from(["text", "image"]), max_size=2),
            }
        )
        | _json_value,
        "top_provider": st.fixed_dictionaries({"max_completion_tokens": _tokens}) | _json_value,
        "supported_parameters": st.lists(
            st.sampled_from(["tools", "structured_outputs", "reasoning", "max_tokens"])
        )
        | _json_value,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_entry, _entry, _entry, _json_value), max_size=6))
def test_conversion_never_crashes_and_only_yields_valid_rows(data: list[Any]) -> None:
    try:
        result = _convert({"data": data})
    except ResponseFormatError:
        return
    for m in result.models:
        assert m.id.startswith("openrouter/")
        assert min(m.input_per_mtok, m.output_per_mtok) >= 0
        assert m.input_per_mtok + m.output_per_mtok > 0
        assert min(m.context_window, m.max_output_tokens) > 0
        assert m.quality
        assert all(0 <= p <= 1 for p in m.quality.values())
        Model.from_dict(json.loads(json.dumps(m.to_dict())))  # the cache round-trips


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 429, 503])
async def test_http_errors_map_like_every_other_provider_answer(
    tmp_path: Path, status: int
) -> None:
    from tokenplan.errors import ProviderHTTPError
    from tokenplan.providers.dialects import get_dialect
    from tokenplan.providers.http import error_for_status

    key = "sk-or-v1-0123456789abcdef0123456789"
    body = json.dumps({"error": {"message": "boom", "code": status}}).encode()
    headers = {"retry-after": "7", "x-echo": f"Bearer {key}", "content-type": "application/json"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    settings = _settings(tmp_path, OPENROUTER_API_KEY=key)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderHTTPError) as info:
            await refresh_catalog(settings, client=client)
    expected = error_for_status(
        status, body, headers, dialect=get_dialect("openai"), provider="openrouter", model=""
    )
    err = info.value
    assert type(err) is type(expected)
    assert err.retryable == expected.retryable
    assert err.retry_after_s == 7
    assert key not in repr(err.headers) + str(err) + err.body
    assert f"HTTP {status}" in str(err)
