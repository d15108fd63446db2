"""SimulatorModel: determinism, labels, usage and cost, latency, faults, limits, streams."""

from __future__ import annotations

import json
import math
import time

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_helpers import is_json, make_catalog, parses, python_block
from tokenplan.catalog.catalog import Catalog
from tokenplan.errors import (
    ModelUnavailableError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    UpstreamServerError,
)
from tokenplan.ledger.context import call_context
from tokenplan.pricing import cost_usd, usage_cost
from tokenplan.providers.base import ChatModel
from tokenplan.providers.sim import MARKER_PREFIX, SimulatorModel, marker
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, JsonSchemaFormat, Message

CATALOG = make_catalog()
TOPICS = [
    "tide pools",
    "compilers",
    "bread baking",
    "orbital mechanics",
    "tax law",
    "bird migration",
    "chess openings",
    "coral reefs",
    "supply chains",
    "jazz harmony",
    "glaciers",
    "vaccines",
]


def quiet(**kwargs: object) -> SimulatorModel:
    """No latency, no transient faults, no invalid answers unless asked."""
    options: dict[str, object] = {"failure_rates": 0.0, "error_rates": 0.0, "latency_scale": 0.0}
    options.update(kwargs)
    return SimulatorModel(CATALOG, **options)  # type: ignore[arg-type]


def ask(prompt: str, model: str = "acme/medium", **kwargs: object) -> ChatRequest:
    return ChatRequest.from_prompt(prompt, model=model, **kwargs)


def distinct_prompts(
    n: int, template: str = "Explain {topic} to a new colleague ({i})."
) -> list[str]:
    return [template.format(topic=TOPICS[i % len(TOPICS)], i=i) for i in range(n)]


def is_invalid(response: ChatResponse, *, json_expected: bool = False, code: bool = False) -> bool:
    if response.text == "" or response.finish_reason == "length":
        return True
    if json_expected:
        return not is_json(response.text)
    if code:
        block = python_block(response.text)
        return block is None or not parses(block)
    return False


def same_answer(a: ChatResponse, b: ChatResponse) -> bool:
    return (a.text, a.usage, a.finish_reason, a.cost_usd) == (
        b.text,
        b.usage,
        b.finish_reason,
        b.cost_usd,
    )


# -- protocol, resolution -------------------------------------------------------------------------


async def test_satisfies_chat_model_and_answers_every_bundled_model() -> None:
    bundled = Catalog.bundled()
    sim = SimulatorModel(bundled, failure_rates=0.0, error_rates=0.0, latency_scale=0.0)
    assert isinstance(sim, ChatModel)
    for model in bundled:
        response = await sim.complete(ask("Name three uses of copper.", model=model.id))
        assert response.model == model.id
        assert response.provider == "sim"
        assert response.simulated
        assert response.cost_usd == pytest.approx(usage_cost(model, response.usage))


async def test_alias_resolves_to_the_catalog_id_with_the_same_answer() -> None:
    by_alias = await quiet().complete(ask("Describe a lighthouse.", model="medium"))
    by_id = await quiet().complete(ask("Describe a lighthouse.", model="acme/medium"))
    assert by_alias.model == "acme/medium"
    assert same_answer(by_alias, by_id)


@pytest.mark.parametrize("model_id", ["acme/nope", "auto", ""])
async def test_unknown_model_is_a_404_like_a_real_provider(model_id: str) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        await quiet().complete(ask("hi", model=model_id))
    assert info.value.status_code == 404
    assert info.value.provider == "sim"
    assert not info.value.retryable
    assert json.loads(info.value.body)["error"]["code"] == "model_not_found"


async def test_prompt_beyond_the_context_window_is_a_400() -> None:
    with pytest.raises(ModelUnavailableError) as info:
        await quiet().complete(ask("word " * 200, model="other/tiny-window"))
    assert info.value.status_code == 400


# -- determinism ----------------------------------------------------------------------------------


