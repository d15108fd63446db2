"""Build ``src/tokenplan/catalog/models.json`` from the public price table and the curation table.

::

    python scripts/build_catalog.py             # rebuild models.json
    python scripts/build_catalog.py --check     # exit 1 if the committed file is not what the
                                                # inputs produce (CI / before a release)
    python scripts/build_catalog.py --prices PATH --curation PATH --out PATH

Inputs: ``--prices`` (LiteLLM's ``model_prices_and_context_window.json``; default
``../shared/data/litellm-prices/...`` beside the repository) and ``--curation``
(``scripts/catalog_curation.toml``, which documents the method). The output depends on nothing
else - no clock, no network, no dict ordering - so the same inputs give byte-identical files.
Any problem in the curation (unknown price entry, retired model, bad prior, alias clash, ...)
stops the build with one line naming the row and the field.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from tokenplan.catalog.model import CAPABILITIES, TIER_ORDER, Model  # noqa: E402
from tokenplan.catalog.tiers import TierRule  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_PRICES = (
    REPO.parent / "shared" / "data" / "litellm-prices" / "model_prices_and_context_window.json"
)
DEFAULT_CURATION = REPO / "scripts" / "catalog_curation.toml"
DEFAULT_OUT = REPO / "src" / "tokenplan" / "catalog" / "models.json"

#: Catalog providers, in output order, with the price-table provider that must bill each one.
PROVIDERS: dict[str, str | None] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "xai": "xai",
    "openrouter": None,  # priced from the hosts OpenRouter routes to (see the curation header)
}
BASES = ("recorded", "anchored", "extrapolated")
ROW_KEYS = {"id", "price", "aliases", "display_name", "quality", "basis", "source"}
TOP_KEYS = {"snapshot_date", "tier_rule", "model"}
_LONG_CONTEXT = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BuildError(Exception):
    """The inputs cannot produce a catalog; the message names the row and field."""


def build(prices: Mapping[str, Any], curation: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog document for these inputs (pure: same inputs, same result)."""
    unknown = sorted(set(curation) - TOP_KEYS)
    if unknown:
        raise BuildError(f"curation: unknown top-level keys: {', '.join(unknown)}")
    snapshot = curation.get("snapshot_date")
    if not isinstance(snapshot, str) or not _DATE.match(snapshot):
        raise BuildError("curation: snapshot_date must be a 'YYYY-MM-DD' string")
    try:
        rule = TierRule.from_dict(curation.get("tier_rule", {}))
    except (TypeError, ValueError) as exc:
        raise BuildError(f"curation: tier_rule: {exc}") from None
    rows = curation.get("model")
    if not isinstance(rows, list) or not rows:
        raise BuildError("curation: no [[model]] rows")
    models = [_build_row(i, row, prices, snapshot, rule) for i, row in enumerate(rows)]
    _check_names(models)
    order = {p: n for n, p in enumerate(PROVIDERS)}
    models.sort(
        key=lambda m: (
            order[m.provider],
            rule.blended_usd(m.input_per_mtok, m.output_per_mtok),
            m.id,
        )
    )
    return {
        "version": 1,
        "generated_by": "scripts/build_catalog.py",
        "snapshot_date": snapshot,
        "prices_source": "LiteLLM model_prices_and_context_window.json",
        "tier_rule": rule.to_dict(),
        "models": [m.to_dict() for m in models],
    }


