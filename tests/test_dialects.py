"""Request bodies, usage normalization and finish reasons of the three wire dialects."""

from __future__ import annotations

import orjson
import pytest

from _providers_support import catalog
from tokenplan.providers.dialects import (
    AnthropicDialect,
    GeminiDialect,
    InStreamError,
    MalformedPayload,
    OpenAIChatDialect,
)
from tokenplan.providers.dialects.anthropic import usage_from_anthropic
from tokenplan.providers.dialects.gemini import usage_from_gemini
from tokenplan.providers.dialects.openai_chat import usage_from_openai
from tokenplan.providers.endpoints import find_endpoint
from tokenplan.types import ChatRequest, JsonSchemaFormat, Message, Usage

CAT = catalog()
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def _req(**kw: object) -> ChatRequest:
    msgs = (
        Message(role="system", content="sys one"),
        Message(role="developer", content="dev two"),
        Message(role="user", content="hi"),
        Message(role="user", content="again"),
        Message(role="assistant", content="ok"),
        Message(role="tool", content="tool says"),
    )
    return ChatRequest(model="x", messages=msgs, **kw)  # type: ignore[arg-type]


def _ep(name: str):  # type: ignore[no-untyped-def]
    e = find_endpoint(name)
    assert e is not None
    return e


# -- OpenAI --------------------------------------------------------------------------------------


def test_openai_body_for_openai_reasoning_model() -> None:
    d = OpenAIChatDialect()
    req = _req(max_tokens=300, temperature=0.5, top_p=0.9, stop=("END",), extra={"seed": 7})
    wire = d.build(req, CAT.get("openai/o-mini"), _ep("openai"), stream=False)
    assert wire.path == "/chat/completions"
    body = wire.body
    assert body["model"] == "o-mini"
    assert body["max_completion_tokens"] == 300
    assert "max_tokens" not in body
    assert "temperature" not in body
    assert "top_p" not in body
    assert body["stop"] == ["END"]
    assert body["seed"] == 7
    assert [m["role"] for m in body["messages"]] == [
        "system",
        "developer",
        "user",
        "user",
        "assistant",
        "user",
    ]
    assert "stream" not in body


def test_openai_compatible_servers_get_max_tokens_and_no_developer_role() -> None:
    d = OpenAIChatDialect()
    wire = d.build(
        _req(max_tokens=50, temperature=0.2),
        CAT.get("deepseek/ds-chat"),
        _ep("deepseek"),
        stream=True,
    )
    body = wire.body
    assert body["max_tokens"] == 50
    assert body["temperature"] == 0.2
    assert body["messages"][1]["role"] == "system"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    mistral = d.build(_req(), CAT.get("mistral/mis-small"), _ep("mistral"), stream=True).body
    assert "stream_options" not in mistral  # Mistral rejects it (422) and reports usage anyway


def test_openai_structured_output_and_json_mode() -> None:
    d = OpenAIChatDialect()
    fmt = JsonSchemaFormat(name="answer", schema=SCHEMA, strict=True)
    body = d.build(
        _req(response_format=fmt), CAT.get("openai/o-mini"), _ep("openai"), stream=False
    ).body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
    body = d.build(_req(json_mode=True), CAT.get("openai/o-mini"), _ep("openai"), stream=False).body
    assert body["response_format"] == {"type": "json_object"}


def test_openai_usage_normalization() -> None:
    u = usage_from_openai(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 300,
            "total_tokens": 1300,
            "prompt_tokens_details": {"cached_tokens": 800, "cache_write_tokens": 100},
            "completion_tokens_details": {"reasoning_tokens": 200},
        }
    )
    assert u == Usage(
        input_tokens=1000,
        output_tokens=300,
        cached_tokens=800,
        cache_write_tokens=100,
        reasoning_tokens=200,
    )
    deepseek = usage_from_openai(
        {"prompt_tokens": 50, "completion_tokens": 5, "prompt_cache_hit_tokens": 40}
    )
    assert deepseek is not None
    assert deepseek.cached_tokens == 40
    assert usage_from_openai(None) is None
    assert usage_from_openai({"prompt_tokens": None, "completion_tokens": 3}) == Usage(
        output_tokens=3
    )


def test_openai_parser_shared_by_body_and_stream() -> None:
    d = OpenAIChatDialect()
    p = d.parser()
    p.feed_body(
        {
            "id": "c1",
            "choices": [{"index": 0, "message": {"content": "hey"}, "finish_reason": "length"}],
        }
    )
    r = p.result()
    assert (r.id, r.text, r.finish_reason, r.usage) == ("c1", "hey", "length", None)

    s = d.parser()
    assert (
        s.feed_event(
            "",
            '{"id":"c2","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}',
        )
        == ""
    )
    assert (
        s.feed_event(
            "", '{"id":"c2","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}'
        )
        == "a"
    )
    assert (
        s.feed_event(
            "", '{"id":"c2","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}'
        )
        == ""
    )
    assert (
        s.feed_event(
            "", '{"id":"c2","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}'
        )
        == ""
    )
    assert s.feed_event("", "[DONE]") == ""
    assert s.done
    r = s.result()
    assert (r.text, r.finish_reason, r.usage) == (
        "a",
        "tool_calls",
        Usage(input_tokens=3, output_tokens=1),
    )


