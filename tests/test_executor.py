"""The executor end to end on a fake LLM: prompts, run folders, acceptance, escalation, budget,
cancellation, timeouts and the sync wrapper."""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path

import anyio
import pytest

from _executor_support import RANK, TIER_OF, FakeLLM, catalog, ledger_lines, response, runtime
from _planning_factories import make_plan, step
from tokenplan.errors import (
    BudgetError,
    ModelUnavailableError,
    RateLimitError,
    StepFailedError,
    StepTimeoutError,
)
from tokenplan.execution.events import (
    BudgetWait,
    RunFinished,
    RunPlanned,
    StepAttempt,
    StepEscalated,
)
from tokenplan.execution.executor import Executor
from tokenplan.execution.result import RunStatus
from tokenplan.ledger.runs import load_run
from tokenplan.planning.planfile import load_plan
from tokenplan.testing import fast_retries
from tokenplan.types import ChatRequest


def chain_plan() -> object:
    return make_plan(
        step("a", model="b1/small"),
        step("b", ["a"], model="b1/small"),
        step("c", ["b"], model="m1/medium"),
        goal="Write the thing",
    )


async def test_runs_a_plan_and_writes_the_run_folder(isolated_env: Path) -> None:
    fake = FakeLLM()
    events: list[object] = []
    plan = chain_plan()
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt, on_event=events.append).run(plan, budget_usd=0.5)
    assert result.status is RunStatus.SUCCEEDED
    assert result.exit_code == 0
    # Each step sees the goal and its direct dependencies' outputs only.
    assert [c.inputs for c in fake.calls] == [[], ["a"], ["b"]]
    prompt_c = fake.calls_for("c")[0].request.messages[-1].content
    assert "Write the thing" in prompt_c
    assert "answer of b by b1/small" in prompt_c
    assert "answer of a by" not in prompt_c
    # One ledger line per model call, tagged with the run and the step.
    lines = ledger_lines(isolated_env)
    assert len(lines) == len(fake.calls) == 3
    assert [(a.kind, a.step_id, a.outcome) for a in lines] == [
        ("step", "a", "ok"),
        ("step", "b", "ok"),
        ("step", "c", "ok"),
    ]
    assert {a.run_id for a in lines} == {result.run_id}
    assert math.isclose(result.spent_usd, sum(a.cost_usd for a in lines))
    # The run folder: run.json, plan.json, one output per step, result.md; all private.
    folder = result.folder
    doc = json.loads((folder / "run.json").read_text())
    assert doc["status"] == "succeeded"
    assert [s["status"] for s in doc["steps"]] == ["succeeded"] * 3
    assert (folder / "steps" / "c.md").read_text() == "answer of c by m1/medium"
    for path in [folder / "run.json", folder / "plan.json", folder / "result.md",
                 *sorted((folder / "steps").iterdir())]:  # fmt: skip
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "answer of c by m1/medium" in result.result_text
    assert (folder / "result.md").read_text() == result.result_text
    assert load_plan(folder / "plan.json").plan == plan
    info = load_run(isolated_env / "runs", result.run_id)
    assert (info.status, info.steps_ok, len(info.steps)) == ("succeeded", 3, 3)
    assert info.steps[2].model == "m1/medium"
    assert info.steps[2].output_path == folder / "steps" / "c.md"
    # Events: the executor's first, the scheduler's last.
    assert isinstance(events[0], RunPlanned)
    assert isinstance(events[-1], RunFinished)
    assert [e.step_id for e in events if isinstance(e, StepAttempt)] == ["a", "b", "c"]


async def test_rejected_output_escalates_to_the_next_tier(isolated_env: Path) -> None:
    def behaviour(step_id: str, model: str, request: ChatRequest) -> str:
        return "" if model == "b1/small" else f"fine answer by {model}"

    fake = FakeLLM(behaviour)
    events: list[object] = []
    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt, on_event=events.append).run(plan, budget_usd=0.5)
    assert result.status is RunStatus.SUCCEEDED
    lines = ledger_lines(isolated_env)
    assert [(a.model, a.outcome, a.escalated_from) for a in lines] == [
        ("b1/small", "invalid", None),
        ("m1/medium", "ok", "b1/small"),  # the best-rated model of the next tier
    ]
    assert lines[0].error is not None
    assert "empty output" in lines[0].error
    assert [a.attempt for a in lines] == [1, 2]
    record = result.steps["a"]
    assert record.model == "m1/medium"
    assert record.attempts == 2
    assert record.escalations == [{"from": "b1/small", "to": "m1/medium", "reason": "empty output"}]
    assert record.notes == ["escalated b1/small -> m1/medium: empty output"]
    escalated = [e for e in events if isinstance(e, StepEscalated)]
    assert [(e.from_model, e.to_model) for e in escalated] == [("b1/small", "m1/medium")]
    assert result.outputs["a"] == "fine answer by m1/medium"


