from __future__ import annotations

from pathlib import Path

import pytest

from tokenplan.errors import ConfigError
from tokenplan.settings import Settings, normalize_strategy


def write_config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_defaults_without_config(isolated_env: Path) -> None:
    s = Settings.load(env={"TOKENPLAN_HOME": str(isolated_env)})
    assert s.strategy == "balanced"
    assert s.plan_budget_usd == 0.50
    assert s.ledger_file == isolated_env / "ledger.jsonl"


def test_precedence_flags_over_env_over_file(isolated_env: Path) -> None:
    write_config(isolated_env, '[routing]\nstrategy = "cheapest"\n[plan]\nbudget_usd = 0.3\n')
    env = {"TOKENPLAN_HOME": str(isolated_env)}
    assert Settings.load(env=env).strategy == "cheapest"
    env["TOKENPLAN_STRATEGY"] = "best_quality"
    assert Settings.load(env=env).strategy == "best_quality"
    assert Settings.load({"strategy": "auto:cost"}, env=env).strategy == "auto:cost"
    # a None override means "not given on the command line"
    assert Settings.load({"strategy": None}, env=env).strategy == "best_quality"
    assert Settings.load(env=env).plan_budget_usd == 0.3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[routing]\nstrategy = "fastest"\n', "routing.strategy"),
        ("[plan]\nbudget_usd = -1\n", "plan.budget_usd"),
        ('[plan]\nmax_steps = "many"\n', "plan.max_steps"),
        ("[routing\n", "not valid TOML"),
        ("[routing]\nrules = { code = 3 }\n", "routing.rules"),
        # a typo is an error, not a setting silently left at its default
        (
            "[plan]\nbudget = 0.01\n",
            "unknown setting 'plan.budget' (did you mean plan.budget_usd?)",
        ),
        ('[routng]\nstrategy = "cheapest"\n', "unknown setting 'routng' (did you mean routing?)"),
        ("verbose = true\n", "unknown setting 'verbose'"),
    ],
)
def test_bad_config_is_a_one_line_config_error(
    isolated_env: Path, text: str, fragment: str
) -> None:
    write_config(isolated_env, text)
    with pytest.raises(ConfigError) as info:
        Settings.load(env={"TOKENPLAN_HOME": str(isolated_env)})
    assert fragment in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_bad_env_value_names_the_variable(isolated_env: Path) -> None:
    env = {"TOKENPLAN_HOME": str(isolated_env), "TOKENPLAN_BUDGET": "lots"}
    with pytest.raises(ConfigError, match="TOKENPLAN_BUDGET"):
        Settings.load(env=env)


def test_strategy_aliases() -> None:
    assert normalize_strategy("auto") == ("balanced", False)
    assert normalize_strategy("auto:latency") == ("balanced", True)
    assert normalize_strategy("AUTO:QUALITY") == ("best_quality", False)
    with pytest.raises(ConfigError, match="unknown strategy"):
        normalize_strategy("fastest")


def test_env_snapshot_is_not_in_repr(isolated_env: Path) -> None:
    s = Settings.load(
        env={"TOKENPLAN_HOME": str(isolated_env), "OPENAI_API_KEY": "sk-secret123456"}
    )
    assert "sk-secret" not in repr(s)