def test_openai_refusal_and_malformed_and_in_stream_error() -> None:
    d = OpenAIChatDialect()
    p = d.parser()
    p.feed_body(
        {
            "choices": [
                {"index": 0, "message": {"content": None, "refusal": "no"}, "finish_reason": "stop"}
            ]
        }
    )
    assert (p.result().text, p.result().finish_reason) == ("no", "content_filter")
    with pytest.raises(MalformedPayload):
        d.parser().feed_event("", "{not json")
    with pytest.raises(MalformedPayload):
        d.parser().feed_body({"object": "list"})
    with pytest.raises(InStreamError) as err:
        d.parser().feed_event("", '{"error": {"message": "slow", "type": "rate_limit_exceeded"}}')
    assert err.value.status == 429
    openrouter = orjson.dumps(
        {
            "id": "x",
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            "error": {"code": 502, "message": "upstream died"},
        }
    ).decode()
    with pytest.raises(InStreamError) as err:
        d.parser().feed_event("", openrouter)
    assert err.value.status == 502
    assert not d.parser().done


def test_openai_error_info_reads_structured_fields() -> None:
    d = OpenAIChatDialect()
    info = d.error_info(
        400,
        {
            "error": {
                "message": "The model does not exist",
                "type": "invalid_request_error",
                "param": "model",
                "code": None,
            }
        },
    )
    assert info.on_model
    info = d.error_info(
        400,
        {
            "error": {
                "message": "model mentioned in text only",
                "type": "invalid_request_error",
                "param": "messages",
                "code": None,
            }
        },
    )
    assert not info.on_model  # decided from fields, never from the message
    assert d.error_info(404, {"error": "model 'x' not found"}).message == "model 'x' not found"
    assert (
        d.error_info(
            422, {"object": "error", "message": "bad", "type": "invalid_request_error"}
        ).kind
        == "invalid_request_error"
    )


# -- Anthropic -----------------------------------------------------------------------------------


def test_anthropic_body() -> None:
    d = AnthropicDialect()
    fmt = JsonSchemaFormat(schema=SCHEMA)
    wire = d.build(
        _req(
            temperature=1.5,
            top_p=0.5,
            stop=("X",),
            response_format=fmt,
            extra={"metadata": {"user_id": "u"}},
        ),
        CAT.get("anthropic/claude-t"),
        _ep("anthropic"),
        stream=True,
    )
    body = wire.body
    assert wire.path == "/v1/messages"
    assert body["system"] == "sys one\n\ndev two"
    assert body["messages"] == [
        {"role": "user", "content": "hi\n\nagain"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "tool says"},
    ]
    assert body["max_tokens"] == 8192  # required by the API; the model's cap is 16000
    assert body["temperature"] == 1.0
    assert "top_p" not in body
    assert body["stop_sequences"] == ["X"]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert body["stream"] is True
    assert body["metadata"] == {"user_id": "u"}
    assert d.auth_headers("sk-ant-k") == {
        "anthropic-version": "2023-06-01",
        "x-api-key": "sk-ant-k",
    }


def test_anthropic_json_mode_uses_an_instruction() -> None:
    body = (
        AnthropicDialect()
        .build(
            _req(json_mode=True, max_tokens=10),
            CAT.get("anthropic/claude-t"),
            _ep("anthropic"),
            stream=False,
        )
        .body
    )
    assert "JSON" in body["system"]
    assert body["max_tokens"] == 10


@pytest.mark.parametrize(
    ("usage", "output", "reasoning"),
    [
        # xAI: reasoning apart from completion_tokens; total = prompt + completion + reasoning.
        (
            {
                "prompt_tokens": 2341,
                "completion_tokens": 31,
                "total_tokens": 3108,
                "completion_tokens_details": {"reasoning_tokens": 736},
            },
            767,
            736,
        ),
        (
            {
                "prompt_tokens": 10120,
                "completion_tokens": 1499,
                "total_tokens": 14428,
                "prompt_tokens_details": {"cached_tokens": 128},
                "completion_tokens_details": {"reasoning_tokens": 2809},
            },
            4308,
            2809,
        ),
        # No total, but more reasoning than completion: it cannot be inside.
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "completion_tokens_details": {"reasoning_tokens": 50},
            },
            55,
            50,
        ),
        # OpenAI: reasoning inside completion_tokens; total = prompt + completion.
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 300,
                "total_tokens": 310,
                "completion_tokens_details": {"reasoning_tokens": 200},
            },
            300,
            200,
        ),
        # Tokens the total counts beyond prompt + completion are billed output.
        ({"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 100}, 90, 0),
    ],
    ids=["xai", "xai-cached", "no-total", "openai", "unreported"],
)
def test_openai_usage_reasoning_inside_or_outside_completion(
    usage: dict[str, object], output: int, reasoning: int
) -> None:
    u = usage_from_openai(usage)
    assert u is not None
    assert (u.output_tokens, u.reasoning_tokens) == (output, reasoning)