async def test_a_cut_off_answer_escalates_with_twice_the_room(isolated_env: Path) -> None:
    def behaviour(step_id: str, model: str, request: ChatRequest) -> object:
        if model == "b1/small":
            return response(request, "and so on " * 50, output_tokens=10**6)  # "length"
        return "complete answer"

    fake = FakeLLM(behaviour)  # type: ignore[arg-type]
    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt).run(plan, budget_usd=0.5)
    assert result.ok
    first, second = (c.request.max_tokens for c in fake.calls)
    assert first == 1006  # 500 expected tokens x 1.5 + 256
    assert second == 2 * first
    assert result.steps["a"].escalations[0]["reason"] == "output cut off by the length limit"


async def test_a_dead_rung_fails_over_then_escalates(isolated_env: Path) -> None:
    def behaviour(step_id: str, model: str, request: ChatRequest) -> object:
        if TIER_OF[model] == "budget":
            return ModelUnavailableError("gone", status_code=404, model=model)
        return "ok"

    fake = FakeLLM(behaviour)  # type: ignore[arg-type]
    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt).run(plan, budget_usd=0.5)
    assert result.status is RunStatus.SUCCEEDED
    assert [(a.model, a.outcome) for a in ledger_lines(isolated_env)] == [
        ("b1/small", "error"),
        ("b2/small", "error"),  # failover within the tier first
        ("m1/medium", "ok"),
    ]
    assert "no model of the rung answered" in result.steps["a"].escalations[0]["reason"]


async def test_transient_errors_are_retried_on_the_same_model(isolated_env: Path) -> None:
    seen: list[str] = []

    def behaviour(step_id: str, model: str, request: ChatRequest) -> object:
        seen.append(model)
        if len(seen) == 1:
            return RateLimitError("slow down", status_code=429, model=model)
        return "ok"

    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, FakeLLM(behaviour)) as rt:  # type: ignore[arg-type]
        with fast_retries():
            result = await Executor(rt).run(plan, budget_usd=0.5)
    assert result.ok
    assert seen == ["b1/small", "b1/small"]
    assert [a.outcome for a in ledger_lines(isolated_env)] == ["error", "ok"]


async def test_no_higher_tier_fails_the_step_and_blocks_its_dependents(isolated_env: Path) -> None:
    fake = FakeLLM(lambda s, m, r: "not json at all" if s == "a" else "ok")
    plan = make_plan(
        step("a", model="f1/large", acceptance="json"),
        step("b", ["a"], model="b1/small"),
        step("c", ["b"], model="b1/small"),
        step("d", model="b1/small"),
        step("e", ["c", "d"], model="b1/small"),
        goal="g",
    )
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt).run(plan, budget_usd=1.0)
    assert result.status is RunStatus.FAILED
    assert result.exit_code == 1
    statuses = {sid: r.status for sid, r in result.steps.items()}
    assert statuses == {
        "a": "failed", "b": "blocked", "c": "blocked", "d": "succeeded", "e": "blocked",
    }  # fmt: skip
    assert {c.step_id for c in fake.calls} == {"a", "d"}  # blocked steps never run
    assert result.steps["b"].blocked_by == "a"
    assert result.steps["a"].error is not None
    assert "no higher tier" in result.steps["a"].error
    assert "not valid JSON" in result.steps["a"].error
    # JSON was asked for in the request, and in words.
    request = fake.calls_for("a")[0].request
    assert request.json_mode
    assert "valid JSON only" in request.messages[0].content
    err = result.run.steps["a"].error if result.run else None
    assert isinstance(err, StepFailedError)
    assert "Not produced: step 'e' blocked (blocked by 'c')" in result.result_text


async def test_attempts_per_step_are_bounded(isolated_env: Path) -> None:
    fake = FakeLLM(lambda s, m, r: "")
    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, fake, settings={"max_attempts_per_step": 2}) as rt:
        result = await Executor(rt).run(plan, budget_usd=1.0)
    assert result.status is RunStatus.FAILED
    assert [c.model for c in fake.calls] == ["b1/small", "m1/medium"]
    assert "attempt limit" in (result.steps["a"].error or "")


