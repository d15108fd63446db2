"""Scheduler behaviour on small hand-made graphs: statuses, blocking, budget, timeouts,
cancellation, resume, events, limits and ordering."""

from __future__ import annotations

import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import networkx as nx
import pytest

from tokenplan.errors import BudgetError, InvalidPlanError, StepTimeoutError, UsageError
from tokenplan.execution import (
    Event,
    RunResult,
    RunStatus,
    Scheduler,
    StepFinished,
    StepOutcome,
    StepStatus,
    exit_code,
    run_dag,
)

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

Step = Callable[[str], Awaitable[Any]]


class Recorder:
    """A step callable scripted per step: sleep, then succeed / fail / raise."""

    def __init__(self, script: dict[str, Any] | None = None, *, delay_s: float = 0.0) -> None:
        self.script = script or {}
        self.delay_s = delay_s
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.order: list[str] = []
        self.live = 0
        self.max_live = 0

    async def __call__(self, sid: str) -> Any:
        self.order.append(sid)
        self.started[sid] = anyio.current_time()
        self.live += 1
        self.max_live = max(self.max_live, self.live)
        try:
            action = self.script.get(sid, self.delay_s)
            if isinstance(action, (int, float)):
                await anyio.sleep(action)
                return StepOutcome.success(sid.upper(), attempts=1)
            if isinstance(action, BaseException):
                await anyio.lowlevel.checkpoint()
                raise action
            return await action(sid)
        finally:
            self.live -= 1
            self.ended[sid] = anyio.current_time()


def statuses(result: RunResult) -> dict[str, str]:
    return {sid: r.status.value for sid, r in result.steps.items()}


async def test_all_succeed_in_dependency_order_with_values() -> None:
    rec = Recorder()
    graph = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    result = await run_dag(graph, rec)
    assert result.status is RunStatus.SUCCEEDED
    assert exit_code(result) == 0
    assert {sid: r.value for sid, r in result.steps.items()} == {
        "a": "A",
        "b": "B",
        "c": "C",
        "d": "D",
    }
    assert rec.order[0] == "a"
    assert rec.order[-1] == "d"
    assert all(r.attempts == 1 and r.duration_s is not None for r in result.steps.values())
    assert result.succeeded == frozenset(graph)


async def test_networkx_digraph_is_accepted() -> None:
    g = nx.DiGraph()
    g.add_edges_from([("fetch", "summarize"), ("summarize", "report"), ("fetch", "report")])
    rec = Recorder()
    result = await run_dag(g, rec)
    assert result.status is RunStatus.SUCCEEDED
    assert rec.order.index("fetch") < rec.order.index("summarize") < rec.order.index("report")


async def test_failure_blocks_every_descendant_and_spares_the_rest() -> None:
    graph = {"a": [], "b": ["a"], "c": ["b"], "d": ["c", "x"], "x": [], "y": ["x"]}
    rec = Recorder({"a": ValueError("boom")})
    result = await run_dag(graph, rec)
    assert statuses(result) == {
        "a": "failed",
        "b": "blocked",
        "c": "blocked",
        "d": "blocked",
        "x": "succeeded",
        "y": "succeeded",
    }
    assert result.steps["b"].blocked_by == "a"
    assert result.steps["c"].blocked_by == "b"
    assert result.steps["d"].blocked_by == "c"
    assert isinstance(result.steps["a"].error, ValueError)
    assert set(rec.order) == {"a", "x", "y"}
    assert result.status is RunStatus.FAILED
    assert result.exit_code == 1


