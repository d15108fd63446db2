"""MeteredModel and the budget ceiling: everything billed is reserved, unknown outcomes settle at
the worst case, hopeless calls are not made, and a broken ledger never hides an outcome."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _providers_support import catalog
from tokenplan.budget import Budget
from tokenplan.errors import (
    BudgetError,
    LedgerError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
)
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.context import call_context
from tokenplan.providers.dialects.anthropic import AnthropicDialect
from tokenplan.providers.endpoints import find_endpoint
from tokenplan.providers.metered import COST_UNKNOWN_NOTE, MeteredModel
from tokenplan.testing import FunctionModel, ScriptedModel
from tokenplan.tokens import estimate_messages_tokens, estimate_request_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, JsonSchemaFormat, StreamChunk, Usage

CAT = catalog()
MODEL = CAT.get("openai/o-mini")  # $1 / $4 per million tokens
ANTHROPIC = find_endpoint("anthropic")


def _billed_input(request: ChatRequest) -> int:
    """What a provider bills as input: the Anthropic wire body's texts (JSON-mode instruction
    included), the schema it was sent and every extra field."""
    assert ANTHROPIC is not None
    body = AnthropicDialect().build(request, MODEL, ANTHROPIC, stream=False).body
    texts = ([body["system"]] if "system" in body else []) + [
        m["content"] for m in body["messages"]
    ]
    billed = estimate_messages_tokens(texts)
    if request.response_format is not None:
        billed += estimate_tokens(json.dumps(request.response_format.json_schema))
    if request.extra:
        billed += estimate_tokens(json.dumps(request.extra))
    return billed


def _full_length(request: ChatRequest) -> ChatResponse:
    """Bills the whole input and every output token allowed: the worst case."""
    out = request.max_tokens or MODEL.max_output_tokens
    return ChatResponse(
        model=request.model,
        provider="test",
        text="x",
        finish_reason="length",
        usage=Usage(input_tokens=_billed_input(request), output_tokens=out),
    )


_words = st.text(alphabet=st.sampled_from("abcdefghij klmnop\n{}:,\"'"), min_size=1, max_size=40)
_schemas = st.dictionaries(
    _words,
    st.fixed_dictionaries({"type": st.just("string"), "description": _words}),
    max_size=40,
).map(lambda props: {"type": "object", "properties": props})
_extras = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {
            "tools": st.lists(
                st.fixed_dictionaries(
                    {
                        "type": st.just("function"),
                        "function": st.fixed_dictionaries(
                            {"name": _words, "description": _words, "parameters": _schemas}
                        ),
                    }
                ),
                max_size=4,
            )
        }
    ),
    st.dictionaries(_words, _words, max_size=8),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=st.text(min_size=1, max_size=400),
    schema=st.one_of(st.none(), _schemas),
    json_mode=st.booleans(),
    extra=_extras,
    max_tokens=st.integers(1, 8000),
    limit=st.floats(min_value=2e-5, max_value=0.02),
)
def test_spend_never_passes_the_limit_with_schemas_and_extras(
    prompt: str,
    schema: dict[str, Any] | None,
    json_mode: bool,
    extra: dict[str, Any],
    max_tokens: int,
    limit: float,
) -> None:
    request = ChatRequest.from_prompt(
        prompt,
        model="openai/o-mini",
        max_tokens=max_tokens,
        response_format=None if schema is None else JsonSchemaFormat(schema=schema),
        json_mode=json_mode,
        extra=extra,
    )
    budget = Budget(limit)
    sink: list[Attempt] = []

    async def run() -> None:
        model = MeteredModel(FunctionModel(_full_length), MODEL, provider="t", sink=sink.append)
        with call_context(budget=budget):
            for _ in range(3):
                try:
                    await model.complete(request)
                except BudgetError:
                    return

    anyio.run(run)
    assert budget.spent_usd <= limit * (1 + 1e-9)
    assert all(a.cost_usd <= a.est_cost_usd * (1 + 1e-9) for a in sink)


def test_request_estimate_counts_schema_json_mode_and_extra() -> None:
    base = ChatRequest.from_prompt("hello there", model="m")
    schema = {"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(50)}}
    with_schema = base.model_copy(update={"response_format": JsonSchemaFormat(schema=schema)})
    tools = {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": schema}}]}
    assert estimate_request_tokens(base) == estimate_messages_tokens(["hello there"])
    assert estimate_request_tokens(with_schema) > estimate_request_tokens(base) + estimate_tokens(
        json.dumps(schema)
    )
    json_mode = base.model_copy(update={"json_mode": True})
    assert estimate_request_tokens(json_mode) > estimate_request_tokens(base)
    with_tools = base.model_copy(update={"extra": tools})
    assert estimate_request_tokens(with_tools) > estimate_tokens(json.dumps(tools))


async def test_the_schema_is_reserved_before_the_call() -> None:
    schema = {
        "type": "object",
        "properties": {
            f"field_{i}": {"type": "string", "description": "d" * 40} for i in range(60)
        },
    }
    request = ChatRequest.from_prompt(
        "hello " * 50,
        model="openai/o-mini",
        max_tokens=1000,
        response_format=JsonSchemaFormat(schema=schema),
    )
    inner = FunctionModel(_full_length)
    budget = Budget(0.005)
    with call_context(budget=budget):
        response = await MeteredModel(inner, MODEL, provider="t").complete(request)
    assert response.usage.input_tokens == _billed_input(request)
    assert budget.spent_usd <= 0.005


async def test_a_partial_stream_estimate_is_capped_at_max_tokens() -> None:
    class Babbles:
        async def complete(self, request: ChatRequest) -> ChatResponse:
            raise AssertionError

        async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
            yield StreamChunk(delta="word " * 2000)
            raise RateLimitError("stream broke", status_code=429)

    sink: list[Attempt] = []
    budget = Budget(1.0)
    request = ChatRequest.from_prompt("hi", model="openai/o-mini", max_tokens=10)
    model = MeteredModel(Babbles(), MODEL, provider="t", sink=sink.append)  # type: ignore[arg-type]
    with call_context(budget=budget), pytest.raises(RateLimitError):
        async for _ in model.stream(request):
            pass
    assert sink[0].output_tokens == 10
    assert sink[0].cost_usd <= sink[0].est_cost_usd


async def test_settling_above_the_reservation_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def overbills(request: ChatRequest) -> ChatResponse:
        return ChatResponse(
            model=request.model, provider="t", text="x", usage=Usage(input_tokens=10**6)
        )

    with caplog.at_level(logging.WARNING, logger="tokenplan.providers.metered"):
        await MeteredModel(FunctionModel(overbills), MODEL, provider="t").complete(
            ChatRequest.from_prompt("hi", model="openai/o-mini", max_tokens=5)
        )
    [record] = caplog.records
    # The message itself says which call and by how much (the CLI prints only the message).
    assert record.getMessage().startswith("openai/o-mini cost $")
    assert "above its reservation of $" in record.getMessage()
    assert "1000000 input tokens billed" in record.getMessage()


# -- unknown outcomes settle at the reservation --------------------------------------------------


async def _hang(request: ChatRequest) -> str:
    await anyio.sleep(30)
    return "late"


def _timeout(request: ChatRequest) -> str:
    raise ProviderTimeoutError("no answer within 120s", provider="t", model=request.model)


def _no_free_connection(request: ChatRequest) -> str:
    raise ProviderTimeoutError("no free connection", provider="t", model="m", sent=False)


def _lost(request: ChatRequest) -> str:
    raise ProviderConnectionError("connection reset", provider="t", model="m", sent=True)


def _refused(request: ChatRequest) -> str:
    raise ProviderConnectionError("connection refused", provider="t", model=request.model)


def _status(request: ChatRequest) -> str:
    raise RateLimitError("slow down", status_code=429)


async def _call(answer: Any, sink: list[Attempt], budget: Budget) -> None:
    model = MeteredModel(FunctionModel(answer), MODEL, provider="t", sink=sink.append)
    request = ChatRequest.from_prompt("x " * 400, model="openai/o-mini", max_tokens=4000)
    with call_context(budget=budget), anyio.move_on_after(0.05):
        try:
            await model.complete(request)
        except (ProviderTimeoutError, ProviderConnectionError, RateLimitError):
            pass


@pytest.mark.parametrize(
    ("answer", "unknown"),
    [
        (_hang, True),
        (_timeout, True),
        (_lost, True),
        (_refused, False),
        (_status, False),
        (_no_free_connection, False),
    ],
    ids=["cancelled", "timeout", "lost-after-send", "refused", "http-status", "pool-timeout"],
)
async def test_unknown_outcomes_settle_at_the_reservation(answer: Any, unknown: bool) -> None:
    sink: list[Attempt] = []
    budget = Budget(1.0)
    await _call(answer, sink, budget)
    [line] = sink
    assert budget.reserved_usd == 0
    if unknown:
        assert line.cost_usd == pytest.approx(line.est_cost_usd)
        assert line.cost_usd > 0
        assert budget.spent_usd == pytest.approx(line.est_cost_usd)
        assert line.error is not None
        assert line.error.endswith(f"({COST_UNKNOWN_NOTE})")
    else:
        assert line.cost_usd == 0
        assert budget.spent_usd == 0
        assert line.error is not None
        assert COST_UNKNOWN_NOTE not in line.error


# -- min_output_tokens ---------------------------------------------------------------------------


async def test_a_call_without_room_for_its_minimum_output_is_not_made() -> None:
    inner = ScriptedModel(["word " * 500])
    sink: list[Attempt] = []
    request = ChatRequest.from_prompt("x " * 400, model="openai/o-mini", max_tokens=2000)
    input_cost = MODEL.worst_case_cost(estimate_request_tokens(request), 0)
    budget = Budget(1.0, spent_usd=1.0 - input_cost - 50 * 4e-6)  # room for ~50 output tokens
    model = MeteredModel(inner, MODEL, provider="t", sink=sink.append)
    with call_context(budget=budget, min_output_tokens=200), pytest.raises(BudgetError) as info:
        await model.complete(request)
    assert inner.requests == []
    assert sink == []
    assert "200 output tokens" in info.value.message
    with call_context(budget=budget, min_output_tokens=20):
        await model.complete(request)
    sent = inner.requests[0].max_tokens
    assert sent is not None
    assert 20 <= sent < 60


# -- a failing ledger never replaces the outcome -------------------------------------------------


def _broken_sink(attempt: Attempt) -> None:
    raise LedgerError("cannot write the ledger: No space left on device")


async def test_a_failing_ledger_does_not_swallow_a_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = MeteredModel(FunctionModel(_hang), MODEL, provider="t", sink=_broken_sink)
    with anyio.move_on_after(0.05) as scope:
        await model.complete(ChatRequest.from_prompt("hi", model="openai/o-mini"))
    assert scope.cancelled_caught
    assert "ledger line of a model call was not written" in caplog.text


async def test_a_failing_ledger_keeps_the_error_and_the_paid_answer() -> None:
    model = MeteredModel(FunctionModel(_status), MODEL, provider="t", sink=_broken_sink)
    with pytest.raises(RateLimitError) as info:
        await model.complete(ChatRequest.from_prompt("hi", model="openai/o-mini"))
    assert any("ledger line was not written" in note for note in info.value.__notes__)
    paid = MeteredModel(ScriptedModel(["the answer"]), MODEL, provider="t", sink=_broken_sink)
    budget = Budget(1.0)
    with call_context(budget=budget):
        response = await paid.complete(ChatRequest.from_prompt("hi", model="openai/o-mini"))
    assert response.text == "the answer"
    assert budget.spent_usd == pytest.approx(response.cost_usd)


# -- the response names the billing endpoint, like the ledger ------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_the_response_carries_the_ledgers_provider_and_simulated_flag(stream: bool) -> None:
    sink: list[Attempt] = []
    model = MeteredModel(
        ScriptedModel(["hello"]), MODEL, provider="openrouter", sink=sink.append, simulated=True
    )
    request = ChatRequest.from_prompt("hi", model="openai/o-mini")
    if stream:
        response = [c async for c in model.stream(request)][-1].response
    else:
        response = await model.complete(request)
    assert response is not None
    assert (response.provider, response.simulated) == ("openrouter", True)
    assert (sink[0].provider, sink[0].simulated) == ("openrouter", True)
