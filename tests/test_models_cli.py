"""``tokenplan models`` as users run it: a subprocess, exit codes, JSON out, text on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokenplan.catalog import CAPABILITIES, Catalog

ROW_KEYS = {
    "id",
    "provider",
    "api_name",
    "tier",
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_output_per_mtok",
    "context_window",
    "max_output_tokens",
    "quality",
    "capabilities",
    "json_schema",
    "tools",
    "streaming",
    "reasoning",
    "aliases",
    "display_name",
    "source",
    "notes",
}


def _run(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", "models", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _json(*args: str) -> list[dict[str, Any]]:
    done = _run(*args, "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def test_json_lists_the_whole_catalog_with_the_row_shape() -> None:
    rows = _json()
    assert len(rows) == len(Catalog.bundled())
    for row in rows:
        assert set(row) >= ROW_KEYS, row["id"]
        assert row["capabilities"] == [c for c in CAPABILITIES if c in row["quality"]]


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (("--capability", "code"), lambda r: "code" in r["quality"]),
        (("-c", "MATH"), lambda r: "math" in r["quality"]),
        (("--tier", "budget"), lambda r: r["tier"] == "budget"),
        (("--provider", "anthropic"), lambda r: r["provider"] == "anthropic"),
        (
            ("-p", "openrouter", "-t", "mid", "-c", "general"),
            lambda r: (
                r["provider"] == "openrouter" and r["tier"] == "mid" and "general" in r["quality"]
            ),
        ),
    ],
)
def test_filters(args: tuple[str, ...], check: Any) -> None:
    rows = _json(*args)
    assert rows
    assert all(check(r) for r in rows)
    everything = _json()
    assert len(rows) == sum(1 for r in everything if check(r))


def test_code_only_models_are_left_out_of_other_capabilities() -> None:
    general = {r["id"] for r in _json("--capability", "general")}
    assert "mistral/codestral-latest" not in general
    assert "mistral/codestral-latest" in {r["id"] for r in _json("--capability", "code")}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--capability", "poetry"), "unknown capability 'poetry'; expected one of code, "),
        (("--tier", "platinum"), "unknown tier 'platinum'; expected one of budget, mid, "),
        (("--provider", "acme"), "expected one of anthropic, deepseek, gemini, mistral"),
        (("--bogus",), "No such option"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    done = _run(*args, "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: ")
    assert needle in done.stderr
    assert done.stderr.count("\n") == 1


def test_empty_result_is_not_an_error() -> None:
    done = _run("--tier", "local", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout) == []
    assert "no models match" in done.stderr
    human = _run("--tier", "local")
    assert (human.returncode, human.stdout) == (0, "")
    assert "no models match" in human.stderr


def test_table_goes_to_stderr_and_marks_user_models(isolated_env: Path) -> None:
    (isolated_env / "models.toml").write_text(
        '[[model]]\nid = "ollama/llama3.2"\ncontext_window = 131072\n'
        "max_output_tokens = 8192\ncapabilities = { general = 0.55 }\n",
        encoding="utf-8",
    )
    done = _run("--provider", "ollama")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "ollama/llama3.2" in done.stderr
    assert "local" in done.stderr
    assert "user" in done.stderr
    assert "gen .55" in done.stderr
    assert _json("--tier", "local")[0]["source"] == "user"


def test_bad_user_file_fails_every_listing_with_one_line(isolated_env: Path) -> None:
    (isolated_env / "models.toml").write_text('[[model]]\nid = "ollama/x"\n', encoding="utf-8")
    done = _run("--json")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "models.toml: [[model]] #1 (ollama/x): context_window:" in done.stderr