async def test_runaway_answers_climb_the_tiers_within_the_budget(isolated_env: Path) -> None:
    def runaway(step_id: str, model: str, request: ChatRequest) -> object:
        return response(request, "word " * 10, output_tokens=10**6)  # cut off: "length"

    fake = FakeLLM(runaway)  # type: ignore[arg-type]
    plan = make_plan(step("a", model="b1/small"), step("b", ["a"], model="b1/small"), goal="g")
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt).run(plan, budget_usd=0.011)
    assert result.status is RunStatus.FAILED
    assert [RANK[TIER_OF[c.model]] for c in fake.calls] == [1, 2, 3]  # never down a tier
    # The flagship call was squeezed to what was left (still the step's expected 500 tokens
    # or more), never past the ceiling.
    flagship = fake.calls[-1].request
    assert flagship.max_tokens is not None
    assert 500 <= flagship.max_tokens < fake.calls[0].request.max_tokens
    assert sum(a.cost_usd for a in ledger_lines(isolated_env)) <= 0.011 + 1e-12
    assert result.steps["b"].status == "blocked"


async def test_a_call_that_cannot_fit_exhausts_the_budget(isolated_env: Path) -> None:
    def behaviour(step_id: str, model: str, request: ChatRequest) -> object:
        # "a" answers at length (40k characters) and is billed its whole allowance.
        assert request.max_tokens is not None
        return response(request, "x " * 20_000, output_tokens=request.max_tokens)

    fake = FakeLLM(behaviour)  # type: ignore[arg-type]
    plan = make_plan(step("a", model="m1/medium"), step("b", ["a"], model="f1/large"), goal="g")
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt).run(plan, budget_usd=0.012)
    assert result.status is RunStatus.BUDGET_EXHAUSTED
    assert result.exit_code == 3
    assert [c.step_id for c in fake.calls] == ["a"]  # b's call could not fit: not made
    assert result.steps["b"].status == "budget_exhausted"
    assert "budget exhausted" in (result.steps["b"].error or "")
    lines = ledger_lines(isolated_env)
    assert [a.step_id for a in lines] == ["a"]
    assert sum(a.cost_usd for a in lines) <= 0.012


async def test_a_step_waits_for_calls_in_flight_instead_of_shrinking(isolated_env: Path) -> None:
    fake = FakeLLM(lambda s, m, r: "short", checkpoints=5)
    events: list[object] = []
    plan = make_plan(
        step("a", model="b1/small", tin=50, tout=100),
        step("b", model="b1/small", tin=50, tout=100),
        step("c", ["a", "b"], model="b1/small", tin=50, tout=100),
        goal="g",
    )
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt, on_event=events.append).run(plan, budget_usd=0.0003)
    assert result.status is RunStatus.SUCCEEDED
    assert any(isinstance(e, BudgetWait) for e in events)
    # Every call got the step's full output allowance: none was squeezed to fit.
    assert {c.request.max_tokens for c in fake.calls} == {406}
    assert sum(a.cost_usd for a in ledger_lines(isolated_env)) <= 0.0003


async def test_an_infeasible_budget_fails_before_anything_is_spent(isolated_env: Path) -> None:
    fake = FakeLLM()
    async with runtime(isolated_env, fake) as rt:
        with pytest.raises(BudgetError) as err:
            await Executor(rt).run(chain_plan(), budget_usd=0.00001)
    assert err.value.minimum_usd is not None
    assert err.value.minimum_usd > 0.00001
    assert fake.calls == []
    assert not (isolated_env / "runs").exists()


async def test_inputs_are_trimmed_to_the_context_window(isolated_env: Path) -> None:
    big = "lorem ipsum dolor sit amet " * 2000  # ~11k tokens

    def behaviour(step_id: str, model: str, request: ChatRequest) -> object:
        return response(request, big if step_id in ("a", "b") else "summary", output_tokens=50)

    fake = FakeLLM(behaviour)  # type: ignore[arg-type]
    plan = make_plan(
        step("a", model="m1/medium", tin=100, tout=100),
        step("b", model="m1/medium", tin=100, tout=100),
        step("c", ["a", "b"], model="b1/small", tin=1000, tout=300),
        goal="g",
    )
    async with runtime(isolated_env, fake, cat=catalog(context_window=6000)) as rt:
        result = await Executor(rt).run(plan, budget_usd=1.0)
    assert result.ok
    request = fake.calls_for("c")[0].request
    from tokenplan.tokens import estimate_messages_tokens

    used = estimate_messages_tokens(m.content for m in request.messages)
    assert request.max_tokens is not None
    assert used + request.max_tokens <= 6000
    assert request.messages[-1].content.count("tokenplan trimmed this input") == 2
    trimmed = result.steps["c"].trimmed
    assert [t["input"] for t in trimmed] == ["a", "b"]
    assert all(t["kept_tokens"] < t["tokens"] for t in trimmed)
    assert any("trimmed" in note for note in result.steps["c"].notes)
    doc = json.loads((result.folder / "run.json").read_text())
    assert doc["steps"][2]["trimmed"] == trimmed


