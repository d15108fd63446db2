"""Settings: one immutable value built once per invocation and passed down.

Precedence, highest first: explicit overrides (CLI flags, API keywords) > environment variables
``TOKENPLAN_*`` > the config file (``config.toml``) > defaults.

Each field declares where it is read from in its metadata: ``toml`` is a dotted path in the
config file, ``env`` an environment variable. Structured values (routing rules, endpoint
overrides, proxy keys) come from the config file only. An invalid value raises
:class:`~tokenplan.errors.ConfigError` naming its source, e.g.
``config.toml: routing.strategy: expected one of cheapest, balanced, best_quality``.

Example ``config.toml``::

    [routing]
    strategy = "balanced"
    exclude_providers = ["xai"]
    [routing.rules]
    code = "deepseek/deepseek-v4-flash"

    [plan]
    budget_usd = 0.50
    reserve_fraction = 0.2
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenplan.errors import ConfigError
from tokenplan.paths import Paths

__all__ = ["STRATEGIES", "STRATEGY_ALIASES", "Settings", "normalize_strategy"]

#: Canonical routing strategies.
STRATEGIES: tuple[str, ...] = ("cheapest", "balanced", "best_quality")
#: Accepted names -> (strategy, optimize_latency).
STRATEGY_ALIASES: dict[str, tuple[str, bool]] = {
    "cheapest": ("cheapest", False),
    "balanced": ("balanced", False),
    "best_quality": ("best_quality", False),
    "quality": ("best_quality", False),
    "cost": ("cheapest", False),
    "auto": ("balanced", False),
    "auto:cost": ("cheapest", False),
    "auto:balance": ("balanced", False),
    "auto:balanced": ("balanced", False),
    "auto:quality": ("best_quality", False),
    "auto:latency": ("balanced", True),
    "latency": ("balanced", True),
}


def normalize_strategy(name: str) -> tuple[str, bool]:
    """``(strategy, optimize_latency)`` for a strategy name or ``auto*`` alias."""
    try:
        return STRATEGY_ALIASES[name.strip().lower()]
    except KeyError:
        allowed = ", ".join(sorted(STRATEGY_ALIASES))
        raise ConfigError(f"unknown strategy {name!r}; expected one of {allowed}") from None


# -- value parsers: raise ValueError with a short reason ----------------------------------------


def _strategy(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("expected a string")
    try:
        normalize_strategy(v)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return v.strip().lower()


def _positive_float(v: Any) -> float:
    f = _float(v)
    if f <= 0:
        raise ValueError("must be greater than 0")
    return f


def _optional_positive_float(v: Any) -> float | None:
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none")):
        return None
    return _positive_float(v)


def _float(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a number")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {v!r}") from None
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    return f


def _fraction(v: Any) -> float:
    f = _float(v)
    if not 0.0 <= f < 1.0:
        raise ValueError("expected a fraction in [0, 1)")
    return f


def _optional_rate(v: Any) -> float | None:
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none")):
        return None
    f = _float(v)
    if not 0.0 <= f <= 1.0:
        raise ValueError("expected a rate in [0, 1]")
    return f


def _optional_non_negative_float(v: Any) -> float | None:
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none")):
        return None
    f = _float(v)
    if f < 0:
        raise ValueError("must be 0 or greater")
    return f


def _optional_int(v: Any) -> int | None:
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none")):
        return None
    if isinstance(v, bool):
        raise ValueError("expected an integer")
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected an integer, got {v!r}") from None
    if isinstance(v, float) and v != i:
        raise ValueError("expected an integer")
    return i


def _transport_name(v: Any) -> str:
    name = _str(v).strip().lower()
    if name not in ("auto", "h1", "aiohttp", "httpx"):
        raise ValueError("expected one of auto, h1, aiohttp, httpx")
    return name


def _positive_int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected an integer")
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected an integer, got {v!r}") from None
    if i <= 0 or (isinstance(v, float) and v != i):
        raise ValueError("expected a positive integer")
    return i


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {v!r}")


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("expected a string")
    return v


def _str_tuple(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return tuple(s.strip() for s in v.split(",") if s.strip())
    if isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v):
        return tuple(v)
    raise ValueError("expected a list of strings")


def _str_map(v: Any) -> Mapping[str, str]:
    if isinstance(v, Mapping) and all(isinstance(x, str) for x in v.values()):
        return {str(k): x for k, x in v.items()}
    raise ValueError("expected a table of strings")


def _table(v: Any) -> Mapping[str, Any]:
    if isinstance(v, Mapping):
        return dict(v)
    raise ValueError("expected a table")


def _path(v: Any) -> Path:
    if not isinstance(v, str) or not v:
        raise ValueError("expected a path")
    return Path(v).expanduser()


def _opt(
    toml: str | None = None, env: str | None = None, parse: Callable[[Any], Any] = _str
) -> dict[str, Any]:
    return {"toml": toml, "env": env, "parse": parse}


@dataclass(frozen=True, slots=True, eq=False)
class Settings:
    """Everything configurable, resolved. Build with :meth:`Settings.load`."""

    paths: Paths = field(default_factory=Paths.from_env, metadata={"parse": None})
    env: Mapping[str, str] = field(default_factory=dict, repr=False, metadata={"parse": None})

    # routing
    strategy: str = field(
        default="balanced", metadata=_opt("routing.strategy", "TOKENPLAN_STRATEGY", _strategy)
    )
    route_budget_usd: float | None = field(
        default=None,
        metadata=_opt("routing.budget_usd", "TOKENPLAN_ROUTE_BUDGET", _optional_positive_float),
    )
    include_models: tuple[str, ...] = field(
        default=(), metadata=_opt("routing.include_models", None, _str_tuple)
    )
    exclude_models: tuple[str, ...] = field(
        default=(), metadata=_opt("routing.exclude_models", None, _str_tuple)
    )
    include_providers: tuple[str, ...] = field(
        default=(), metadata=_opt("routing.include_providers", None, _str_tuple)
    )
    exclude_providers: tuple[str, ...] = field(
        default=(), metadata=_opt("routing.exclude_providers", None, _str_tuple)
    )
    require_features: tuple[str, ...] = field(
        default=(), metadata=_opt("routing.require_features", None, _str_tuple)
    )
    #: Per-capability rules, e.g. ``{"code": "deepseek/deepseek-v4-flash"}``.
    rules: Mapping[str, str] = field(
        default_factory=dict, metadata=_opt("routing.rules", None, _str_map)
    )
    #: Output tokens assumed for a routed prompt when the caller gives no ``max_tokens``.
    default_max_tokens: int = field(
        default=1024, metadata=_opt("routing.default_max_tokens", None, _positive_int)
    )
    #: Model that "savings" are measured against (ledger summary, proxy headers).
    baseline_model: str = field(
        default="openai/gpt-5.4", metadata=_opt("ledger.baseline_model", "TOKENPLAN_BASELINE_MODEL")
    )

    # plan / execute
    plan_budget_usd: float = field(
        default=0.50, metadata=_opt("plan.budget_usd", "TOKENPLAN_BUDGET", _positive_float)
    )
    reserve_fraction: float = field(
        default=0.20, metadata=_opt("plan.reserve_fraction", None, _fraction)
    )
    max_steps: int = field(default=12, metadata=_opt("plan.max_steps", None, _positive_int))
    planner_model: str | None = field(
        default=None, metadata=_opt("plan.planner_model", "TOKENPLAN_PLANNER_MODEL")
    )
    concurrency: int = field(
        default=8, metadata=_opt("execute.concurrency", "TOKENPLAN_CONCURRENCY", _positive_int)
    )
    step_timeout_s: float = field(
        default=300.0, metadata=_opt("execute.step_timeout_s", None, _positive_float)
    )
    max_attempts_per_step: int = field(
        default=4, metadata=_opt("execute.max_attempts_per_step", None, _positive_int)
    )
    #: Most steps of one provider (endpoint) running at once, on top of ``concurrency``.
    provider_concurrency: int = field(
        default=4,
        metadata=_opt(
            "execute.provider_concurrency", "TOKENPLAN_PROVIDER_CONCURRENCY", _positive_int
        ),
    )

    # providers
    #: Force the offline simulator even when keys are configured.
    offline: bool = field(
        default=False, metadata=_opt("providers.offline", "TOKENPLAN_OFFLINE", _bool)
    )
    request_timeout_s: float = field(
        default=120.0, metadata=_opt("providers.timeout_s", "TOKENPLAN_TIMEOUT", _positive_float)
    )
    max_retries: int = field(default=3, metadata=_opt("providers.max_retries", None, _positive_int))
    #: HTTP transport under the shared httpx client: ``auto`` (= ``h1``, tokenplan's own
    #: HTTP/1.1 client), ``h1``, ``aiohttp`` or ``httpx``.
    http_transport: str = field(
        default="auto",
        metadata=_opt("providers.http_transport", "TOKENPLAN_HTTP_TRANSPORT", _transport_name),
    )
    #: Per-endpoint overrides from ``[endpoints.NAME]`` tables (``base_url``, ``api_key_env``).
    endpoints: Mapping[str, Any] = field(  # not in repr: headers and base URLs may hold keys
        default_factory=dict, repr=False, metadata=_opt("endpoints", None, _table)
    )
    #: Simulator knobs from ``[sim]`` (e.g. ``failure_rate = {budget = 0.1}``).
    sim: Mapping[str, Any] = field(default_factory=dict, metadata=_opt("sim", None, _table))
    #: Overrides of the ``[sim]`` table (env only): one failure / error rate for every tier,
    #: the latency scale (0 = no sleeping) and the seed. ``None`` = use the table or default.
    sim_failure_rate: float | None = field(
        default=None, metadata=_opt(None, "TOKENPLAN_SIM_FAILURE_RATE", _optional_rate)
    )
    sim_error_rate: float | None = field(
        default=None, metadata=_opt(None, "TOKENPLAN_SIM_ERROR_RATE", _optional_rate)
    )
    sim_latency_scale: float | None = field(
        default=None,
        metadata=_opt(None, "TOKENPLAN_SIM_LATENCY_SCALE", _optional_non_negative_float),
    )
    sim_seed: int | None = field(
        default=None, metadata=_opt(None, "TOKENPLAN_SIM_SEED", _optional_int)
    )

    # ledger
    ledger_path: Path | None = field(
        default=None, metadata=_opt("ledger.path", "TOKENPLAN_LEDGER", _path)
    )

    # proxy
    proxy: Mapping[str, Any] = field(default_factory=dict, metadata=_opt("proxy", None, _table))

    @property
    def ledger_file(self) -> Path:
        return self.ledger_path or self.paths.ledger_file

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        config_file: Path | None = None,
        flags: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve settings from overrides > env > config file > defaults.

        ``overrides`` maps field names to values; ``None`` values are ignored, so CLI options
        can be passed through unconditionally. ``flags`` names the command-line flag an
        override came from, for error messages (``--concurrency: expected a positive integer``).
        """
        env = dict(os.environ if env is None else env)
        paths = Paths.from_env(env)
        cfg_path = config_file or Path(env.get("TOKENPLAN_CONFIG") or paths.config_file)
        doc = _read_config(cfg_path)
        _check_known_keys(doc, cls, cfg_path.name)
        values: dict[str, Any] = {"paths": paths, "env": env}
        for f in dataclasses.fields(cls):
            parse = f.metadata.get("parse")
            if parse is None:
                continue
            toml_key, env_key = f.metadata.get("toml"), f.metadata.get("env")
            if overrides and overrides.get(f.name) is not None:
                source = (flags or {}).get(f.name) or f"option {f.name}"
                values[f.name] = _parse(parse, overrides[f.name], source)
            elif env_key and env.get(env_key, "") != "":
                values[f.name] = _parse(parse, env[env_key], env_key)
            elif toml_key:
                found, raw = _lookup(doc, toml_key)
                if found:
                    values[f.name] = _parse(parse, raw, f"{cfg_path.name}: {toml_key}")
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated like overrides)."""
        parsed: dict[str, Any] = {}
        by_name = {f.name: f for f in dataclasses.fields(self)}
        for name, value in changes.items():
            parse = by_name[name].metadata.get("parse")
            parsed[name] = value if parse is None or value is None else _parse(parse, value, name)
        return dataclasses.replace(self, **parsed)


def _parse(parse: Callable[[Any], Any], value: Any, source: str) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _check_known_keys(doc: Mapping[str, Any], cls: type[Settings], file_name: str) -> None:
    """A key of the config file no setting reads is a typo: :class:`ConfigError` naming it
    (whole tables such as ``[sim]`` and ``[proxy]`` check their own keys)."""
    known = [str(f.metadata["toml"]) for f in dataclasses.fields(cls) if f.metadata.get("toml")]
    sections = {key.split(".")[0] for key in known if "." in key}
    for name, value in doc.items():
        if name in known:
            continue
        if name in sections and isinstance(value, Mapping):
            paths, choices = [f"{name}.{key}" for key in value], known
        else:  # an unknown table or top-level key: suggest a table
            paths, choices = [name], sorted(sections | {k for k in known if "." not in k})
        for path in paths:
            if path not in known:
                import difflib

                close = difflib.get_close_matches(path, choices, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(f"{file_name}: unknown setting {path!r}{hint}")


def _lookup(doc: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _read_config(path: Path) -> Mapping[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
