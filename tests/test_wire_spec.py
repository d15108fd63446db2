"""Wire formats checked against the published contracts, not our own assumptions.

OpenAI: what our dialect sends is validated against ``CreateChatCompletionRequest`` and what the
fake answers against ``CreateChatCompletionResponse`` / ``CreateChatCompletionStreamResponse`` /
``ErrorResponse`` from the official OpenAPI spec (``../shared/specs/openai-openapi.json``).
Anthropic and Gemini: against the official SDKs' types (``anthropic``, ``google-genai``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from _openai_spec import validate_openai as _validate_openai
from _providers_support import MODEL_FOR, asgi_client, catalog
from tokenplan.providers.dialects import get_dialect
from tokenplan.providers.endpoints import find_endpoint
from tokenplan.providers.sse import SSEDecoder
from tokenplan.testing.fakes import FakeProviders
from tokenplan.types import ChatRequest, JsonSchemaFormat, Message

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["title", "n"],
    "additionalProperties": False,
}
CAT = catalog()

REQUESTS = {
    "plain": ChatRequest.from_prompt("hello", system="be brief"),
    "capped": ChatRequest.from_prompt(
        "hello", max_tokens=64, temperature=0.2, top_p=0.9, stop=("END",)
    ),
    "schema": ChatRequest.from_prompt(
        "list", response_format=JsonSchemaFormat(name="out", schema=SCHEMA)
    ),
    "json_mode": ChatRequest.from_prompt("json please", json_mode=True, max_tokens=20),
    "conversation": ChatRequest(
        model="x",
        messages=(
            Message(role="developer", content="rules"),
            Message(role="user", content="a", name="alice"),
            Message(role="assistant", content="b"),
            Message(role="user", content="c"),
        ),
    ),
}


async def _exchange(
    fake: FakeProviders, dialect: str, request: ChatRequest, *, stream: bool
) -> tuple[dict[str, Any], list[tuple[str, Any]], Any]:
    """Send what our dialect builds to the fake; return (request body, SSE events, JSON body)."""
    model = CAT.get(MODEL_FOR[dialect])
    endpoint = find_endpoint(model.provider)
    assert endpoint is not None
    wire = get_dialect(dialect).build(request, model, endpoint, stream=stream)
    base = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}[dialect]
    async with asgi_client(fake) as client:
        r = await client.post("http://fake" + base + wire.path, json=wire.body, params=wire.params)
    assert r.status_code == 200, r.text
    if not stream:
        return wire.body, [], r.json()
    events = [(e.event, e.data) for e in SSEDecoder().feed(r.content)]
    return wire.body, events, None


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("stream", [False, True])
async def test_openai_requests_and_responses_match_the_spec(name: str, stream: bool) -> None:
    fake = FakeProviders(cached_tokens=3, reasoning_tokens=5)
    body, events, answer = await _exchange(fake, "openai", REQUESTS[name], stream=stream)
    _validate_openai("CreateChatCompletionRequest", body)
    if not stream:
        _validate_openai("CreateChatCompletionResponse", answer)
        return
    assert events[-1] == ("", "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    for chunk in chunks:
        _validate_openai("CreateChatCompletionStreamResponse", chunk)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500])
async def test_openai_error_bodies_match_the_spec(status: int) -> None:
    fake = FakeProviders()
    fake.fail(status)
    async with asgi_client(fake) as client:
        r = await client.post(
            "http://fake/v1/chat/completions", json={"model": "m", "messages": []}
        )
    assert r.status_code == status
    _validate_openai("ErrorResponse", r.json())


#: Sampling fields the API accepts (on models that support sampling) but anthropic>=1.0 no longer
#: types; SDK users send them through ``extra_body``.
_ANTHROPIC_SAMPLING = {"temperature": float, "top_p": float, "top_k": int}


def _anthropic_request_ok(body: dict[str, Any], *, stream: bool) -> None:
    from anthropic.types import message_create_params
    from pydantic import TypeAdapter

    params = (
        message_create_params.MessageCreateParamsStreaming
        if stream
        else message_create_params.MessageCreateParamsNonStreaming
    )
    allowed = set()
    for klass in params.__mro__:
        allowed |= set(getattr(klass, "__annotations__", {}))
    typed = {k: v for k, v in body.items() if k not in _ANTHROPIC_SAMPLING}
    assert set(typed) <= allowed, set(typed) - allowed
    for key, kind in _ANTHROPIC_SAMPLING.items():
        assert key not in body or isinstance(body[key], kind)
    assert not ("temperature" in body and "top_p" in body)  # the API rejects both together
    TypeAdapter(params).validate_python(typed)


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("reasoning", [0, 7])
async def test_anthropic_wire_matches_the_sdk_types(
    name: str, stream: bool, reasoning: int
) -> None:
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    fake = FakeProviders(cached_tokens=4, cache_write_tokens=2, reasoning_tokens=reasoning)
    body, events, answer = await _exchange(fake, "anthropic", REQUESTS[name], stream=stream)
    _anthropic_request_ok(body, stream=stream)
    if not stream:
        msg = AnthropicMessage.model_validate(answer)
        assert msg.usage.cache_read_input_tokens == 4
        return
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    names = [event for event, _ in events]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    for event, data in events:
        obj = json.loads(data)
        assert obj["type"] == event  # the SSE event name always matches the payload type
        if event != "ping":
            adapter.validate_python(obj)


async def test_anthropic_error_bodies_match_the_sdk_type() -> None:
    from anthropic.types import ErrorResponse

    for status in (400, 401, 403, 404, 429, 500, 529):
        fake = FakeProviders()
        fake.fail(status)
        async with asgi_client(fake) as client:
            r = await client.post(
                "http://fake/v1/messages", json={"model": "m", "max_tokens": 5, "messages": []}
            )
        assert r.status_code == status
        ErrorResponse.model_validate(r.json())


def _gemini_request_ok(body: dict[str, Any]) -> None:
    from google.genai import types

    assert set(body) <= {"contents", "systemInstruction", "generationConfig"}
    for content in body["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    if "generationConfig" in body:
        types.GenerationConfig.model_validate(body["generationConfig"])  # extra="forbid"


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("stream", [False, True])
async def test_gemini_wire_matches_the_sdk_types(name: str, stream: bool) -> None:
    from google.genai import types

    fake = FakeProviders(cached_tokens=6, reasoning_tokens=9)
    body, events, answer = await _exchange(fake, "gemini", REQUESTS[name], stream=stream)
    _gemini_request_ok(body)
    if not stream:
        resp = types.GenerateContentResponse.model_validate(answer)
        assert resp.usage_metadata is not None
        assert resp.usage_metadata.thoughts_token_count == 9
        return
    parsed = [types.GenerateContentResponse.model_validate(json.loads(data)) for _, data in events]
    assert parsed[-1].candidates
    assert parsed[-1].candidates[0].finish_reason == types.FinishReason.STOP


async def test_fake_answers_schema_requests_with_matching_json() -> None:
    import jsonschema

    fake = FakeProviders()
    for dialect in ("openai", "anthropic", "gemini"):
        _, _, answer = await _exchange(fake, dialect, REQUESTS["schema"], stream=False)
        parser = get_dialect(dialect).parser()
        parser.feed_body(answer)
        answer_json = json.loads(parser.result().text)
        assert not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(answer_json))


def test_httpx_is_what_the_exchange_uses() -> None:
    assert issubclass(httpx.ASGITransport, httpx.AsyncBaseTransport)
