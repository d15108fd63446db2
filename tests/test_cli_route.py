"""``tokenplan route`` as a subprocess: exit codes, JSON shape, stdin, config precedence."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROMPT = "Write a Python function that returns the n-th Fibonacci number using memoization."
TOP_KEYS = {
    "model", "provider", "tier", "strategy", "requested_strategy", "capability",
    "capability_forced", "complexity", "quality", "quality_floor", "estimated_input_tokens",
    "token_estimator", "max_tokens", "estimated_cost_usd", "budget_usd", "within_budget",
    "reason", "notes", "ladder",
}  # fmt: skip


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", "route", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def ok_json(*args: str, **kw: Any) -> dict[str, Any]:
    res = run(*args, "--json", **kw)
    assert res.returncode == 0, res.stderr
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def assert_usage_error(res: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: "), res.stderr
    assert fragment in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""


def test_json_shape() -> None:
    data = ok_json(PROMPT)
    assert set(data) == TOP_KEYS
    assert data["capability"] == "code"
    assert data["strategy"] == "balanced"
    assert data["max_tokens"] == 1024
    assert data["estimated_input_tokens"] > 0
    assert data["ladder"][0]["model"] == data["model"]
    assert set(data["ladder"][0]) == {
        "model", "provider", "tier", "quality", "estimated_cost_usd", "score"
    }  # fmt: skip


def test_explain_json_lists_dropped_models_and_signals() -> None:
    data = ok_json(PROMPT, "--explain", "--budget", "0.001")
    assert {"dropped", "classification"} <= set(data)
    assert all(set(d) == {"model", "reason"} for d in data["dropped"])
    assert any(d["reason"].startswith("over budget") for d in data["dropped"])
    assert data["classification"]["signals"]


def test_human_output_goes_to_stderr() -> None:
    res = run(PROMPT, "--explain")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert "→ " in res.stderr
    assert "why:" in res.stderr
    assert "candidates" in res.stderr


def test_prompt_from_stdin() -> None:
    data = ok_json("-", stdin=PROMPT)
    assert data["capability"] == "code"


@pytest.mark.parametrize(("args", "stdin"), [(("",), None), (("   ",), None), (("-",), "  \n")])
def test_empty_prompt_is_exit_2(args: tuple[str, ...], stdin: str | None) -> None:
    assert_usage_error(run(*args, stdin=stdin), "empty: pass the prompt as an argument")


def test_unknown_strategy_is_exit_2() -> None:
    assert_usage_error(run(PROMPT, "--strategy", "fastest"), "unknown strategy")


@pytest.mark.parametrize("budget", ["abc", "-1", "0", "nan", "inf", "-0.5"])
def test_bad_budget_is_exit_2(budget: str) -> None:
    assert_usage_error(run(PROMPT, f"--budget={budget}"), "--budget")


def test_budget_too_small_names_the_cheapest_option() -> None:
    res = run(PROMPT, "--budget", "0.00001")
    assert_usage_error(res, "no model fits $0.00001: cheapest is ")
    assert re.search(r"cheapest is \S+ at \$0\.0[0-9]+ for this prompt", res.stderr), res.stderr
    assert "for this prompt" in res.stderr


def test_non_strict_budget_uses_the_cheapest_option() -> None:
    data = ok_json(PROMPT, "--budget", "0.00001", "--no-strict")
    assert data["within_budget"] is False
    assert "budget not strict" in data["reason"]


def test_aliases_and_flags() -> None:
    data = ok_json(PROMPT, "--strategy", "auto:quality", "--max-tokens", "200", "-c", "math")
    assert data["strategy"] == "best_quality"
    assert data["requested_strategy"] == "auto:quality"
    assert data["max_tokens"] == 200
    assert data["capability"] == "math"
    assert data["capability_forced"] is True


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--capability", "poetry"), "unknown capability"),
        (("--require", "telepathy"), "unknown feature"),
        (("--max-tokens", "0"), "--max-tokens"),
        (("--max-tokens", "many"), "--max-tokens"),
    ],
)
def test_other_bad_input_is_exit_2(args: tuple[str, ...], fragment: str) -> None:
    assert_usage_error(run(PROMPT, *args), fragment)


def test_broken_config_file_is_exit_2(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text("[routing\nstrategy = ", encoding="utf-8")
    assert_usage_error(run(PROMPT), "not valid TOML")


def test_rule_naming_an_unknown_model_is_exit_2(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text(
        '[routing.rules]\ncode = "deepseek/deepseek-chatt"\n', encoding="utf-8"
    )
    assert_usage_error(run(PROMPT), "unknown model 'deepseek/deepseek-chatt'")


def test_rule_from_config_routes_code(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text(
        '[routing.rules]\ncode = "anthropic/claude-haiku-4-5"\n', encoding="utf-8"
    )
    data = ok_json(PROMPT)
    assert data["model"] == "anthropic/claude-haiku-4-5"
    assert data["reason"].startswith("rule code -> anthropic/claude-haiku-4-5")


def test_precedence_flag_over_env_over_config(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text(
        '[routing]\nstrategy = "best_quality"\nbudget_usd = 0.5\n', encoding="utf-8"
    )
    assert ok_json(PROMPT)["strategy"] == "best_quality"
    env = {"TOKENPLAN_STRATEGY": "cheapest"}
    data = ok_json(PROMPT, env=env)
    assert data["strategy"] == "cheapest"
    assert data["budget_usd"] == 0.5
    assert ok_json(PROMPT, "--strategy", "balanced", env=env)["strategy"] == "balanced"
    assert ok_json(PROMPT, "--budget", "0.25", env=env)["budget_usd"] == 0.25


def test_bad_env_value_is_exit_2() -> None:
    assert_usage_error(run(PROMPT, env={"TOKENPLAN_STRATEGY": "fastest"}), "TOKENPLAN_STRATEGY")
