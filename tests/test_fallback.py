"""FallbackModel: retries per policy, failover order, cooldowns, streams, exhaustion."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

from tokenplan.errors import (
    AllCandidatesFailed,
    AuthenticationError,
    BudgetError,
    CooledDownError,
    MissingKeyError,
    ModelUnavailableError,
    ProviderConnectionError,
    ProviderHTTPError,
    RateLimitError,
    UpstreamServerError,
)
from tokenplan.providers.base import ChatModel
from tokenplan.providers.cooldown import Cooldowns
from tokenplan.providers.fallback import FallbackModel
from tokenplan.providers.retry import RetryPolicy
from tokenplan.testing import ScriptedModel, fast_retries
from tokenplan.types import ChatRequest, StreamChunk

REQ = ChatRequest.from_prompt("hello", model="auto")


def _503() -> UpstreamServerError:
    return UpstreamServerError("down", status_code=503, provider="p1")


def _ladder(models: dict[str, ChatModel], calls: list[str], **kw: object) -> FallbackModel:
    def factory(model_id: str) -> ChatModel:
        calls.append(model_id)
        return models[model_id]

    kw.setdefault("cooldowns", Cooldowns())
    kw.setdefault("policy", RetryPolicy(max_attempts=3))
    return FallbackModel(
        list(models),
        factory=factory,
        endpoint_of=lambda m: m.split("/")[0],
        **kw,  # type: ignore[arg-type]
    )


async def test_retries_then_fails_over_in_ladder_order_and_cools_down() -> None:
    a = ScriptedModel([_503(), _503(), _503()])
    b = ScriptedModel([ModelUnavailableError("gone", status_code=404, provider="p2")])
    c = ScriptedModel(["from c", "again c"])
    calls: list[str] = []
    cooldowns = Cooldowns()
    fm = _ladder({"p1/a": a, "p2/b": b, "p3/c": c}, calls, cooldowns=cooldowns)
    with fast_retries() as sleeps:
        resp = await fm.complete(REQ)
    assert resp.text == "from c"
    assert len(a.requests) == 3
    assert len(b.requests) == 1
    assert len(c.requests) == 1
    assert [r.model for r in (a.requests[0], b.requests[0], c.requests[0])] == [
        "p1/a",
        "p2/b",
        "p3/c",
    ]
    assert len(sleeps) == 2  # two backoffs between a's three attempts, none for b (not retryable)
    assert isinstance(cooldowns.reason("p2/b"), ModelUnavailableError)
    # the cooled-down model is skipped from now on, without being called
    a2 = ScriptedModel([_503()] * 3)
    fm2 = _ladder({"p1/a": a2, "p2/b": b, "p3/c": c}, [], cooldowns=cooldowns)
    with fast_retries():
        assert (await fm2.complete(REQ)).text == "again c"
    assert len(b.requests) == 1


async def test_rate_limit_retry_after_is_honoured() -> None:
    a = ScriptedModel([RateLimitError("slow", status_code=429, headers={"retry-after": "2"}), "ok"])
    fm = _ladder({"p1/a": a}, [])
    with fast_retries() as sleeps:
        assert (await fm.complete(REQ)).text == "ok"
    assert sleeps == [2.0]


async def test_retry_after_beyond_the_total_bound_fails_over_at_once() -> None:
    a = ScriptedModel([RateLimitError("slow", status_code=429, headers={"retry-after": "3600"})])
    b = ScriptedModel(["b"])
    fm = _ladder({"p1/a": a, "p2/b": b}, [], policy=RetryPolicy(max_total_s=60))
    with fast_retries() as sleeps:
        assert (await fm.complete(REQ)).text == "b"
    assert sleeps == []


async def test_auth_failure_blocks_the_endpoint_for_its_other_models() -> None:
    a = ScriptedModel([AuthenticationError("bad key", status_code=401, provider="p1")])
    a2 = ScriptedModel(["never"])
    c = ScriptedModel(["c"])
    calls: list[str] = []
    cooldowns = Cooldowns()
    fm = _ladder({"p1/a": a, "p1/a2": a2, "p2/c": c}, calls, cooldowns=cooldowns)
    assert (await fm.complete(REQ)).text == "c"
    assert a2.requests == []
    assert "p1/a2" not in calls
    assert cooldowns.snapshot() == {"models": [], "endpoints": ["p1"]}


async def test_bad_request_fails_over_without_cooldown() -> None:
    a = ScriptedModel([ProviderHTTPError("bad", status_code=400)])
    cooldowns = Cooldowns()
    fm = _ladder({"p1/a": a, "p2/b": ScriptedModel(["b"])}, [], cooldowns=cooldowns)
    assert (await fm.complete(REQ)).text == "b"
    assert cooldowns.reason("p1/a") is None
    assert len(a.requests) == 1


async def test_all_candidates_failed_carries_each_error() -> None:
    fm = _ladder(
        {
            "p1/a": ScriptedModel([ModelUnavailableError("gone", status_code=404)]),
            "p2/b": ScriptedModel([RateLimitError("slow", status_code=429)] * 2),
        },
        [],
        policy=RetryPolicy(max_attempts=2),
    )
    with fast_retries(), pytest.raises(AllCandidatesFailed) as info:
        await fm.complete(REQ)
    err = info.value
    assert isinstance(err, ExceptionGroup)
    assert [type(e) for e in err.exceptions] == [ModelUnavailableError, RateLimitError]
    assert "all 2 candidate model(s) failed" in str(err)
    with pytest.raises(ExceptionGroup) as group_info:  # except* works on it
        raise err
    assert group_info.value.subgroup(RateLimitError) is not None


async def test_missing_key_skips_the_rung() -> None:
    def factory(model_id: str) -> ChatModel:
        if model_id == "p1/a":
            raise MissingKeyError("p1", "P1_API_KEY")
        return ScriptedModel(["b"])

    fm = FallbackModel(["p1/a", "p2/b"], factory=factory)
    assert (await fm.complete(REQ)).text == "b"


async def test_every_rung_over_budget_raises_the_budget_error() -> None:
    over = BudgetError("no money", budget_usd=0.01)
    fm = _ladder({"p1/a": ScriptedModel([over]), "p2/b": ScriptedModel([over])}, [])
    with pytest.raises(BudgetError):
        await fm.complete(REQ)


class _BreaksAfterFirstChunk:
    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: ChatRequest):  # type: ignore[no-untyped-def]
        raise AssertionError("not used")

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        self.calls += 1
        yield StreamChunk(delta="partial ")
        raise UpstreamServerError("died mid-stream", status_code=500)


async def test_stream_fails_over_before_the_first_chunk() -> None:
    a = ScriptedModel([_503()])
    b = ScriptedModel(["streamed from b"])
    fm = _ladder({"p1/a": a, "p2/b": b}, [], policy=RetryPolicy(max_attempts=1))
    chunks = [c async for c in fm.stream(REQ)]
    assert "".join(c.delta for c in chunks) == "streamed from b"
    assert chunks[-1].response is not None
    assert chunks[-1].response.text == "streamed from b"
    # The first chunk names the rung that answers (the proxy puts it in stream headers).
    assert [c.model for c in chunks] == ["p2/b"] + [None] * (len(chunks) - 1)


async def _drain(model: FallbackModel, seen: list[str]) -> None:
    async for chunk in model.stream(REQ):
        seen.append(chunk.delta)


async def test_stream_error_after_the_first_chunk_propagates() -> None:
    a = _BreaksAfterFirstChunk()
    b = ScriptedModel(["unused"])
    fm = _ladder({"p1/a": a, "p2/b": b}, [])  # type: ignore[dict-item]
    seen: list[str] = []
    with pytest.raises(UpstreamServerError):
        await _drain(fm, seen)
    assert seen == ["partial "]
    assert a.calls == 1
    assert b.requests == []


async def test_empty_ladder_is_rejected() -> None:
    with pytest.raises(ValueError):
        FallbackModel([], factory=lambda m: ScriptedModel([]))


def test_cooldown_ttl_expires() -> None:
    now = [0.0]
    cd = Cooldowns(ttl_s=10, clock=lambda: now[0])
    err = ModelUnavailableError("x", status_code=404)
    cd.cool_model("m", err)
    cd.block_endpoint("e", err)
    assert cd.reason("m") is err
    assert cd.reason("other", "e") is err
    now[0] = 11
    assert cd.reason("m") is None
    assert cd.reason("other", "e") is None


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _401(model: str) -> AuthenticationError:
    return AuthenticationError("p1 answered HTTP 401", status_code=401, provider="p1", model=model)


async def test_a_cooled_down_candidate_is_reported_as_such_each_rung_once_in_order() -> None:
    clock = _Clock()
    cooldowns = Cooldowns(ttl_s=300, clock=clock)
    a = ScriptedModel([_401("p1/a")])
    c = ScriptedModel([_503()] * 4)
    models: dict[str, ChatModel] = {"p1/a": a, "p1/b": ScriptedModel([]), "p2/c": c}
    fm = _ladder(models, [], cooldowns=cooldowns, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(AllCandidatesFailed) as first:
        await fm.complete(REQ)
    errors = first.value.exceptions
    assert [type(e) for e in errors] == [AuthenticationError, CooledDownError, UpstreamServerError]
    assert [getattr(e, "model", None) for e in errors[:2]] == ["p1/a", "p1/b"]
    skipped = errors[1]
    assert isinstance(skipped, CooledDownError)
    assert skipped.cause is errors[0]
    assert skipped.provider == "p1"
    assert not skipped.retryable
    assert str(first.value).count("p1/a") == 1
    assert str(first.value).count("p1/b") == 1

    # Later calls make no upstream call and say why, with when the endpoint may be tried again.
    clock.now += 100
    with pytest.raises(AllCandidatesFailed) as later:
        await fm.complete(REQ)
    again = later.value.exceptions
    assert [type(e) for e in again[:2]] == [CooledDownError, CooledDownError]
    assert [getattr(e, "model", None) for e in again[:2]] == ["p1/a", "p1/b"]
    assert len(a.requests) == 1
    first_skip = again[0]
    assert isinstance(first_skip, CooledDownError)
    assert isinstance(first_skip.cause, AuthenticationError)
    assert first_skip.retry_after_s == pytest.approx(200, abs=5)
    assert "cooling down" in str(first_skip)


async def test_a_connection_failure_skips_the_endpoints_other_rungs_for_this_call() -> None:
    def refused() -> ProviderConnectionError:
        return ProviderConnectionError(
            "p1 at http://127.0.0.1:1/v1: connection failed (connection refused)",
            provider="p1",
            model="p1/a",
        )

    a = ScriptedModel([refused() for _ in range(6)])
    b = ScriptedModel(["b"])
    d = ScriptedModel([_503()] * 2 + ["d"])
    calls: list[str] = []
    models: dict[str, ChatModel] = {"p1/a": a, "p1/b": b, "p1/c": ScriptedModel([]), "p2/d": d}
    fm = _ladder(models, calls, policy=RetryPolicy(max_attempts=2))
    with fast_retries(), pytest.raises(AllCandidatesFailed) as info:
        await fm.complete(REQ)
    assert calls == ["p1/a", "p2/d"]  # p1/b and p1/c were never tried
    assert b.requests == []
    message = str(info.value)
    assert message.count("connection refused") == 1  # one line for the endpoint, not one per rung
    assert "p1/b" in message
    assert "p1/c" in message
    assert [getattr(e, "model", None) for e in info.value.exceptions[:3]] == [
        "p1/a",
        "p1/b",
        "p1/c",
    ]
    assert len(info.value.exceptions) == 4
    # Only for that call: the next one tries the endpoint again.
    with fast_retries():
        assert (await fm.complete(REQ)).text == "d"
    assert len(a.requests) == 4


async def test_a_connection_lost_after_sending_is_not_endpoint_wide() -> None:
    dropped = ProviderConnectionError("dropped", provider="p1", model="p1/a", sent=True)
    b = ScriptedModel(["b"])
    fm = _ladder(
        {"p1/a": ScriptedModel([dropped]), "p1/b": b}, [], policy=RetryPolicy(max_attempts=1)
    )
    assert (await fm.complete(REQ)).text == "b"
