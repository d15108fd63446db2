"""The router on small synthetic catalogs: strategies, constraints, budget, rules, explanations."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tokenplan.catalog import Catalog
from tokenplan.errors import ConfigError, NoCandidateError, UsageError
from tokenplan.money import format_usd
from tokenplan.routing.classifier import classify
from tokenplan.routing.router import Router
from tokenplan.settings import Settings
from tokenplan.testing.catalogs import model_row
from tokenplan.tokens import estimate_messages_tokens, estimate_request_tokens

SIMPLE = "What is the capital of France?"
MODERATE_CODE = "Write a Python function that returns the n-th Fibonacci number using memoization."
COMPLEX_CODE = (
    "Design and implement a thread-safe LRU cache in Rust with O(1) get and put, supporting "
    "per-entry TTL expiry and an eviction callback. Explain the concurrency trade-offs and "
    "write unit tests covering edge cases."
)


def q(code: float, reasoning: float, math_: float, general: float) -> dict[str, float]:
    return {"code": code, "reasoning": reasoning, "math": math_, "general": general}


ROWS = [
    model_row("acme/tiny", tier="budget", input_per_mtok=0.05, output_per_mtok=0.2,
              quality=q(0.55, 0.55, 0.55, 0.60), context_window=16_000, json_schema=False),
    model_row("acme/small", tier="budget", input_per_mtok=0.15, output_per_mtok=0.6,
              quality=q(0.66, 0.64, 0.66, 0.68)),
    model_row("acme/mid", tier="mid", input_per_mtok=0.5, output_per_mtok=2.0,
              quality=q(0.78, 0.78, 0.80, 0.77)),
    model_row("coders/coder", tier="mid", input_per_mtok=0.8, output_per_mtok=3.0,
              quality=q(0.93, 0.70, 0.70, 0.70), tools=False),
    model_row("big/flagship", tier="flagship", input_per_mtok=3.0, output_per_mtok=15.0,
              quality=q(0.92, 0.92, 0.93, 0.90), context_window=1_000_000,
              max_output_tokens=64_000),
    model_row("big/twin", tier="flagship", input_per_mtok=2.0, output_per_mtok=10.0,
              quality=q(0.90, 0.92, 0.90, 0.90)),
]  # fmt: skip


def make(rows: list[dict[str, Any]] | None = None, **settings: Any) -> Router:
    catalog = Catalog.from_rows(rows if rows is not None else ROWS)
    return Router(catalog, Settings().replace(**settings) if settings else Settings())


def cost(router: Router, model_id: str, prompt: str, max_tokens: int = 1024) -> float:
    tokens = estimate_messages_tokens((prompt,))
    return router.catalog.get(model_id).worst_case_cost(tokens, max_tokens)


# -- strategies ---------------------------------------------------------------------------------


def test_cheapest_takes_the_cheapest_capable_model() -> None:
    r = make()
    assert r.route(SIMPLE, strategy="cheapest").model.id == "acme/tiny"
    # moderate code: floor 0.8 x 0.93 = 0.744 -> acme/mid is the cheapest above it
    d = r.route(MODERATE_CODE, strategy="cheapest")
    assert (d.capability, d.complexity) == ("code", "moderate")
    assert d.model.id == "acme/mid"
    assert d.quality_floor == pytest.approx(0.8 * 0.93)
    # complex code: floor 0.9 x 0.93 = 0.837 -> the specialist coder beats the flagships on price
    assert r.route(COMPLEX_CODE, strategy="cheapest").model.id == "coders/coder"


def test_best_quality_takes_the_highest_prior_and_ties_go_to_the_cheaper() -> None:
    r = make()
    assert r.route(COMPLEX_CODE, strategy="best_quality").model.id == "coders/coder"
    # big/flagship and big/twin both have reasoning 0.92: the cheaper twin wins the tie.
    d = r.route("Explain the logic: why does this syllogism fail?", strategy="best_quality",
                capability="reasoning")  # fmt: skip
    assert d.model.id == "big/twin"


def test_balanced_trades_quality_for_price_by_complexity() -> None:
    r = make()
    simple = r.route(SIMPLE, strategy="balanced")
    assert simple.model.tier == "budget"
    complex_ = r.route(COMPLEX_CODE, strategy="balanced")
    assert complex_.model.id == "coders/coder"
    assert "0.04" in complex_.reason
    assert "0.25" in simple.reason


@pytest.mark.parametrize(
    ("alias", "strategy"),
    [("auto", "balanced"), ("auto:cost", "cheapest"), ("auto:balance", "balanced"),
     ("auto:quality", "best_quality"), ("AUTO:QUALITY", "best_quality")],
)  # fmt: skip
def test_aliases(alias: str, strategy: str) -> None:
    d = make().route(MODERATE_CODE, strategy=alias)
    assert d.strategy == strategy
    assert d.requested == alias


def test_settings_strategy_is_the_default() -> None:
    assert make(strategy="cheapest").route(SIMPLE).strategy == "cheapest"


def test_unknown_strategy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown strategy"):
        make().route(SIMPLE, strategy="fastest")


def test_latency_alias_without_data_says_it_used_balanced() -> None:
    d = make().route(SIMPLE, strategy="auto:latency")
    assert d.strategy == "balanced"
    assert "no latency data" in d.reason
    assert any("no latency data" in n for n in d.notes)


def test_latency_alias_prefers_fast_models_when_data_exists() -> None:
    rows = [
        model_row("a/slow", input_per_mtok=0.2, output_per_mtok=0.8, quality=q(.7, .7, .7, .7)),
        model_row("b/fast", input_per_mtok=0.2, output_per_mtok=0.8, quality=q(.7, .7, .7, .69)),
    ]  # fmt: skip
    catalog = Catalog.from_rows(rows)
    plain = Router(catalog).route(SIMPLE, strategy="auto:latency")
    assert plain.model.id == "a/slow"
    fast = Router(catalog, latency_ms={"a/slow": 2000.0, "b/fast": 300.0})
    d = fast.route(SIMPLE, strategy="auto:latency")
    assert d.model.id == "b/fast"
    assert not any("no latency data" in n for n in d.notes)


# -- budget -------------------------------------------------------------------------------------


def test_budget_exactly_at_the_cost_fits() -> None:
    r = make()
    exact = cost(r, "acme/tiny", SIMPLE)
    d = r.route(SIMPLE, strategy="cheapest", budget_usd=exact)
    assert d.model.id == "acme/tiny"
    assert d.estimated_cost_usd == pytest.approx(exact)
    assert d.within_budget


def test_budget_just_below_the_cheapest_names_it() -> None:
    r = make()
    exact = cost(r, "acme/tiny", SIMPLE)
    with pytest.raises(NoCandidateError) as info:
        r.route(SIMPLE, budget_usd=exact * 0.999)
    msg = str(info.value)
    assert msg.startswith(f"no model fits {format_usd(exact * 0.999)}: cheapest is acme/tiny at $")
    assert f"acme/tiny at {format_usd(exact)} for" in msg
    assert msg.endswith("for this prompt")
    assert info.value.reasons["big/flagship"].startswith("over budget")
    assert info.value.exit_code == 2


def test_non_strict_budget_uses_the_cheapest_and_says_so() -> None:
    r = make()
    d = r.route(COMPLEX_CODE, budget_usd=1e-7, strict=False)
    assert d.model.id == "acme/tiny"
    assert not d.within_budget
    assert "budget not strict" in d.reason
    assert d.ladder[0].model.id == "acme/tiny"
    assert len(d.ladder) == len(ROWS)  # no quality floor when the budget is already broken
    costs = [c.estimated_cost_usd for c in d.ladder]
    assert costs == sorted(costs)


def test_budget_filters_dear_models_and_the_floor_relaxes() -> None:
    r = make()
    cheap_enough = cost(r, "acme/small", COMPLEX_CODE) * 1.01
    d = r.route(COMPLEX_CODE, strategy="balanced", budget_usd=cheap_enough)
    assert d.model.id in {"acme/tiny", "acme/small"}
    assert d.quality_floor == 0.0
    assert any("quality floor" in n for n in d.notes)
    assert d.dropped["big/flagship"].startswith("over budget")


@pytest.mark.parametrize("bad", [0, -1, -0.01, float("nan"), float("inf"), "abc", True, [1]])
def test_bad_budgets_are_usage_errors(bad: Any) -> None:
    with pytest.raises(UsageError):
        make().route(SIMPLE, budget_usd=bad)


def test_budget_from_settings() -> None:
    with pytest.raises(NoCandidateError):
        make(route_budget_usd=1e-9).route(SIMPLE)


def test_numeric_string_budget_is_accepted() -> None:
    assert make().route(SIMPLE, budget_usd="0.5").budget_usd == 0.5  # type: ignore[arg-type]


# -- context, output, features, availability -------------------------------------------------------


def test_huge_prompt_drops_small_context_models() -> None:
    r = make()
    prompt = "word " * 120_000  # ~ 120k+ tokens: only the 1M-context flagship can take it
    d = r.route(prompt, strategy="cheapest")
    assert d.model.id == "big/flagship"
    assert d.dropped["acme/tiny"].startswith("context too small")


def test_prompt_larger_than_every_context_is_reported() -> None:
    r = make()
    with pytest.raises(NoCandidateError, match="no model can take this") as info:
        r.route("word " * 1_200_000)
    assert all(v.startswith("context too small") for v in info.value.reasons.values())


def test_max_tokens_beyond_max_output_drops_the_model() -> None:
    d = make().route(SIMPLE, strategy="cheapest", max_tokens=40_000)
    assert d.model.id == "big/flagship"
    assert d.max_tokens == 40_000
    assert "max output" in d.dropped["acme/mid"]


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True])
def test_bad_max_tokens(bad: Any) -> None:
    with pytest.raises(UsageError):
        make().route(SIMPLE, max_tokens=bad)


def test_required_features() -> None:
    r = make()
    d = r.route(SIMPLE, strategy="cheapest", require=["json_schema"])
    assert d.model.id == "acme/small"
    assert d.dropped["acme/tiny"] == "lacks json_schema"
    d = r.route(COMPLEX_CODE, strategy="best_quality", require=["tools"])
    assert d.model.id != "coders/coder"
    with pytest.raises(UsageError, match="unknown feature"):
        r.route(SIMPLE, require=["telepathy"])


def test_required_features_from_settings() -> None:
    d = make(require_features=("json_schema",)).route(SIMPLE, strategy="cheapest")
    assert d.model.id == "acme/small"


def test_unavailable_endpoints_are_dropped() -> None:
    catalog = Catalog.from_rows(ROWS)
    r = Router(catalog, available=lambda m: m.provider != "acme")
    d = r.route(SIMPLE, strategy="cheapest")
    assert d.model.provider != "acme"
    assert d.dropped["acme/tiny"] == "endpoint not configured"


def test_chat_request_input() -> None:
    from tokenplan.types import ChatRequest, JsonSchemaFormat

    req = ChatRequest.from_prompt(
        SIMPLE,
        model="auto:cost",
        system="Answer briefly.",
        max_tokens=64,
        response_format=JsonSchemaFormat(schema={"type": "object"}),
    )
    d = make().route(req)
    assert d.strategy == "cheapest"
    assert d.max_tokens == 64
    assert d.model.json_schema  # implied by the response format
    # The router ranks on what metering reserves: the messages plus the response schema.
    assert d.estimated_input_tokens == estimate_request_tokens(req)
    assert d.estimated_input_tokens > estimate_messages_tokens(m.content for m in req.messages)


# -- include / exclude / rules -------------------------------------------------------------------


def test_include_and_exclude_models_and_providers() -> None:
    d = make(exclude_models=("acme/tiny",)).route(SIMPLE, strategy="cheapest")
    assert d.model.id == "acme/small"
    assert d.dropped["acme/tiny"] == "excluded by routing.exclude_models"
    d = make(exclude_providers=("acme",)).route(SIMPLE, strategy="cheapest")
    assert d.model.provider != "acme"
    assert "excluded by routing.exclude_providers" in d.dropped["acme/small"]
    d = make(include_models=("big/twin", "acme/mid")).route(SIMPLE, strategy="cheapest")
    assert d.model.id == "acme/mid"
    assert d.dropped["acme/tiny"] == "not in routing.include_models"
    d = make(include_providers=("big",)).route(SIMPLE, strategy="cheapest")
    assert d.model.id == "big/twin"


@pytest.mark.parametrize(
    "settings",
    [
        {"include_models": ("acme/nope",)},
        {"exclude_models": ("acme/nope",)},
        {"include_providers": ("nobody",)},
        {"rules": {"code": "acme/nope"}},
        {"rules": {"poetry": "acme/mid"}},
    ],
)
def test_config_naming_unknown_things_is_a_config_error(settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        make(**settings)


def test_rule_wins_when_it_fits() -> None:
    r = make(rules={"code": "acme/small"})
    d = r.route(COMPLEX_CODE, strategy="best_quality")
    assert d.model.id == "acme/small"
    assert d.reason.startswith("rule code -> acme/small")
    assert d.ladder[0].model.id == "acme/small"
    # other capabilities are untouched
    assert r.route(SIMPLE, strategy="best_quality").model.id == "big/twin"  # tie -> cheaper


def test_rule_that_does_not_fit_is_reported_and_the_strategy_decides() -> None:
    r = make(rules={"code": "big/flagship"})
    budget = cost(r, "coders/coder", COMPLEX_CODE) * 1.01
    d = r.route(COMPLEX_CODE, strategy="cheapest", budget_usd=budget)
    assert d.model.id == "coders/coder"
    assert "rule code -> big/flagship skipped: over budget" in d.reason


# -- capability handling ------------------------------------------------------------------------


def test_forced_capability() -> None:
    d = make().route(SIMPLE, capability="code", strategy="best_quality")
    assert d.capability == "code"
    assert d.capability_forced
    assert d.model.id == "coders/coder"
    with pytest.raises(UsageError, match="unknown capability"):
        make().route(SIMPLE, capability="poetry")


def test_capability_no_model_offers_falls_back_to_general() -> None:
    rows = [model_row("x/only-general", quality={"general": 0.7})]
    d = make(rows).route(MODERATE_CODE)
    assert d.capability == "general"
    assert any("routed as general" in n for n in d.notes)


def test_given_classification_skips_the_classifier() -> None:
    cls = classify(COMPLEX_CODE)
    d = make().route("anything at all", classification=cls, strategy="cheapest")
    assert (d.capability, d.complexity) == ("code", "complex")
    assert d.classification is cls


def test_empty_prompt_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="empty prompt"):
        make().route("   \n")


# -- ladder and explanations ----------------------------------------------------------------------


def test_ladder_and_dropped_partition_the_catalog() -> None:
    r = make()
    d = r.route(MODERATE_CODE, strategy="balanced", budget_usd=0.005)
    ladder = [c.model.id for c in d.ladder]
    assert ladder[0] == d.model.id
    assert set(ladder).isdisjoint(d.dropped)
    assert set(ladder) | set(d.dropped) == {m.id for m in r.catalog}
    scores = [c.score for c in d.ladder]
    assert scores == sorted(scores, reverse=True)
    for c in d.ladder:
        assert c.estimated_cost_usd <= 0.005
        assert c.quality >= d.quality_floor
    assert any(v.startswith("below the quality floor") for v in d.dropped.values())


def test_cheapest_ladder_climbs_in_price() -> None:
    d = make().route(SIMPLE, strategy="cheapest")
    costs = [c.estimated_cost_usd for c in d.ladder]
    assert costs == sorted(costs)
    assert len(d.ladder) == len(ROWS)


def test_to_dict_shape() -> None:
    d = make().route(MODERATE_CODE, strategy="auto")
    data = d.to_dict()
    for key in (
        "model", "provider", "tier", "strategy", "requested_strategy", "capability",
        "complexity", "quality", "quality_floor", "estimated_input_tokens", "token_estimator",
        "max_tokens", "estimated_cost_usd", "budget_usd", "within_budget", "reason", "notes",
        "ladder",
    ):  # fmt: skip
        assert key in data, key
    assert "dropped" not in data
    assert set(data["ladder"][0]) == {
        "model", "provider", "tier", "quality", "estimated_cost_usd", "score"
    }  # fmt: skip
    explained = d.to_dict(explain=True)
    assert {"dropped", "classification"} <= set(explained)
    assert all(set(x) == {"model", "reason"} for x in explained["dropped"])


def test_decision_is_explained_lazily() -> None:
    d = make().route(SIMPLE)
    assert d._cache is None  # nothing computed for a plain decision
    _ = d.ladder
    assert d._cache is not None
    assert math.isfinite(d.estimated_cost_usd)
