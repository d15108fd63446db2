"""The proxy's limits, in OpenAI's terms: bounded retry time, prompts and max_tokens a model
cannot take, the default max_tokens, single model objects, HEAD, and the 402 message."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx

from _openai_spec import validate_openai
from _providers_support import ROWS
from _proxy_support import KEY_B, bearer, chat, proxy
from tokenplan.catalog.catalog import Catalog
from tokenplan.proxy import create_app
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, Fault, fast_retries

SMALL = [
    {**ROWS[0], "context_window": 2000, "max_output_tokens": 1000},
    {**ROWS[1], "context_window": 4000, "max_output_tokens": 3000},
]
LONG_PROMPT = "word " * 6000  # ~6,000 tokens: more than either model holds


def _small() -> Catalog:
    return Catalog.from_rows(SMALL, source="tests")


# -- cli #1: a request waits at most [proxy] retry_budget_s between attempts -------------------


async def test_a_retry_after_longer_than_the_retry_budget_is_a_429_at_once(
    isolated_env: Path,
) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(status=429, headers={"retry-after": "30"}, times=50))
    async with proxy(isolated_env, fake=fake) as h:
        with fast_retries() as sleeps:
            r = await h.client.post("/v1/chat/completions", json=chat("auto", max_tokens=20))
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == "30"
    assert sleeps == []  # nobody waited 30 s inside the proxy
    validate_openai("ErrorResponse", r.json())


async def test_the_retry_budget_bounds_the_whole_ladder(isolated_env: Path) -> None:
    fake = FakeProviders()
    fake.add_fault(Fault(status=429, headers={"retry-after": "0.4"}, times=50))
    table = {"retry_budget_s": 1.0, "max_fallbacks": 3}
    async with proxy(isolated_env, fake=fake, table=table) as h:
        started = time.monotonic()
        r = await h.client.post("/v1/chat/completions", json=chat("auto", max_tokens=20))
        took = time.monotonic() - started
    assert r.status_code == 429
    # Per model (3 retries of 0.4 s on each of 4 rungs) it would wait 4.8 s; the request's
    # budget is 1 s, and the margin is for a loaded machine.
    assert took < 2.5, took
    assert len(fake.requests) >= 4  # it still tried every rung


# -- cli #7: prompts too long and max_tokens too large, the same for auto and named models ------


async def test_a_prompt_too_long_for_a_named_model_is_context_length_exceeded(
    isolated_env: Path,
) -> None:
    fake = FakeProviders()
    async with proxy(isolated_env, fake=fake, cat=_small()) as h:
        named = await h.client.post("/v1/chat/completions", json=chat(text=LONG_PROMPT))
        auto = await h.client.post("/v1/chat/completions", json=chat("auto", text=LONG_PROMPT))
    for r in (named, auto):
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")
        assert error["type"] == "invalid_request_error"
        validate_openai("ErrorResponse", r.json())
    assert "2,000" in named.json()["error"]["message"]  # the model's context window
    assert fake.requests == []


async def test_max_tokens_above_what_the_model_can_write_is_a_400_for_auto_and_named(
    isolated_env: Path,
) -> None:
    fake = FakeProviders()
    async with proxy(isolated_env, fake=fake, cat=_small()) as h:
        named = await h.client.post("/v1/chat/completions", json=chat(max_tokens=100_000_000))
        auto = await h.client.post(
            "/v1/chat/completions", json=chat("auto", max_tokens=100_000_000)
        )
        fits = await h.client.post("/v1/chat/completions", json=chat("auto", max_tokens=2500))
    for r in (named, auto):
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_value", "max_tokens")
        assert len(error["message"]) < 200
    assert "1,000" in named.json()["error"]["message"]
    assert "3,000" in auto.json()["error"]["message"]  # the most any model here writes
    assert fits.status_code == 200
    assert fits.headers["x-tokenplan-model"] == "openai/chat-big"
    assert [q.body["max_completion_tokens"] for q in fake.requests] == [2500]


# -- cli #10: a default max_tokens when the client sends none ----------------------------------


async def test_a_request_without_max_tokens_gets_the_default(isolated_env: Path) -> None:
    fake = FakeProviders()
    async with proxy(
        isolated_env, fake=fake, cat=_small(), table={"default_max_tokens": 2048}
    ) as h:
        small = await h.client.post("/v1/chat/completions", json=chat())
        big = await h.client.post("/v1/chat/completions", json=chat("openai/chat-big"))
        asked = await h.client.post("/v1/chat/completions", json=chat(max_tokens=7))
        auto = await h.client.post("/v1/chat/completions", json=chat("auto"))
    assert small.status_code == big.status_code == asked.status_code == auto.status_code == 200
    # o-mini writes at most 1,000 tokens: the default is lowered to that, never refused.
    sent = [q.body["max_completion_tokens"] for q in fake.requests]
    assert sent[:3] == [1000, 2048, 7]
    assert sent[3] == (1000 if auto.headers["x-tokenplan-model"] == "openai/o-mini" else 2048)


async def test_the_default_max_tokens_is_4096(isolated_env: Path) -> None:
    fake = FakeProviders()
    async with proxy(isolated_env, fake=fake) as h:
        r = await h.client.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200
    assert fake.requests[0].body["max_completion_tokens"] == 4096


# -- cli #8: GET /v1/models/{id}, HEAD /healthz --------------------------------------------------


async def test_single_model_objects(isolated_env: Path) -> None:
    async with proxy(isolated_env) as h:
        auto = await h.client.get("/v1/models/auto:cost")
        named = await h.client.get("/v1/models/openai/o-mini")
        bare = await h.client.get("/models/o-mini")
        missing = await h.client.get("/v1/models/openai/nope")
        listed = (await h.client.get("/v1/models")).json()["data"]
    for r in (auto, named, bare):
        assert r.status_code == 200, r.text
        validate_openai("Model", r.json())
    assert auto.json()["id"] == "auto:cost"
    assert named.json() == bare.json() == next(m for m in listed if m["id"] == "openai/o-mini")
    assert missing.status_code == 404
    assert (missing.json()["error"]["code"], missing.json()["error"]["param"]) == (
        "model_not_found",
        "model",
    )


async def test_head_on_healthz_and_the_model_routes(isolated_env: Path) -> None:
    async with proxy(isolated_env) as h:
        get = await h.client.get("/healthz")
        head = await h.client.head("/healthz")
        models = await h.client.head("/v1/models/auto")
        post = await h.client.post("/healthz")
    assert head.status_code == models.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"


# -- cli #9: the 402 says whose budget, how much, per what, and when it resets -----------------


async def test_the_402_names_the_key_the_limit_the_period_and_the_reset(
    isolated_env: Path,
) -> None:
    keys = {"keys": [{"name": "team-b", "key": KEY_B, "budget_usd": 0.0002, "period": "day"}]}
    async with proxy(isolated_env, table=keys) as h:
        for _ in range(40):
            r = await h.client.post(
                "/v1/chat/completions",
                json=chat(text="a long question " * 5),
                headers=bearer(KEY_B),
            )
            if r.status_code != 200:
                break
        again = await h.client.post("/v1/chat/completions", json=chat(), headers=bearer(KEY_B))
        streamed = await h.client.post(
            "/v1/chat/completions", json=chat(stream=True), headers=bearer(KEY_B)
        )
    assert r.status_code == again.status_code == streamed.status_code == 402, r.text
    for answer in (r, again, streamed):
        message = answer.json()["error"]["message"]
        assert message.startswith("The budget of key 'team-b' ($0.0002 per day) is used up"), (
            message
        )
        assert re.search(r"resets at \d{4}-\d\d-\d\d 00:00 UTC", message), message
        assert "budget exhausted" not in message.lower()
        assert "$0.000000" not in message


async def test_a_request_too_big_for_what_is_left_says_so(isolated_env: Path) -> None:
    keys = {"keys": [{"name": "team-b", "key": KEY_B, "budget_usd": 0.01, "period": "none"}]}
    async with proxy(isolated_env, table=keys) as h:
        r = await h.client.post(
            "/v1/chat/completions",
            json=chat("openai/chat-big", text="word " * 2000, max_tokens=16000),
            headers=bearer(KEY_B),
        )
    assert r.status_code == 402, r.text
    message = r.json()["error"]["message"]
    assert message.startswith("The budget of key 'team-b' ($0.01 in total) cannot cover"), message
    assert "it needs at least $0.0" in message
    assert "$0.01 is left" in message
    assert "does not reset" in message


# -- cli #20: request edge cases -----------------------------------------------------------------


async def test_an_empty_message_is_accepted_like_openai_does(isolated_env: Path) -> None:
    async with proxy(isolated_env) as h:
        named = await h.client.post("/v1/chat/completions", json=chat(text=""))
        auto = await h.client.post("/v1/chat/completions", json=chat("auto", text=""))
        blank = await h.client.post("/v1/chat/completions", json=chat("auto:cost", text="   "))
    assert named.status_code == auto.status_code == blank.status_code == 200, auto.text


async def test_a_json_schema_name_must_be_what_openai_accepts(isolated_env: Path) -> None:
    def schema(name: str) -> dict[str, object]:
        spec = {"name": name, "schema": {"type": "object"}}
        return {"type": "json_schema", "json_schema": spec}

    async with proxy(isolated_env) as h:
        bad = await h.client.post(
            "/v1/chat/completions", json=chat(response_format=schema("my answer"))
        )
        good = await h.client.post(
            "/v1/chat/completions", json=chat(response_format=schema("my_answer-2"))
        )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "response_format.json_schema.name"
    assert good.status_code == 200, good.text


# -- cli #10: the docs' example is what a run gives -----------------------------------------------


def _docs_example() -> str:
    """docs/proxy.md from its curl example on."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "proxy.md").read_text()
    return doc[doc.index("$ curl -si") :]


async def test_the_docs_curl_example_answers_as_documented(isolated_env: Path) -> None:
    example = _docs_example()
    body = json.loads(example[example.index("-d '") + 4 : example.index("'\nHTTP/1.1")])
    shown = example[example.index("\n{") : example.index("\n```")]
    documented = {
        k: line.split(": ", 1)[1]
        for line in example.splitlines()
        for k in ("x-tokenplan-model", "x-tokenplan-cost-usd")
        if line.startswith(k + ": ")
    }
    env = {"TOKENPLAN_HOME": str(isolated_env), "TOKENPLAN_OFFLINE": "1"}
    env["TOKENPLAN_SIM_LATENCY_SCALE"] = "0"
    async with Runtime.open(Settings.load(env=env)) as runtime:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            r = await client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200
    assert len(documented) == 2
    assert {k: r.headers[k] for k in documented} == documented
    answer = r.json()
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert f'"completion_tokens":{answer["usage"]["completion_tokens"]},' in shown