async def test_cancel_stops_in_flight_calls_and_records_them(isolated_env: Path) -> None:
    started = anyio.Event()

    async def slow(request: ChatRequest) -> None:
        started.set()
        await anyio.sleep(30)

    class Slow(FakeLLM):
        async def complete(self, request: ChatRequest):  # type: ignore[no-untyped-def]
            if '<your_step id="slow"' in request.messages[-1].content:
                await slow(request)
            return await super().complete(request)

    fake = Slow()
    plan = make_plan(
        step("fast", model="b1/small"),
        step("slow", model="b1/small"),
        step("end", ["fast", "slow"], model="b1/small"),
        goal="g",
    )
    async with runtime(isolated_env, fake) as rt:
        executor = Executor(rt)
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                results = []

                async def go() -> None:
                    results.append(await executor.run(plan, budget_usd=0.5))

                tg.start_soon(go)
                await started.wait()
                await anyio.sleep(0.05)
                executor.cancel()
    result = results[0]
    assert result.status is RunStatus.CANCELLED
    assert result.exit_code == 130
    assert result.steps["slow"].status == "cancelled"
    assert result.steps["fast"].status == "succeeded"
    assert result.steps["end"].status == "blocked"
    lines = ledger_lines(isolated_env)
    assert sorted((a.step_id, a.outcome) for a in lines) == [
        ("fast", "ok"),
        ("slow", "cancelled"),
    ]
    assert json.loads((result.folder / "run.json").read_text())["status"] == "cancelled"


async def test_a_step_past_its_timeout_fails(isolated_env: Path) -> None:
    class Stuck(FakeLLM):
        async def complete(self, request: ChatRequest):  # type: ignore[no-untyped-def]
            await anyio.sleep(30)

    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, Stuck()) as rt:
        with anyio.fail_after(5):
            result = await Executor(rt, step_timeout_s=0.1).run(plan, budget_usd=0.5)
    assert result.status is RunStatus.FAILED
    assert result.run is not None
    assert isinstance(result.run.steps["a"].error, StepTimeoutError)
    assert [a.outcome for a in ledger_lines(isolated_env)] == ["cancelled"]


async def test_run_sync_works_inside_a_running_event_loop(isolated_env: Path) -> None:
    fake = FakeLLM(checkpoints=2)
    executor = Executor(runtime(isolated_env, fake))
    result = executor.run_sync(chain_plan(), budget_usd=0.5)  # blocks this loop: a worker runs it
    assert result.ok
    assert len(fake.calls) == 3


def test_run_sync_from_plain_sync_code(isolated_env: Path) -> None:
    fake = FakeLLM()
    executor = Executor(runtime(isolated_env, fake))
    first = executor.run_sync(chain_plan(), budget_usd=0.5)
    second = executor.run_sync(chain_plan(), budget_usd=0.5)  # a new loop, the same runtime
    assert first.ok
    assert second.ok
    assert first.run_id != second.run_id


def test_bad_options_are_usage_errors(isolated_env: Path) -> None:
    from tokenplan.errors import UsageError

    rt = runtime(isolated_env, FakeLLM())
    with pytest.raises(UsageError, match="concurrency"):
        Executor(rt, concurrency=0)
    with pytest.raises(UsageError, match="max_attempts_per_step"):
        Executor(rt, max_attempts_per_step=-1)


async def test_a_step_without_room_for_its_expected_output_is_not_called(
    isolated_env: Path,
) -> None:
    def behaviour(step_id: str, model: str, request: ChatRequest) -> object:
        assert request.max_tokens is not None  # "a" is billed its whole allowance
        return response(request, "word " * 50, output_tokens=request.max_tokens)

    fake = FakeLLM(behaviour)  # type: ignore[arg-type]
    plan = make_plan(
        step("a", model="m1/medium", tout=1000),
        step("b", ["a"], model="b1/small", tout=2000),
        goal="g",
    )
    async with runtime(isolated_env, fake) as rt:
        result = await Executor(rt).run(plan, budget_usd=0.0044)
    # What "a" left would buy "b" only part of the 2,000 tokens it needs: no call is made.
    assert [c.step_id for c in fake.calls] == ["a"]
    assert result.status is RunStatus.BUDGET_EXHAUSTED
    assert result.steps["b"].status == "budget_exhausted"
    assert "2,000 output tokens" in (result.steps["b"].error or "")
    assert sum(a.cost_usd for a in ledger_lines(isolated_env)) <= 0.0044
