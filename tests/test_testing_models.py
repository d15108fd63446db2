from __future__ import annotations

import pytest

from tokenplan.errors import RateLimitError
from tokenplan.providers.base import ChatModel
from tokenplan.testing import FunctionModel, ScriptedModel
from tokenplan.types import ChatRequest


async def test_scripted_model_replies_in_order_and_raises() -> None:
    model = ScriptedModel(["one", RateLimitError("slow", status_code=429), "three"])
    assert isinstance(model, ChatModel)
    req = ChatRequest.from_prompt("hi", model="x/y")
    assert (await model.complete(req)).text == "one"
    with pytest.raises(RateLimitError):
        await model.complete(req)
    assert (await model.complete(req)).text == "three"
    with pytest.raises(AssertionError, match="ran out"):
        await model.complete(req)
    assert len(model.requests) == 4


async def test_function_model_stream_assembles_text_and_usage() -> None:
    async def answer(req: ChatRequest) -> str:
        return f"echo {req.messages[-1].content}"

    model = FunctionModel(answer)
    chunks = [c async for c in model.stream(ChatRequest.from_prompt("hello world", model="a/b"))]
    assert "".join(c.delta for c in chunks) == "echo hello world"
    final = chunks[-1].response
    assert final is not None
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0


async def test_length_limit_is_reported() -> None:
    model = ScriptedModel(["word " * 200])
    resp = await model.complete(ChatRequest.from_prompt("x", model="a/b", max_tokens=5))
    assert resp.finish_reason == "length"
    assert resp.usage.output_tokens == 5