async def test_same_seed_model_and_request_give_the_same_answer() -> None:
    for prompt in distinct_prompts(8):
        a = await quiet(seed=3).complete(ask(prompt))
        b = await quiet(seed=3).complete(ask(prompt))
        assert same_answer(a, b)
    sim = quiet(seed=3)
    first = await sim.complete(ask("Explain tides."))
    again = await sim.complete(ask("Explain tides."))
    assert same_answer(first, again)


async def test_seed_and_model_change_the_answer() -> None:
    prompts = distinct_prompts(6)
    by_seed = [
        (await quiet(seed=1).complete(ask(p))).text != (await quiet(seed=2).complete(ask(p))).text
        for p in prompts
    ]
    assert any(by_seed)
    small = await quiet().complete(ask(prompts[0], model="acme/small"))
    large = await quiet().complete(ask(prompts[0], model="acme/large"))
    assert small.text != large.text


async def test_temperature_and_max_tokens_do_not_change_what_is_said() -> None:
    base = await quiet().complete(ask("Explain the water cycle."))
    warm = await quiet().complete(ask("Explain the water cycle.", temperature=1.5))
    capped = await quiet().complete(ask("Explain the water cycle.", max_tokens=30))
    assert warm.text == base.text
    assert base.text.startswith(capped.text)


# -- labels ---------------------------------------------------------------------------------------

SCHEMA = JsonSchemaFormat(
    name="person",
    schema={
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name", "age"],
        "additionalProperties": False,
    },
)


async def test_free_text_and_code_start_with_the_marker_line() -> None:
    sim = quiet()
    for prompt in ["Explain photosynthesis.", "Write a Python function that merges two dicts."]:
        response = await sim.complete(ask(prompt))
        first_line = response.text.splitlines()[0]
        assert first_line == marker("acme/medium")
        assert first_line.startswith(MARKER_PREFIX)
        assert "not a real model answer" in first_line
        assert response.simulated


async def test_json_answers_are_pure_json_labelled_by_the_flag() -> None:
    sim = quiet()
    json_mode = await sim.complete(ask("List three fruits.", json_mode=True))
    assert json.loads(json_mode.text)["note"].startswith("simulated by tokenplan sim")
    asked = await sim.complete(ask("Return the capitals of France and Spain as JSON only."))
    assert is_json(asked.text)
    schema = await sim.complete(ask("Describe a person.", response_format=SCHEMA))
    assert set(json.loads(schema.text)) == {"name", "age"}
    assert json_mode.simulated
    assert asked.simulated
    assert schema.simulated


async def test_streams_are_labelled_too() -> None:
    chunks = [c async for c in quiet().stream(ask("Explain photosynthesis."))]
    assert chunks[0].delta == marker("acme/medium") + "\n"
    final = chunks[-1].response
    assert final is not None
    assert final.simulated


# -- usage and cost -------------------------------------------------------------------------------


async def test_usage_comes_from_text_lengths_and_cost_from_the_catalog_price() -> None:
    request = ChatRequest(
        model="acme/large",
        messages=(
            Message(role="system", content="You are terse."),
            Message(role="user", content="Explain how a bicycle gear works."),
        ),
    )
    response = await quiet().complete(request)
    usage = response.usage
    assert usage.input_tokens == estimate_messages_tokens(m.content for m in request.messages)
    assert usage.output_tokens == estimate_tokens(response.text)
    assert usage.reasoning_tokens == 0
    assert usage.cached_tokens == 0
    expected = (usage.input_tokens * 3.00 + usage.output_tokens * 15.00) / 1e6
    assert response.cost_usd == pytest.approx(expected)


async def test_reasoning_models_report_reasoning_inside_output_tokens() -> None:
    response = await quiet().complete(
        ask("Prove that the sum of two even numbers is even.", model="acme/thinker")
    )
    usage = response.usage
    assert usage.reasoning_tokens > 0
    assert usage.output_tokens == estimate_tokens(response.text) + usage.reasoning_tokens
    model = CATALOG.get("acme/thinker")
    assert response.cost_usd == pytest.approx(
        cost_usd(
            model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )
    )
    assert response.cost_usd > usage_cost(model, usage.model_copy(update={"reasoning_tokens": 0}))


