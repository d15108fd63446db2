"""The committed models.json: what users and the router rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from tokenplan.catalog import CAPABILITIES, TIER_ORDER, TIERS, Catalog, Model
from tokenplan.catalog.catalog import BUNDLED_PATH
from tokenplan.catalog.loading import bundled_snapshot

PROVIDERS = ("openai", "anthropic", "gemini", "deepseek", "mistral", "xai", "openrouter")


@pytest.fixture(scope="module")
def models() -> tuple[Model, ...]:
    return bundled_snapshot().models


def test_size_and_provider_coverage(models: tuple[Model, ...]) -> None:
    assert len(models) >= 40
    counts = Counter(m.provider for m in models)
    assert set(counts) == set(PROVIDERS)
    assert counts["openrouter"] >= 8


def test_ids_are_unique_and_well_formed(models: tuple[Model, ...]) -> None:
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids))
    for m in models:
        assert m.id == f"{m.provider}/{m.api_name}"
        if m.provider == "openrouter":
            assert m.api_name.count("/") == 1, m.id


def test_aliases_never_shadow_ids_or_each_other(models: tuple[Model, ...]) -> None:
    ids = {m.id for m in models}
    owners: dict[str, str] = {}
    for m in models:
        for alias in m.aliases:
            assert alias not in ids, (m.id, alias)
            assert owners.setdefault(alias, m.id) == m.id, (m.id, alias)
    cat = Catalog.bundled()
    for alias, owner in owners.items():
        assert cat.get(alias).id == owner


def test_priors_prices_limits_and_tiers_are_valid(models: tuple[Model, ...]) -> None:
    for m in models:
        assert m.tier in set(TIERS) - {"local"}, m.id
        assert m.capabilities, m.id
        assert set(m.quality) <= set(CAPABILITIES), m.id
        assert all(0.0 <= p <= 1.0 for p in m.quality.values()), m.id
        assert min(m.input_per_mtok, m.output_per_mtok) > 0, m.id
        for opt in (m.cached_input_per_mtok, m.cache_write_per_mtok, m.reasoning_output_per_mtok):
            assert opt is None or opt > 0, m.id
        assert min(m.context_window, m.max_output_tokens) > 0, m.id
        assert m.notes, m.id  # every row says where its priors come from
        assert set(m.extra["prior_basis"]) == set(m.quality), m.id


def test_tiers_follow_the_bundled_price_rule(models: tuple[Model, ...]) -> None:
    rule = bundled_snapshot().tier_rule
    for m in models:
        assert m.tier == rule.tier_for(m.input_per_mtok, m.output_per_mtok), m.id


def test_baseline_model_is_present() -> None:
    gpt5 = Catalog.bundled().get("openai/gpt-5")
    assert gpt5.tier == "flagship"
    assert Catalog.bundled().get("gpt-5") is gpt5


def test_every_tier_serves_every_capability(models: tuple[Model, ...]) -> None:
    for tier in TIER_ORDER:
        for cap in CAPABILITIES:
            assert any(m.tier == tier and m.can(cap) for m in models), (tier, cap)


def test_vendors_selling_several_classes_span_two_tiers(models: tuple[Model, ...]) -> None:
    for provider in PROVIDERS:
        tiers = {m.tier for m in models if m.provider == provider}
        assert len(tiers) >= 2, (provider, tiers)


def test_cheaper_tiers_cost_less_on_average(models: tuple[Model, ...]) -> None:
    rule = bundled_snapshot().tier_rule

    def mean_price(tier: str) -> float:
        prices = [
            rule.blended_usd(m.input_per_mtok, m.output_per_mtok) for m in models if m.tier == tier
        ]
        return sum(prices) / len(prices)

    assert mean_price("budget") < mean_price("mid") < mean_price("flagship")


def test_file_round_trips_through_model(models: tuple[Model, ...]) -> None:
    doc = json.loads(BUNDLED_PATH.read_text(encoding="utf-8"))
    assert [m.to_dict() for m in models] == doc["models"]


def test_loading_stays_on_the_standard_library() -> None:
    # load_catalog runs before every command: heavy libraries would cost every start-up.
    code = (
        "import sys\n"
        "from tokenplan.catalog import load_catalog\n"
        "load_catalog()\n"
        "print(','.join(m for m in ('pydantic', 'httpx', 'rich', 'anyio', 'networkx', 'typer')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
