from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _planning_factories import catalog, ladder, make_plan, model, step
from tokenplan.catalog import Catalog, Model
from tokenplan.errors import (
    BudgetError,
    ConfigError,
    InvalidPlanError,
    NoCandidateError,
    UnknownModelError,
    UsageError,
)
from tokenplan.planning.allocator import Allocation, allocate, allocate_for_settings
from tokenplan.planning.schema import Plan
from tokenplan.settings import Settings

CAPS = ("code", "reasoning", "math", "general")


# -- independent brute force ------------------------------------------------------------------


def brute_force(
    plan: Plan, cat: Catalog, *, cap: float, weight: float = 0.25, factor: float = 2.0
) -> tuple[float, float]:
    """Best (objective, cost) over every assignment of capable models, recomputed from scratch."""
    crit = plan.criticality()
    options: list[list[tuple[float, float]]] = []
    for s in plan.steps:
        w = 1 + weight * crit[s.id]
        opts = []
        for m in cat:
            if m.prior(s.capability) <= 0:
                continue
            out = math.ceil(s.est_output_tokens * factor) if m.reasoning else s.est_output_tokens
            cost = (s.est_input_tokens * m.input_per_mtok + out * m.output_per_mtok) / 1e6
            opts.append((cost, w * math.log(m.prior(s.capability))))
        options.append(opts)
    best: tuple[float, float] | None = None
    for combo in itertools.product(*options):
        cost = math.fsum(c for c, _ in combo)
        value = math.fsum(v for _, v in combo)
        if cost <= cap + 1e-12 and (
            best is None or value > best[0] + 1e-12 or (value >= best[0] - 1e-12 and cost < best[1])
        ):
            best = (value, cost)
    assert best is not None
    return best


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    n = draw(st.integers(min_value=1, max_value=5))
    models = []
    for i in range(n):
        quality = {}
        for cap in CAPS:
            # The first model covers every capability, so every step has a candidate.
            if i == 0 or draw(st.booleans()):
                quality[cap] = draw(st.sampled_from([0.3, 0.5, 0.6, 0.62, 0.7, 0.8, 0.9, 1.0]))
        models.append(
            model(
                f"p{i}/m{i}",
                inp=draw(st.sampled_from([0.0, 0.1, 0.3, 1.0, 2.5, 5.0])),
                out=draw(st.sampled_from([0.0, 0.4, 1.0, 2.0, 10.0, 15.0])),
                quality=quality,
                reasoning=draw(st.booleans()),
            )
        )
    return catalog(*models)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    n = draw(st.integers(min_value=1, max_value=4))
    steps = []
    for i in range(n):
        deps = [f"s{j}" for j in range(i) if draw(st.booleans())] if i else []
        if i and not deps:
            deps = [f"s{i - 1}"]
        steps.append(
            step(
                f"s{i}",
                deps,
                capability=draw(st.sampled_from(CAPS)),
                tin=draw(st.integers(min_value=1, max_value=5000)),
                tout=draw(st.integers(min_value=1, max_value=3000)),
            )
        )
    return make_plan(*steps)


def span(plan: Plan, cat: Catalog, **kw: Any) -> tuple[Allocation, float]:
    """The cheapest allocation at an ample budget, and the cost of the best one."""
    cheap = allocate(plan, cat, budget_usd=1e6, strategy="cheapest", **kw)
    top = allocate(plan, cat, budget_usd=1e6, strategy="best_quality", **kw)
    return cheap, top.total_est_cost_usd


@settings(max_examples=150, deadline=None)
@given(plans(), catalogs(), st.floats(min_value=0.0, max_value=1.5), st.sampled_from([0, 0.1]))
def test_best_quality_equals_brute_force(
    plan: Plan, cat: Catalog, frac: float, planner_cost: float
) -> None:
    cheap, top = span(plan, cat, quality_floor=0.0)
    steps_cap = cheap.total_est_cost_usd + frac * (top - cheap.total_est_cost_usd)
    reserve = 0.2
    budget = (steps_cap + planner_cost) / (1 - reserve)
    if budget <= 0:
        budget = 1e-9
    try:
        alloc = allocate(
            plan,
            cat,
            budget_usd=budget,
            planner_cost_usd=planner_cost,
            reserve_fraction=reserve,
            strategy="best_quality",
            quality_floor=0.0,
        )
    except BudgetError:
        # Only possible when float rounding put the cap a hair under the cheapest cost.
        assert math.isclose(steps_cap, cheap.total_est_cost_usd, rel_tol=1e-9, abs_tol=1e-15)
        return
    value, cost = brute_force(plan, cat, cap=alloc.steps_cap_usd)
    assert alloc.exact
    assert alloc.objective == pytest.approx(value, abs=1e-9)
    assert alloc.total_est_cost_usd <= alloc.steps_cap_usd + 1e-12
    assert alloc.total_est_cost_usd <= cost + 1e-9
    assert alloc.steps_cap_usd == pytest.approx(budget - planner_cost - reserve * budget)