async def test_a_repeated_long_prefix_is_billed_as_cached_input() -> None:
    system = Message(role="system", content="Context paragraph about shipping logistics. " * 120)
    sim = quiet()

    def request(question: str, model: str = "acme/medium") -> ChatRequest:
        return ChatRequest(model=model, messages=(system, Message(role="user", content=question)))

    first = await sim.complete(request("What is a bill of lading?"))
    second = await sim.complete(request("What is demurrage?"))
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens > 0
    assert second.usage.cached_tokens % 128 == 0
    assert second.usage.cached_tokens <= second.usage.input_tokens
    assert second.cost_usd < usage_cost(
        CATALOG.get("acme/medium"), second.usage.model_copy(update={"cached_tokens": 0})
    )
    # No implicit hits where caching needs explicit markers or the cached price is unknown.
    for model in ("anthropic/cached", "acme/large"):
        await sim.complete(request("What is a bill of lading?", model))
        assert (await sim.complete(request("What is demurrage?", model))).usage.cached_tokens == 0


# -- max_tokens and stop --------------------------------------------------------------------------


async def test_max_tokens_truncates_and_reports_length() -> None:
    full = await quiet().complete(ask("Write a detailed report on coral reefs."))
    cut = await quiet().complete(ask("Write a detailed report on coral reefs.", max_tokens=25))
    assert cut.finish_reason == "length"
    assert cut.usage.output_tokens <= 25
    assert full.text.startswith(cut.text)
    assert len(cut.text) < len(full.text)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    max_tokens=st.integers(min_value=1, max_value=3000),
    prompt=st.sampled_from(
        [
            *distinct_prompts(5),
            "Prove Fermat's little theorem.",
            "Write a Python script that renames files.",
        ]
    ),
    model=st.sampled_from(["acme/small", "acme/thinker", "acme/large"]),
    failure=st.sampled_from([0.0, 1.0]),
)
async def test_output_never_exceeds_max_tokens(
    max_tokens: int, prompt: str, model: str, failure: float
) -> None:
    sim = quiet(failure_rates=failure)
    response = await sim.complete(ask(prompt, model=model, max_tokens=max_tokens))
    usage = response.usage
    assert usage.output_tokens <= max_tokens
    assert 0 <= usage.reasoning_tokens <= usage.output_tokens
    visible = estimate_tokens(response.text) if response.text else 0
    assert usage.output_tokens == visible + usage.reasoning_tokens


async def test_runaway_answers_without_max_tokens_stop_at_a_bounded_length() -> None:
    sim = quiet(failure_rates=1.0)
    for prompt in distinct_prompts(30):
        response = await sim.complete(ask(prompt, model="acme/small"))
        if response.finish_reason == "length":
            assert 0 < response.usage.output_tokens <= 8192
            return
    pytest.fail("no runaway answer among 30 invalid ones")


async def test_the_models_own_output_cap_holds_and_local_models_are_free() -> None:
    sim = quiet(failure_rates=1.0)
    lengths = []
    for prompt in distinct_prompts(30, "Write a detailed report on {topic} ({i})."):
        response = await sim.complete(ask(prompt, model="local/short", max_tokens=5000))
        assert response.usage.output_tokens <= 300
        assert response.cost_usd == 0.0
        lengths.append(response.finish_reason)
    assert "length" in lengths


async def test_code_steps_get_code_even_when_their_prompt_mentions_json() -> None:
    prompt = "Write a Python function that loads the config.\n\nEarlier output: return it as JSON."
    with call_context(capability="code"):
        code = await quiet().complete(ask(prompt))
        forced = await quiet().complete(ask(prompt, json_mode=True))
    block = python_block(code.text)
    assert block is not None
    assert parses(block)
    assert is_json(forced.text)
    with call_context(capability="general"):
        assert is_json((await quiet().complete(ask(prompt))).text)


