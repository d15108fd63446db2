"""The harness meters every call, enforces budgets and grades honestly."""

from __future__ import annotations

import pytest

from _bench_data import synthetic_outcomes
from tokenplan.bench.catalog import build_catalog
from tokenplan.bench.harness import CallLog, LabelGrader, run_policy
from tokenplan.bench.policies import Choice, Query, SingleModelPolicy, UnanimousCascade
from tokenplan.bench.replay import ReplayModel
from tokenplan.budget import Budget
from tokenplan.catalog import Catalog
from tokenplan.errors import BudgetError, RateLimitError
from tokenplan.providers.base import ChatModel
from tokenplan.testing import FunctionModel, ScriptedModel
from tokenplan.types import ChatRequest


async def test_costs_and_calls_come_from_the_log() -> None:
    ds = synthetic_outcomes(30)
    queries = [Query(s.id, s.text, s.capability) for s in ds.samples]
    policy = UnanimousCascade("u", panel=["t/cheap-a", "t/cheap-b"], strong="t/big")
    run = await run_policy(
        policy, queries, model=ReplayModel(ds), grader=LabelGrader(ds), concurrency=4
    )
    assert run.n == 30
    expected = 0.0
    for q, o in zip(queries, run.outcomes, strict=True):
        a, b = ds.outcome(q.id, "cheap-a").response, ds.outcome(q.id, "cheap-b").response
        models = ["cheap-a", "cheap-b"] + ([] if a == b else ["big"])
        assert [c.model for c in o.calls] == [f"t/{m}" for m in models]
        expected += sum(ds.outcome(q.id, m).cost_usd for m in models)
    assert run.cost_per_query == pytest.approx(expected / 30)
    assert run.strong_share("t/big") == run.escalation_rate


class Liar:
    """A policy that claims a model's grade for text that model never gave."""

    name = "liar"
    kind = "router"

    async def run(self, query: Query, model: ChatModel) -> Choice:
        return Choice("t/cheap-b", "Z")


async def test_grading_refuses_text_the_chosen_model_did_not_give() -> None:
    ds = synthetic_outcomes(10)
    queries = [Query(s.id, s.text, s.capability) for s in ds.samples]
    run = await run_policy(Liar(), queries, model=ReplayModel(ds), grader=LabelGrader(ds))
    assert run.accuracy == 0.0
    assert run.errors == 10
    assert all("grading" in (o.error or "") for o in run.outcomes)


async def test_provider_errors_score_zero_and_are_counted() -> None:
    ds = synthetic_outcomes(4)
    queries = [Query(s.id, s.text, s.capability) for s in ds.samples]
    replay = ReplayModel(ds)
    flaky = ScriptedModel(
        [RateLimitError("slow down", status_code=429, model="t/big")],
        default=None,
    )

    async def answer(request: ChatRequest) -> object:
        if request.prompt_text == queries[0].text:
            return await flaky.complete(request)
        return await replay.complete(request)

    run = await run_policy(
        SingleModelPolicy("t/big"),
        queries,
        model=FunctionModel(answer),
        grader=LabelGrader(ds),  # type: ignore[arg-type]
    )
    assert run.errors == 1
    assert (run.outcomes[0].error or "").startswith("RateLimitError")
    assert run.outcomes[0].calls[0].error == "RateLimitError"
    assert run.accuracy == pytest.approx(3 / 4)


async def test_budget_is_a_hard_ceiling() -> None:
    ds = synthetic_outcomes(40)
    catalog = build_catalog(ds)
    queries = [Query(s.id, s.text, s.capability, max_tokens=50) for s in ds.samples]
    budget = Budget(0.02)
    run = await run_policy(
        SingleModelPolicy("t/big"),
        queries,
        model=ReplayModel(ds),
        grader=LabelGrader(ds),
        budget=budget,
        catalog=catalog,
        concurrency=8,
    )
    assert budget.spent_usd <= 0.02
    assert budget.reserved_usd == 0.0
    assert run.errors > 0  # not everything fitted
    assert all((o.error or "").startswith("BudgetError") for o in run.outcomes if o.error)
    assert sum(o.cost_usd for o in run.outcomes) == pytest.approx(budget.spent_usd)


async def test_call_log_prices_unpriced_responses_from_usage() -> None:
    catalog = Catalog.bundled()
    model_id = catalog.models[0].id
    log = CallLog(FunctionModel(lambda req: "hello there"), catalog=catalog)
    response = await log.complete(ChatRequest.from_prompt("hi", model=model_id))
    assert response.cost_usd == 0.0
    (call,) = log.calls
    assert call.cost_usd > 0.0


async def test_call_log_refuses_unknown_models_under_a_budget() -> None:
    log = CallLog(FunctionModel(lambda req: "x"), budget=Budget(1.0), catalog=Catalog.bundled())
    with pytest.raises(BudgetError, match="not in the catalog"):
        await log.complete(ChatRequest.from_prompt("hi", model="nobody/knows"))


async def test_stream_through_the_log_is_metered() -> None:
    ds = synthetic_outcomes(3)
    log = CallLog(ReplayModel(ds))
    chunks = [
        c async for c in log.stream(ChatRequest.from_prompt(ds.samples[0].text, model="t/big"))
    ]
    assert chunks[-1].response is not None
    assert [c.model for c in log.calls] == ["t/big"]
    assert log.calls[0].cost_usd == ds.outcome(ds.samples[0].id, "big").cost_usd