@settings(max_examples=100, deadline=None)
@given(
    plans(),
    catalogs(),
    st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=2, max_size=4),
    st.floats(min_value=0.0, max_value=0.5),
)
def test_strategies_are_ordered_fit_the_cap_and_are_monotone_in_budget(
    plan: Plan, cat: Catalog, fracs: list[float], weight: float
) -> None:
    cheap, top = span(plan, cat)
    previous: dict[str, Allocation] = {}
    for frac in sorted(fracs):
        budget = (cheap.total_est_cost_usd + frac * (top - cheap.total_est_cost_usd)) / 0.8
        budget = max(budget, cheap.minimum_budget_usd, 1e-9)
        got = {
            s: allocate(plan, cat, budget_usd=budget, strategy=s, critical_path_weight=weight)
            for s in ("cheapest", "balanced", "best_quality")
        }
        for a in got.values():
            assert a.total_est_cost_usd <= a.steps_cap_usd + 1e-12  # never over the budget
            assert a.steps_cap_usd <= budget
        c, b, q = got["cheapest"], got["balanced"], got["best_quality"]
        eps = 1e-9
        assert c.total_est_cost_usd <= b.total_est_cost_usd + eps
        assert b.total_est_cost_usd <= q.total_est_cost_usd + eps
        assert c.objective <= b.objective + eps <= q.objective + 2 * eps
        # Every balanced / best pick is at least as good as the cheapest for its step.
        assert c.expected_success <= b.expected_success + eps
        assert c.expected_success <= q.expected_success + eps
        for name, a in got.items():
            if name in previous:
                assert a.objective >= previous[name].objective - eps
                assert a.total_est_cost_usd >= previous[name].total_est_cost_usd - eps
        previous = got


@settings(max_examples=60, deadline=None)
@given(plans(), catalogs(), st.sampled_from([0.0, 0.01, 0.2]), st.sampled_from([0.0, 0.2, 0.5]))
def test_infeasible_budget_names_a_minimum_that_fits(
    plan: Plan, cat: Catalog, planner_cost: float, reserve: float
) -> None:
    cheap = allocate(plan, cat, budget_usd=1e6, strategy="cheapest")
    need = cheap.total_est_cost_usd
    exact_minimum = (need + planner_cost) / (1 - reserve)
    if exact_minimum <= 0:
        return  # free models and no planner cost: every budget fits
    with pytest.raises(BudgetError) as info:
        allocate(
            plan,
            cat,
            budget_usd=exact_minimum * 0.98,
            planner_cost_usd=planner_cost,
            reserve_fraction=reserve,
        )
    err = info.value
    assert err.minimum_usd is not None
    assert exact_minimum <= err.minimum_usd <= exact_minimum * 1.1 + 0.01
    assert err.spent_usd == planner_cost
    assert err.requested_usd == pytest.approx(need)
    for strategy in ("cheapest", "balanced", "best_quality"):
        fitted = allocate(
            plan,
            cat,
            budget_usd=err.minimum_usd,
            planner_cost_usd=planner_cost,
            reserve_fraction=reserve,
            strategy=strategy,
        )
        assert fitted.total_est_cost_usd <= fitted.steps_cap_usd + 1e-12


# -- examples ---------------------------------------------------------------------------------


def three_steps() -> Plan:
    return make_plan(
        step("research", capability="reasoning", tin=2000, tout=1000),
        step("code", ["research"], capability="code", tin=3000, tout=2000),
        step("write", ["code"], tin=3000, tout=1000),
    )


def test_infeasible_error_message_and_planner_cost_counted() -> None:
    plan, cat = three_steps(), ladder()
    need = allocate(plan, cat, budget_usd=10, strategy="cheapest").total_est_cost_usd
    budget = need / 0.8 * 1.01
    allocate(plan, cat, budget_usd=budget)  # fits without a planner...
    with pytest.raises(BudgetError) as info:  # ... but not after the planner spent its share
        allocate(plan, cat, budget_usd=budget, planner_cost_usd=need * 0.5)
    err = info.value
    assert err.minimum_usd == pytest.approx(need * 1.5 / 0.8, rel=0.1)
    assert err.minimum_usd >= need * 1.5 / 0.8
    text = str(err)
    assert "cannot cover this plan" in text
    assert "20% reserve" in text
    assert f"the minimum budget is ${err.minimum_usd}" in text or "minimum budget is $" in text
    assert err.exit_code == 3