def render(doc: Mapping[str, Any]) -> str:
    """The file's exact text: stable key order (as built), one-space indent, final newline."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


# -- one row ------------------------------------------------------------------------------------


def _build_row(
    index: int, row: Any, prices: Mapping[str, Any], snapshot: str, rule: TierRule
) -> Model:
    where = f"model[{index}]"
    if not isinstance(row, Mapping):
        raise BuildError(f"{where}: expected a table")
    model_id = row.get("id")
    if not isinstance(model_id, str) or model_id.count("/") < 1:
        raise BuildError(f"{where}: id: expected '<provider>/<name>'")
    where = f"model[{index}] ({model_id})"
    unknown = sorted(set(row) - ROW_KEYS)
    if unknown:
        raise BuildError(f"{where}: unknown keys: {', '.join(unknown)}")
    provider, api_name = model_id.split("/", 1)
    if provider not in PROVIDERS:
        raise BuildError(f"{where}: id: provider must be one of {', '.join(PROVIDERS)}")
    if provider == "openrouter" and api_name.count("/") != 1:
        raise BuildError(f"{where}: id: expected 'openrouter/<vendor>/<model>'")
    key, hosts, entry = _price_entry(where, provider, row.get("price"), prices, snapshot)
    quality, basis = _priors(where, row)
    source = row.get("source")
    if not isinstance(source, str) or not source.strip():
        raise BuildError(f"{where}: source: every row needs a note on where its priors come from")
    aliases = row.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise BuildError(f"{where}: aliases: expected a list of names")
    display = row.get("display_name", api_name)
    if not isinstance(display, str) or not display:
        raise BuildError(f"{where}: display_name: expected a string")

    input_price = _required_mtok(where, entry, "input_cost_per_token")
    output_price = _required_mtok(where, entry, "output_cost_per_token")
    reasoning_price = _mtok(where, entry, "output_cost_per_reasoning_token")
    extra: dict[str, Any] = {"price_key": key}
    if hosts:
        extra["price_hosts"] = list(hosts)
    if isinstance(entry.get("deprecation_date"), str):
        extra["deprecation_date"] = entry["deprecation_date"]
    long_context = _long_context(where, entry)
    if long_context:
        extra["long_context"] = long_context
    extra["prior_basis"] = basis
    flags = _flags([prices[h] for h in hosts] if hosts else [entry])
    return Model(
        id=model_id,
        provider=provider,
        api_name=api_name,
        tier=rule.tier_for(input_price, output_price),
        input_per_mtok=input_price,
        output_per_mtok=output_price,
        cached_input_per_mtok=_positive_or_none(where, entry, "cache_read_input_token_cost"),
        cache_write_per_mtok=_positive_or_none(where, entry, "cache_creation_input_token_cost"),
        reasoning_output_per_mtok=None if reasoning_price == output_price else reasoning_price,
        context_window=_tokens(where, entry, "max_input_tokens"),
        max_output_tokens=_tokens(where, entry, "max_output_tokens"),
        quality=quality,
        json_schema=flags["json_schema"],
        tools=flags["tools"],
        streaming=flags["streaming"],
        reasoning=flags["reasoning"],
        aliases=tuple(aliases),
        display_name=display,
        source="bundled",
        notes=source.strip(),
        extra=extra,
    )


def _price_entry(
    where: str, provider: str, price: Any, prices: Mapping[str, Any], snapshot: str
) -> tuple[str, tuple[str, ...], Mapping[str, Any]]:
    """``(chosen key, host keys for openrouter rows, chosen entry)``."""
    if provider == "openrouter":
        if not isinstance(price, list) or not price or not all(isinstance(k, str) for k in price):
            raise BuildError(f"{where}: price: expected a list of host entry keys")
        hosts = tuple(price)
        for key in hosts:
            _checked_entry(where, key, prices, snapshot, expected_provider=None)
        # Median host by blended price; the upper middle when even, so budgets err high.
        ranked = sorted(
            hosts,
            key=lambda k: (
                3 * prices[k]["input_cost_per_token"] + prices[k]["output_cost_per_token"]
            ),
        )
        chosen = ranked[len(ranked) // 2]
        return chosen, hosts, prices[chosen]
    if not isinstance(price, str) or not price:
        raise BuildError(f"{where}: price: expected the price-table key of this model")
    entry = _checked_entry(where, price, prices, snapshot, expected_provider=PROVIDERS[provider])
    return price, (), entry


def _checked_entry(
    where: str,
    key: str,
    prices: Mapping[str, Any],
    snapshot: str,
    *,
    expected_provider: str | None,
) -> Mapping[str, Any]:
    entry = prices.get(key)
    if not isinstance(entry, Mapping):
        raise BuildError(f"{where}: price: {key!r} is not in the price table")
    if entry.get("mode") != "chat":
        raise BuildError(f"{where}: price: {key!r} is not a chat model (mode {entry.get('mode')})")
    if expected_provider and entry.get("litellm_provider") != expected_provider:
        raise BuildError(
            f"{where}: price: {key!r} is billed by {entry.get('litellm_provider')}, "
            f"not {expected_provider}"
        )
    retired = entry.get("deprecation_date")
    if isinstance(retired, str) and retired <= snapshot:
        raise BuildError(f"{where}: price: {key!r} was retired on {retired}")
    for field in ("input_cost_per_token", "output_cost_per_token"):
        value = entry.get(field)
        if not _is_number(value) or value <= 0:
            raise BuildError(f"{where}: price: {key!r} has no positive {field}")
    return entry


def _priors(where: str, row: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    quality = row.get("quality")
    if not isinstance(quality, Mapping) or not quality:
        raise BuildError(f"{where}: quality: needs at least one capability prior")
    priors: dict[str, float] = {}
    for cap in CAPABILITIES:  # stable order in the output
        if cap in quality:
            value = quality[cap]
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                raise BuildError(f"{where}: quality.{cap}: expected a number in [0, 1]")
            priors[cap] = float(value)
    unknown = sorted(set(quality) - set(CAPABILITIES))
    if unknown:
        raise BuildError(
            f"{where}: quality: unknown capability {unknown[0]!r} "
            f"(expected {', '.join(CAPABILITIES)})"
        )
    given = row.get("basis", {})
    if not isinstance(given, Mapping):
        raise BuildError(f"{where}: basis: expected a table")
    for cap, value in given.items():
        if cap not in priors:
            raise BuildError(f"{where}: basis.{cap}: no prior for that capability")
        if value not in BASES:
            raise BuildError(f"{where}: basis.{cap}: expected one of {', '.join(BASES)}")
    basis = {cap: str(given.get(cap, "extrapolated")) for cap in priors}
    return priors, basis


def _check_names(models: Sequence[Model]) -> None:
    ids: set[str] = set()
    for m in models:
        if m.id in ids:
            raise BuildError(f"model {m.id}: id: listed twice")
        ids.add(m.id)
    owner: dict[str, str] = {}
    for m in models:
        for alias in m.aliases:
            if alias in ids:
                raise BuildError(f"model {m.id}: aliases: {alias!r} is another model's id")
            if alias in owner and owner[alias] != m.id:
                raise BuildError(f"model {m.id}: aliases: {alias!r} is also {owner[alias]}'s")
            owner[alias] = m.id


# -- fields -------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _required_mtok(where: str, entry: Mapping[str, Any], field: str) -> float:
    value = _mtok(where, entry, field)
    if value is None:
        raise BuildError(f"{where}: price: {field} is missing")
    return value


def _mtok(where: str, entry: Mapping[str, Any], field: str) -> float | None:
    value = entry.get(field)
    if value is None:
        return None
    if not _is_number(value) or value < 0:
        raise BuildError(f"{where}: price: {field} must be a number >= 0")
    # USD per token -> USD per million tokens, rounded so 1.25e-06 becomes 1.25, not 1.2499999.
    return round(float(value) * 1_000_000, 6)


def _positive_or_none(where: str, entry: Mapping[str, Any], field: str) -> float | None:
    value = _mtok(where, entry, field)
    # 0 means "not offered" in the price table (e.g. DeepSeek's cache writes): bill as input.
    return value if value else None


def _tokens(where: str, entry: Mapping[str, Any], field: str) -> int:
    value = entry.get(field)
    if not _is_number(value) or value <= 0 or int(value) != value:
        raise BuildError(f"{where}: price: {field} must be a positive integer")
    return int(value)


def _long_context(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    thresholds = sorted(int(m.group(1)) for k in entry if (m := _LONG_CONTEXT.match(k)))
    if not thresholds:
        return {}
    k = thresholds[0]
    out: dict[str, Any] = {"above_input_tokens": k * 1000}
    for name, field in (
        ("input_per_mtok", f"input_cost_per_token_above_{k}k_tokens"),
        ("output_per_mtok", f"output_cost_per_token_above_{k}k_tokens"),
        ("cached_input_per_mtok", f"cache_read_input_token_cost_above_{k}k_tokens"),
    ):
        value = _mtok(where, entry, field)
        if value is not None:
            out[name] = value
    return out


def _flags(entries: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    def any_true(field: str) -> bool:
        return any(e.get(field) is True for e in entries)

    return {
        "json_schema": any_true("supports_response_schema"),
        "tools": any_true("supports_function_calling"),
        "reasoning": any_true("supports_reasoning"),
        "streaming": any(e.get("supports_native_streaming") is not False for e in entries),
    }


# -- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="LiteLLM price JSON")
    parser.add_argument("--curation", type=Path, default=DEFAULT_CURATION, help="curation TOML")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="models.json to write")
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if --out differs"
    )
    args = parser.parse_args(argv)
    try:
        prices = json.loads(args.prices.read_text(encoding="utf-8"))
        curation = tomllib.loads(args.curation.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file (see --help for the flags)", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        print(f"error: cannot parse inputs: {exc}", file=sys.stderr)
        return 2
    try:
        text = render(build(prices, curation))
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    doc = json.loads(text)
    summary = _summary(doc["models"])
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(
                f"error: {args.out.name} is out of date with its inputs; "
                "run python scripts/build_catalog.py",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out.name} is up to date ({summary})", file=sys.stderr)
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out.name}: {summary}", file=sys.stderr)
    return 0


def _summary(rows: Sequence[Mapping[str, Any]]) -> str:
    by_provider: dict[str, int] = {}
    by_tier: dict[str, int] = {}
    for r in rows:
        by_provider[r["provider"]] = by_provider.get(r["provider"], 0) + 1
        by_tier[r["tier"]] = by_tier.get(r["tier"], 0) + 1
    providers = ", ".join(f"{p} {n}" for p, n in by_provider.items())
    tiers = ", ".join(f"{t} {by_tier[t]}" for t in TIER_ORDER if t in by_tier)
    return f"{len(rows)} models ({providers}; {tiers})"


if __name__ == "__main__":
    raise SystemExit(main())
