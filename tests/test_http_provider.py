"""The HTTP provider against the loopback fake: every dialect, stream and not, and every error."""

from __future__ import annotations

import logging

import httpx
import pytest

from _providers_support import (
    KEY,
    MODEL_FOR,
    asgi_client,
    catalog,
    closed_port,
    fake_env,
    http_model,
)
from tokenplan.errors import (
    AuthenticationError,
    ModelUnavailableError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    UpstreamServerError,
)
from tokenplan.pricing import usage_cost
from tokenplan.providers.transport import AiohttpTransport
from tokenplan.testing.fake_server import serve_fake
from tokenplan.testing.fakes import FakeProviders, Fault
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk

DIALECTS = ["openai", "anthropic", "gemini"]
REQ = ChatRequest.from_prompt(
    "What is the capital of France?", system="Answer briefly.", max_tokens=200
)


async def _stream(model: object, request: ChatRequest = REQ) -> tuple[str, ChatResponse]:
    chunks: list[StreamChunk] = [c async for c in model.stream(request)]  # type: ignore[attr-defined]
    assert chunks[-1].response is not None
    assert chunks[-1].delta == ""
    assert all(c.response is None for c in chunks[:-1])
    return "".join(c.delta for c in chunks), chunks[-1].response


async def _call(model: object, request: ChatRequest, *, stream: bool) -> ChatResponse:
    if stream:
        return (await _stream(model, request))[1]
    return await model.complete(request)  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_complete_and_stream_agree_with_normalized_usage_and_cost(dialect: str) -> None:
    fake = FakeProviders(
        cached_tokens=6, cache_write_tokens=2 if dialect == "anthropic" else 0, reasoning_tokens=11
    )
    async with asgi_client(fake) as client:
        model = http_model(MODEL_FOR[dialect], client)
        full = await model.complete(REQ)
        text, streamed = await _stream(model)
    expected = f"Echo from {MODEL_FOR[dialect].split('/')[1]}: What is the capital of France?"
    assert full.text == text == streamed.text == expected
    assert full.model == MODEL_FOR[dialect]
    assert full.provider == dialect
    assert full.finish_reason == streamed.finish_reason == "stop"
    assert full.usage == streamed.usage
    u = full.usage
    assert u.cached_tokens == 6
    assert u.reasoning_tokens == 11
    assert u.cache_write_tokens == (2 if dialect == "anthropic" else 0)
    assert u.input_tokens >= u.cached_tokens + u.cache_write_tokens
    assert u.output_tokens > u.reasoning_tokens  # reasoning is part of output
    assert full.cost_usd == pytest.approx(usage_cost(catalog().get(MODEL_FOR[dialect]), u))
    assert full.latency_ms > 0
    assert full.id
    sent = fake.requests[0]
    auth = {"openai": "authorization", "anthropic": "x-api-key", "gemini": "x-goog-api-key"}[
        dialect
    ]
    assert KEY in sent.headers[auth]
    assert fake.requests[1].stream
    assert not sent.stream


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_max_tokens_cut_reports_length(dialect: str) -> None:
    fake = FakeProviders()
    async with asgi_client(fake) as client:
        model = http_model(MODEL_FOR[dialect], client)
        req = REQ.model_copy(update={"max_tokens": 3})
        full = await model.complete(req)
        _, streamed = await _stream(model, req)
    assert full.finish_reason == streamed.finish_reason == "length"
    assert full.usage.output_tokens <= 3


async def test_missing_stream_usage_is_estimated_not_zero() -> None:
    fake = FakeProviders()
    async with asgi_client(fake) as client:
        model = http_model("mistral/mis-small", client)  # no stream_options sent to Mistral
        _, resp = await _stream(model)
    assert "stream_options" not in fake.requests[0].body
    assert resp.usage.input_tokens > 0
    assert resp.usage.output_tokens > 0
    assert resp.cost_usd > 0


