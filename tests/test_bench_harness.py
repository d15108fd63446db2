"""The harness: calls metered by the product's metering layer, budgets enforced, honest grading."""

from __future__ import annotations

import pytest

from _bench_data import synthetic_outcomes
from tokenplan.bench.catalog import build_catalog
from tokenplan.bench.dataset import OutcomeDataset
from tokenplan.bench.harness import LabelGrader, run_policy
from tokenplan.bench.metering import MeteredModels
from tokenplan.bench.policies import Choice, Query, SingleModelPolicy, UnanimousCascade
from tokenplan.bench.replay import ReplayModel, billing_usage
from tokenplan.budget import Budget
from tokenplan.errors import RateLimitError
from tokenplan.ledger.attempt import Attempt
from tokenplan.pricing import usage_cost
from tokenplan.providers.base import ChatModel
from tokenplan.testing import FunctionModel, ScriptedModel
from tokenplan.types import ChatRequest, ChatResponse


def _queries(ds: OutcomeDataset, **kw: int) -> list[Query]:
    return [Query(s.id, s.text, s.capability, **kw) for s in ds.samples]


def _metered(ds: OutcomeDataset, *, ledger: list[Attempt] | None = None) -> MeteredModels:
    catalog = build_catalog(ds)
    replay = ReplayModel(ds, catalog=catalog)
    forward = ledger.append if ledger is not None else None
    return MeteredModels.wrapping(replay, catalog, provider="replay", forward=forward)


async def test_calls_and_costs_are_the_metering_layers_attempts() -> None:
    ds = synthetic_outcomes(30)
    queries = _queries(ds)
    ledger: list[Attempt] = []
    policy = UnanimousCascade("u", panel=["t/cheap-a", "t/cheap-b"], strong="t/big")
    run = await run_policy(
        policy,
        queries,
        models=_metered(ds, ledger=ledger),
        grader=LabelGrader(ds),
        concurrency=4,
        run_id="bench-test",
    )
    assert run.n == 30
    expected = 0.0
    replayed = 0
    for q, o in zip(queries, run.outcomes, strict=True):
        a, b = ds.outcome(q.id, "cheap-a").response, ds.outcome(q.id, "cheap-b").response
        models = ["cheap-a", "cheap-b"] + ([] if a == b else ["big"])
        assert [c.model for c in o.calls] == [f"t/{m}" for m in models]
        expected += sum(ds.outcome(q.id, m).cost_usd for m in models)
        replayed += len(models)
    # The metering layer prices each call from the reconstructed usage: the recorded cost.
    assert run.cost_per_query == pytest.approx(expected / 30, rel=1e-3)
    assert run.strong_share("t/big") == run.escalation_rate
    # One kind="bench" ledger line per replayed call, named after the run, policy and query.
    assert len(ledger) == replayed
    assert {a.kind for a in ledger} == {"bench"}
    assert {a.run_id for a in ledger} == {"bench-test"}
    assert {a.step_id for a in ledger} == {f"u:{q.id}" for q in queries}
    assert {a.provider for a in ledger} == {"replay"}
    assert sum(a.cost_usd for a in ledger) == pytest.approx(expected, rel=1e-3)


def test_billing_usage_bills_the_recorded_cost() -> None:
    ds = synthetic_outcomes(5)
    model = build_catalog(ds).get("t/big")
    for cost in (0.004, 0.0123, 1e-7):
        usage = billing_usage(model, cost, input_tokens=40, output_tokens=3)
        half_token = 0.5 * (model.input_per_mtok + model.output_per_mtok) / 1e6
        assert abs(usage_cost(model, usage) - cost) <= half_token
    assert billing_usage(model, 0.0, input_tokens=40, output_tokens=3).input_tokens == 40


class Liar:
    """A policy that claims a model's grade for text that model never gave."""

    name = "liar"
    kind = "router"

    async def run(self, query: Query, model: ChatModel) -> Choice:
        return Choice("t/cheap-b", "Z")


async def test_grading_refuses_text_the_chosen_model_did_not_give() -> None:
    ds = synthetic_outcomes(10)
    run = await run_policy(Liar(), _queries(ds), models=_metered(ds), grader=LabelGrader(ds))
    assert run.accuracy == 0.0
    assert run.errors == 10
    assert all("grading" in (o.error or "") for o in run.outcomes)


async def test_provider_errors_score_zero_and_are_recorded_as_failed_calls() -> None:
    ds = synthetic_outcomes(4)
    queries = _queries(ds)
    catalog = build_catalog(ds)
    replay = ReplayModel(ds, catalog=catalog)
    flaky = ScriptedModel(
        [RateLimitError("slow down", status_code=429, model="t/big")],
        default=None,
    )

    async def answer(request: ChatRequest) -> ChatResponse:
        if request.prompt_text == queries[0].text:
            await flaky.complete(request)
        return await replay.complete(request)

    models = MeteredModels.wrapping(FunctionModel(answer), catalog, provider="replay")
    run = await run_policy(
        SingleModelPolicy("t/big"), queries, models=models, grader=LabelGrader(ds)
    )
    assert run.errors == 1
    assert (run.outcomes[0].error or "").startswith("RateLimitError")
    (failed,) = run.outcomes[0].calls
    assert failed.outcome == "error"
    assert (failed.error or "").startswith("RateLimitError")
    assert failed.cost_usd == 0.0
    assert run.accuracy == pytest.approx(3 / 4)


async def test_budget_is_a_hard_ceiling() -> None:
    ds = synthetic_outcomes(40)
    budget = Budget(0.02)
    run = await run_policy(
        SingleModelPolicy("t/big"),
        _queries(ds, max_tokens=50),
        models=_metered(ds),
        grader=LabelGrader(ds),
        budget=budget,
        concurrency=8,
    )
    assert budget.spent_usd <= 0.02
    assert budget.reserved_usd == 0.0
    assert run.errors > 0  # not everything fitted
    assert all((o.error or "").startswith("BudgetError") for o in run.outcomes if o.error)
    assert sum(o.cost_usd for o in run.outcomes) == pytest.approx(budget.spent_usd)


async def test_streams_are_metered_too() -> None:
    ds = synthetic_outcomes(3)
    ledger: list[Attempt] = []
    models = _metered(ds, ledger=ledger)
    request = ChatRequest.from_prompt(ds.samples[0].text, model="t/big")
    chunks = [c async for c in models.stream(request)]
    final = chunks[-1].response
    assert final is not None
    assert final.text == ds.outcome(ds.samples[0].id, "big").response
    (attempt,) = ledger
    assert attempt.model == "t/big"
    assert attempt.cost_usd == pytest.approx(ds.outcome(ds.samples[0].id, "big").cost_usd, 1e-3)