async def test_math_prompts_get_a_worked_result() -> None:
    with call_context(capability="math"):
        response = await quiet().complete(ask("What is 17 * 23 + 4?"))
    assert "Answer: 395" in response.text


async def test_pathological_prompts_are_answered_quickly() -> None:
    sim = quiet()
    # Sizes stay inside acme/large's 200k-token window under the (deliberately high) estimator.
    prompts = ["1" * 150_000, "1." * 60_000 + " 3 + 4", "word, and " * 20_000, "(" * 50_000]
    started = time.perf_counter()
    for prompt in prompts:
        for capability in ("math", "code", "general"):
            with call_context(capability=capability):
                await sim.complete(ask(prompt, model="acme/large", max_tokens=300))
    assert time.perf_counter() - started < 10.0  # about 1 s when the machine is idle


async def test_stop_sequences_cut_the_answer() -> None:
    full = await quiet().complete(ask("Write a detailed report on rainbows."))
    cut = await quiet().complete(ask("Write a detailed report on rainbows.", stop=("###",)))
    assert "###" in full.text  # a long answer has sections
    assert cut.text == full.text[: full.text.index("###")]
    assert cut.text.startswith(marker("acme/medium") + "\n\n## ")
    assert cut.finish_reason == "stop"


# -- invalid answers ------------------------------------------------------------------------------


async def test_invalid_share_is_close_to_the_configured_rate() -> None:
    rate = 0.2
    sim = quiet(failure_rates={"budget": rate})
    n = 600
    invalid = 0
    for prompt in distinct_prompts(n):
        with call_context(capability="general"):
            response = await sim.complete(ask(prompt, model="acme/small"))
        invalid += is_invalid(response)
    expected = sim.invalid_rate("acme/small", "general")
    assert expected > rate  # the weaker budget model fails more than its tier's average
    sigma = math.sqrt(expected * (1 - expected) / n)
    assert abs(invalid / n - expected) < 4 * sigma


async def test_tier_rates_are_the_average_over_the_tiers_models() -> None:
    sim = quiet(failure_rates={"budget": 0.1, "mid": 0.05, "flagship": 0.02})
    for tier, rate in (("budget", 0.1), ("flagship", 0.02)):
        models = CATALOG.filter(tier=tier)
        average = sum(sim.invalid_rate(m, "code") for m in models) / len(models)
        assert average == pytest.approx(rate)
    assert sim.invalid_rate("acme/medium") == 0.05
    assert sim.invalid_rate("acme/large", "code") < sim.invalid_rate("acme/small", "code")


async def test_invalid_code_answers_have_python_that_does_not_parse() -> None:
    sim = quiet(failure_rates=1.0)
    kinds: set[str] = set()
    for prompt in distinct_prompts(40, "Write a Python function that sorts {topic} records ({i})."):
        with call_context(capability="code"):
            response = await sim.complete(ask(prompt))
        assert is_invalid(response, code=True)
        if response.text and response.finish_reason == "stop":
            block = python_block(response.text)
            assert block is not None
            assert not parses(block)
            kinds.add("broken")
        else:
            kinds.add("empty" if not response.text else "length")
    assert kinds == {"broken", "empty", "length"}
    with call_context(capability="code"):
        good = await quiet().complete(ask("Write a Python function that sorts records."))
    block = python_block(good.text)
    assert block is not None
    assert parses(block)


async def test_invalid_json_answers_do_not_parse() -> None:
    sim = quiet(failure_rates=1.0)
    kinds: set[str] = set()
    for prompt in distinct_prompts(40):
        for request in (ask(prompt, json_mode=True), ask(prompt, response_format=SCHEMA)):
            response = await sim.complete(request)
            assert is_invalid(response, json_expected=True)
            kinds.add("empty" if not response.text else response.finish_reason)
    assert kinds == {"empty", "length", "stop"}  # "stop" = malformed JSON


