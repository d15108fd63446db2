"""Property tests of the LLM executor over random plans, random faults and random budgets.

Each example runs the real executor (scheduler, step runner, fallback and metering layers,
ledger, run folder) against a fake model whose answer for every (step, model) pair is drawn:
valid, rejected by the step's check, a dead model, or a transient error. Then it resumes the
run with a healthy model.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from _executor_support import RANK, TIER_OF, Call, FakeLLM, ledger_lines, response, runtime
from _planning_factories import make_plan, step
from tokenplan.errors import BudgetError, ModelUnavailableError, RateLimitError
from tokenplan.execution.events import StepFinished
from tokenplan.execution.executor import Executor
from tokenplan.execution.records import ExecutionResult
from tokenplan.execution.result import RunStatus, StepStatus
from tokenplan.planning.schema import Plan
from tokenplan.testing import fast_retries
from tokenplan.types import ChatRequest

MODELS = tuple(TIER_OF)
FAULTS = ("ok", "ok", "invalid", "dead", "transient")

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def plans(draw: st.DrawFn, max_steps: int = 7) -> Plan:
    """A random valid plan: every step connected, each pinned to a random model."""
    n = draw(st.integers(1, max_steps))
    deps: list[set[int]] = [set()]
    for i in range(1, n):
        deps.append(set(draw(st.sets(st.integers(0, i - 1), max_size=3))))
    for i in range(n):
        used = any(i in d for d in deps)
        if n > 1 and not deps[i] and not used:
            if i == 0:
                deps[1].add(0)
            else:
                deps[i].add(0)
    steps = [
        step(
            f"s{i}",
            [f"s{d}" for d in sorted(deps[i])],
            model=draw(st.sampled_from(MODELS)),
            tin=draw(st.integers(20, 400)),
            tout=draw(st.integers(20, 400)),
        )
        for i in range(n)
    ]
    return make_plan(*steps, goal="a random goal")


class Faulty(FakeLLM):
    """Answers per a drawn fault table; checks that dependencies succeeded before each call."""

    def __init__(self, faults: dict[tuple[str, str], str], out_tokens: dict[str, int]) -> None:
        super().__init__(self._answer, checkpoints=2)
        self.faults = faults
        self.out_tokens = out_tokens
        self.succeeded: set[str] = set()
        self.deps: dict[str, tuple[str, ...]] = {}
        self.early: list[str] = []
        self.transient_seen: set[tuple[str, str]] = set()
        self.on_call = self._check

    def _check(self, call: Call) -> None:
        if not set(self.deps.get(call.step_id, ())) <= self.succeeded:
            self.early.append(call.step_id)

    def _answer(self, step_id: str, model: str, request: ChatRequest) -> Any:
        fault = self.faults.get((step_id, model), "ok")
        if fault == "dead":
            return ModelUnavailableError("no such model", status_code=404, model=model)
        if fault == "transient" and (step_id, model) not in self.transient_seen:
            self.transient_seen.add((step_id, model))
            return RateLimitError("slow down", status_code=429, model=model)
        text = "" if fault == "invalid" else f"answer of {step_id} by {model}"
        return response(request, text, output_tokens=self.out_tokens.get(step_id, 10))

    def on_event(self, event: object) -> None:
        if isinstance(event, StepFinished) and event.status is StepStatus.SUCCEEDED:
            self.succeeded.add(event.step_id)


async def _run(home: Path, plan: Plan, fake: FakeLLM, budget: float, conc: int) -> Any:
    on_event = fake.on_event if isinstance(fake, Faulty) else None
    async with runtime(home, fake) as rt:
        executor = Executor(rt, concurrency=conc, on_event=on_event)
        try:
            return await executor.run(plan, budget_usd=budget)
        except BudgetError as exc:
            return exc


async def _resume(home: Path, run_id: str, fake: FakeLLM, budget: float) -> ExecutionResult:
    async with runtime(home, fake) as rt:
        return await Executor(rt).resume(run_id, budget_usd=budget)


def _check_invariants(
    result: ExecutionResult, plan: Plan, fake: Faulty, home: Path, budget: float
) -> None:
    lines = ledger_lines(home, kind="step")
    # Exactly one ledger line per model call the fake received.
    assert len(lines) == len(fake.calls)
    assert Counter((a.step_id, a.model) for a in lines) == Counter(
        (c.step_id, c.model) for c in fake.calls
    )
    # Spend never passes the budget, whatever failed and however calls interleaved.
    spent = math.fsum(a.cost_usd for a in lines)
    assert spent <= budget + 1e-12
    assert math.isclose(result.spent_usd, spent, rel_tol=1e-9, abs_tol=1e-15)
    # A step's calls start only after its dependencies succeeded, and it succeeds once.
    assert fake.early == []
    ok_lines = Counter(a.step_id for a in lines if a.outcome == "ok")
    assert all(n <= 1 for n in ok_lines.values())
    for sid, record in result.steps.items():
        tiers = [RANK[TIER_OF[c.model]] for c in fake.calls_for(sid)]
        assert tiers == sorted(tiers), (sid, tiers)  # escalation never goes down a tier
        if record.status in ("blocked", "not_run"):
            assert fake.calls_for(sid) == []  # blocked steps never run
        if record.status == "succeeded":
            assert ok_lines[sid] == 1
            text = (result.folder / "steps" / f"{sid}.md").read_text()
            assert text == result.outputs[sid]
            assert text.startswith(f"answer of {sid} by ")
    statuses = {r.status for r in result.steps.values()}
    if result.status is RunStatus.SUCCEEDED:
        assert statuses == {"succeeded"}


@SETTINGS
@given(
    plan=plans(),
    data=st.data(),
    budget=st.sampled_from([0.0005, 0.002, 0.01, 0.1]),
    conc=st.integers(1, 4),
)
def test_random_plans_and_faults_keep_every_invariant(
    plan: Plan, data: st.DataObject, budget: float, conc: int
) -> None:
    faults = {
        (s.id, m): data.draw(st.sampled_from(FAULTS), label=f"{s.id}@{m}")
        for s in plan.steps
        for m in MODELS
    }
    out = {s.id: data.draw(st.integers(1, 600), label=f"out {s.id}") for s in plan.steps}
    fake = Faulty(faults, out)
    fake.deps = {s.id: s.depends_on for s in plan.steps}
    with tempfile.TemporaryDirectory() as tmp, fast_retries():
        home = Path(tmp)
        result = anyio.run(_run, home, plan, fake, budget, conc)
        event(type(result).__name__ if isinstance(result, BudgetError) else result.status.value)
        if isinstance(result, BudgetError):  # the plan does not fit: nothing may be spent
            assert result.minimum_usd is not None
            assert fake.calls == []
            return
        _check_invariants(result, plan, fake, home, budget)
        if result.status is RunStatus.SUCCEEDED:
            return
        # Resume with a healthy model and room to finish: succeeded steps never run again.
        done = {sid for sid, r in result.steps.items() if r.status == "succeeded"}
        healthy = FakeLLM()
        again = anyio.run(_resume, home, result.run_id, healthy, budget + 1.0)
        assert again.status is RunStatus.SUCCEEDED, again.counts()
        assert {c.step_id for c in healthy.calls}.isdisjoint(done)
        assert {c.step_id for c in healthy.calls} == set(plan.ids) - done
        assert again.outputs.keys() == set(plan.ids)
        for sid in done:
            assert again.outputs[sid] == result.outputs[sid]
        all_lines = ledger_lines(home)
        assert math.isclose(again.spent_usd, math.fsum(a.cost_usd for a in all_lines), rel_tol=1e-9)


class Sleepy(FakeLLM):
    """Takes a drawn few milliseconds per call; counts calls in flight."""

    def __init__(self, delays_ms: dict[str, int]) -> None:
        super().__init__()
        self.delays_ms = delays_ms
        self.in_flight = 0

    async def complete(self, request: ChatRequest) -> Any:
        self.in_flight += 1
        try:
            answer = await super().complete(request)
            await anyio.sleep(self.delays_ms.get(self.calls[-1].step_id, 1) / 1000)
            return answer
        finally:
            self.in_flight -= 1


async def _run_and_cancel(home: Path, plan: Plan, fake: Sleepy, after_ms: int) -> Any:
    async with runtime(home, fake) as rt:
        executor = Executor(rt, concurrency=3)
        results: list[ExecutionResult] = []

        async def go() -> None:
            results.append(await executor.run(plan, budget_usd=1.0))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(go)
                await anyio.sleep(after_ms / 1000)
                executor.cancel()
        assert fake.in_flight == 0  # nothing left running
        return results[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), data=st.data(), after_ms=st.integers(0, 15))
def test_cancellation_leaves_the_ledger_whole_and_resume_finishes(
    plan: Plan, data: st.DataObject, after_ms: int
) -> None:
    delays = {s.id: data.draw(st.integers(1, 8), label=f"ms {s.id}") for s in plan.steps}
    fake = Sleepy(delays)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        result = anyio.run(_run_and_cancel, home, plan, fake, after_ms)
        event(result.status.value)
        lines = ledger_lines(home)
        assert len(lines) == len(fake.calls)  # every call has its line, cancelled ones too
        cancelled = {sid for sid, r in result.steps.items() if r.status == "cancelled"}
        assert {a.step_id for a in lines if a.outcome == "cancelled"} == cancelled
        assert result.status in (RunStatus.CANCELLED, RunStatus.SUCCEEDED)
        done = {sid for sid, r in result.steps.items() if r.status == "succeeded"}
        healthy = FakeLLM()
        again = anyio.run(_resume, home, result.run_id, healthy, 1.0)
        assert again.status is RunStatus.SUCCEEDED
        assert {c.step_id for c in healthy.calls} == set(plan.ids) - done
