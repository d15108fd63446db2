"""The user models file (``models.toml`` in the config folder): local and self-hosted models.

Each ``[[model]]`` table either adds a model or, when its ``id`` is already in the catalog,
overrides the fields it names (a negotiated price, a larger context, a corrected prior)::

    [[model]]
    id = "ollama/llama3.2"                     # provider = the part before the first "/"
    base_url = "http://127.0.0.1:11434/v1"     # where it is served (OpenAI-compatible); optional
    context_window = 131072
    max_output_tokens = 8192
    capabilities = { general = 0.55, code = 0.45 }   # quality priors in [0, 1]
    # prices default to 0 (input_per_mtok, output_per_mtok, ...); tier defaults to "local"
    # for a free model, else to the catalog's price-band rule

    [[model]]
    id = "openai/gpt-5-mini"                   # an existing model: only these fields change
    input_per_mtok = 0.20
    capabilities = { code = 0.84 }             # merged into the existing priors

A new model needs ``context_window``, ``max_output_tokens`` and at least one capability prior.
Validation is strict: a bad entry raises :class:`~tokenplan.errors.ConfigError` with one line
naming the file, the entry (``[[model]] #2 (ollama/llama3.2)``) and the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tokenplan.catalog.model import CAPABILITIES, TIERS, Model
from tokenplan.catalog.tiers import DEFAULT_TIER_RULE, TierRule
from tokenplan.errors import ConfigError

__all__ = ["USER_SOURCE", "UserModel", "apply_user_models", "parse_user_models"]

USER_SOURCE = "user"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*/\S+$")


@dataclass(frozen=True, slots=True)
class UserModel:
    """One validated ``[[model]]`` entry; ``fields`` uses :class:`Model` field names."""

    number: int  # 1-based position in the file
    id: str
    fields: Mapping[str, Any]
    base_url: str | None = None


# -- value checks: return the value or raise ValueError with a short reason ---------------------


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"expected a number, got {v!r}")
    return float(v)


def _price(v: Any) -> float:
    f = _number(v)
    if f < 0:
        raise ValueError(f"expected a price >= 0 (USD per million tokens), got {v!r}")
    return f


def _tokens(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"expected a positive integer, got {v!r}")
    return v


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


def _name(v: Any) -> str:
    if not isinstance(v, str) or not v or v != v.strip():
        raise ValueError(f"expected a non-empty name, got {v!r}")
    return v


def _tier(v: Any) -> str:
    if v not in TIERS:
        raise ValueError(f"expected one of {', '.join(TIERS)}, got {v!r}")
    return str(v)


def _priors(v: Any) -> dict[str, float]:
    if not isinstance(v, Mapping) or not v:
        raise ValueError("expected a table of priors, e.g. { general = 0.6, code = 0.5 }")
    out: dict[str, float] = {}
    for cap, prior in v.items():
        if cap not in CAPABILITIES:
            raise ValueError(f"unknown capability {cap!r} (expected {', '.join(CAPABILITIES)})")
        p = _number(prior)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"prior for {cap} must be in [0, 1], got {prior!r}")
        out[cap] = p
    return out


def _aliases(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(a, str) and a and " " not in a for a in v):
        raise ValueError("expected a list of names without spaces")
    return tuple(v)


def _url(v: Any) -> str:
    parts = urlsplit(v) if isinstance(v, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL, got {v!r}")
    return str(v).rstrip("/")


# TOML key -> (Model field, check). ``capabilities`` and ``quality`` are the same thing.
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "api_name": ("api_name", _name),
    "display_name": ("display_name", _text),
    "notes": ("notes", _text),
    "tier": ("tier", _tier),
    "input_per_mtok": ("input_per_mtok", _price),
    "output_per_mtok": ("output_per_mtok", _price),
    "cached_input_per_mtok": ("cached_input_per_mtok", _price),
    "cache_write_per_mtok": ("cache_write_per_mtok", _price),
    "reasoning_output_per_mtok": ("reasoning_output_per_mtok", _price),
    "context_window": ("context_window", _tokens),
    "max_output_tokens": ("max_output_tokens", _tokens),
    "capabilities": ("quality", _priors),
    "quality": ("quality", _priors),
    "json_schema": ("json_schema", _flag),
    "tools": ("tools", _flag),
    "streaming": ("streaming", _flag),
    "reasoning": ("reasoning", _flag),
    "aliases": ("aliases", _aliases),
}
_KNOWN = sorted({"id", "base_url", *_FIELDS})


def parse_user_models(text: str, *, path: Path) -> tuple[UserModel, ...]:
    """Validate the text of a models file; :class:`ConfigError` on the first problem."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    extra_keys = sorted(set(doc) - {"model"})
    if extra_keys:
        raise ConfigError(
            f"{path}: unknown top-level key {extra_keys[0]!r}; models go in [[model]] tables"
        )
    entries = doc.get("model", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: 'model' must be an array of tables ([[model]])")
    seen: set[str] = set()
    return tuple(_parse_entry(n, e, path, seen) for n, e in enumerate(entries, start=1))


def _parse_entry(number: int, entry: Mapping[str, Any], path: Path, seen: set[str]) -> UserModel:
    where = f"{path}: [[model]] #{number}"
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not _ID.match(model_id):
        raise ConfigError(
            f"{where}: id: expected '<provider>/<model>' with a lower-case provider, "
            f"e.g. 'ollama/llama3.2', got {model_id!r}"
        )
    where = f"{where} ({model_id})"
    if model_id in seen:
        raise ConfigError(f"{where}: id: listed twice in this file")
    seen.add(model_id)
    fields: dict[str, Any] = {}
    base_url: str | None = None
    if "capabilities" in entry and "quality" in entry:
        raise ConfigError(f"{where}: capabilities: give either 'capabilities' or 'quality'")
    for key, value in entry.items():
        if key == "id":
            continue
        try:
            if key == "base_url":
                base_url = _url(value)
                continue
            if key not in _FIELDS:
                raise ValueError(f"unknown field (expected one of {', '.join(_KNOWN)})")
            name, check = _FIELDS[key]
            fields[name] = check(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}: {exc}") from None
    return UserModel(number=number, id=model_id, fields=fields, base_url=base_url)


def apply_user_models(
    by_id: dict[str, Model],
    entries: Iterable[UserModel],
    *,
    path: Path,
    rule: TierRule = DEFAULT_TIER_RULE,
) -> None:
    """Add or override the models of ``entries`` in ``by_id`` (modified in place).

    A new model without a ``tier`` is ``local`` when it is free, else classified by ``rule``.
    """
    entries = tuple(entries)
    for e in entries:
        current = by_id.get(e.id)
        by_id[e.id] = _new_model(e, path, rule) if current is None else _override(current, e)
    _check_aliases(by_id, entries, path)


def _new_model(e: UserModel, path: Path, rule: TierRule) -> Model:
    where = f"{path}: [[model]] #{e.number} ({e.id})"
    for required in ("context_window", "max_output_tokens"):
        if required not in e.fields:
            raise ConfigError(f"{where}: {required}: required for a model not in the catalog")
    if "quality" not in e.fields:
        raise ConfigError(
            f"{where}: capabilities: a new model needs at least one prior, "
            "e.g. capabilities = { general = 0.6 }"
        )
    provider, api_name = e.id.split("/", 1)
    values: dict[str, Any] = {
        "id": e.id,
        "provider": provider,
        "api_name": api_name,
        "input_per_mtok": 0.0,
        "output_per_mtok": 0.0,
        "display_name": api_name,
        "source": USER_SOURCE,
        **e.fields,
    }
    if "tier" not in values:
        paid = values["input_per_mtok"] > 0 or values["output_per_mtok"] > 0
        values["tier"] = (
            rule.tier_for(values["input_per_mtok"], values["output_per_mtok"]) if paid else "local"
        )
    if e.base_url is not None:
        values["extra"] = {"base_url": e.base_url}
    return Model(**values)


def _override(current: Model, e: UserModel) -> Model:
    changes = dict(e.fields)
    if "quality" in changes:
        changes["quality"] = {**current.quality, **changes["quality"]}
    extra = dict(current.extra)
    if e.base_url is not None:
        extra["base_url"] = e.base_url
    return dataclasses.replace(current, source=USER_SOURCE, extra=extra, **changes)


def _check_aliases(by_id: Mapping[str, Model], entries: Iterable[UserModel], path: Path) -> None:
    owners: dict[str, str] = {}
    for m in by_id.values():
        for alias in m.aliases:
            owners.setdefault(alias, m.id)
    for e in entries:
        for alias in e.fields.get("aliases", ()):
            where = f"{path}: [[model]] #{e.number} ({e.id}): aliases"
            if alias in by_id and alias != e.id:
                raise ConfigError(f"{where}: {alias!r} is the id of another model")
            if owners.get(alias, e.id) != e.id:
                raise ConfigError(f"{where}: {alias!r} already names {owners[alias]}")
