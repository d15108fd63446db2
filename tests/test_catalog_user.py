"""The user models file: local models, overrides of bundled ones, strict one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tokenplan.catalog import load_catalog
from tokenplan.errors import ConfigError
from tokenplan.settings import Settings

GOOD = """
[[model]]
id = "ollama/llama3.2"
base_url = "http://127.0.0.1:11434/v1"
context_window = 131072
max_output_tokens = 8192
capabilities = { general = 0.55, code = 0.45 }
aliases = ["llama-local"]

[[model]]
id = "vllm/qwen3-32b"
tier = "budget"
input_per_mtok = 0.05
output_per_mtok = 0.1
context_window = 32768
max_output_tokens = 4096
quality = { reasoning = 0.7 }
tools = true

[[model]]
id = "openai/gpt-5-mini"
input_per_mtok = 0.2
capabilities = { code = 0.9 }
"""


def _settings(home: Path) -> Settings:
    return Settings.load(env={"TOKENPLAN_HOME": str(home)})


def _write(home: Path, text: str) -> Path:
    path = home / "models.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_adds_local_models_and_overrides_bundled(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    cat = load_catalog(_settings(tmp_path))
    local = cat.get("ollama/llama3.2")
    assert (local.provider, local.api_name, local.tier) == ("ollama", "llama3.2", "local")
    assert (local.input_per_mtok, local.output_per_mtok) == (0.0, 0.0)
    assert dict(local.quality) == {"general": 0.55, "code": 0.45}
    assert local.extra["base_url"] == "http://127.0.0.1:11434/v1"
    assert local.source == "user"
    assert cat.get("llama-local") is local
    vllm = cat.get("vllm/qwen3-32b")
    assert (vllm.tier, vllm.input_per_mtok, vllm.tools) == ("budget", 0.05, True)
    mini = cat.get("openai/gpt-5-mini")
    bundled = load_catalog(_settings(tmp_path / "empty")).get("openai/gpt-5-mini")
    assert mini.input_per_mtok == 0.2
    assert mini.output_per_mtok == bundled.output_per_mtok  # untouched fields stay
    assert mini.quality["code"] == 0.9
    assert mini.quality["math"] == bundled.quality["math"]
    assert mini.source == "user"
    assert cat.filter(tier="local") == [local]


def test_paid_user_model_without_tier_is_classified_by_price(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[[model]]\nid = "together/some-70b"\ninput_per_mtok = 0.9\noutput_per_mtok = 0.9\n'
        "context_window = 131072\nmax_output_tokens = 8192\ncapabilities = { general = 0.7 }\n",
    )
    assert load_catalog(_settings(tmp_path)).get("together/some-70b").tier == "mid"


def test_no_file_means_the_bundled_catalog(tmp_path: Path) -> None:
    from tokenplan.catalog import Catalog

    assert load_catalog(_settings(tmp_path)) is Catalog.bundled()


def test_edits_to_the_file_are_picked_up(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    first = load_catalog(_settings(tmp_path))
    assert load_catalog(_settings(tmp_path)) is first  # cached while unchanged
    path.write_text(GOOD.replace("0.55", "0.65"), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert load_catalog(_settings(tmp_path)).get("ollama/llama3.2").quality["general"] == 0.65


NEW = (
    'id = "ollama/x"\ncontext_window = 4096\nmax_output_tokens = 1024\n'
    "capabilities = { general = 0.5 }\n"
)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('id = "no-slash"', "id"),
        ('id = "Ollama/x"', "id"),
        (NEW + "context_window = -5\n", None),  # duplicate key: TOML itself rejects it
        (NEW.replace("4096", "-5"), "context_window"),
        (NEW.replace("4096", "4096.5"), "context_window"),
        (NEW.replace("1024", '"lots"'), "max_output_tokens"),
        (NEW.replace("0.5 }", "1.5 }"), "capabilities"),
        (NEW.replace("general", "poetry"), "capabilities"),
        (NEW.replace("capabilities = { general = 0.5 }", "capabilities = {}"), "capabilities"),
        (NEW + 'tier = "premium"\n', "tier"),
        (NEW + "input_per_mtok = -1\n", "input_per_mtok"),
        (NEW + 'output_per_mtok = "free"\n', "output_per_mtok"),
        (NEW + 'tools = "yes"\n', "tools"),
        (NEW + 'base_url = "localhost:11434"\n', "base_url"),
        (NEW + 'aliases = "x"\n', "aliases"),
        (NEW + 'colour = "red"\n', "colour"),
        (NEW + "quality = { code = 0.5 }\n", "capabilities"),
        (
            'id = "ollama/x"\nmax_output_tokens = 1024\ncapabilities = { general = 0.5 }',
            "context_window",
        ),
        (
            'id = "ollama/x"\ncontext_window = 4096\ncapabilities = { general = 0.5 }',
            "max_output_tokens",
        ),
        ('id = "ollama/x"\ncontext_window = 4096\nmax_output_tokens = 1024', "capabilities"),
        (NEW + 'aliases = ["openai/gpt-5"]\n', "aliases"),
        (NEW + 'aliases = ["gpt-5"]\n', "aliases"),
    ],
)
def test_each_bad_entry_is_a_one_line_config_error_naming_the_field(
    tmp_path: Path, entry: str, field: str | None
) -> None:
    path = _write(tmp_path, GOOD + "\n[[model]]\n" + entry + "\n")
    with pytest.raises(ConfigError) as info:
        load_catalog(_settings(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    if field is not None:
        assert "[[model]] #4" in message
        assert f": {field}:" in message


def test_duplicate_ids_and_stray_tables_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, GOOD + '\n[[model]]\nid = "ollama/llama3.2"\n')
    with pytest.raises(ConfigError, match=r"#4 \(ollama/llama3.2\): id: listed twice"):
        load_catalog(_settings(tmp_path))
    _write(tmp_path, '[models]\nid = "x/y"\n')
    with pytest.raises(ConfigError, match="unknown top-level key 'models'"):
        load_catalog(_settings(tmp_path))
    _write(tmp_path, "[[model]\nid=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_catalog(_settings(tmp_path))


def test_user_file_wins_over_the_refresh_cache(tmp_path: Path) -> None:
    cache = tmp_path / "openrouter-models.json"
    row = load_catalog(_settings(tmp_path / "e")).get("openrouter/openai/gpt-oss-20b").to_dict()
    row["input_per_mtok"] = 0.5
    cache.write_text(json.dumps({"version": 1, "models": [row]}), encoding="utf-8")
    assert (
        load_catalog(_settings(tmp_path)).get("openrouter/openai/gpt-oss-20b").input_per_mtok == 0.5
    )
    _write(tmp_path, '[[model]]\nid = "openrouter/openai/gpt-oss-20b"\ninput_per_mtok = 0.01\n')
    final = load_catalog(_settings(tmp_path)).get("openrouter/openai/gpt-oss-20b")
    assert (final.input_per_mtok, final.source) == (0.01, "user")


def test_corrupt_refresh_cache_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "openrouter-models.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"refresh cache .* is not valid JSON"):
        load_catalog(_settings(tmp_path))
