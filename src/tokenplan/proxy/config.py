"""The proxy's configuration: the ``[proxy]`` table of ``config.toml``, validated once.

Example::

    [proxy]
    host = "127.0.0.1"          # default bind address of `tokenplan serve`
    port = 8000
    # budget_usd = 20.0         # only without keys (an error with keys): one ceiling for all
    # period = "month"          # day | week | month | none (none: a total that never resets)
    max_fallbacks = 3           # extra rungs after the routed model for auto* requests
    retry_budget_s = 10         # the most one request waits between attempts, all rungs together
    default_max_tokens = 4096   # max_tokens of a request that sends none
    cooldown_s = 300            # how long a model answering 404/402/403 rests (0: not at all)
    max_body_bytes = 8388608

    [proxy.fallbacks]           # what an explicitly named model fails over to
    "openai/gpt-5-mini" = ["anthropic/claude-haiku-4-5"]

    [[proxy.keys]]
    name = "team-a"
    key = "tp-8Zq...long-random"     # or key_sha256 = "<hex>", or key_env = "TEAM_A_KEY"
    budget_usd = 5.0
    period = "day"

``TOKENPLAN_PROXY_KEY`` adds one more key, named ``default``, with no budget. Keys are held as
SHA-256 digests only; the plain text never reaches a log line or the ledger.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tokenplan.errors import ConfigError, register_secret

if TYPE_CHECKING:
    from tokenplan.settings import Settings

__all__ = ["PERIODS", "Period", "ProxyConfig", "ProxyKey", "key_digest"]

Period = Literal["day", "week", "month", "none"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "none")

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_HEX_RE = re.compile(r"^[0-9a-f]{64}$")
_MIN_KEY_CHARS = 16
_TABLE_KEYS = frozenset(
    {
        "host",
        "port",
        "budget_usd",
        "period",
        "max_fallbacks",
        "retry_budget_s",
        "default_max_tokens",
        "cooldown_s",
        "max_body_bytes",
        "fallbacks",
        "keys",
    }
)
_KEY_FIELDS = frozenset({"name", "key", "key_sha256", "key_env", "budget_usd", "period"})


def key_digest(key: str | bytes) -> bytes:
    """The SHA-256 digest (of the UTF-8 bytes) a key is stored and looked up by."""
    return hashlib.sha256(key.encode("utf-8") if isinstance(key, str) else key).digest()


@dataclass(frozen=True, slots=True)
class ProxyKey:
    """One client of the proxy: a name, the digest of its bearer key, and its budget.

    ``run_id`` (``proxy:<name>``) is what the ledger records its calls under, which is also
    how its spend in the current period is found again after a restart.
    """

    name: str
    digest: bytes = field(repr=False)
    budget_usd: float | None = None
    period: Period = "none"

    @property
    def run_id(self) -> str:
        return f"proxy:{self.name}"


#: Who a request is when the proxy has no keys (open access on loopback).
ANONYMOUS_NAME = "anonymous"


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """Validated proxy settings (see the module docstring for the TOML)."""

    host: str = "127.0.0.1"
    port: int = 8000
    keys: tuple[ProxyKey, ...] = ()
    #: Ceiling for requests when no keys are configured (``None``: none).
    budget_usd: float | None = None
    period: Period = "none"
    max_fallbacks: int = 3
    #: The most one request waits between attempts (backoff, ``retry-after``), over its whole
    #: ladder; a ``retry-after`` longer than what is left means fail over, or answer 429, now.
    retry_budget_s: float = 10.0
    #: ``max_tokens`` for a request that sends none (lowered to what the model can write).
    default_max_tokens: int = 4096
    cooldown_s: float = 300.0
    max_body_bytes: int = 8 << 20
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def anonymous(self) -> ProxyKey:
        """The identity of requests when no keys are configured."""
        return ProxyKey(ANONYMOUS_NAME, b"", self.budget_usd, self.period)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProxyConfig:
        """Read ``settings.proxy`` (the ``[proxy]`` table) and ``TOKENPLAN_PROXY_KEY``."""
        return cls.from_table(settings.proxy, env=settings.env)

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, env: Mapping[str, str] | None = None
    ) -> ProxyConfig:
        env = env or {}
        unknown = sorted(set(table) - _TABLE_KEYS)
        if unknown:
            raise ConfigError(
                f"proxy: unknown setting(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(_TABLE_KEYS))}"
            )
        keys = [_key(i, raw, env) for i, raw in enumerate(_list(table.get("keys", []), "keys"))]
        single = env.get("TOKENPLAN_PROXY_KEY", "")
        if single:
            keys.append(_make_key("default", single, None, "none", "TOKENPLAN_PROXY_KEY"))
        names = [k.name for k in keys]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"proxy.keys: duplicate name(s) {', '.join(dupes)}")
        digests = [k.digest for k in keys]
        if len(set(digests)) != len(digests):
            raise ConfigError("proxy.keys: two entries have the same key")
        if keys and table.get("budget_usd") is not None:
            where = "TOKENPLAN_PROXY_KEY" if not table.get("keys") else "[[proxy.keys]]"
            raise ConfigError(
                "proxy.budget_usd is the ceiling for requests when no keys are configured, but "
                f"keys are ({where}); give each [[proxy.keys]] entry its own budget_usd instead"
            )
        return cls(
            host=_str(table.get("host", "127.0.0.1"), "proxy.host"),
            port=_int(table.get("port", 8000), "proxy.port", low=0, high=65535),
            keys=tuple(keys),
            budget_usd=_budget(table.get("budget_usd"), "proxy.budget_usd"),
            period=_period(table.get("period", "none"), "proxy.period"),
            max_fallbacks=_int(table.get("max_fallbacks", 3), "proxy.max_fallbacks", low=0),
            retry_budget_s=_number(table.get("retry_budget_s", 10.0), "proxy.retry_budget_s"),
            default_max_tokens=_int(
                table.get("default_max_tokens", 4096), "proxy.default_max_tokens", low=1
            ),
            cooldown_s=_number(table.get("cooldown_s", 300.0), "proxy.cooldown_s"),
            max_body_bytes=_int(
                table.get("max_body_bytes", 8 << 20), "proxy.max_body_bytes", low=1024
            ),
            fallbacks=_fallbacks(table.get("fallbacks", {})),
        )


def _key(index: int, raw: Any, env: Mapping[str, str]) -> ProxyKey:
    where = f"proxy.keys[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table with name and key")
    unknown = sorted(set(raw) - _KEY_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_KEY_FIELDS))}"
        )
    name = _str(raw.get("name"), f"{where}.name")
    if not _NAME_RE.match(name):
        raise ConfigError(f"{where}.name: use 1-64 letters, digits, '_', '.' or '-'")
    given = [f for f in ("key", "key_sha256", "key_env") if raw.get(f) is not None]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of key, key_sha256 or key_env")
    budget = _budget(raw.get("budget_usd"), f"{where}.budget_usd")
    period = _period(raw.get("period", "none"), f"{where}.period")
    if given[0] == "key_sha256":
        digest_hex = _str(raw["key_sha256"], f"{where}.key_sha256").strip().lower()
        if not _HEX_RE.match(digest_hex):
            raise ConfigError(f"{where}.key_sha256: expected 64 hexadecimal characters")
        return ProxyKey(name, bytes.fromhex(digest_hex), budget, period)
    if given[0] == "key_env":
        var = _str(raw["key_env"], f"{where}.key_env")
        value = env.get(var, "")
        if not value:
            raise ConfigError(f"{where}.key_env: the environment variable {var} is not set")
        return _make_key(name, value, budget, period, f"{where}.key_env ({var})")
    return _make_key(name, _str(raw["key"], f"{where}.key"), budget, period, f"{where}.key")


def _make_key(name: str, value: str, budget: float | None, period: Period, where: str) -> ProxyKey:
    value = value.strip()
    if len(value) < _MIN_KEY_CHARS:
        raise ConfigError(
            f"{where}: a key needs at least {_MIN_KEY_CHARS} characters; make one with "
            "python -c \"import secrets; print('tp-' + secrets.token_urlsafe(32))\""
        )
    register_secret(value)
    return ProxyKey(name, key_digest(value), budget, period)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"proxy.{where}: expected an array of tables ([[proxy.{where}]])")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string")
    return value


def _int(value: Any, where: str, *, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer")
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{where}: expected an integer {limit}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{where}: expected a number of seconds (0 or more)")
    return float(value)


def _budget(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number of USD")
    if not (0 < value < float("inf")):
        raise ConfigError(f"{where}: expected a positive number of USD")
    return float(value)


def _period(value: Any, where: str) -> Period:
    for period in PERIODS:
        if value == period:
            return period
    raise ConfigError(f"{where}: expected one of {', '.join(PERIODS)}, got {value!r}")


def _fallbacks(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError("proxy.fallbacks: expected a table of model id = [model ids]")
    out: dict[str, tuple[str, ...]] = {}
    for model, rungs in value.items():
        if not isinstance(rungs, list) or not all(isinstance(r, str) and r for r in rungs):
            raise ConfigError(f"proxy.fallbacks.{model}: expected an array of model ids")
        out[str(model)] = tuple(rungs)
    return out
