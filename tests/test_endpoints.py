from __future__ import annotations

import pytest

from tokenplan.catalog.model import Model
from tokenplan.errors import ConfigError
from tokenplan.providers.endpoints import (
    ENDPOINTS,
    base_url_env_var,
    endpoint_for_model,
    find_endpoint,
    resolve_endpoint,
)


def _model(mid: str, **extra: object) -> Model:
    provider, name = mid.split("/", 1)
    return Model(
        id=mid,
        provider=provider,
        api_name=name,
        tier="local" if extra else "budget",
        input_per_mtok=0.0,
        output_per_mtok=0.0,
        context_window=8000,
        max_output_tokens=2000,
        quality={"general": 0.5},
        extra=dict(extra),
    )


def test_builtin_rows_have_vendor_urls_and_auth_vars() -> None:
    by_name = {e.name: e for e in ENDPOINTS}
    assert by_name["openai"].base_url == "https://api.openai.com/v1"
    assert by_name["anthropic"].base_url == "https://api.anthropic.com"
    assert by_name["gemini"].base_url == "https://generativelanguage.googleapis.com/v1beta"
    assert by_name["gemini"].key_env == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert by_name["openrouter"].base_url == "https://openrouter.ai/api/v1"
    assert by_name["groq"].base_url == "https://api.groq.com/openai/v1"
    assert {e.dialect for e in ENDPOINTS} == {"openai", "anthropic", "gemini"}
    assert all(
        e.local and not e.needs_key for e in ENDPOINTS if e.name in ("ollama", "vllm", "llamacpp")
    )
    assert by_name["openai"].max_tokens_field == "max_completion_tokens"
    assert not by_name["mistral"].stream_usage


def test_base_url_env_var_names() -> None:
    assert base_url_env_var("openai") == "TOKENPLAN_OPENAI_BASE_URL"
    assert base_url_env_var("llama.cpp") == "TOKENPLAN_LLAMA_CPP_BASE_URL"


def test_keyed_endpoint_is_usable_only_with_a_key() -> None:
    openai = find_endpoint("openai")
    assert openai is not None
    assert not resolve_endpoint(openai, env={}).usable
    r = resolve_endpoint(openai, env={"OPENAI_API_KEY": " sk-abc "})
    assert r.usable
    assert r.api_key == "sk-abc"
    assert r.key_source == "OPENAI_API_KEY"
    assert "sk-abc" not in repr(r)


def test_env_key_wins_over_stored_key_and_second_env_var_is_used() -> None:
    gemini = find_endpoint("gemini")
    assert gemini is not None
    r = resolve_endpoint(
        gemini, env={"GOOGLE_API_KEY": "AIza-env"}, stored_keys={"gemini": "AIza-file"}
    )
    assert (r.api_key, r.key_source) == ("AIza-env", "GOOGLE_API_KEY")
    r = resolve_endpoint(gemini, env={}, stored_keys={"gemini": "AIza-file"})
    assert (r.api_key, r.key_source) == ("AIza-file", "keys-file")


def test_overridden_base_url_makes_a_keyless_endpoint_usable() -> None:
    openai = find_endpoint("openai")
    assert openai is not None
    r = resolve_endpoint(openai, env={"TOKENPLAN_OPENAI_BASE_URL": "http://127.0.0.1:11434/v1/"})
    assert r.usable
    assert r.api_key is None
    assert (r.base_url, r.base_url_source) == ("http://127.0.0.1:11434/v1", "env")


def test_local_endpoints_need_configuration() -> None:
    ollama = find_endpoint("ollama")
    assert ollama is not None
    assert not resolve_endpoint(ollama, env={}).usable
    cfg = {"ollama": {"base_url": "http://127.0.0.1:11434/v1"}}
    r = resolve_endpoint(ollama, env={}, config=cfg)
    assert r.usable
    assert r.base_url_source == "config"


def test_precedence_env_then_config_then_model_extra() -> None:
    vllm = find_endpoint("vllm")
    assert vllm is not None
    model = _model("vllm/qwen", base_url="http://model-extra/v1")
    cfg = {"vllm": {"base_url": "http://config/v1"}}
    env = {"TOKENPLAN_VLLM_BASE_URL": "http://env/v1"}
    assert resolve_endpoint(vllm, env=env, config=cfg, model=model).base_url == "http://env/v1"
    assert resolve_endpoint(vllm, env={}, config=cfg, model=model).base_url == "http://config/v1"
    r = resolve_endpoint(vllm, env={}, model=model)
    assert (r.base_url, r.base_url_source, r.usable) == ("http://model-extra/v1", "model", True)


def test_aliases_and_config_defined_endpoints() -> None:
    google = find_endpoint("google")
    assert google is not None
    assert google.name == "gemini"
    cfg = {
        "team": {
            "dialect": "openai",
            "base_url": "http://10.0.0.5:8000/v1",
            "api_key_env": "TEAM_KEY",
        }
    }
    team = find_endpoint("team", cfg)
    assert team is not None
    assert team.key_env == ("TEAM_KEY",)
    assert team.needs_key
    assert resolve_endpoint(team, env={}, config=cfg).usable  # configured base URL
    with pytest.raises(ConfigError, match="dialect"):
        find_endpoint("bad", {"bad": {"dialect": "soap", "base_url": "http://x"}})
    assert find_endpoint("nope") is None


def test_config_can_add_key_var_and_headers_to_a_builtin() -> None:
    cfg = {"openai": {"api_key_env": "MY_OPENAI", "headers": {"OpenAI-Organization": "org-1"}}}
    row = find_endpoint("openai", cfg)
    assert row is not None
    assert row.key_env == ("MY_OPENAI", "OPENAI_API_KEY")
    assert row.headers["openai-organization"] == "org-1"


def test_model_endpoint_selection() -> None:
    assert endpoint_for_model(_model("openai/gpt-x")).name == "openai"
    assert (
        endpoint_for_model(_model("ollama/llama3.2", base_url="http://127.0.0.1:11434/v1")).name
        == "ollama"
    )
    routed = _model("meta/llama-4", endpoint="openrouter")
    assert endpoint_for_model(routed).name == "openrouter"
    adhoc = endpoint_for_model(_model("lab/m1", base_url="http://lab/v1", dialect="anthropic"))
    assert (adhoc.name, adhoc.dialect, adhoc.base_url) == ("lab", "anthropic", "http://lab/v1")
    with pytest.raises(ConfigError, match="no endpoint named 'lab'"):
        endpoint_for_model(_model("lab/m2"))