def test_allocation_totals_and_reasons() -> None:
    plan, cat = three_steps(), ladder()
    a = allocate(plan, cat, budget_usd=0.5, planner_cost_usd=0.01, strategy="best_quality")
    assert a.reserve_usd == pytest.approx(0.1)
    assert a.steps_cap_usd == pytest.approx(0.39)
    assert a.total_est_cost_usd == pytest.approx(sum(s.est_cost_usd for s in a.steps))
    assert a.left_usd == pytest.approx(a.steps_cap_usd - a.total_est_cost_usd)
    assert a.unspent_usd == pytest.approx(0.5 - 0.01 - a.total_est_cost_usd)
    assert a.assignment == {"research": "top/large", "code": "top/large", "write": "top/large"}
    assert a.expected_success == pytest.approx(0.9**3)
    s = a.for_step("code")
    assert s.est_cost_usd == pytest.approx((3000 * 2.5 + 2000 * 10.0) / 1e6)
    assert s.reason.startswith("best rated for code: prior 0.60 -> 0.90 for +$")
    assert [alt.model for alt in s.alternatives] == ["cheap/small", "mid/medium", "top/large"]
    assert s.critical
    cheapest = allocate(plan, cat, budget_usd=0.5, strategy="cheapest")
    assert cheapest.for_step("code").reason == "cheapest capable (prior 0.60)"
    assert Allocation.model_validate(a.model_dump(mode="json")) == a


def test_balanced_does_not_spend_the_budget_just_because_it_is_there() -> None:
    plan = three_steps()
    # A steep top tier: +0.02 of prior for 20x the price.
    cat = catalog(
        model("cheap/small", inp=0.1, out=0.4, quality=dict.fromkeys(CAPS, 0.6)),
        model("mid/medium", inp=0.5, out=2.0, quality=dict.fromkeys(CAPS, 0.85)),
        model("top/large", inp=10.0, out=40.0, quality=dict.fromkeys(CAPS, 0.87)),
    )
    balanced = allocate(plan, cat, budget_usd=100.0, strategy="balanced")
    best = allocate(plan, cat, budget_usd=100.0, strategy="best_quality")
    assert set(balanced.assignment.values()) == {"mid/medium"}
    assert set(best.assignment.values()) == {"top/large"}
    assert balanced.total_est_cost_usd < best.total_est_cost_usd / 10
    assert "not worth" not in balanced.for_step("code").reason
    # A tight budget leaves balanced at the cheapest models, explaining why.
    need = allocate(plan, cat, budget_usd=1, strategy="cheapest").total_est_cost_usd
    tight = allocate(plan, cat, budget_usd=need / 0.8 * 1.05, strategy="balanced")
    assert set(tight.assignment.values()) == {"cheap/small"}
    assert "not worth" in tight.for_step("code").reason or "does not fit" in (
        tight.for_step("code").reason
    )


def test_critical_path_steps_are_upgraded_first() -> None:
    # Only input is priced, so the two middle steps cost the same on each model; "slow" has a
    # long output (latency), so it is on the critical path and "fast" is not.
    cat = catalog(
        model("cheap/small", inp=1.0, out=0.0, quality=dict.fromkeys(CAPS, 0.6)),
        model("top/large", inp=3.0, out=0.0, quality=dict.fromkeys(CAPS, 0.9)),
    )
    plan = make_plan(
        step("start", tin=1000, tout=10),
        step("fast", ["start"], tin=1000, tout=10),
        step("slow", ["start"], tin=1000, tout=4000),
        step("end", ["fast", "slow"], tin=1000, tout=10),
    )
    base = 4 * 1000 * 1.0 / 1e6
    one_upgrade = base + 1000 * 2.0 / 1e6
    for strategy in ("best_quality", "balanced"):
        a = allocate(
            plan,
            cat,
            budget_usd=one_upgrade / 0.8 * 1.0001,
            strategy=strategy,
            critical_path_weight=0.25,
        )
        upgraded = [s.step_id for s in a.steps if s.model == "top/large"]
        assert len(upgraded) == 1
        assert upgraded[0] in {"start", "slow", "end"}
        assert a.for_step("fast").model == "cheap/small"
        assert not a.for_step("fast").critical


