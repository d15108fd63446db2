"""OpenRouter's model list -> catalog rows (the conversion half of ``tokenplan models refresh``,
:mod:`tokenplan.catalog.openrouter`).

Conversion rules (each skipped entry is counted under its reason):

* skipped: not text-in/text-out (``not-text``); both prices 0 or a ``:free`` id (``free``);
  a negative price such as OpenRouter's ``-1`` router pseudo-models (``variable-price``); a
  per-request fee the catalog cannot express (``request-fee``); no context length or a
  malformed entry (``malformed``).
* An id already in the bundled catalog (``openrouter/<vendor>/<model>``) has its prices, limits
  and flags updated; tier, priors and aliases stay curated.
* Any other model is added with a tier from the catalog's price-band rule and conservative
  default priors: ``general`` only, at 0.50 / 0.60 / 0.70 for budget / mid / flagship, so the
  router uses an unknown model only for general prompts until a user gives it real priors in
  ``models.toml``. An added model that is the same as a curated first-party model
  (``openai/gpt-5``, ``anthropic/claude-sonnet-4.5`` -> ``anthropic/claude-sonnet-4-5``, ...)
  instead takes that model's priors (``extra["priors_from"]``).
* ``max_completion_tokens`` missing: a bundled model keeps its value; a new one gets
  ``min(context_length, 16384)``, so requests stay within what any host accepts.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenplan.catalog.loading import REFRESH_SOURCE
from tokenplan.catalog.model import Model, Tier
from tokenplan.catalog.tiers import TierRule
from tokenplan.errors import ResponseFormatError

__all__ = ["DEFAULT_PRIORS", "ConversionResult", "convert_models"]

#: General-only priors given to models the curation has never seen, by tier.
DEFAULT_PRIORS: Mapping[Tier, float] = {"budget": 0.50, "mid": 0.60, "flagship": 0.70}
_DEFAULT_MAX_OUTPUT = 16_384
# OpenRouter vendor prefix -> catalog provider, to recognise first-party twins.
_TWIN_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gemini",
    "deepseek": "deepseek",
    "mistralai": "mistral",
    "x-ai": "xai",
}
_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ConversionResult:
    """Catalog rows made from one ``/api/v1/models`` answer."""

    models: tuple[Model, ...]
    updated: tuple[str, ...]  # ids of bundled models whose numbers were refreshed
    added: tuple[str, ...]  # ids of models new to the catalog
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> count
    missing: tuple[str, ...] = ()  # bundled OpenRouter ids the answer did not list


# -- convert ------------------------------------------------------------------------------------


def convert_models(doc: Any, *, bundled: Sequence[Model], rule: TierRule) -> ConversionResult:
    """Catalog rows for an ``/api/v1/models`` answer; :class:`ResponseFormatError` when the
    answer has no usable model at all."""
    data = doc.get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, list):
        raise ResponseFormatError(
            "OpenRouter's answer has no 'data' list of models",
            raw=repr(doc)[:2000],
            provider="openrouter",
        )
    curated = {m.id: m for m in bundled}
    twins = _twin_index(bundled)
    models: dict[str, Model] = {}
    updated: list[str] = []
    added: list[str] = []
    skipped: dict[str, int] = {}
    for item in data:
        try:
            model = _convert_one(item, curated=curated, twins=twins, rule=rule)
        except _Skip as skip:
            skipped[skip.reason] = skipped.get(skip.reason, 0) + 1
            continue
        if model.id in models:
            skipped["duplicate"] = skipped.get("duplicate", 0) + 1
            continue
        models[model.id] = model
        (updated if model.id in curated else added).append(model.id)
    if not models:
        raise ResponseFormatError(
            f"OpenRouter listed no usable chat model ({len(data)} entries, skipped: "
            f"{', '.join(f'{k} {v}' for k, v in sorted(skipped.items())) or 'none'})",
            provider="openrouter",
        )
    missing = tuple(m.id for m in bundled if m.provider == "openrouter" and m.id not in models)
    return ConversionResult(
        models=tuple(models.values()),
        updated=tuple(updated),
        added=tuple(added),
        skipped=skipped,
        missing=missing,
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    """The parts of one ``data`` item the catalog uses, validated."""

    slug: str
    name: str
    numbers: Mapping[str, Any]  # Model fields a refresh sets: prices, context, flags
    max_output_tokens: int | None
    long_context: Mapping[str, Any]


def _convert_one(
    item: Any, *, curated: Mapping[str, Model], twins: Mapping[str, str], rule: TierRule
) -> Model:
    entry = _parse_entry(item)
    model_id = f"openrouter/{entry.slug}"
    current = curated.get(model_id)
    if current is not None:
        extra = {k: v for k, v in current.extra.items() if k != "long_context"}
        if entry.long_context:
            extra["long_context"] = dict(entry.long_context)
        return dataclasses.replace(
            current,
            max_output_tokens=entry.max_output_tokens or current.max_output_tokens,
            source=REFRESH_SOURCE,
            extra=extra,
            **entry.numbers,
        )
    tier = rule.tier_for(entry.numbers["input_per_mtok"], entry.numbers["output_per_mtok"])
    twin = curated.get(twins.get(_normalize(entry.slug), ""))
    extra_new: dict[str, Any] = {}
    if twin is not None:
        extra_new["priors_from"] = twin.id
        quality = dict(twin.quality)
        notes = f"added by models refresh; priors from {twin.id} (the same model)"
    else:
        quality = {"general": DEFAULT_PRIORS[tier]}
        notes = (
            "added by models refresh; priors are conservative defaults (general only): "
            "give real ones in models.toml"
        )
    if entry.long_context:
        extra_new["long_context"] = dict(entry.long_context)
    context: int = entry.numbers["context_window"]
    return Model(
        id=model_id,
        provider="openrouter",
        api_name=entry.slug,
        tier=tier,
        max_output_tokens=entry.max_output_tokens or min(context, _DEFAULT_MAX_OUTPUT),
        quality=quality,
        display_name=entry.name,
        source=REFRESH_SOURCE,
        notes=notes,
        extra=extra_new,
        **entry.numbers,
    )


def _parse_entry(item: Any) -> _Entry:
    """Validate one ``data`` item; raise :class:`_Skip` with the reason it cannot be used."""
    if not isinstance(item, Mapping):
        raise _Skip("malformed")
    slug = item.get("id")
    if not isinstance(slug, str) or slug.count("/") < 1 or any(c.isspace() for c in slug):
        raise _Skip("malformed")
    _check_text_only(item.get("architecture"))
    pricing = item.get("pricing")
    if not isinstance(pricing, Mapping):
        raise _Skip("malformed")
    prompt = _usd_per_mtok(pricing.get("prompt"))
    completion = _usd_per_mtok(pricing.get("completion"))
    if prompt is None or completion is None:
        raise _Skip("malformed")
    if prompt < 0 or completion < 0:
        raise _Skip("variable-price")
    if slug.endswith(":free") or (prompt == 0 and completion == 0):
        raise _Skip("free")
    if (_usd_per_mtok(pricing.get("request")) or 0.0) > 0:
        raise _Skip("request-fee")
    top = item.get("top_provider")
    top = top if isinstance(top, Mapping) else {}
    context = _positive_int(item.get("context_length")) or _positive_int(top.get("context_length"))
    if context is None:
        raise _Skip("malformed")
    raw_params = item.get("supported_parameters")
    params = (
        {p for p in raw_params if isinstance(p, str)} if isinstance(raw_params, list) else set()
    )
    reasoning_price = _positive_price(pricing.get("internal_reasoning"))
    name = item.get("name")
    return _Entry(
        slug=slug,
        name=name if isinstance(name, str) and name else slug,
        numbers={
            "input_per_mtok": prompt,
            "output_per_mtok": completion,
            "cached_input_per_mtok": _positive_price(pricing.get("input_cache_read")),
            "cache_write_per_mtok": _positive_price(pricing.get("input_cache_write")),
            "reasoning_output_per_mtok": (
                None if reasoning_price == completion else reasoning_price
            ),
            "context_window": context,
            "json_schema": "structured_outputs" in params,
            "tools": "tools" in params,
            "reasoning": bool(params & {"reasoning", "include_reasoning"}),
        },
        max_output_tokens=_positive_int(top.get("max_completion_tokens")),
        long_context=_long_context(pricing.get("overrides")),
    )


def _check_text_only(arch: Any) -> None:
    if arch is None:
        return
    if not isinstance(arch, Mapping):
        raise _Skip("malformed")
    inputs, outputs = arch.get("input_modalities"), arch.get("output_modalities")
    if isinstance(outputs, list) and isinstance(inputs, list):
        if "text" not in inputs or set(outputs) != {"text"}:
            raise _Skip("not-text")
        return
    modality = arch.get("modality")
    if isinstance(modality, str) and "->" in modality:
        ins, outs = modality.split("->", 1)
        if "text" not in ins.split("+") or outs.strip() != "text":
            raise _Skip("not-text")


def _usd_per_mtok(value: Any) -> float | None:
    """A USD-per-token price (OpenRouter sends strings) as USD per million tokens."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f):
        return None
    return round(f * 1_000_000, 6)


