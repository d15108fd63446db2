"""The library side of ``tokenplan route --send``: ladder, streaming, budget, ledger lines."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from _providers_support import catalog, fake_env
from tokenplan.errors import BudgetError
from tokenplan.ledger.attempt import Attempt
from tokenplan.runtime import Runtime
from tokenplan.send import new_run_id, send, summary_line
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders, ScriptedModel, fast_retries
from tokenplan.types import ChatRequest, ChatResponse, Usage

REQ = ChatRequest.from_prompt("Explain backoff in one line.", max_tokens=120)
LADDER = ["openai/o-mini", "anthropic/claude-t"]


def _runtime(fake: FakeProviders, home: Path, sink: list[Attempt]) -> Runtime:
    settings = Settings.load(env={"TOKENPLAN_HOME": str(home), **fake_env()})
    return Runtime(
        settings,
        catalog=catalog(),
        transport=httpx.ASGITransport(app=fake.app),
        attempt_sink=sink.append,
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_send_fails_over_streams_and_writes_one_route_line_per_call(
    isolated_env: Path, stream: bool
) -> None:
    fake = FakeProviders(cached_tokens=2)
    fake.fail(503, model="o-mini", times=4)  # max_retries=3: four calls, then the next rung
    sink: list[Attempt] = []
    pieces: list[str] = []
    async with _runtime(fake, isolated_env, sink) as rt:
        with fast_retries() as sleeps:
            result = await send(
                rt, LADDER, REQ, stream=stream, on_delta=pieces.append, capability="general"
            )
    r = result.response
    assert r.model == "anthropic/claude-t"
    assert result.fell_back
    assert result.calls == 5
    assert "".join(pieces) == r.text
    assert (len(pieces) > 1) is stream
    assert len(sleeps) == 3
    assert [(a.model, a.outcome, a.kind, a.attempt) for a in sink] == [
        ("openai/o-mini", "error", "route", 1),
        ("openai/o-mini", "error", "route", 2),
        ("openai/o-mini", "error", "route", 3),
        ("openai/o-mini", "error", "route", 4),
        ("anthropic/claude-t", "ok", "route", 5),
    ]
    assert {a.run_id for a in sink} == {result.run_id}
    assert {a.capability for a in sink} == {"general"}
    assert (
        result.cost_usd == pytest.approx(sum(a.cost_usd for a in sink)) == pytest.approx(r.cost_usd)
    )
    line = summary_line(result)
    assert line.startswith("anthropic/claude-t · ")
    assert "$" in line
    assert "5 calls" in line
    assert " ms" in line


async def test_send_budget_too_small_makes_no_call(isolated_env: Path) -> None:
    fake = FakeProviders()
    sink: list[Attempt] = []
    async with _runtime(fake, isolated_env, sink) as rt:
        with pytest.raises(BudgetError):
            await send(rt, LADDER, REQ, budget_usd=1e-9)
    assert fake.requests == []
    assert sink == []


async def test_send_budget_lowers_max_tokens(isolated_env: Path) -> None:
    fake = FakeProviders()
    async with _runtime(fake, isolated_env, []) as rt:
        result = await send(
            rt, ["openai/o-mini"], REQ.model_copy(update={"max_tokens": None}), budget_usd=0.0005
        )
    sent = fake.requests[0].body["max_completion_tokens"]
    assert 0 < sent < 16000
    assert result.cost_usd <= 0.0005


async def test_simulated_summary_says_so(isolated_env: Path) -> None:
    answer = ChatResponse(
        model="x",
        provider="sim",
        text="synthetic",
        usage=Usage(input_tokens=5, output_tokens=2, reasoning_tokens=1),
        simulated=True,
    )
    settings = Settings.load(env={"TOKENPLAN_HOME": str(isolated_env)})
    async with Runtime(settings, catalog=catalog(), simulator=ScriptedModel([answer])) as rt:
        result = await send(rt, ["gemini/gemini-t"], REQ)
    assert result.response.simulated
    assert result.calls == 1
    assert not result.fell_back
    line = summary_line(result)
    assert line.endswith("simulated")
    assert "5 in / 2 out tokens (1 reasoning)" in line


def test_run_ids_sort_by_time() -> None:
    from datetime import datetime, timezone

    a = new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    b = new_run_id(datetime(2026, 1, 2, 3, 4, 6, tzinfo=timezone.utc))
    assert a.startswith("20260102-030405-")
    assert len(a) == 20
    assert a < b


@pytest.mark.parametrize("as_json", [False, True])
async def test_cli_renderer_streams_to_stdout_and_summarizes_on_stderr(
    isolated_env: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    import json

    from tokenplan.cli._send import route_send

    fake = FakeProviders()
    sink: list[Attempt] = []
    async with _runtime(fake, isolated_env, sink) as rt:
        result = await route_send(rt, REQ, LADDER, stream=True, as_json=as_json)
    out, err = capsys.readouterr()
    if as_json:
        doc = json.loads(out)
        assert doc["text"] == result.response.text
        assert doc["model"] == "openai/o-mini"
        assert doc["calls"] == 1
        assert doc["usage"]["input_tokens"] > 0
        assert not doc["simulated"]
        assert err == ""
    else:
        assert out == result.response.text + "\n"
        assert err.startswith("openai/o-mini · ")
        assert "$" in err
    assert [a.kind for a in sink] == ["route"]
