"""Fuzzing request bodies: random bytes, random JSON and near-valid OpenAI requests never get a
5xx from the proxy, and every answer is OpenAI-shaped (a completion, a stream, or an error).

Two upstreams: the loopback fake over the HTTP provider stack, and the offline simulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _proxy_support import Harness, proxy, sse_events
from tokenplan.testing import fast_retries

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
TEXT_PART = st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=30)})
MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant"]),
        "content": st.text(min_size=1, max_size=60) | st.lists(TEXT_PART, min_size=1, max_size=3),
    },
    optional={"name": st.from_regex(r"[a-z]{1,8}", fullmatch=True)},
)
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
FORMATS = st.sampled_from(
    [
        {"type": "text"},
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "out", "schema": SCHEMA, "strict": True}},
    ]
)
MODELS = st.sampled_from(
    [
        "auto",
        "auto:cost",
        "auto:balance",
        "auto:quality",
        "auto:latency",
        "openai/o-mini",
        "anthropic/claude-t",
        "gemini/gemini-t",
        "o-mini",
        "no/such-model",
    ]
)
OPTIONAL = {
    "max_tokens": st.integers(1, 4000),
    "max_completion_tokens": st.integers(1, 4000),
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0.01, 1),
    "stop": st.text(min_size=1, max_size=4) | st.lists(st.text(max_size=4), max_size=4),
    "stream": st.booleans(),
    "response_format": FORMATS,
    "n": st.just(1),
    "seed": st.integers(-(2**40), 2**40),
    "presence_penalty": st.floats(-2, 2),
    "logit_bias": st.dictionaries(
        st.from_regex(r"[0-9]{1,5}", fullmatch=True), st.integers(-100, 100), max_size=2
    ),
    "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
    "tool_choice": st.just("none"),
    "logprobs": st.just(False),
    "user": st.text(max_size=10),
    "metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    "modalities": st.just(["text"]),
}
VALID = st.fixed_dictionaries(
    {"model": MODELS, "messages": st.lists(MESSAGE, min_size=1, max_size=3)}, optional=OPTIONAL
)
KEYS = sorted({"model", "messages", "stream_options", "tools", "n", *OPTIONAL})


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    """A valid request, often with one thing wrong: a field replaced by junk, a field removed,
    an unknown field, a message or part of an unsupported kind, or stream options."""
    body: dict[str, Any] = draw(VALID)
    if body.get("stream"):
        body["stream_options"] = {"include_usage": draw(st.booleans())}
    mutation = draw(st.sampled_from(["none", "none", "none", "junk", "drop", "extra", "kind"]))
    if mutation == "junk":
        body[draw(st.sampled_from(KEYS))] = draw(JSON)
    elif mutation == "drop":
        del body[draw(st.sampled_from(sorted(body)))]
    elif mutation == "extra":
        body[draw(st.text(min_size=1, max_size=8))] = draw(JSON)
    elif mutation == "kind":
        message = body["messages"][0]
        where = draw(st.sampled_from(["role", "content", "part", "name"]))
        if where == "role":
            message["role"] = draw(st.sampled_from(["tool", "function", "robot"]) | JSON)
        elif where == "content":
            message["content"] = draw(JSON)
        elif where == "part":
            kind = draw(st.sampled_from(["image_url", "input_audio", "file", "refusal", "x"]))
            message["content"] = [{"type": kind, kind: draw(JSON)}]
        else:
            message["name"] = draw(JSON)
    return json.dumps(body).encode()


NEAR_VALID = near_valid()
ANY_BODY = st.binary(max_size=120) | JSON.map(lambda v: json.dumps(v).encode()) | NEAR_VALID


def _check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code != 200:
        error = r.json()["error"]
        assert isinstance(error["message"], str)
        assert isinstance(error["type"], str)
        assert set(error) == {"message", "type", "param", "code"}
        return
    if r.headers["content-type"].startswith("text/event-stream"):
        events = sse_events(r.text)
        assert events[-1] == "[DONE]", events[-3:]
        for event in events[:-1]:
            assert json.loads(event)["object"] == "chat.completion.chunk"
        return
    body = r.json()
    assert body["object"] == "chat.completion"
    assert isinstance(body["choices"][0]["message"]["content"], str)


@contextmanager
def _running(home: Path, **kw: Any) -> Iterator[tuple[BlockingPortal, Harness]]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(proxy(home, **kw)) as harness,
    ):
        yield portal, harness


def _post(portal: BlockingPortal, harness: Harness) -> Callable[[bytes], httpx.Response]:
    def post(body: bytes) -> httpx.Response:
        with fast_retries():
            return portal.call(
                lambda: harness.client.post(
                    "/v1/chat/completions",
                    content=body,
                    headers={"content-type": "application/json"},
                )
            )

    return post


FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


def test_fuzzed_bodies_never_get_a_5xx_over_the_http_stack(isolated_env: Path) -> None:
    with _running(isolated_env) as (portal, harness):
        post = _post(portal, harness)

        @FUZZ
        @given(body=ANY_BODY)
        def check(body: bytes) -> None:
            _check(post(body))

        check()


def test_fuzzed_bodies_never_get_a_5xx_from_the_simulator(isolated_env: Path) -> None:
    env = {"TOKENPLAN_OFFLINE": "1", "TOKENPLAN_SIM_LATENCY_SCALE": "0"}
    with _running(isolated_env, env=env) as (portal, harness):
        post = _post(portal, harness)

        @FUZZ
        @given(body=NEAR_VALID)
        def check(body: bytes) -> None:
            _check(post(body))

        check()
