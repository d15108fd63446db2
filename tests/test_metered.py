"""MeteredModel: budget reservation and exactly one ledger Attempt per call, whatever happens."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _providers_support import KEY, catalog
from tokenplan.budget import Budget
from tokenplan.errors import BudgetError, RateLimitError, UpstreamServerError
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.context import call_context
from tokenplan.pricing import usage_cost
from tokenplan.providers.fallback import FallbackModel
from tokenplan.providers.metered import MeteredModel
from tokenplan.providers.retry import RetryPolicy
from tokenplan.testing import FunctionModel, ScriptedModel, fast_retries
from tokenplan.tokens import estimate_messages_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

CAT = catalog()
MODEL = CAT.get("openai/o-mini")  # $1 / $4 per million tokens
REQ = ChatRequest.from_prompt("hello there", model="o-mini", max_tokens=1000)


def _metered(inner: object, sink: list[Attempt]) -> MeteredModel:
    return MeteredModel(inner, MODEL, provider="openai", sink=sink.append)  # type: ignore[arg-type]


async def test_one_attempt_with_context_fields_and_catalog_cost() -> None:
    sink: list[Attempt] = []
    m = _metered(ScriptedModel([], default="four words of text"), sink)
    with call_context(
        run_id="r1", kind="step", step_id="draft", capability="code", escalated_from="x/y"
    ):
        resp = await m.complete(REQ)
        await m.complete(REQ)
    assert resp.model == "openai/o-mini"  # an alias in the request, the catalog id in the answer
    assert resp.cost_usd == pytest.approx(usage_cost(MODEL, resp.usage))
    assert resp.cost_usd > 0
    assert [a.attempt for a in sink] == [1, 2]
    a = sink[0]
    assert (a.run_id, a.kind, a.step_id, a.capability, a.escalated_from) == (
        "r1",
        "step",
        "draft",
        "code",
        "x/y",
    )
    assert (a.model, a.provider, a.tier, a.outcome, a.error) == (
        "openai/o-mini",
        "openai",
        "budget",
        "ok",
        None,
    )
    assert a.input_tokens == resp.usage.input_tokens
    assert a.output_tokens == resp.usage.output_tokens
    assert a.cost_usd == resp.cost_usd
    estimate = estimate_messages_tokens(["hello there"])
    assert a.est_cost_usd == pytest.approx(MODEL.worst_case_cost(estimate, 1000))
    assert a.est_cost_usd >= a.cost_usd
    assert a.latency_ms >= 0


async def test_budget_lowers_max_tokens_and_settles_to_actual_cost() -> None:
    inner = ScriptedModel(["ok"])
    sink: list[Attempt] = []
    budget = Budget(0.002)  # $0.002 at $4/M output: ~500 tokens of output fit
    with call_context(budget=budget):
        resp = await _metered(inner, sink).complete(REQ)
    sent = inner.requests[0]
    assert sent.max_tokens is not None
    assert 0 < sent.max_tokens < 1000
    assert MODEL.worst_case_cost(sink[0].input_tokens, sent.max_tokens) <= 0.002
    assert budget.reserved_usd == 0
    assert budget.spent_usd == pytest.approx(resp.cost_usd)
    assert sink[0].est_cost_usd <= 0.002


async def test_request_without_max_tokens_gets_one_under_a_budget() -> None:
    inner = ScriptedModel(["ok"])
    with call_context(budget=Budget(0.01)):
        await _metered(inner, []).complete(REQ.model_copy(update={"max_tokens": None}))
    assert inner.requests[0].max_tokens is not None


async def test_nothing_fits_raises_budget_error_without_calling() -> None:
    inner = ScriptedModel(["never"])
    sink: list[Attempt] = []
    budget = Budget(1e-9)
    with call_context(budget=budget), pytest.raises(BudgetError) as info:
        await _metered(inner, sink).complete(REQ)
    assert inner.requests == []
    assert sink == []
    assert info.value.budget_usd == 1e-9
    assert budget.reserved_usd == 0


async def test_failure_records_error_and_releases_reservation() -> None:
    sink: list[Attempt] = []
    budget = Budget(1.0)
    err = RateLimitError(f"slow down, key {KEY}", status_code=429)
    with call_context(budget=budget), pytest.raises(RateLimitError):
        await _metered(ScriptedModel([err]), sink).complete(REQ)
    a = sink[0]
    assert a.outcome == "error"
    assert a.cost_usd == 0
    assert a.error is not None
    assert a.error.startswith("RateLimitError: ")
    assert KEY not in a.error
    assert KEY not in repr(a.to_dict())
    assert budget.reserved_usd == 0
    assert budget.spent_usd == 0


async def test_cancellation_records_cancelled_and_settles_the_worst_case() -> None:
    async def hang(request: ChatRequest) -> str:
        await anyio.sleep(30)
        return "late"

    sink: list[Attempt] = []
    budget = Budget(1.0)
    with call_context(budget=budget):
        with anyio.move_on_after(0.05):
            await _metered(FunctionModel(hang), sink).complete(REQ)
    assert [a.outcome for a in sink] == ["cancelled"]
    assert budget.reserved_usd == 0
    # The request was sent: the provider may bill all of it, so the reservation is kept.
    assert budget.spent_usd == pytest.approx(sink[0].est_cost_usd)
    assert sink[0].cost_usd == pytest.approx(sink[0].est_cost_usd)


async def test_stream_success_closed_early_and_partial_failure() -> None:
    sink: list[Attempt] = []
    budget = Budget(1.0)
    m = _metered(ScriptedModel(["one two three four"] * 2), sink)
    with call_context(budget=budget):
        chunks = [c async for c in m.stream(REQ)]
        final = chunks[-1].response
        assert final is not None
        assert final.cost_usd == pytest.approx(usage_cost(MODEL, final.usage))
        stream = m.stream(REQ)
        assert (await stream.__anext__()).delta == "one"
        await stream.aclose()  # the consumer walked away
    assert [a.outcome for a in sink] == ["ok", "cancelled"]

    class Dies:
        async def complete(self, request: ChatRequest) -> ChatResponse:
            raise AssertionError

        async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
            yield StreamChunk(delta="some partial text that was billed")
            raise UpstreamServerError("gone", status_code=502)

    with call_context(budget=budget), pytest.raises(UpstreamServerError):
        async for _ in _metered(Dies(), sink).stream(REQ):
            pass
    partial = sink[-1]
    assert partial.outcome == "error"
    assert partial.cost_usd > 0
    assert partial.output_tokens > 0
    assert budget.reserved_usd == 0


async def test_exactly_one_attempt_per_call_through_retries_and_failover() -> None:
    sink: list[Attempt] = []
    a = _metered(ScriptedModel([UpstreamServerError("x", status_code=500)] * 3), sink)
    b = MeteredModel(
        ScriptedModel(["fine"]), CAT.get("openai/chat-big"), provider="openai", sink=sink.append
    )
    fm = FallbackModel(
        ["openai/o-mini", "openai/chat-big"],
        factory={"openai/o-mini": a, "openai/chat-big": b}.__getitem__,
        policy=RetryPolicy(max_attempts=3),
    )
    with fast_retries(), call_context(run_id="r2", kind="route"):
        resp = await fm.complete(REQ)
    assert resp.model == "openai/chat-big"
    assert [(x.model, x.outcome, x.attempt) for x in sink] == [
        ("openai/o-mini", "error", 1),
        ("openai/o-mini", "error", 2),
        ("openai/o-mini", "error", 3),
        ("openai/chat-big", "ok", 4),
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.floats(min_value=1e-4, max_value=0.05),
    calls=st.integers(min_value=1, max_value=24),
    seed=st.integers(0, 10**6),
)
def test_concurrent_calls_never_spend_past_the_budget(limit: float, calls: int, seed: int) -> None:
    rng = random.Random(seed)

    async def answer(request: ChatRequest) -> ChatResponse:
        await anyio.sleep(rng.random() / 1000)
        if rng.random() < 0.2:
            raise UpstreamServerError("flaky", status_code=503)
        out = rng.randint(0, request.max_tokens or 1)
        return ChatResponse(
            model="x", provider="test", text="t", usage=Usage(input_tokens=10, output_tokens=out)
        )

    async def run() -> tuple[Budget, list[Attempt]]:
        sink: list[Attempt] = []
        budget = Budget(limit)
        m = _metered(FunctionModel(answer), sink)

        async def one() -> None:
            try:
                await m.complete(REQ.model_copy(update={"max_tokens": rng.randint(1, 20000)}))
            except (BudgetError, UpstreamServerError):
                pass

        with call_context(budget=budget):
            async with anyio.create_task_group() as tg:
                for _ in range(calls):
                    tg.start_soon(one)
        return budget, sink

    budget, sink = anyio.run(run)
    assert budget.spent_usd <= limit + 1e-12
    assert budget.reserved_usd == pytest.approx(0.0, abs=1e-15)
    assert sum(a.cost_usd for a in sink) == pytest.approx(budget.spent_usd)


@pytest.mark.parametrize("stream", [False, True])
async def test_rejected_answer_is_recorded_invalid_and_still_returned(stream: bool) -> None:
    from tokenplan.execution.acceptance import check_output

    sink: list[Attempt] = []
    m = _metered(ScriptedModel(["not json", '{"ok": true}']), sink)
    with call_context(accept=lambda r: check_output(r, "json")):
        if stream:
            first = [c async for c in m.stream(REQ)][-1].response
            second = [c async for c in m.stream(REQ)][-1].response
        else:
            first = await m.complete(REQ)
            second = await m.complete(REQ)
    assert first is not None
    assert second is not None
    assert first.text == "not json"
    assert [a.outcome for a in sink] == ["invalid", "ok"]
    assert sink[0].error is not None
    assert sink[0].error.startswith("AcceptanceError: not valid JSON")
    assert sink[0].cost_usd == pytest.approx(usage_cost(MODEL, first.usage))