async def test_blocking_is_reported_at_once_not_at_the_end() -> None:
    """A progress view learns that every descendant is blocked when the failure happens."""
    events: list[Event] = []
    rec = Recorder({"a": ValueError("boom"), "slow": 0.3})
    graph = {"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "slow": []}
    await run_dag(graph, rec, on_event=events.append)
    finished = [e.step_id for e in events if isinstance(e, StepFinished)]
    assert finished[-1] == "slow"
    assert set(finished[:-1]) == {"a", "b", "c", "d"}


async def test_failure_outcome_and_plain_values() -> None:
    async def step(sid: str) -> Any:
        if sid == "bad":
            return StepOutcome.failure(RuntimeError("invalid json"), attempts=3, info={"m": "x"})
        return {"sid": sid}  # any non-StepOutcome value is a success

    result = await run_dag({"ok": [], "bad": ["ok"]}, step)
    assert result.steps["ok"].value == {"sid": "ok"}
    bad = result.steps["bad"]
    assert bad.status is StepStatus.FAILED
    assert bad.attempts == 3
    assert bad.info == {"m": "x"}
    assert bad.to_dict()["error"] == {"type": "RuntimeError", "message": "invalid json"}


async def test_step_does_not_wait_for_an_unrelated_slow_step() -> None:
    """No waves: b depends only on a; it must start long before the slow, unrelated c ends."""
    rec = Recorder({"a": 0.01, "b": 0.01, "c": 0.5, "d": 0.01})
    graph = {"a": [], "c": [], "b": ["a"], "d": ["b"]}
    result = await run_dag(graph, rec)
    assert result.status is RunStatus.SUCCEEDED
    assert rec.ended["d"] < rec.ended["c"] - 0.3
    assert rec.started["b"] - rec.ended["a"] < 0.1


async def test_makespan_follows_the_critical_path() -> None:
    # Two chains whose slow steps alternate: each chain takes 0.42 s on its own, so the run
    # needs ~0.42 s; a wave scheduler would wait 0.2 s at each of the 4 levels (0.8 s).
    fast, slow = 0.01, 0.2
    script = {"a1": slow, "a2": fast, "a3": slow, "a4": fast}
    script |= {"b1": fast, "b2": slow, "b3": fast, "b4": slow}
    graph = {"a1": [], "a2": ["a1"], "a3": ["a2"], "a4": ["a3"]}
    graph |= {"b1": [], "b2": ["b1"], "b3": ["b2"], "b4": ["b3"]}
    result = await run_dag(graph, Recorder(script))
    assert 0.42 <= result.makespan_s < 0.6


async def test_budget_error_stops_new_starts_and_marks_the_rest() -> None:
    # limit 1: "a" raises BudgetError while "b" is still running; "c" (ready, waiting for the
    # slot) must not start; "b" finishes normally; its dependent is not run.
    async def a(sid: str) -> Any:
        raise BudgetError("budget exhausted", budget_usd=1.0, spent_usd=0.9, requested_usd=0.2)

    rec = Recorder({"a": a, "b": 0.05})
    graph = {"b": [], "a": [], "c": [], "b2": ["b"], "a2": ["a"]}
    result = await run_dag(graph, rec, concurrency=2)
    assert statuses(result) == {
        "b": "succeeded",
        "a": "budget_exhausted",
        "c": "not_run",
        "b2": "not_run",
        "a2": "blocked",
    }
    assert "c" not in rec.order
    assert "b2" not in rec.order
    assert result.status is RunStatus.BUDGET_EXHAUSTED
    assert result.exit_code == 3


async def test_budget_failure_outcome_counts_too() -> None:
    async def step(sid: str) -> StepOutcome:
        return StepOutcome.failure(BudgetError("nothing fits", budget_usd=0.01))

    result = await run_dag({"only": []}, step)
    assert result.status is RunStatus.BUDGET_EXHAUSTED


async def test_timeout_fails_the_step_with_a_typed_error() -> None:
    rec = Recorder({"slow": 5.0, "fast": 0.0})
    graph = {"slow": [], "fast": [], "after": ["slow"]}
    with anyio.fail_after(2):
        result = await run_dag(graph, rec, step_timeout_s=0.05)
    slow = result.steps["slow"]
    assert slow.status is StepStatus.FAILED
    assert isinstance(slow.error, StepTimeoutError)
    assert slow.error.timeout_s == 0.05
    assert slow.error.step_id == "slow"
    assert slow.duration_s is not None
    assert slow.duration_s < 1.0
    assert result.steps["after"].status is StepStatus.BLOCKED
    assert result.steps["fast"].status is StepStatus.SUCCEEDED


async def test_a_timeout_error_raised_by_the_step_is_not_our_timeout() -> None:
    rec = Recorder({"a": TimeoutError("upstream read timed out")})
    result = await run_dag({"a": []}, rec, step_timeout_s=10)
    err = result.steps["a"].error
    assert isinstance(err, TimeoutError)
    assert not isinstance(err, StepTimeoutError)


async def test_cancel_reports_in_flight_steps_and_returns_the_run() -> None:
    rec = Recorder({"quick": 0.0, "s1": 30.0, "s2": 30.0})
    graph = {"quick": [], "s1": [], "s2": [], "after": ["s1"], "later": ["quick"]}
    scheduler = Scheduler(graph, rec, concurrency=3)
    async with anyio.create_task_group() as tg:

        async def cancel_soon() -> None:
            await anyio.sleep(0.1)
            scheduler.cancel()

        tg.start_soon(cancel_soon)
        t0 = anyio.current_time()
        result = await scheduler.run()
        elapsed = anyio.current_time() - t0
    assert elapsed < 1.0
    assert rec.live == 0
    assert statuses(result) == {
        "quick": "succeeded",
        "s1": "cancelled",
        "s2": "cancelled",
        "after": "blocked",
        "later": "succeeded",
    }
    assert result.status is RunStatus.CANCELLED
    assert result.exit_code == 130
    assert scheduler.result is result
    scheduler.cancel()  # after the end: a no-op


async def test_outer_cancellation_propagates_and_leaves_the_result() -> None:
    rec = Recorder({"a": 0.0, "b": 30.0})
    scheduler = Scheduler({"a": [], "b": ["a"], "c": ["b"]}, rec)
    with anyio.move_on_after(0.1) as scope:
        await scheduler.run()
    assert scope.cancelled_caught  # the cancellation was not swallowed
    result = scheduler.result
    assert result is not None
    assert statuses(result) == {"a": "succeeded", "b": "cancelled", "c": "blocked"}
    assert result.status is RunStatus.CANCELLED
    assert rec.live == 0


async def test_an_error_raised_while_cancelling_counts_as_cancelled() -> None:
    async def messy(sid: str) -> None:
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            raise OSError("connection reset while closing") from None

    scheduler = Scheduler({"a": []}, messy)
    with anyio.move_on_after(0.05):
        await scheduler.run()
    assert scheduler.result is not None
    step = scheduler.result.steps["a"]
    assert step.status is StepStatus.CANCELLED
    assert isinstance(step.error, OSError)


async def test_cancel_before_run_starts_nothing() -> None:
    rec = Recorder()
    scheduler = Scheduler({"a": [], "b": ["a"]}, rec)
    scheduler.cancel()
    result = await scheduler.run()
    assert rec.order == []
    assert statuses(result) == {"a": "not_run", "b": "blocked"}
    assert result.status is RunStatus.CANCELLED


async def test_resume_never_reruns_done_steps_and_uses_their_values() -> None:
    seen: dict[str, Any] = {}

    async def step(sid: str) -> str:
        seen[sid] = True
        return sid

    graph = {"a": [], "b": ["a"], "c": ["b"]}
    result = await run_dag(graph, step, done={"a": "old A", "b": "old B", "zz": "unknown"})
    assert set(seen) == {"c"}
    assert result.steps["a"].value == "old A"
    assert result.steps["a"].reused
    assert result.steps["c"].status is StepStatus.SUCCEEDED
    assert not result.steps["c"].reused
    everything = await run_dag(graph, step, done=["a", "b", "c"])
    assert everything.status is RunStatus.SUCCEEDED
    assert set(seen) == {"c"}


async def test_concurrency_and_per_key_limits_hold() -> None:
    rec = Recorder(delay_s=0.02)
    graph = {f"s{i}": [] for i in range(12)}
    keys = {sid: ("openai" if i % 2 else "anthropic") for i, sid in enumerate(graph)}
    live_by_key = {"openai": 0, "anthropic": 0}
    peak = {"openai": 0, "anthropic": 0}

    async def step(sid: str) -> Any:
        live_by_key[keys[sid]] += 1
        peak[keys[sid]] = max(peak[keys[sid]], live_by_key[keys[sid]])
        try:
            return await rec(sid)
        finally:
            live_by_key[keys[sid]] -= 1

    result = await run_dag(
        graph, step, concurrency=3, limiter_key=keys.__getitem__, limits={"openai": 1}
    )
    assert result.status is RunStatus.SUCCEEDED
    assert rec.max_live == 3
    assert peak["openai"] == 1
    assert peak["anthropic"] == 2


async def test_shared_capacity_limiter_bounds_two_runs_together() -> None:
    limiter = anyio.CapacityLimiter(2)
    rec = Recorder(delay_s=0.02)
    graphs = [{f"{run}{i}": [] for i in range(5)} for run in "xy"]
    results: list[RunResult] = []

    async def one(graph: dict[str, list[str]]) -> None:
        results.append(await run_dag(graph, rec, concurrency=limiter))

    async with anyio.create_task_group() as tg:
        for g in graphs:
            tg.start_soon(one, g)
    assert all(r.status is RunStatus.SUCCEEDED for r in results)
    assert rec.max_live == 2


async def test_ready_steps_wait_critical_path_first() -> None:
    # One slot. "long" heads a chain of 3; "short1"/"short2" are leaves. The chain goes first.
    rec = Recorder()
    graph = {"short1": [], "short2": [], "long": [], "long2": ["long"], "long3": ["long2"]}
    await run_dag(graph, rec, concurrency=1)
    assert rec.order[0] == "long"
    # Duration hints override the step count.
    rec2 = Recorder()
    await run_dag(graph, rec2, concurrency=1, duration_hint_s={"short2": 100.0})
    assert rec2.order[0] == "short2"


async def test_events_describe_the_run_in_order() -> None:
    events: list[Event] = []
    graph = {"a": [], "b": ["a"], "c": ["b"]}
    result = await run_dag(graph, Recorder({"b": ValueError("x")}), on_event=events.append)
    kinds = [(e.kind, getattr(e, "step_id", None)) for e in events]
    assert kinds == [
        ("run_started", None),
        ("step_ready", "a"),
        ("step_started", "a"),
        ("step_finished", "a"),
        ("step_ready", "b"),
        ("step_started", "b"),
        ("step_finished", "b"),
        ("step_finished", "c"),
        ("run_finished", None),
    ]
    finished = [e for e in events if isinstance(e, StepFinished)]
    assert [e.status for e in finished] == [
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.BLOCKED,
    ]
    assert finished[2].blocked_by == "b"
    assert finished[2].duration_s is None
    as_json = [e.to_dict() for e in events]
    assert as_json[-1] == {
        "event": "run_finished",
        "status": "failed",
        "t_s": result.makespan_s,
        "counts": result.counts(),
    }
    assert as_json[6]["error"] == {"type": "ValueError", "message": "x"}


async def test_event_stream_sink_and_a_broken_sink() -> None:
    send, receive = anyio.create_memory_object_stream[Event](math.inf)
    with send, receive:
        result = await run_dag({"a": [], "b": ["a"]}, Recorder(), on_event=send)
        got = [receive.receive_nowait().kind for _ in range(8)]
    assert got[0] == "run_started"
    assert got[-1] == "run_finished"
    assert result.status is RunStatus.SUCCEEDED

    bounded, rx = anyio.create_memory_object_stream[Event](10)
    with bounded, rx, pytest.raises(UsageError):
        Scheduler({"a": []}, Recorder(), on_event=bounded)

    calls = 0

    def broken(event: Event) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("view crashed")

    result = await run_dag({"a": [], "b": ["a"]}, Recorder(), on_event=broken)
    assert result.status is RunStatus.SUCCEEDED
    assert calls == 1


async def test_cancellation_inside_a_step_is_never_swallowed() -> None:
    """A step cancelled by the run's own scope must not turn into a failure or a success."""
    started = anyio.Event()

    async def step(sid: str) -> str:
        started.set()
        await anyio.sleep(30)
        return "never"

    scheduler = Scheduler({"a": []}, step)
    async with anyio.create_task_group() as tg:

        async def cancel_when_started() -> None:
            await started.wait()
            scheduler.cancel()

        tg.start_soon(cancel_when_started)
        result = await scheduler.run()
    assert result.steps["a"].status is StepStatus.CANCELLED


async def test_a_scheduler_runs_once_and_validates_options() -> None:
    scheduler = Scheduler({"a": []}, Recorder())
    await scheduler.run()
    with pytest.raises(UsageError):
        await scheduler.run()
    for bad in (
        {"concurrency": 0},
        {"concurrency": True},
        {"step_timeout_s": 0},
        {"step_timeout_s": math.inf},
        {"limits": {"a": 1}},  # no limiter_key
        {"limits": {"a": 0}, "limiter_key": str},
    ):
        with pytest.raises(UsageError):
            Scheduler({"a": []}, Recorder(), **bad)
    with pytest.raises(InvalidPlanError):
        Scheduler({"a": ["b"], "b": ["a"]}, Recorder())


async def test_empty_graph_succeeds() -> None:
    result = await run_dag({}, Recorder())
    assert result.status is RunStatus.SUCCEEDED
    assert result.steps == {}


class Abort(BaseException):
    """Not an Exception: the scheduler must let it through, not record it as a failure."""


async def test_base_exceptions_other_than_cancellation_propagate() -> None:
    async def step(sid: str) -> None:
        raise Abort

    scheduler = Scheduler({"a": [], "b": ["a"]}, step)
    with pytest.raises(BaseExceptionGroup) as info:
        await scheduler.run()
    assert info.group_contains(Abort)
    assert scheduler.result is not None
    assert scheduler.result.status is RunStatus.CANCELLED
    assert scheduler.result.steps["a"].status is StepStatus.CANCELLED
    assert scheduler.result.steps["b"].status is StepStatus.BLOCKED


async def test_steps_that_never_suspend_still_let_a_cancel_in() -> None:
    """A long chain of instant steps (cache hits) must not hold the event loop to the end."""

    async def instant(sid: str) -> str:
        return sid

    graph = {f"s{i}": ([f"s{i - 1}"] if i else []) for i in range(20_000)}
    scheduler = Scheduler(graph, instant)
    async with anyio.create_task_group() as tg:

        async def cancel_soon() -> None:
            await anyio.sleep(0.01)
            scheduler.cancel()

        tg.start_soon(cancel_soon)
        result = await scheduler.run()
    counts = result.counts()
    assert result.status is RunStatus.CANCELLED
    assert 0 < counts["succeeded"] < len(graph)
    assert counts["not_run"] + counts["blocked"] == len(graph) - counts["succeeded"]
