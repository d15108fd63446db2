"""Fitting agreement cascades and the dataset catalog on train data only."""

from __future__ import annotations

import pytest

from _bench_data import COSTS, synthetic_outcomes
from tokenplan.bench.catalog import build_catalog, fit_token_prices, rank_tiers
from tokenplan.bench.dataset import Outcome, OutcomeDataset, Split
from tokenplan.bench.policies import MixturePolicy, Query, SingleModelPolicy
from tokenplan.bench.policies.fit import CascadeFit
from tokenplan.bench.replay_bench import pick_pair, run_replay_benchmark
from tokenplan.testing import FunctionModel


def test_fit_token_prices_recovers_exact_prices() -> None:
    ins, outs = [100, 200, 50, 400], [10, 5, 80, 40]
    costs = [i * 2e-6 + o * 8e-6 for i, o in zip(ins, outs, strict=True)]
    p_in, p_out = fit_token_prices(ins, outs, costs)
    assert (p_in, p_out) == (pytest.approx(2e-6), pytest.approx(8e-6))


def test_fit_token_prices_stays_non_negative() -> None:
    # Costs that only track output length: the input price must not go negative.
    ins, outs = [100, 200, 300], [10, 20, 5]
    costs = [o * 1e-5 - i * 1e-9 for i, o in zip(ins, outs, strict=True)]
    p_in, p_out = fit_token_prices(ins, outs, costs)
    assert p_in >= 0
    assert p_out >= 0
    assert fit_token_prices([0, 0], [0, 0], [0.0, 0.0]) == (0.0, 0.0)


def test_rank_tiers() -> None:
    costs = {f"m{i}": float(i) for i in range(11)}
    tiers = rank_tiers(costs)
    assert [tiers[f"m{i}"] for i in range(11)] == ["budget"] * 3 + ["mid"] * 5 + ["flagship"] * 3
    assert rank_tiers({"a": 1.0, "b": 2.0}) == {"a": "budget", "b": "flagship"}


def test_catalog_priors_are_smoothed_train_scores() -> None:
    ds = synthetic_outcomes(50)
    catalog = build_catalog(ds)
    big = catalog.get("t/big")
    assert big.provider == "replay"
    assert big.api_name == "big"
    assert big.prior("reasoning") == pytest.approx((50 + 1) / (50 + 2), abs=1e-4)
    # No train prompt is code: the pooled score stands in, so every model stays offered.
    assert big.prior("code") == big.prior("reasoning")
    cheap = catalog.get("t/cheap-a")
    assert cheap.prior("reasoning") == pytest.approx(
        (sum(o.score for o in ds.column("cheap-a")) + 1) / 52, abs=1e-4
    )
    assert cheap.extra["mean_cost_usd"] == pytest.approx(COSTS["cheap-a"])


def _fit(n: int = 200) -> CascadeFit:
    train = synthetic_outcomes(n)
    return CascadeFit(train, build_catalog(train), strong="big")


def test_fitted_plan_asks_both_cheap_models_and_escalates_on_disagreement() -> None:
    fit = _fit()
    plans, estimate = fit.estimate(10.0)
    plan = plans["reasoning/choice/4"]
    assert set(plan.panel) == {"t/cheap-a", "t/cheap-b"}
    assert plan.actions[""] == "ask"
    assert plan.actions["a"] == "ask"
    assert plan.actions["a.a"] == "accept"
    assert plan.actions["a.b"] == "escalate"
    # Agreement means correct here and the strong model is always right: a perfect plan.
    assert estimate.accuracy == pytest.approx(1.0)
    assert 0 < estimate.strong_share < 0.6


def test_cost_weight_moves_the_plan_between_the_extremes() -> None:
    fit = _fit()
    cheap_plans, cheap = fit.estimate(1e7)
    assert cheap.strong_share == 0.0
    assert cheap.cost_usd == pytest.approx(min(COSTS["cheap-a"], COSTS["cheap-b"]))
    assert cheap_plans["reasoning/choice/4"].actions["a"] == "accept"
    _, rich = fit.estimate(1e-3)
    assert rich.strong_share == 1.0  # straight to the model that is always right
    assert rich.accuracy == 1.0


