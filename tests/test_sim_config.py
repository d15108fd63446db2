"""Simulator knobs: the [sim] table, TOKENPLAN_SIM_* overrides, and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim_helpers import make_catalog
from tokenplan.errors import ConfigError
from tokenplan.providers.sim import (
    DEFAULT_ERROR_RATES,
    DEFAULT_FAILURE_RATES,
    SimConfig,
    SimulatorModel,
)
from tokenplan.settings import Settings


def load(home: Path, toml: str = "", **env: str) -> Settings:
    if toml:
        (home / "config.toml").write_text(toml)
    return Settings.load(env={"TOKENPLAN_HOME": str(home), **env})


def test_defaults(isolated_env: Path) -> None:
    config = SimConfig.from_settings(load(isolated_env))
    assert config == SimConfig()
    assert config.failure_rates == DEFAULT_FAILURE_RATES
    assert config.error_rates == DEFAULT_ERROR_RATES
    assert (
        config.failure_rates["budget"]
        > config.failure_rates["mid"]
        > config.failure_rates["flagship"]
    )
    assert (config.latency_scale, config.seed) == (1.0, 0)


def test_table_values_are_read(isolated_env: Path) -> None:
    settings = load(
        isolated_env,
        "[sim]\nfailure_rate = { budget = 0.3, flagship = 0 }\nerror_rate = 0.05\n"
        "latency_scale = 0.25\nseed = 42\n",
    )
    sim = SimulatorModel.from_settings(make_catalog(), settings)
    assert sim.config.failure_rates["budget"] == 0.3
    assert sim.config.failure_rates["flagship"] == 0.0
    assert sim.config.failure_rates["mid"] == DEFAULT_FAILURE_RATES["mid"]  # untouched tier
    assert set(sim.config.error_rates.values()) == {0.05}
    assert (sim.config.latency_scale, sim.config.seed) == (0.25, 42)


def test_environment_overrides_the_table(isolated_env: Path) -> None:
    settings = load(
        isolated_env,
        "[sim]\nfailure_rate = 0.3\nlatency_scale = 2\nseed = 1\n",
        TOKENPLAN_SIM_FAILURE_RATE="0",
        TOKENPLAN_SIM_ERROR_RATE="0.5",
        TOKENPLAN_SIM_LATENCY_SCALE="0",
        TOKENPLAN_SIM_SEED="7",
    )
    config = SimConfig.from_settings(settings)
    assert set(config.failure_rates.values()) == {0.0}
    assert set(config.error_rates.values()) == {0.5}
    assert (config.latency_scale, config.seed) == (0.0, 7)


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[sim]\nfailure_rate = { budget = 1.5 }\n", "config.toml: sim.failure_rate.budget"),
        ("[sim]\nfailure_rate = { ultra = 0.1 }\n", "sim.failure_rate.ultra: unknown tier"),
        ('[sim]\nerror_rate = "often"\n', "sim.error_rate: expected a number"),
        ("[sim]\nlatency_scale = -1\n", "sim.latency_scale"),
        ("[sim]\nseed = 1.5\n", "sim.seed: expected an integer"),
        ("[sim]\nseeds = 1\n", "sim.seeds: unknown key"),
    ],
)
def test_bad_table_values_name_the_key(isolated_env: Path, toml: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        SimulatorModel.from_settings(make_catalog(), load(isolated_env, toml))
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENPLAN_SIM_FAILURE_RATE", "2"),
        ("TOKENPLAN_SIM_ERROR_RATE", "-0.1"),
        ("TOKENPLAN_SIM_LATENCY_SCALE", "-1"),
        ("TOKENPLAN_SIM_LATENCY_SCALE", "fast"),
        ("TOKENPLAN_SIM_SEED", "abc"),
    ],
)
def test_bad_environment_values_name_the_variable(
    isolated_env: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        load(isolated_env, **{name: value})


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"failure_rates": {"ultra": 0.1}}, "failure_rate.ultra"),
        ({"error_rates": 1.01}, "error_rate"),
        ({"latency_scale": float("inf")}, "latency_scale"),
        ({"seed": True}, "seed"),
    ],
)
def test_constructor_validates_too(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        SimulatorModel(make_catalog(), **kwargs)  # type: ignore[arg-type]
