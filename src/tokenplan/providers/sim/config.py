"""The simulator's knobs, validated: per-tier failure and error rates, latency scale, seed.

Read from the ``[sim]`` table of the config file and the ``TOKENPLAN_SIM_*`` environment
variables (which win)::

    [sim]
    failure_rate = { budget = 0.10, mid = 0.05, flagship = 0.01 }   # or one number for all tiers
    error_rate = 0.0
    latency_scale = 0.2
    seed = 7

An invalid value raises :class:`~tokenplan.errors.ConfigError` naming the key, e.g.
``config.toml: sim.failure_rate.budget: expected a rate in [0, 1], got 1.5``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenplan.catalog.model import TIERS
from tokenplan.errors import ConfigError

if TYPE_CHECKING:
    from tokenplan.settings import Settings

__all__ = ["DEFAULT_ERROR_RATES", "DEFAULT_FAILURE_RATES", "RatesLike", "SimConfig"]

#: Share of answers that are invalid (empty, cut off, malformed JSON, broken code), per tier.
DEFAULT_FAILURE_RATES: Mapping[str, float] = {
    "budget": 0.08,
    "mid": 0.04,
    "flagship": 0.02,
    "local": 0.10,
}
#: Share of calls that fail transiently (429 with retry-after, 503), per tier.
DEFAULT_ERROR_RATES: Mapping[str, float] = {
    "budget": 0.02,
    "mid": 0.015,
    "flagship": 0.01,
    "local": 0.0,
}

#: One rate for every tier, or a per-tier mapping (tiers left out keep their default).
RatesLike = float | Mapping[str, float]

_TABLE_KEYS = ("failure_rate", "error_rate", "latency_scale", "seed")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Resolved simulator settings. Build with :meth:`build` or :meth:`from_settings`."""

    failure_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FAILURE_RATES))
    error_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_ERROR_RATES))
    latency_scale: float = 1.0
    seed: int = 0

    @classmethod
    def build(
        cls,
        *,
        failure_rates: RatesLike | None = None,
        error_rates: RatesLike | None = None,
        latency_scale: float = 1.0,
        seed: int = 0,
        source: str = "",
    ) -> SimConfig:
        """Validate keyword values; ``source`` prefixes error messages (e.g. ``config.toml: ``)."""
        return cls(
            failure_rates=_rates(failure_rates, DEFAULT_FAILURE_RATES, f"{source}failure_rate"),
            error_rates=_rates(error_rates, DEFAULT_ERROR_RATES, f"{source}error_rate"),
            latency_scale=_scale(latency_scale, f"{source}latency_scale"),
            seed=_seed(seed, f"{source}seed"),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SimConfig:
        """The ``[sim]`` table, overridden by ``TOKENPLAN_SIM_*`` settings fields."""
        table = settings.sim
        cfg_name = Path(settings.env.get("TOKENPLAN_CONFIG") or settings.paths.config_file).name
        prefix = f"{cfg_name}: sim."
        unknown = sorted(set(table) - set(_TABLE_KEYS))
        if unknown:
            raise ConfigError(
                f"{prefix}{unknown[0]}: unknown key; expected one of {', '.join(_TABLE_KEYS)}"
            )
        failure: Any = table.get("failure_rate")
        error: Any = table.get("error_rate")
        scale: Any = table.get("latency_scale", 1.0)
        seed: Any = table.get("seed", 0)
        config = cls.build(
            failure_rates=failure,
            error_rates=error,
            latency_scale=scale,
            seed=seed,
            source=prefix,
        )
        # Environment / override fields are validated by Settings already; they win.
        changes: dict[str, Any] = {}
        if settings.sim_failure_rate is not None:
            changes["failure_rates"] = dict.fromkeys(TIERS, settings.sim_failure_rate)
        if settings.sim_error_rate is not None:
            changes["error_rates"] = dict.fromkeys(TIERS, settings.sim_error_rate)
        if settings.sim_latency_scale is not None:
            changes["latency_scale"] = settings.sim_latency_scale
        if settings.sim_seed is not None:
            changes["seed"] = settings.sim_seed
        if not changes:
            return config
        import dataclasses

        return dataclasses.replace(config, **changes)


def _rates(value: Any, defaults: Mapping[str, float], key: str) -> dict[str, float]:
    rates = dict(defaults)
    if value is None:
        return rates
    if isinstance(value, Mapping):
        for tier, rate in value.items():
            if tier not in TIERS:
                raise ConfigError(f"{key}.{tier}: unknown tier; expected one of {', '.join(TIERS)}")
            rates[tier] = _rate(rate, f"{key}.{tier}")
        return rates
    return dict.fromkeys(TIERS, _rate(value, key))


def _rate(value: Any, key: str) -> float:
    f = _number(value, key)
    if not 0.0 <= f <= 1.0:
        raise ConfigError(f"{key}: expected a rate in [0, 1], got {value!r}")
    return f


def _scale(value: Any, key: str) -> float:
    f = _number(value, key)
    if f < 0.0:
        raise ConfigError(f"{key}: expected a number >= 0, got {value!r}")
    return f


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    return f


def _seed(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    return value