CASES = [
    (307, ProviderHTTPError, False),
    (400, ProviderHTTPError, False),
    (401, AuthenticationError, False),
    (402, ModelUnavailableError, False),
    (403, ModelUnavailableError, False),
    (404, ModelUnavailableError, False),
    (408, ProviderHTTPError, True),
    (422, ProviderHTTPError, False),
    (429, RateLimitError, True),
    (500, UpstreamServerError, True),
    (503, UpstreamServerError, True),
    (529, UpstreamServerError, True),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("status", "cls", "retryable"), CASES)
@pytest.mark.parametrize("stream", [False, True])
async def test_http_status_maps_to_typed_error(
    dialect: str, status: int, cls: type[ProviderError], retryable: bool, stream: bool
) -> None:
    fake = FakeProviders()
    fake.fail(status, headers={"Retry-After": "7", "X-Request-Id": "req-1"})
    async with asgi_client(fake) as client:
        model = http_model(MODEL_FOR[dialect], client)
        with pytest.raises(ProviderHTTPError) as info:
            await _call(model, REQ, stream=stream)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.retryable is retryable
    assert err.provider == dialect
    assert err.model == MODEL_FOR[dialect]
    assert err.headers["x-request-id"] == "req-1"
    assert err.retry_after_s == 7.0
    assert f"HTTP {status}" in str(err)
    assert err.body


async def test_openai_400_about_the_model_is_model_unavailable() -> None:
    fake = FakeProviders()
    body = {
        "error": {
            "message": "model not supported",
            "type": "invalid_request_error",
            "param": "model",
            "code": None,
        }
    }
    fake.fail(400, body=body)
    async with asgi_client(fake) as client:
        with pytest.raises(ModelUnavailableError):
            await http_model("openai/o-mini", client).complete(REQ)


async def test_gemini_retry_info_in_body_becomes_retry_after() -> None:
    fake = FakeProviders()
    body = {
        "error": {
            "code": 429,
            "message": "quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"}
            ],
        }
    }
    fake.fail(429, body=body)
    async with asgi_client(fake) as client:
        with pytest.raises(RateLimitError) as info:
            await http_model("gemini/gemini-t", client).complete(REQ)
    assert info.value.retry_after_s == 12.5


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_json_is_a_response_format_error(dialect: str, stream: bool) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(malformed=True))
    async with asgi_client(fake) as client:
        model = http_model(MODEL_FOR[dialect], client)
        with pytest.raises(ResponseFormatError) as info:
            await _call(model, REQ, stream=stream)
    assert info.value.retryable
    assert info.value.raw


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("after", [0, 2])
async def test_truncated_stream_is_a_response_format_error(dialect: str, after: int) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(truncate_after=after))
    async with asgi_client(fake) as client:
        with pytest.raises(ResponseFormatError, match="truncated"):
            await _stream(http_model(MODEL_FOR[dialect], client))


async def test_truncated_plain_body_is_a_response_format_error() -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(truncate_after=0))
    async with asgi_client(fake) as client:
        with pytest.raises(ResponseFormatError):
            await http_model("openai/o-mini", client).complete(REQ)


@pytest.mark.parametrize(
    ("dialect", "status", "cls"),
    [
        ("anthropic", 529, UpstreamServerError),
        ("anthropic", 429, RateLimitError),
        ("openai", 500, UpstreamServerError),
        ("gemini", 503, UpstreamServerError),
    ],
)
async def test_error_inside_a_200_stream(
    dialect: str, status: int, cls: type[ProviderError]
) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(stream_error=status))
    async with asgi_client(fake) as client:
        with pytest.raises(cls) as info:
            await _stream(http_model(MODEL_FOR[dialect], client))
    assert isinstance(info.value, ProviderHTTPError)
    assert info.value.status_code == status


@pytest.mark.parametrize("stream", [False, True])
async def test_timeouts(stream: bool) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(latency_s=2.0) if not stream else Fault(first_byte_delay_s=2.0))
    async with asgi_client(fake) as client:
        model = http_model("openai/o-mini", client)
        req = REQ.model_copy(update={"timeout_s": 0.2})
        with pytest.raises(ProviderTimeoutError) as info:
            await _call(model, req, stream=stream)
    assert info.value.retryable


