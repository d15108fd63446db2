"""The proxy app in-process (httpx.ASGITransport) over the fake upstream: shapes checked against
the OpenAI spec, headers, routing and failover, errors, auth, budgets, the ledger."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest

from _openai_spec import validate_openai
from _providers_support import catalog
from _proxy_support import KEY_A, KEY_B, bearer, chat, proxy, sse_events
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.store import Ledger
from tokenplan.proxy import create_app
from tokenplan.proxy.request import parse_chat_request
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, Fault, fast_retries
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

KEYS = {
    "keys": [
        {"name": "team-a", "key": KEY_A},
        {"name": "team-b", "key": KEY_B, "budget_usd": 0.0002, "period": "day"},
    ]
}


def _ladder(h: Any, body: dict[str, Any]) -> tuple[str, ...]:
    request = parse_chat_request(orjson.dumps(body)).request
    ladder: tuple[str, ...] = h.app.routes.resolve(request, budget_usd=None).ladder
    return ladder


async def test_completion_matches_the_spec_with_cost_headers_and_one_ledger_line(
    isolated_env: Path,
) -> None:
    async with proxy(isolated_env, fake=FakeProviders(cached_tokens=3)) as h:
        r = await h.client.post("/v1/chat/completions", json=chat(max_tokens=60))
        lines = h.ledger()
    assert r.status_code == 200, r.text
    body = r.json()
    validate_openai("CreateChatCompletionResponse", body)
    assert body["choices"][0]["message"]["content"] == "Echo from o-mini: Name three prime numbers."
    assert body["model"] == "openai/o-mini"
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 3
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    assert r.headers["x-tokenplan-model"] == "openai/o-mini"
    assert r.headers["x-tokenplan-provider"] == "openai"
    assert r.headers["x-tokenplan-route"] == "explicit"
    cost = float(r.headers["x-tokenplan-cost-usd"])
    saved = float(r.headers["x-tokenplan-saved-usd"])
    assert cost > 0
    assert cost == pytest.approx(body["tokenplan"]["cost_usd"])
    # chat-big (the baseline here) costs 5x / 5x as much per token as o-mini
    assert saved > cost
    assert body["tokenplan"]["baseline_model"] == "openai/chat-big"
    assert len(lines) == 1
    line = lines[0]
    assert (line["kind"], line["run_id"], line["model"], line["outcome"]) == (
        "proxy",
        "proxy:anonymous",
        "openai/o-mini",
        "ok",
    )
    assert line["step_id"] == body["id"] == r.headers["x-request-id"]
    assert line["cost_usd"] == pytest.approx(cost)


@pytest.mark.parametrize("include_usage", [True, False])
async def test_stream_chunks_match_the_spec_and_the_last_one_carries_the_cost(
    isolated_env: Path, include_usage: bool
) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    async with proxy(isolated_env, fake=FakeProviders(reasoning_tokens=4)) as h:
        plain = (await h.client.post("/v1/chat/completions", json=chat())).json()
        r = await h.client.post("/v1/chat/completions", json=chat(stream=True, **options))
        lines = h.ledger()
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-tokenplan-model"] == "openai/o-mini"
    assert "x-tokenplan-cost-usd" not in r.headers  # only known at the end: see the last chunk
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        validate_openai("CreateChatCompletionStreamResponse", chunk)
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    last = chunks[-1]
    if include_usage:
        assert last["choices"] == []
        assert last["usage"]["completion_tokens_details"]["reasoning_tokens"] == 4
        assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    else:
        assert last["choices"][0]["finish_reason"] == "stop"
        assert "usage" not in last
    assert lines[-1]["cost_usd"] > 0
    assert last["tokenplan"]["cost_usd"] == pytest.approx(lines[-1]["cost_usd"])
    assert [line["outcome"] for line in lines] == ["ok", "ok"]


async def test_auto_routes_and_fails_over_along_the_ladder(isolated_env: Path) -> None:
    fake = FakeProviders()
    body = chat("auto", "Write a Python function that reverses a linked list.")
    async with proxy(isolated_env, fake=fake) as h:
        ladder = _ladder(h, body)
        assert len(ladder) >= 2
        first = h.runtime.catalog.get(ladder[0]).api_name
        fake.add_fault(Fault(status=503, times=50), model=first)
        with fast_retries():
            r = await h.client.post("/v1/chat/completions", json=body)
            s = await h.client.post("/v1/chat/completions", json={**body, "stream": True})
        lines = h.ledger()
    assert r.status_code == 200, r.text
    assert r.headers["x-tokenplan-model"] == ladder[1]
    assert r.headers["x-tokenplan-route"].startswith("auto code/")
    assert s.status_code == 200
    assert s.headers["x-tokenplan-model"] == ladder[1]
    assert json.loads(sse_events(s.text)[0])["model"] == ladder[1]
    request_id = r.json()["id"]
    mine = [line for line in lines if line["step_id"] == request_id]
    retries = h.runtime.retry_policy.max_attempts
    assert [(x["model"], x["outcome"]) for x in mine] == [(ladder[0], "error")] * retries + [
        (ladder[1], "ok")
    ]
    assert all(x["kind"] == "proxy" and x["capability"] == "code" for x in mine)


async def test_stream_broken_after_the_first_byte_ends_with_an_error_event(
    isolated_env: Path,
) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(truncate_after=3), model="o-mini")
    async with proxy(isolated_env, fake=fake) as h:
        with fast_retries():
            r = await h.client.post("/v1/chat/completions", json=chat(stream=True))
        lines = h.ledger()
    assert r.status_code == 200
    events = sse_events(r.text)
    assert "[DONE]" not in events
    error = json.loads(events[-1])
    validate_openai("ErrorResponse", error)
    assert error["error"]["type"] == "upstream_error"
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1]] == [
        "Echo",
        " from",
    ]
    assert [line["outcome"] for line in lines] == ["error"]
    assert lines[0]["output_tokens"] > 0  # the partial answer is billed


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "auto"}', "messages"),
        (b'{"model": "auto", "messages": []}', "messages"),
        (b'{"model": "auto", "messages": [{"role": "tool", "content": "x"}]}', "messages[0].role"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": 5}]}', "messages[0].content"),
        (
            b'{"model": "auto", "messages": [{"role": "user", "content": '
            b'[{"type": "image_url", "image_url": {"url": "x"}}]}]}',
            "messages[0].content[0].type",
        ),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "n": 2}', "n"),
        (
            b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], '
            b'"tools": [{"type": "function", "function": {"name": "f"}}]}',
            "tools",
        ),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "bogus": 1}', "bogus"),
        (
            b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "temperature": 3}',
            "temperature",
        ),
        (
            b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
            "max_tokens",
        ),
        (
            b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], '
            b'"stream_options": {"include_usage": true}}',
            "stream_options",
        ),
        (
            b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], '
            b'"response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}}',
            "response_format.json_schema.name",
        ),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    isolated_env: Path, body: bytes, param: str | None
) -> None:
    async with proxy(isolated_env) as h:
        r = await h.client.post("/v1/chat/completions", content=body)
    assert r.status_code == 400, r.text
    validate_openai("ErrorResponse", r.json())
    assert r.json()["error"]["param"] == param
    assert r.headers["content-type"] == "application/json"


async def test_unknown_model_path_method_and_size(isolated_env: Path) -> None:
    async with proxy(isolated_env, table={"max_body_bytes": 2048}) as h:
        unknown = await h.client.post("/v1/chat/completions", json=chat("openai/o-mnii"))
        path = await h.client.get("/v1/embeddings")
        method = await h.client.get("/v1/chat/completions")
        big = await h.client.post("/v1/chat/completions", json=chat(text="x" * 5000))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"
    assert "openai/o-mini" in unknown.json()["error"]["message"]  # the suggestion
    assert path.status_code == 404
    assert method.status_code == 405
    assert method.headers["allow"] == "POST"
    assert big.status_code == 413
    for r in (unknown, path, method, big):
        validate_openai("ErrorResponse", r.json())


async def test_a_model_whose_provider_has_no_key_is_404(isolated_env: Path) -> None:
    no_anthropic = {"ANTHROPIC_API_KEY": "", "TOKENPLAN_ANTHROPIC_BASE_URL": ""}
    async with proxy(isolated_env, env=no_anthropic) as h:
        r = await h.client.post("/v1/chat/completions", json=chat("anthropic/claude-t"))
        models = (await h.client.get("/v1/models")).json()
    assert r.status_code == 404
    assert "no key" in r.json()["error"]["message"]
    available = {m["id"]: m["available"] for m in models["data"]}
    assert available["anthropic/claude-t"] is False
    assert available["openai/o-mini"] is True


async def test_models_list_matches_the_spec(isolated_env: Path) -> None:
    async with proxy(isolated_env) as h:
        r = await h.client.get("/v1/models")
        health = await h.client.get("/healthz")
    validate_openai("ListModelsResponse", r.json())
    ids = [m["id"] for m in r.json()["data"]]
    assert ids[:5] == ["auto", "auto:cost", "auto:balance", "auto:quality", "auto:latency"]
    assert set(ids[5:]) == {m.id for m in catalog()}
    assert health.json() == {"status": "ok", "simulated": False, "auth": "none"}


async def test_bearer_keys(isolated_env: Path) -> None:
    async with proxy(isolated_env, table=KEYS) as h:
        missing = await h.client.post("/v1/chat/completions", json=chat())
        wrong = await h.client.post(
            "/v1/chat/completions", json=chat(), headers=bearer("tp-wrong-0123456789abcdef")
        )
        basic = await h.client.post(
            "/v1/chat/completions", json=chat(), headers={"authorization": "Basic abc"}
        )
        ok = await h.client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
        models = await h.client.get("/v1/models")
        health = await h.client.get("/healthz")
        lines = h.ledger()
        raw = h.ledger_path.read_text()
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    validate_openai("ErrorResponse", wrong.json())
    assert ok.status_code == 200
    assert models.status_code == 401
    assert health.json()["auth"] == "keys"
    assert [line["run_id"] for line in lines] == ["proxy:team-a"]
    assert KEY_A not in raw
    assert KEY_B not in raw


async def test_a_key_budget_runs_out_with_402_and_is_never_exceeded(isolated_env: Path) -> None:
    statuses: list[int] = []
    async with proxy(isolated_env, table=KEYS) as h:
        for _ in range(40):
            r = await h.client.post(
                "/v1/chat/completions",
                json=chat(text="a long question " * 5),
                headers=bearer(KEY_B),
            )
            statuses.append(r.status_code)
            if r.status_code == 402:
                break
        spent = sum(x["cost_usd"] for x in h.ledger() if x["run_id"] == "proxy:team-b")
        # another key is not affected
        other = await h.client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_A))
    assert statuses[0] == 200
    assert statuses[-1] == 402, statuses
    assert r.json()["error"]["code"] == "insufficient_quota"
    validate_openai("ErrorResponse", r.json())
    assert spent <= 0.0002 + 1e-12
    assert other.status_code == 200


async def test_concurrent_requests_never_spend_past_a_budget(isolated_env: Path) -> None:
    async with proxy(isolated_env, table=KEYS) as h:

        async def one() -> int:
            r = await h.client.post(
                "/v1/chat/completions", json=chat(text="question " * 20), headers=bearer(KEY_B)
            )
            return r.status_code

        statuses = await asyncio.gather(*(one() for _ in range(30)))
        spent = sum(x["cost_usd"] for x in h.ledger() if x["run_id"] == "proxy:team-b")
    assert set(statuses) <= {200, 402}
    assert 402 in statuses
    assert spent <= 0.0002 + 1e-12


async def test_budget_spend_survives_a_restart_through_the_ledger(isolated_env: Path) -> None:
    settings = Settings.load(env={"TOKENPLAN_HOME": str(isolated_env)})
    now = time.time()
    with Ledger(settings.ledger_file) as ledger:
        for run_id, ts in (
            ("proxy:team-b", now),
            ("proxy:team-a", now),
            ("proxy:team-b", now - 2 * 86400),
        ):
            ledger.append(
                Attempt(run_id, "proxy", "openai/o-mini", "openai", "ok", ts=ts, cost_usd=0.00015)
            )
    async with proxy(isolated_env, table=KEYS) as h:
        budget = h.app.budgets.budget(h.app.config.keys[1])
        assert budget is not None
        assert budget.spent_usd == pytest.approx(0.00015)  # today's line of team-b only
    table = {"keys": [{**KEYS["keys"][1], "budget_usd": 0.0001}]}
    async with proxy(isolated_env, table=table) as h:
        r = await h.client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_B))
    assert r.status_code == 402


async def test_upstream_429_is_passed_through_with_retry_after(isolated_env: Path) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(status=429, headers={"retry-after": "120"}, times=5), model="o-mini")
    async with proxy(isolated_env, fake=fake) as h:
        r = await h.client.post("/v1/chat/completions", json=chat())
    assert r.status_code == 429
    assert r.headers["retry-after"] == "120"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    validate_openai("ErrorResponse", r.json())


async def test_502_when_every_rung_fails_and_504_on_timeouts(isolated_env: Path) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(status=500, times=20), model="o-mini")
    fake.add_fault(Fault(latency_s=2.0, times=20), model="chat-big")
    async with proxy(isolated_env, fake=fake, env={"TOKENPLAN_TIMEOUT": "0.2"}) as h:
        with fast_retries():
            failed = await h.client.post("/v1/chat/completions", json=chat())
            slow = await h.client.post("/v1/chat/completions", json=chat("openai/chat-big"))
            slow_stream = await h.client.post(
                "/v1/chat/completions", json=chat("openai/chat-big", stream=True)
            )
    assert failed.status_code == 502
    assert failed.json()["error"]["type"] == "upstream_error"
    assert slow.status_code == slow_stream.status_code == 504
    assert slow.json()["error"]["code"] == "upstream_timeout"
    for r in (failed, slow, slow_stream):
        validate_openai("ErrorResponse", r.json())


async def test_a_request_every_upstream_rejects_is_a_400(isolated_env: Path) -> None:
    fake = FakeProviders()
    rejection = {
        "error": {
            "message": "This model's maximum context length is 8 tokens.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }
    fake.add_fault(Fault(status=400, body=rejection), model="o-mini")
    async with proxy(isolated_env, fake=fake) as h:
        r = await h.client.post("/v1/chat/completions", json=chat())
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "upstream_rejected"
    assert "maximum context length" in r.json()["error"]["message"]


async def test_openai_only_fields_reach_openai_dialect_models_only(isolated_env: Path) -> None:
    fake = FakeProviders()
    extra = {"seed": 7, "presence_penalty": 0.5, "user": "u-1", "metadata": {"a": "b"}}
    async with proxy(isolated_env, fake=fake) as h:
        a = await h.client.post("/v1/chat/completions", json=chat(**extra))
        b = await h.client.post("/v1/chat/completions", json=chat("anthropic/claude-t", **extra))
    assert a.status_code == b.status_code == 200
    to_openai, to_anthropic = (r.body for r in fake.requests)
    assert (to_openai["seed"], to_openai["presence_penalty"]) == (7, 0.5)
    assert "user" not in to_openai
    assert "metadata" not in to_openai
    assert "seed" not in to_anthropic
    assert "presence_penalty" not in to_anthropic


async def test_requests_map_onto_the_upstream_request(isolated_env: Path) -> None:
    fake = FakeProviders()
    body = {
        "model": "openai/chat-big",
        "messages": [
            {"role": "developer", "content": "Be terse."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
        ],
        "max_completion_tokens": 33,
        "temperature": 0.2,
        "stop": "END",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object", "properties": {}}},
        },
    }
    async with proxy(isolated_env, fake=fake) as h:
        r = await h.client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    sent = fake.requests[0].body
    assert sent["messages"][1] == {"role": "user", "content": "a\nb"}
    assert sent["temperature"] == 0.2
    assert sent["stop"] == ["END"]
    assert sent["response_format"]["json_schema"]["name"] == "out"
    assert 33 in (sent.get("max_tokens"), sent.get("max_completion_tokens"))


class _SlowStream:
    """A model streaming one word every 20 ms; records whether its stream was closed."""

    def __init__(self) -> None:
        self.closed = False

    async def complete(self, request: ChatRequest) -> ChatResponse:
        raise AssertionError("not used")

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        try:
            for i in range(200):
                yield StreamChunk(delta=f"w{i} ")
                await anyio.sleep(0.02)
            yield StreamChunk(
                response=ChatResponse(
                    model=request.model, provider="sim", text="", usage=Usage(output_tokens=1)
                )
            )
        finally:
            self.closed = True


async def test_a_client_leaving_mid_stream_closes_the_upstream_stream(isolated_env: Path) -> None:
    slow = _SlowStream()
    settings = Settings.load(env={"TOKENPLAN_HOME": str(isolated_env), "TOKENPLAN_OFFLINE": "1"})
    sent: list[dict[str, Any]] = []
    body = orjson.dumps(chat(stream=True))
    gone = anyio.Event()

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if len(sent) == 3:  # headers and two chunks: then the client goes away
            gone.set()

    async with Runtime.open(settings, catalog=catalog(), simulator=slow) as rt:  # type: ignore[arg-type]
        app = create_app(rt)
        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
        with anyio.fail_after(5):
            await app(scope, receive, send)
        lines = [json.loads(x) for x in rt.settings.ledger_file.read_text().splitlines()]
    assert slow.closed
    assert 3 <= len(sent) < 20
    assert [line["outcome"] for line in lines] == ["cancelled"]


async def test_plain_auto_follows_the_configured_strategy(isolated_env: Path) -> None:
    body = chat("auto", "What is the capital of France?")
    async with proxy(isolated_env, env={"TOKENPLAN_STRATEGY": "cheapest"}) as h:
        plain = await h.client.post("/v1/chat/completions", json=body)
        balance = await h.client.post(
            "/v1/chat/completions", json={**body, "model": "auto:balance"}
        )
    assert plain.headers["x-tokenplan-route"].startswith("auto general/simple: cheapest with")
    assert balance.headers["x-tokenplan-route"].startswith(
        "auto:balance general/simple: best quality for the price"
    )


async def test_lifespan_builds_the_router_up_front(isolated_env: Path) -> None:
    async with proxy(isolated_env, table=KEYS) as h:
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await h.app({"type": "lifespan"}, receive, send)
        assert h.app.routes._router is not None
        assert set(h.app.budgets._current) == {"team-b"}  # the key with a budget, read already
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_bug_is_an_openai_shaped_500_and_is_logged(
    isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tokenplan.testing import FunctionModel

    def broken(request: ChatRequest) -> str:
        raise RuntimeError("a bug in a model")

    settings = Settings.load(env={"TOKENPLAN_HOME": str(isolated_env), "TOKENPLAN_OFFLINE": "1"})
    async with Runtime.open(settings, catalog=catalog(), simulator=FunctionModel(broken)) as rt:
        app = create_app(rt)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            plain = await client.post("/v1/chat/completions", json=chat())
            streamed = await client.post("/v1/chat/completions", json=chat(stream=True))
    for r in (plain, streamed):
        assert r.status_code == 500
        assert r.json()["error"]["type"] == "server_error"
        validate_openai("ErrorResponse", r.json())
    assert "proxy_internal_error" in caplog.text


async def test_an_empty_answer_streams_a_finish_chunk_that_names_the_speaker(
    isolated_env: Path,
) -> None:
    fake = FakeProviders(reply=lambda dialect, model, body: "")
    async with proxy(isolated_env, fake=fake) as h:
        r = await h.client.post("/v1/chat/completions", json=chat(stream=True))
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 1
    validate_openai("CreateChatCompletionStreamResponse", chunks[0])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[0]["tokenplan"]["model"] == "openai/o-mini"


async def test_a_simulated_answer_names_the_billing_endpoint_like_the_ledger(
    isolated_env: Path,
) -> None:
    env = {"TOKENPLAN_OFFLINE": "1", "TOKENPLAN_SIM_LATENCY_SCALE": "0"}
    async with proxy(isolated_env, env=env) as h:
        assert h.runtime.simulated
        r = await h.client.post("/v1/chat/completions", json=chat())
        s = await h.client.post("/v1/chat/completions", json=chat(stream=True))
        lines = h.ledger()
    assert r.status_code == 200, r.text
    assert s.status_code == 200, s.text
    last = json.loads(sse_events(s.text)[-2])
    assert [line["provider"] for line in lines] == ["openai", "openai"]
    for answer in (r, s):
        assert answer.headers["x-tokenplan-provider"] == "openai"
        assert answer.headers["x-tokenplan-simulated"] == "true"
    assert (r.json()["tokenplan"]["provider"], r.json()["tokenplan"]["simulated"]) == (
        "openai",
        True,
    )
    assert (last["tokenplan"]["provider"], last["tokenplan"]["simulated"]) == ("openai", True)