async def test_retrying_the_same_model_repeats_the_mistake_other_models_do_better() -> None:
    sim = quiet(failure_rates={"budget": 0.5, "flagship": 0.02})
    bad = []
    for prompt in distinct_prompts(40):
        first = await sim.complete(ask(prompt, model="acme/small"))
        if is_invalid(first):
            again = await sim.complete(ask(prompt, model="acme/small"))
            assert (again.text, again.finish_reason) == (first.text, first.finish_reason)
            bad.append(prompt)
    assert len(bad) >= 10
    escalated = [await sim.complete(ask(p, model="acme/large")) for p in bad]
    assert sum(not is_invalid(r) for r in escalated) >= len(bad) - 2


# -- transient faults -----------------------------------------------------------------------------


async def test_transient_faults_are_retryable_and_a_retry_can_succeed() -> None:
    sim = quiet(error_rates=0.5)
    failures = 0
    for prompt in distinct_prompts(120):
        request = ask(prompt)
        errors: list[ProviderError] = []
        for _ in range(30):
            try:
                await sim.complete(request)
                break
            except (RateLimitError, UpstreamServerError) as exc:
                errors.append(exc)
        else:
            pytest.fail("30 attempts in a row failed at a 50% fault rate")
        failures += bool(errors)
        for exc in errors:
            assert exc.retryable
            assert exc.provider == "sim"
            if isinstance(exc, RateLimitError):
                assert exc.status_code == 429
                assert exc.retry_after_s == 0.0  # latency scale 0 -> no waiting asked for
            else:
                assert exc.status_code == 503
    assert 40 <= failures <= 80  # about half of the first attempts


async def test_fault_sequence_is_deterministic_per_instance_history() -> None:
    async def outcomes(sim: SimulatorModel) -> list[str]:
        out = []
        for prompt in distinct_prompts(10):
            for _ in range(3):
                try:
                    await sim.complete(ask(prompt))
                    out.append("ok")
                except ProviderError as exc:
                    out.append(type(exc).__name__)
        return out

    assert await outcomes(quiet(error_rates=0.4, seed=9)) == await outcomes(
        quiet(error_rates=0.4, seed=9)
    )


async def test_rate_limits_ask_for_a_realistic_wait_scaled_by_latency() -> None:
    sim = SimulatorModel(CATALOG, failure_rates=0.0, error_rates=1.0, latency_scale=0.001)
    errors: list[ProviderError] = []
    for prompt in distinct_prompts(20):
        try:
            await sim.complete(ask(prompt))
        except ProviderError as exc:
            errors.append(exc)
    assert len(errors) == 20
    rate_limits = [e for e in errors if isinstance(e, RateLimitError)]
    assert rate_limits
    assert any(isinstance(e, UpstreamServerError) for e in errors)
    for exc in rate_limits:
        assert exc.retry_after_s is not None
        assert 0.0 <= exc.retry_after_s <= 0.002
        assert exc.headers["retry-after"] == "1"


async def test_stream_faults_happen_before_the_first_chunk() -> None:
    sim = quiet(error_rates=1.0)
    received: list[object] = []

    async def consume() -> None:
        async for chunk in sim.stream(ask("Explain tides.")):
            received.append(chunk)

    with pytest.raises((RateLimitError, UpstreamServerError)):
        await consume()
    assert received == []


# -- streaming ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        ask("Explain how a refrigerator works."),
        ask("Write a Python function that parses ISO dates."),
        ask("List three fruits.", json_mode=True),
        ask("Explain how a refrigerator works.", max_tokens=40),
        ask("Describe a person.", response_format=SCHEMA),
    ],
)
async def test_stream_chunks_concatenate_to_the_complete_text(request_: ChatRequest) -> None:
    complete = await quiet().complete(request_)
    chunks = [c async for c in quiet().stream(request_)]
    assert len(chunks) >= 3
    assert all(c.response is None for c in chunks[:-1])
    final = chunks[-1].response
    assert final is not None
    assert chunks[-1].delta == ""
    assert "".join(c.delta for c in chunks) == complete.text == final.text
    assert same_answer(final, complete)