def _transport(name: str) -> httpx.AsyncBaseTransport:
    return AiohttpTransport() if name == "aiohttp" else httpx.AsyncHTTPTransport()


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_connection_refused_on_a_closed_loopback_port(transport: str) -> None:
    root = f"http://127.0.0.1:{closed_port()}"
    async with httpx.AsyncClient(transport=_transport(transport)) as client:
        model = http_model("openai/o-mini", client, env=fake_env(root))
        with pytest.raises(ProviderConnectionError) as info:
            await model.complete(REQ)
        with pytest.raises(ProviderConnectionError):
            await _stream(model)
    assert info.value.retryable
    assert "127.0.0.1" in str(info.value)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
@pytest.mark.parametrize("stream", [False, True])
async def test_dropped_connection_over_real_loopback(transport: str, stream: bool) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(drop=True))
    with serve_fake(fake) as server:
        async with httpx.AsyncClient(transport=_transport(transport)) as client:
            model = http_model("anthropic/claude-t", client, env=fake_env(server.url))
            with pytest.raises((ProviderConnectionError, ResponseFormatError)) as info:
                await _call(model, REQ, stream=stream)
            assert info.value.retryable
            # the next call on the same client works: the broken connection was not reused
            assert (await model.complete(REQ)).text


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_no_secret_in_errors_or_logs(dialect: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeProviders()
    leak = {
        "error": {
            "message": f"bad key {KEY} (Authorization: Bearer {KEY})",
            "type": "x",
            "code": 401,
            "status": "UNAUTHENTICATED",
        }
    }
    fake.fail(401, body=leak, headers={"x-echo": KEY})
    async with asgi_client(fake) as client:
        with pytest.raises(AuthenticationError) as info:
            await http_model(MODEL_FOR[dialect], client).complete(REQ)
    err = info.value
    texts = [str(err), err.body, repr(err.headers), caplog.text, repr(err)]
    assert all(KEY not in t for t in texts)
    assert "***" in str(err) + err.body


def _sse_client(*events: dict[str, object] | str) -> httpx.AsyncClient:
    """A client whose every answer is a 200 SSE stream of ``events`` (then the body ends)."""
    import orjson

    body = b"".join(
        b"data: %s\n\n" % (e.encode() if isinstance(e, str) else orjson.dumps(e)) for e in events
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def _chunk(text: str = "", finish: str | None = None) -> dict[str, object]:
    choice = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    return {"id": "c1", "choices": [choice]}


USAGE = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 40}}


async def test_an_openai_stream_cut_after_its_finish_reason_is_truncated() -> None:
    # The finish reason arrived, but neither the usage chunk nor [DONE]: the bill is unknown.
    async with _sse_client(_chunk("Paris"), _chunk(finish="stop")) as client:
        with pytest.raises(ResponseFormatError, match="truncated"):
            await _stream(http_model("openai/chat-big", client))


async def test_an_openai_stream_with_usage_but_no_done_marker_is_complete() -> None:
    async with _sse_client(_chunk("Paris"), _chunk(finish="stop"), USAGE) as client:
        text, resp = await _stream(http_model("openai/chat-big", client))
    assert text == "Paris"
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (9, 40)


async def test_missing_usage_on_a_reasoning_model_bills_the_whole_output_cap() -> None:
    # Hidden reasoning is billed as output but never shown: the visible text says nothing
    # about it, so without usage the call is billed at its cap.
    request = REQ.model_copy(update={"max_tokens": 500})
    async with _sse_client(_chunk("Paris"), _chunk(finish="stop"), "[DONE]") as client:
        _, reasoning = await _stream(http_model("openai/o-mini", client), request)
        _, plain = await _stream(http_model("openai/chat-big", client), request)
    assert reasoning.usage.output_tokens == 500
    assert reasoning.cost_usd == usage_cost(catalog().get("openai/o-mini"), reasoning.usage)
    assert 0 < plain.usage.output_tokens < 10
