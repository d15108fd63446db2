"""The replay provider: recorded responses and costs; clear refusals."""

from __future__ import annotations

import pytest

from _bench_data import mc_prompt, synthetic_outcomes
from tokenplan.bench.dataset import Outcome, OutcomeDataset, Sample
from tokenplan.bench.replay import ReplayModel
from tokenplan.errors import ModelUnavailableError, ProviderError, ReplayMissError
from tokenplan.providers.base import ChatModel
from tokenplan.types import ChatRequest, Message


async def test_serves_the_recorded_response_and_cost() -> None:
    ds = synthetic_outcomes(10)
    replay = ReplayModel(ds)
    assert isinstance(replay, ChatModel)
    sample = ds.samples[3]
    recorded = ds.outcome(sample.id, "cheap-b")
    response = await replay.complete(ChatRequest.from_prompt(sample.text, model="t/cheap-b"))
    assert response.text == recorded.response
    assert response.cost_usd == recorded.cost_usd
    assert response.model == "t/cheap-b"
    assert response.provider == "replay"
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    assert not response.simulated
    assert response.raw == {
        "replay": {"sample_id": sample.id, "response_recorded": True, "cost_estimated": False}
    }
    # The dataset's own model name works too; the answer names the catalog id.
    again = await replay.complete(ChatRequest.from_prompt(sample.text, model="cheap-b"))
    assert again.model == "t/cheap-b"
    assert replay.calls == 2


async def test_stream_assembles_the_same_response() -> None:
    ds = synthetic_outcomes(5)
    replay = ReplayModel(ds)
    request = ChatRequest.from_prompt(ds.samples[0].text, model="t/big")
    chunks = [c async for c in replay.stream(request)]
    final = chunks[-1].response
    assert final is not None
    assert "".join(c.delta for c in chunks) == final.text == (await replay.complete(request)).text


async def test_unknown_prompt_is_refused_with_its_key() -> None:
    replay = ReplayModel(synthetic_outcomes(5))
    with pytest.raises(ReplayMissError) as info:
        await replay.complete(ChatRequest.from_prompt("never recorded", model="t/big"))
    err = info.value
    assert isinstance(err, ProviderError)
    assert not err.retryable
    assert err.prompt_key in str(err)
    assert err.model == "t/big"
    assert "never recorded" not in str(err)  # the key, not the text
    assert replay.calls == 0


async def test_a_decorated_prompt_is_not_the_recorded_one() -> None:
    ds = synthetic_outcomes(5)
    replay = ReplayModel(ds)
    request = ChatRequest(
        model="t/big",
        messages=(
            Message(role="system", content="Be brief."),
            Message(role="user", content=mc_prompt(0)),
        ),
    )
    with pytest.raises(ReplayMissError):
        await replay.complete(request)


async def test_unknown_model_is_unavailable() -> None:
    ds = synthetic_outcomes(5)
    replay = ReplayModel(ds)
    with pytest.raises(ModelUnavailableError) as info:
        await replay.complete(ChatRequest.from_prompt(ds.samples[0].text, model="t/gpt-9"))
    assert info.value.status_code == 404
    assert info.value.model == "t/gpt-9"
    assert "t/gpt-9" in str(info.value)
    with pytest.raises(ModelUnavailableError):
        [c async for c in replay.stream(ChatRequest.from_prompt("x", model="other/big"))]


async def test_no_recorded_text_gives_an_empty_marked_response() -> None:
    ds = OutcomeDataset(
        name="mmlu-like",
        id_prefix="rl",
        models=["w", "s"],
        samples=[Sample("q1", "What is 2+2?\nA. 3\nB. 4\nAnswer:", "mmlu", "general")],
        outcomes={"w": [Outcome(0.0, 0.001, None, True)], "s": [Outcome(1.0, 0.01, None, True)]},
    )
    response = await ReplayModel(ds).complete(
        ChatRequest.from_prompt(ds.samples[0].text, model="rl/s")
    )
    assert response.text == ""
    assert response.usage.output_tokens == 0
    assert response.cost_usd == 0.01
    assert response.raw is not None
    assert response.raw["replay"]["response_recorded"] is False
    assert response.raw["replay"]["cost_estimated"] is True