def test_pinned_models_are_honoured() -> None:
    plan = three_steps().with_pins({"code": "top/large", "write": "cheap/small"})
    a = allocate(plan, ladder(), budget_usd=0.5, strategy="cheapest")
    assert a.for_step("code").model == "top/large"
    assert a.for_step("code").pinned
    assert a.for_step("code").reason == "pinned in the plan"
    assert a.for_step("research").model == "cheap/small"
    assert not a.for_step("research").pinned
    # A pinned model outside the capability is allowed; its weakest prior stands in.
    cat = catalog(
        model("cheap/small", quality=dict.fromkeys(CAPS, 0.6)),
        model("math/only", quality={"math": 0.95, "reasoning": 0.4}),
    )
    pinned = three_steps().with_pins({"write": "math/only"})
    a = allocate(pinned, cat, budget_usd=1.0)
    assert a.for_step("write").model == "math/only"
    assert a.for_step("write").prior == pytest.approx(0.4)
    assert "not rated for general" in a.for_step("write").reason


def test_bad_pins() -> None:
    with pytest.raises(UnknownModelError) as info:
        allocate(three_steps().with_pins({"code": "top/larg"}), ladder(), budget_usd=1)
    assert info.value.suggestions == ("top/large",)
    with pytest.raises(UsageError, match="pins top/large, which cannot be used: excluded"):
        allocate(
            three_steps().with_pins({"code": "top/large"}),
            ladder(),
            budget_usd=1,
            exclude_models=["top/*"],
        )
    with pytest.raises(UsageError, match="not available"):
        allocate(
            three_steps().with_pins({"code": "top/large"}),
            ladder(),
            budget_usd=1,
            available={"cheap/small", "mid/medium"},
        )


def test_filters_and_no_candidate_reasons() -> None:
    plan, cat = three_steps(), ladder()
    a = allocate(plan, cat, budget_usd=1, strategy="best_quality", exclude_models=["top/*"])
    assert set(a.assignment.values()) == {"mid/medium"}
    a = allocate(plan, cat, budget_usd=1, strategy="best_quality", include_providers=["cheap"])
    assert set(a.assignment.values()) == {"cheap/small"}
    a = allocate(plan, cat, budget_usd=1, strategy="best_quality", available={"mid/medium"})
    assert set(a.assignment.values()) == {"mid/medium"}
    a = allocate(plan, cat, budget_usd=1, strategy="best_quality", exclude_providers=["top"])
    assert set(a.assignment.values()) == {"mid/medium"}
    with pytest.raises(NoCandidateError) as info:
        allocate(plan, cat, budget_usd=1, include_models=["nothing/*"])
    assert info.value.reasons == dict.fromkeys(
        ("cheap/small", "mid/medium", "top/large"), "not in include_models"
    )
    assert "no model can run step 'research'" in str(info.value)


def test_context_window_and_output_limits_drop_models() -> None:
    cat = catalog(
        model("small/ctx", ctx=4000, inp=0.1, out=0.1),
        model("short/out", max_out=500, inp=0.1, out=0.1),
        model("big/one", inp=1.0, out=1.0, quality=dict.fromkeys(CAPS, 0.6)),
    )
    plan = make_plan(step("long", tin=3900, tout=900))
    a = allocate(plan, cat, budget_usd=1, strategy="cheapest")
    assert a.assignment == {"long": "big/one"}
    with pytest.raises(NoCandidateError) as info:
        allocate(plan, cat, budget_usd=1, exclude_models=["big/*"])
    assert info.value.reasons["small/ctx"] == "context window 4000 tokens < ~4800 needed"
    assert info.value.reasons["short/out"] == "max output 500 tokens < ~900 needed"


def test_required_features() -> None:
    cat = catalog(
        model("plain/cheap", inp=0.1, out=0.1, json_schema=False),
        model("schema/dear", inp=1.0, out=1.0),
    )
    plan = make_plan(step("a"))
    assert allocate(plan, cat, budget_usd=1, strategy="cheapest").assignment["a"] == "plain/cheap"
    strict = allocate(
        plan, cat, budget_usd=1, strategy="cheapest", require_features=["json_schema"]
    )
    assert strict.assignment["a"] == "schema/dear"
    with pytest.raises(ConfigError, match="unknown required feature"):
        allocate(plan, cat, budget_usd=1, require_features=["telepathy"])