async def test_empty_answers_stream_only_the_final_chunk() -> None:
    sim = quiet(failure_rates=1.0)
    for prompt in distinct_prompts(40):
        complete = await sim.complete(ask(prompt))
        if complete.text == "":
            chunks = [c async for c in quiet(failure_rates=1.0).stream(ask(prompt))]
            assert len(chunks) == 1
            assert chunks[0].response is not None
            return
    pytest.fail("no empty answer among 40 invalid ones")


# -- latency and cancellation ---------------------------------------------------------------------


async def test_latency_scale_zero_never_sleeps() -> None:
    sim = quiet()
    started = time.perf_counter()
    for prompt in distinct_prompts(100):
        response = await sim.complete(ask(prompt, model="acme/large"))
        assert response.latency_ms < 300  # at scale 1 this model takes over 900 ms
    assert time.perf_counter() - started < 5.0  # pure CPU; about 0.1 s when the machine is idle


async def test_latency_follows_the_tier() -> None:
    scale = 0.15  # budget ~0.44 s, flagship ~0.76 s: a wide margin on a busy machine
    sim = SimulatorModel(CATALOG, failure_rates=0.0, error_rates=0.0, latency_scale=scale)
    prompt = "Explain why the sky is blue."
    budget = await sim.complete(ask(prompt, model="acme/small"))
    flagship = await sim.complete(ask(prompt, model="acme/large"))
    assert budget.latency_ms < flagship.latency_ms
    # Flagship: at least 1.1 s to the first token x 0.85 jitter, x the scale.
    assert flagship.latency_ms >= 1000 * scale * 1.1 * 0.85


async def test_streaming_spreads_the_answer_over_time() -> None:
    sim = SimulatorModel(CATALOG, failure_rates=0.0, error_rates=0.0, latency_scale=0.05)
    stamps = []
    started = time.monotonic()
    async for _ in sim.stream(
        ask("Write a detailed report on bird migration.", model="acme/large")
    ):
        stamps.append(time.monotonic() - started)
    assert stamps[0] >= 0.05 * 1.1 * 0.85 * 0.9  # time to first token
    assert stamps[-1] - stamps[0] > 0.05  # tokens keep arriving after the first


async def test_cancellation_during_the_simulated_wait_is_prompt() -> None:
    sim = SimulatorModel(CATALOG, failure_rates=0.0, error_rates=0.0, latency_scale=1.0)
    for consume in ("complete", "stream"):
        started = time.monotonic()
        with anyio.move_on_after(0.05) as scope:
            if consume == "complete":
                await sim.complete(ask("Write a detailed report on glaciers.", model="acme/large"))
            else:
                async for _ in sim.stream(
                    ask("Write a detailed report on glaciers.", model="acme/large")
                ):
                    pass
        assert scope.cancelled_caught
        assert time.monotonic() - started < 1.5  # the uncancelled call would take seconds


async def test_cancelling_a_task_group_cancels_in_flight_calls() -> None:
    sim = SimulatorModel(CATALOG, failure_rates=0.0, error_rates=0.0, latency_scale=1.0)
    finished: list[str] = []

    async def call(model: str) -> None:
        await sim.complete(ask("Explain glaciers in depth.", model=model))
        finished.append(model)

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        for model in ("acme/small", "acme/medium", "acme/large"):
            tg.start_soon(call, model)
        await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert finished == []
    assert time.monotonic() - started < 1.5  # the uncancelled calls would take seconds


async def test_timeout_shorter_than_the_simulated_latency_raises_a_timeout() -> None:
    sim = SimulatorModel(CATALOG, failure_rates=0.0, error_rates=0.0, latency_scale=1.0)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as info:
        await sim.complete(ask("Explain glaciers.", model="acme/large", timeout_s=0.05))
    assert info.value.retryable
    assert 0.04 <= time.monotonic() - started < 1.5  # the full answer would take seconds