def test_anthropic_usage_counts_cache_reads_and_writes_as_input() -> None:
    u = usage_from_anthropic(
        {
            "input_tokens": 20,
            "cache_read_input_tokens": 900,
            "cache_creation_input_tokens": 80,
            "output_tokens": 120,
            "output_tokens_details": {"thinking_tokens": 100},
        }
    )
    assert u == Usage(
        input_tokens=1000,
        output_tokens=120,
        cached_tokens=900,
        cache_write_tokens=80,
        reasoning_tokens=100,
    )


def test_anthropic_stream_event_sequence() -> None:
    p = AnthropicDialect().parser()
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "m",
                    "stop_reason": None,
                    "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "hmm"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "Hel"},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "lo"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                "usage": {"output_tokens": 42},
            },
        ),
    ]
    text = "".join(p.feed_event(name, orjson.dumps(data).decode()) for name, data in events)
    assert text == "Hello"
    assert not p.done
    p.feed_event("message_stop", '{"type": "message_stop"}')
    r = p.result()
    assert p.done
    assert r.id == "msg_1"
    assert r.finish_reason == "length"
    assert r.usage == Usage(input_tokens=15, output_tokens=42, cached_tokens=5)


def test_anthropic_error_event_maps_to_status() -> None:
    with pytest.raises(InStreamError) as err:
        AnthropicDialect().parser().feed_event(
            "error",
            '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
        )
    assert err.value.status == 529
    assert err.value.info.kind == "overloaded_error"


# -- Gemini --------------------------------------------------------------------------------------


def test_gemini_body_and_url() -> None:
    d = GeminiDialect()
    fmt = JsonSchemaFormat(schema=SCHEMA)
    wire = d.build(
        _req(max_tokens=99, temperature=0.3, top_p=0.8, stop=("Z",), response_format=fmt),
        CAT.get("gemini/gemini-t"),
        _ep("gemini"),
        stream=True,
    )
    assert wire.path == "/models/gemini-t:streamGenerateContent"
    assert wire.params == {"alt": "sse"}
    body = wire.body
    assert body["systemInstruction"] == {"parts": [{"text": "sys one\n\ndev two"}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}, {"text": "again"}]},
        {"role": "model", "parts": [{"text": "ok"}]},
        {"role": "user", "parts": [{"text": "tool says"}]},
    ]
    assert body["generationConfig"] == {
        "maxOutputTokens": 99,
        "temperature": 0.3,
        "topP": 0.8,
        "stopSequences": ["Z"],
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }
    plain = d.build(
        ChatRequest.from_prompt("x", extra={"generationConfig": {"seed": 3}}, max_tokens=5),
        CAT.get("gemini/gemini-t"),
        _ep("gemini"),
        stream=False,
    )
    assert plain.path == "/models/gemini-t:generateContent"
    assert plain.params is None
    assert plain.body["generationConfig"] == {"maxOutputTokens": 5, "seed": 3}
    assert d.auth_headers("AIza-k") == {"x-goog-api-key": "AIza-k"}


def test_gemini_usage_thoughts_are_output_apart_from_candidates() -> None:
    u = usage_from_gemini(
        {
            "promptTokenCount": 500,
            "cachedContentTokenCount": 300,
            "candidatesTokenCount": 40,
            "thoughtsTokenCount": 60,
            "totalTokenCount": 600,
        }
    )
    assert u == Usage(input_tokens=500, output_tokens=100, cached_tokens=300, reasoning_tokens=60)


def test_gemini_parser_skips_thoughts_and_maps_finish() -> None:
    p = GeminiDialect().parser()
    chunk = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "plan", "thought": True}, {"text": "Hi"}],
                }
            }
        ],
        "usageMetadata": {"promptTokenCount": 4},
    }
    assert p.feed_event("", orjson.dumps(chunk).decode()) == "Hi"
    assert not p.done
    last = {
        "candidates": [{"content": {"parts": [{"text": "!"}]}, "finishReason": "SAFETY"}],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2},
        "responseId": "r1",
    }
    assert p.feed_event("", orjson.dumps(last).decode()) == "!"
    r = p.result()
    assert p.done
    assert r.text == "Hi!"
    assert r.finish_reason == "content_filter"
    assert r.id == "r1"
    blocked = GeminiDialect().parser()
    blocked.feed_body(
        {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}
    )
    assert blocked.result().finish_reason == "content_filter"


def test_gemini_error_info_reads_retry_info() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
            ],
        }
    }
    info = GeminiDialect().error_info(429, body)
    assert (info.kind, info.retry_after_s) == ("RESOURCE_EXHAUSTED", 37.0)
    assert GeminiDialect().error_info(500, [body]).kind == "RESOURCE_EXHAUSTED"