def test_budget_operating_point_respects_the_train_budget() -> None:
    fit = _fit()
    for fraction in (0.05, 0.2, 0.5):
        lam, _ = fit.budget_bracket(fraction)  # the cheaper side: within the budget
        _, est = fit.estimate(lam)
        assert est.cost_usd <= fraction * COSTS["big"] + 1e-12
    policy = fit.for_budget(0.5)
    assert policy.name == "agree-cascade@50%"
    assert isinstance(policy, MixturePolicy)  # plan costs step; the budget lies between two
    cheap, rich = fit.budget_bracket(0.5)
    c_cheap, c_rich = fit.estimate(cheap)[1].cost_usd, fit.estimate(rich)[1].cost_usd
    assert c_cheap <= 0.5 * COSTS["big"] < c_rich
    expected = (1 - policy.other_share) * c_cheap + policy.other_share * c_rich
    assert expected == pytest.approx(0.5 * COSTS["big"])
    assert policy.to_dict()["info"]["budget_fraction"] == 0.5


async def test_mixture_policy_splits_queries_by_a_seeded_hash() -> None:
    a, b = SingleModelPolicy("x/a"), SingleModelPolicy("x/b")
    mix = MixturePolicy("m", base=a, other=b, other_share=0.25, seed=1)
    model = FunctionModel(lambda req: "ok")
    picks = [(await mix.run(Query(f"q{i}", "p", "general"), model)).model for i in range(400)]
    assert 0.18 < picks.count("x/b") / 400 < 0.32
    assert mix.kind == "single"
    with pytest.raises(ValueError):
        MixturePolicy("m", base=a, other=b, other_share=2.0)


def test_no_responses_no_cascade() -> None:
    ds = synthetic_outcomes(60)
    blank = OutcomeDataset(
        name="blank",
        id_prefix="t",
        models=ds.models,
        samples=ds.samples,
        outcomes={m: [Outcome(o.score, o.cost_usd, None) for o in ds.column(m)] for m in ds.models},
    )
    assert not CascadeFit(blank, build_catalog(blank), strong="big").usable


def test_pick_pair() -> None:
    ds = synthetic_outcomes(50)
    strong, weak = pick_pair(ds)
    assert strong == "big"
    assert weak == max(("cheap-a", "cheap-b"), key=lambda m: (ds.accuracy(m), -ds.mean_cost(m)))


async def test_fitting_never_reads_eval_labels() -> None:
    """Flipping every grade of the eval part leaves the fitted catalog and cascades unchanged."""
    ds = synthetic_outcomes(160)
    split = Split(0.5, seed=2)
    _, evaluation = ds.split(split)
    eval_ids = {s.id for s in evaluation.samples}
    flipped = OutcomeDataset(
        name=ds.name,
        id_prefix=ds.id_prefix,
        models=ds.models,
        samples=ds.samples,
        outcomes={
            m: [
                Outcome(1.0 - o.score, o.cost_usd, o.response) if s.id in eval_ids else o
                for s, o in zip(ds.samples, ds.column(m), strict=True)
            ]
            for m in ds.models
        },
    )
    a = await run_replay_benchmark(ds, split=split, curve_points=3)
    b = await run_replay_benchmark(flipped, split=split, curve_points=3)
    assert a.fitted == b.fitted
    # Every policy but the upper bounds decides exactly as before: same calls, same cost.
    cost_a = {r.policy: r.usd_per_1k for r in a.rows if r.kind != "oracle"}
    cost_b = {r.policy: r.usd_per_1k for r in b.rows if r.kind != "oracle"}
    assert cost_a == cost_b
    assert {"router:balanced", "escalation:balanced", "agree-cascade@10%"} <= set(cost_a)
    acc_a = {r.policy: r.accuracy for r in a.rows}
    acc_b = {r.policy: r.accuracy for r in b.rows}
    assert acc_a["t/big"] == 1.0
    assert acc_b["t/big"] == 0.0  # the eval grades did flip
