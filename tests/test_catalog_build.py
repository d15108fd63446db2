"""scripts/build_catalog.py: rows from tiny inputs made here, byte-identical rebuilds, --check."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_catalog.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_catalog", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_catalog = _load_script()

PRICES: dict[str, Any] = {
    "sample_spec": {"mode": "one of: chat, embedding, ..."},
    "gpt-x": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1.25e-06,
        "output_cost_per_token": 1e-05,
        "cache_read_input_token_cost": 1.25e-07,
        "input_cost_per_token_above_272k_tokens": 2.5e-06,
        "output_cost_per_token_above_272k_tokens": 1.5e-05,
        "input_cost_per_token_above_272k_tokens_priority": 9e-06,
        "max_input_tokens": 272000,
        "max_output_tokens": 128000,
        "supports_function_calling": True,
        "supports_response_schema": True,
        "supports_reasoning": True,
        "deprecation_date": "2027-01-01",
    },
    "claude-y": {
        "litellm_provider": "anthropic",
        "mode": "chat",
        "input_cost_per_token": 1e-07,
        "output_cost_per_token": 5e-07,
        "cache_read_input_token_cost": 1e-08,
        "cache_creation_input_token_cost": 1.25e-07,
        "max_input_tokens": 200000,
        "max_output_tokens": 64000,
        "supports_function_calling": True,
    },
    "deepseek/ds-z": {
        "litellm_provider": "deepseek",
        "mode": "chat",
        "input_cost_per_token": 3e-07,
        "output_cost_per_token": 1.2e-06,
        "output_cost_per_reasoning_token": 1.2e-06,
        "cache_read_input_token_cost": 0.0,
        "cache_creation_input_token_cost": 0.0,
        "max_input_tokens": 1000000,
        "max_output_tokens": 393216,
        "supports_native_streaming": False,
    },
    "hostA/vendor/open-1": {
        "litellm_provider": "hostA",
        "mode": "chat",
        "input_cost_per_token": 1e-07,
        "output_cost_per_token": 4e-07,
        "max_input_tokens": 131072,
        "max_output_tokens": 8192,
    },
    "hostB/vendor/open-1": {
        "litellm_provider": "hostB",
        "mode": "chat",
        "input_cost_per_token": 2e-07,
        "output_cost_per_token": 6e-07,
        "cache_read_input_token_cost": 2e-08,
        "max_input_tokens": 262144,
        "max_output_tokens": 32768,
        "supports_response_schema": True,
    },
    "hostC/vendor/open-1": {
        "litellm_provider": "hostC",
        "mode": "chat",
        "input_cost_per_token": 9e-07,
        "output_cost_per_token": 9e-07,
        "max_input_tokens": 65536,
        "max_output_tokens": 4096,
    },
    "old-model": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 2e-06,
        "max_input_tokens": 1000,
        "max_output_tokens": 1000,
        "deprecation_date": "2026-01-01",
    },
    "embed-1": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 1e-08},
}

CURATION = """
snapshot_date = "2026-06-01"

[tier_rule]
input_weight = 3.0
output_weight = 1.0
budget_below_usd = 0.60
flagship_from_usd = 3.00

[[model]]
id = "openrouter/vendor/open-1"
price = ["hostC/vendor/open-1", "hostA/vendor/open-1", "hostB/vendor/open-1"]
quality = { general = 0.8 }
source = "test"

[[model]]
id = "openai/gpt-x"
price = "gpt-x"
aliases = ["gpt-x"]
display_name = "GPT X"
quality = { math = 0.9, code = 0.8 }
basis = { code = "recorded" }
source = "code recorded in a test"

[[model]]
id = "anthropic/claude-y"
price = "claude-y"
quality = { code = 0.7 }
source = "test"

