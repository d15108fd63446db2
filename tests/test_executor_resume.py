"""Resume: a resumed run keeps every field of its earlier steps, never passes simulated outputs
off as real, and takes the run's lock before it reads anything from the run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from _executor_support import FakeLLM, catalog, response, runtime
from _planning_factories import make_plan, step
from _providers_support import catalog as providers_catalog
from _providers_support import fake_env
from tokenplan.errors import BudgetError, UsageError
from tokenplan.execution.executor import Executor
from tokenplan.execution.report import SIMULATED_NOTE
from tokenplan.execution.result import RunStatus
from tokenplan.ledger.runs import RunFolder, load_run
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing import FakeProviders
from tokenplan.types import ChatRequest, ChatResponse


class SimulatorLike(FakeLLM):
    """Labels its answers simulated, as the offline simulator does."""

    async def complete(self, request: ChatRequest) -> ChatResponse:
        answer = await super().complete(request)
        return answer.model_copy(update={"simulated": True})


def _steps(folder: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads((folder / "run.json").read_text())
    return {s["id"]: s for s in doc["steps"]}


async def test_resume_keeps_every_field_of_the_steps_it_reuses(isolated_env: Path) -> None:
    big = "lorem ipsum dolor sit amet " * 2000  # ~11k tokens: trimmed for step c

    def first(step_id: str, model: str, request: ChatRequest) -> str | ChatResponse:
        if step_id == "a" and model == "b1/small":
            return ""  # rejected: escalates to the next tier
        if step_id == "b":
            return response(request, big, output_tokens=50)
        if step_id == "x":
            return "not json"  # fails at every tier
        return f"answer of {step_id} by {model}"

    plan = make_plan(
        step("a", model="b1/small", tin=100, tout=100),
        step("b", model="m1/medium", tin=100, tout=100),
        step("c", ["a", "b"], model="b1/small", tin=1000, tout=300),
        step("x", ["c"], model="b1/small", acceptance="json"),
        step("y", ["x"], model="b1/small"),
        goal="g",
    )
    fake = SimulatorLike(first)
    async with runtime(isolated_env, fake, cat=catalog(context_window=6000)) as rt:
        result = await Executor(rt).run(plan, budget_usd=1.0)
    assert result.status is RunStatus.FAILED
    before = _steps(result.folder)
    assert before["a"]["tier"] == "mid"
    assert before["a"]["escalations"]
    assert before["c"]["trimmed"]
    assert all(before[s]["simulated"] for s in "abc")
    assert all(before[s]["duration_s"] is not None for s in "abc")
    assert before["y"]["blocked_by"] == "x"

    fixed = FakeLLM(lambda s, m, r: '{"ok": true}' if s == "x" else "ok")
    async with runtime(isolated_env, fixed, cat=catalog(context_window=6000)) as rt:
        again = await Executor(rt).resume(result.run_id)
    assert again.status is RunStatus.SUCCEEDED
    assert {c.step_id for c in fixed.calls} == {"x", "y"}
    after = _steps(again.folder)
    for sid in "abc":  # reused: every field as the first run left it
        assert after[sid] == before[sid], sid
        assert again.steps[sid].to_dict() == before[sid]
    # The steps that ran again start over (no stale blocked_by), counting earlier attempts.
    assert after["y"]["blocked_by"] is None
    assert after["x"]["attempts"] > before["x"]["attempts"]
    # The reader carries the fields too.
    info = load_run(isolated_env / "runs", result.run_id)
    reader = {s.id: s for s in info.steps}
    assert reader["a"].tier == "mid"
    assert reader["a"].simulated
    assert reader["a"].duration_s == before["a"]["duration_s"]
    assert list(reader["a"].escalations) == before["a"]["escalations"]
    assert list(reader["c"].trimmed) == before["c"]["trimmed"]


async def test_resuming_a_simulated_run_with_real_keys_still_says_simulated(
    isolated_env: Path,
) -> None:
    plan = make_plan(
        step("a", model="openai/o-mini"),
        step("b", ["a"], model="openai/o-mini", acceptance="json"),
        goal="g",
    )
    offline = SimulatorLike(lambda s, m, r: "not json" if s == "b" else "simulated words")
    async with runtime(isolated_env, offline, cat=providers_catalog()) as rt:
        assert rt.simulated
        first = await Executor(rt).run(plan, budget_usd=1.0)
    assert first.status is RunStatus.FAILED
    assert first.simulated

    fake = FakeProviders(reply=lambda dialect, model, body: '{"real": true}')
    settings = Settings.load({}, env={"TOKENPLAN_HOME": str(isolated_env), **fake_env()})
    async with Runtime(
        settings, catalog=providers_catalog(), transport=httpx.ASGITransport(app=fake.app)
    ) as rt:
        assert not rt.simulated
        again = await Executor(rt).resume(first.run_id)
    assert again.status is RunStatus.SUCCEEDED
    assert len(fake.requests) == 1  # only b ran, for real
    assert again.outputs["a"] == "simulated words"  # ... and a's output is still the simulator's
    assert again.steps["a"].simulated
    assert not again.steps["b"].simulated
    assert again.simulated
    assert SIMULATED_NOTE in again.result_text
    assert json.loads((again.folder / "run.json").read_text())["simulated"] is True
    assert load_run(isolated_env / "runs", first.run_id).simulated


async def test_resume_takes_the_runs_lock_before_reading_it(isolated_env: Path) -> None:
    plan = make_plan(step("a", model="b1/small"), goal="g")
    async with runtime(isolated_env, FakeLLM(lambda s, m, r: "")) as rt:
        first = await Executor(rt).run(plan, budget_usd=0.5)
    assert first.status is RunStatus.FAILED
    # While another process runs it, the folder is in flux: its plan.json may be replaced and
    # its spend may pass the budget. A resume must see the lock first, not that state.
    (first.folder / "plan.json").rename(first.folder / "plan.json.moved")
    fake = FakeLLM()
    async with runtime(isolated_env, fake) as rt:
        with RunFolder(first.folder).exclusive():
            with pytest.raises(UsageError, match="being executed by another"):
                await Executor(rt).resume(first.run_id[:-2])  # a prefix too
            with pytest.raises(UsageError, match="being executed by another"):
                await Executor(rt).resume(first.run_id, budget_usd=first.spent_usd / 2)
        (first.folder / "plan.json.moved").rename(first.folder / "plan.json")
        with pytest.raises(BudgetError):
            await Executor(rt).resume(first.run_id, budget_usd=first.spent_usd / 2)
    assert fake.calls == []