def test_quality_floor_keeps_weak_free_models_out_unless_nothing_else_can() -> None:
    weak_free = model("local/tiny", tier="local", inp=0, out=0, quality=dict.fromkeys(CAPS, 0.3))
    paid = model("cheap/small", inp=0.1, out=0.4, quality=dict.fromkeys(CAPS, 0.6))
    plan = make_plan(step("a"))
    a = allocate(plan, catalog(weak_free, paid), budget_usd=1, strategy="cheapest")
    assert a.assignment == {"a": "cheap/small"}
    alone = allocate(plan, catalog(weak_free), budget_usd=1, strategy="cheapest")
    assert alone.assignment == {"a": "local/tiny"}
    floorless = allocate(
        plan, catalog(weak_free, paid), budget_usd=1, strategy="cheapest", quality_floor=0
    )
    assert floorless.assignment == {"a": "local/tiny"}


def test_reasoning_models_are_charged_for_hidden_output() -> None:
    thinker = model("think/er", inp=1.0, out=1.0, reasoning=True)
    a = allocate(make_plan(step("a", tin=1000, tout=1000)), catalog(thinker), budget_usd=1)
    s = a.for_step("a")
    assert s.est_output_tokens == 2000
    assert s.est_cost_usd == pytest.approx((1000 + 2000) / 1e6)
    plain = allocate(
        make_plan(step("a", tin=1000, tout=1000)),
        catalog(thinker),
        budget_usd=1,
        reasoning_output_factor=1.0,
    )
    assert plain.for_step("a").est_cost_usd == pytest.approx(2000 / 1e6)


def test_config_rules_restrict_a_capability_when_usable() -> None:
    plan, cat = three_steps(), ladder()
    a = allocate(plan, cat, budget_usd=1, strategy="cheapest", rules={"code": "mid/medium"})
    assert a.for_step("code").model == "mid/medium"
    assert a.for_step("code").reason == "rule code -> mid/medium"
    assert a.for_step("write").model == "cheap/small"
    skipped = allocate(
        plan,
        cat,
        budget_usd=1,
        strategy="cheapest",
        rules={"code": "mid/medium"},
        exclude_models=["mid/*"],
    )
    assert skipped.for_step("code").model == "cheap/small"
    assert "rule code -> mid/medium skipped: excluded" in skipped.for_step("code").reason
    with pytest.raises(UnknownModelError):
        allocate(plan, cat, budget_usd=1, rules={"code": "no/such"})


def test_settings_supply_budget_reserve_strategy_and_filters(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[routing]\nstrategy = "best_quality"\nexclude_models = ["top/*"]\n'
        "[plan]\nbudget_usd = 2.0\nreserve_fraction = 0.5\n"
    )
    settings_ = Settings.load(env={}, config_file=config)
    a = allocate_for_settings(three_steps(), ladder(), settings_)
    assert (a.budget_usd, a.reserve_fraction, a.strategy) == (2.0, 0.5, "best_quality")
    assert set(a.assignment.values()) == {"mid/medium"}
    b = allocate_for_settings(three_steps(), ladder(), settings_, strategy="cost", budget_usd=1)
    assert (b.strategy, b.budget_usd) == ("cheapest", 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget_usd": 0}, "budget must be greater than"),
        ({"budget_usd": -1}, "budget must be greater than"),
        ({"budget_usd": float("nan")}, "budget must be a finite"),
        ({"budget_usd": 1, "reserve_fraction": 1.0}, "reserve fraction"),
        ({"budget_usd": 1, "planner_cost_usd": -0.1}, "planner cost"),
        ({"budget_usd": 1, "strategy": "yolo"}, "unknown strategy"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        allocate(three_steps(), ladder(), **kwargs)


def test_invalid_plans_are_refused() -> None:
    bad = Plan(goal="g", steps=(*three_steps().steps, three_steps().steps[0]))
    with pytest.raises(InvalidPlanError, match="duplicate step id 'research'"):
        allocate(bad, ladder(), budget_usd=1)


def test_bundled_catalog_allocates_every_capability() -> None:
    plan = make_plan(
        *(step(c, [CAPS[0]] if c != CAPS[0] else [], capability=c) for c in CAPS),
    )
    cat = Catalog.bundled()
    for strategy in ("cheapest", "balanced", "best_quality"):
        a = allocate(plan, cat, budget_usd=0.5, strategy=strategy)
        assert a.exact
        assert all(isinstance(cat.get(s.model), Model) for s in a.steps)