[[model]]
id = "deepseek/ds-z"
price = "deepseek/ds-z"
quality = { reasoning = 0.75, general = 0.7 }
source = "test"
"""


def _expected_rows() -> list[dict[str, Any]]:
    common = {
        "cache_write_per_mtok": None,
        "reasoning_output_per_mtok": None,
        "json_schema": False,
        "tools": False,
        "streaming": True,
        "reasoning": False,
        "aliases": [],
        "source": "bundled",
        "notes": "test",
    }
    return [
        {
            **common,
            "id": "openai/gpt-x",
            "provider": "openai",
            "api_name": "gpt-x",
            "tier": "flagship",  # blended (3 x 1.25 + 10) / 4 = 3.44
            "input_per_mtok": 1.25,
            "output_per_mtok": 10.0,
            "cached_input_per_mtok": 0.125,
            "context_window": 272000,
            "max_output_tokens": 128000,
            "quality": {"code": 0.8, "math": 0.9},
            "capabilities": ["code", "math"],
            "json_schema": True,
            "tools": True,
            "reasoning": True,
            "aliases": ["gpt-x"],
            "display_name": "GPT X",
            "notes": "code recorded in a test",
            "extra": {
                "price_key": "gpt-x",
                "deprecation_date": "2027-01-01",
                "long_context": {
                    "above_input_tokens": 272000,
                    "input_per_mtok": 2.5,
                    "output_per_mtok": 15.0,
                },
                "prior_basis": {"code": "recorded", "math": "extrapolated"},
            },
        },
        {
            **common,
            "id": "anthropic/claude-y",
            "provider": "anthropic",
            "api_name": "claude-y",
            "tier": "budget",
            "input_per_mtok": 0.1,
            "output_per_mtok": 0.5,
            "cached_input_per_mtok": 0.01,
            "cache_write_per_mtok": 0.125,
            "context_window": 200000,
            "max_output_tokens": 64000,
            "quality": {"code": 0.7},
            "capabilities": ["code"],
            "tools": True,
            "display_name": "claude-y",
            "extra": {"price_key": "claude-y", "prior_basis": {"code": "extrapolated"}},
        },
        {
            **common,
            "id": "deepseek/ds-z",
            "provider": "deepseek",
            "api_name": "ds-z",
            "tier": "budget",  # (0.9 + 1.2) / 4 = 0.525
            "input_per_mtok": 0.3,
            "output_per_mtok": 1.2,
            "cached_input_per_mtok": None,  # 0 in the table means "not offered"
            "context_window": 1000000,
            "max_output_tokens": 393216,
            "quality": {"reasoning": 0.75, "general": 0.7},
            "capabilities": ["reasoning", "general"],
            "streaming": False,
            "display_name": "ds-z",
            "extra": {
                "price_key": "deepseek/ds-z",
                "prior_basis": {"reasoning": "extrapolated", "general": "extrapolated"},
            },
        },
        {
            **common,
            "id": "openrouter/vendor/open-1",
            "provider": "openrouter",
            "api_name": "vendor/open-1",
            "tier": "budget",
            # hosts by blended price: A 0.175, B 0.3, C 0.9 -> the median host is B
            "input_per_mtok": 0.2,
            "output_per_mtok": 0.6,
            "cached_input_per_mtok": 0.02,
            "context_window": 262144,
            "max_output_tokens": 32768,
            "quality": {"general": 0.8},
            "capabilities": ["general"],
            "json_schema": True,  # any host
            "display_name": "vendor/open-1",
            "extra": {
                "price_key": "hostB/vendor/open-1",
                "price_hosts": [
                    "hostC/vendor/open-1",
                    "hostA/vendor/open-1",
                    "hostB/vendor/open-1",
                ],
                "prior_basis": {"general": "extrapolated"},
            },
        },
    ]


def _write_inputs(tmp_path: Path, curation: str = CURATION) -> tuple[Path, Path]:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    cur = tmp_path / "curation.toml"
    cur.write_text(curation)
    return prices, cur


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


def test_build_produces_the_expected_rows(tmp_path: Path) -> None:
    prices, cur = _write_inputs(tmp_path)
    out = tmp_path / "models.json"
    done = _run("--prices", str(prices), "--curation", str(cur), "--out", str(out))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["snapshot_date"] == "2026-06-01"
    assert doc["tier_rule"]["flagship_from_usd"] == 3.0
    assert doc["models"] == _expected_rows()


def test_same_inputs_give_byte_identical_output_and_check_passes(tmp_path: Path) -> None:
    prices, cur = _write_inputs(tmp_path)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        assert (
            _run("--prices", str(prices), "--curation", str(cur), "--out", str(out)).returncode == 0
        )
    assert first.read_bytes() == second.read_bytes()
    ok = _run("--prices", str(prices), "--curation", str(cur), "--out", str(first), "--check")
    assert ok.returncode == 0, ok.stderr
    first.write_text(first.read_text().replace('"GPT X"', '"GPT Y"'))
    stale = _run("--prices", str(prices), "--curation", str(cur), "--out", str(first), "--check")
    assert stale.returncode == 1
    assert "out of date" in stale.stderr


def test_row_order_does_not_depend_on_curation_order(tmp_path: Path) -> None:
    blocks = CURATION.split("[[model]]")
    reordered = "[[model]]".join([blocks[0], *reversed(blocks[1:])])
    a = build_catalog.render(build_catalog.build(PRICES, build_catalog.tomllib.loads(CURATION)))
    b = build_catalog.render(build_catalog.build(PRICES, build_catalog.tomllib.loads(reordered)))
    assert a == b


BAD_BASE = {"id": '"openai/gpt-x2"', "price": '"gpt-x"', "quality": "{code = 0.5}", "source": '"x"'}


def _plus_row(**changes: str | None) -> str:
    """The fixture curation plus one row: ``BAD_BASE`` with ``changes`` (None drops a key)."""
    fields = {**BAD_BASE, **changes}
    body = "\n".join(f"{k} = {v}" for k, v in fields.items() if v is not None)
    return f"{CURATION}\n[[model]]\n{body}\n"


@pytest.mark.parametrize(
    ("curation", "needle"),
    [
        (_plus_row(price='"nope"'), "not in the price table"),
        (_plus_row(id='"openai/old"', price='"old-model"'), "retired on 2026-01-01"),
        (_plus_row(price='"embed-1"'), "not a chat model"),
        (_plus_row(id='"anthropic/gpt-x"'), "billed by openai"),
        (_plus_row(quality="{code = 1.5}"), "quality.code"),
        (_plus_row(quality="{poetry = 0.5}"), "unknown capability"),
        (_plus_row(quality="{}"), "at least one"),
        (_plus_row(source=None), "source"),
        (_plus_row(basis='{math = "recorded"}'), "basis.math"),
        (_plus_row(aliases='["openai/gpt-x"]'), "another model's id"),
        (_plus_row(aliases='["gpt-x"]'), "also openai/gpt-x"),
        (_plus_row(id='"openai/gpt-x"'), "listed twice"),
        (_plus_row(id='"acme/thing"'), "provider must be one of"),
        (_plus_row(id='"openrouter/v/o"', price='"hostA/vendor/open-1"'), "list of host entry"),
        (_plus_row(colour='"red"'), "unknown keys: colour"),
    ],
)
def test_curation_mistakes_stop_the_build_with_one_line(
    tmp_path: Path, curation: str, needle: str
) -> None:
    prices, cur = _write_inputs(tmp_path, curation)
    out = tmp_path / "models.json"
    done = _run("--prices", str(prices), "--curation", str(cur), "--out", str(out))
    assert done.returncode == 2
    assert needle in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_missing_input_file_is_one_line(tmp_path: Path) -> None:
    done = _run("--prices", str(tmp_path / "none.json"), "--out", str(tmp_path / "m.json"))
    assert done.returncode == 2
    assert "none.json" in done.stderr
    assert "Traceback" not in done.stderr