def _positive_price(value: Any) -> float | None:
    f = _usd_per_mtok(value)
    return f if f is not None and f > 0 else None


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return int(value)


def _long_context(overrides: Any) -> dict[str, Any]:
    """The first prompt-length price step of ``pricing.overrides``, in catalog form."""
    if not isinstance(overrides, list):
        return {}
    steps = []
    for o in overrides:
        if isinstance(o, Mapping):
            threshold = _positive_int(o.get("min_prompt_tokens"))
            if threshold:
                steps.append((threshold, o))
    if not steps:
        return {}
    threshold, step = min(steps, key=lambda s: s[0])
    out: dict[str, Any] = {"above_input_tokens": threshold}
    for name, key in (
        ("input_per_mtok", "prompt"),
        ("output_per_mtok", "completion"),
        ("cached_input_per_mtok", "input_cache_read"),
    ):
        price = _positive_price(step.get(key))
        if price is not None:
            out[name] = price
    return out


def _normalize(name: str) -> str:
    return _DATE_SUFFIX.sub("", name.lower().replace(".", "-"))


def _twin_index(bundled: Sequence[Model]) -> dict[str, str]:
    """``normalized "vendor/model"`` -> curated first-party id, for unambiguous names only."""
    reverse = {v: k for k, v in _TWIN_PROVIDERS.items()}
    index: dict[str, str] = {}
    clashes: set[str] = set()
    for m in bundled:
        vendor = reverse.get(m.provider)
        if vendor is None:
            continue
        for name in {m.api_name, *m.aliases}:
            key = _normalize(f"{vendor}/{name}")
            if index.get(key, m.id) != m.id:
                clashes.add(key)
            index[key] = m.id
    for key in clashes:
        del index[key]
    return index
