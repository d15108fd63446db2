"""Property tests of the scheduler over random DAGs, random faults and random cancellation.

Each example runs a real scheduler on a real event loop; the step callable is a fake that
records what it saw (calls, start order, live tasks, a ledger line per call) and spends from a
real :class:`~tokenplan.budget.Budget` the way the LLM step runner will: reserve the worst case
first, settle to the actual cost after.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenplan.budget import Budget
from tokenplan.errors import BudgetError, StepTimeoutError
from tokenplan.execution import (
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    RunStatus,
    Scheduler,
    StepFinished,
    StepOutcome,
    StepReady,
    StepStarted,
    StepStatus,
)

Kind = Literal["ok", "plain", "fail", "raise", "budget", "hang"]
KINDS: tuple[Kind, ...] = ("ok", "plain", "fail", "raise", "budget", "hang")
TIMEOUT_S = 0.05

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Behaviour:
    kind: Kind
    delay_ms: int  # 0: the step never suspends
    worst_usd: float  # what it reserves before "calling a model"
    spend: float  # fraction of the reservation actually spent


@st.composite
def dags(draw: st.DrawFn, max_steps: int = 18) -> dict[str, list[str]]:
    """A random DAG in a random key order (so graph order is not a topological order)."""
    n = draw(st.integers(1, max_steps))
    deps: dict[str, list[str]] = {}
    for i in range(n):
        chosen = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        deps[f"s{i}"] = [f"s{j}" for j in sorted(chosen)]
    order = draw(st.permutations(list(deps)))
    return {sid: deps[sid] for sid in order}


def behaviours(
    ids: list[str], kinds: tuple[Kind, ...] = KINDS
) -> st.SearchStrategy[dict[str, Behaviour]]:
    one = st.builds(
        Behaviour,
        kind=st.sampled_from(kinds),
        delay_ms=st.integers(0, 3),
        worst_usd=st.floats(0.0, 0.3),
        spend=st.floats(0.0, 1.0),
    )
    return st.fixed_dictionaries(dict.fromkeys(ids, one))


@dataclass
class Harness:
    """The fake step callable and everything it observed."""

    deps: dict[str, list[str]]
    plan: dict[str, Behaviour]
    done: frozenset[str] = frozenset()
    budget: Budget | None = None
    key_of: dict[str, str] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    trace: list[tuple[str, str]] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)
    returned_ok: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    live: int = 0
    max_live: int = 0
    live_by_key: Counter[str] = field(default_factory=Counter)
    max_by_key: Counter[str] = field(default_factory=Counter)
    peak_committed_usd: float = 0.0
    events: list[Event] = field(default_factory=list)
    events_at_first_budget_error: int | None = None

    async def __call__(self, sid: str) -> Any:
        self.calls[sid] += 1
        self.trace.append(("start", sid))
        missing = [d for d in self.deps[sid] if d not in self.returned_ok and d not in self.done]
        if missing:
            self.violations.append(f"{sid} started before {missing} succeeded")
        key = self.key_of.get(sid, "")
        self.live += 1
        self.live_by_key[key] += 1
        self.max_live = max(self.max_live, self.live)
        self.max_by_key[key] = max(self.max_by_key[key], self.live_by_key[key])
        b = self.plan[sid]
        reservation = None
        outcome = "cancelled"
        try:
            if self.budget is not None:
                reservation = self.budget.try_reserve(b.worst_usd)
                committed = self.budget.spent_usd + self.budget.reserved_usd
                self.peak_committed_usd = max(self.peak_committed_usd, committed)
                if reservation is None:
                    outcome = self._end(sid, "budget")
                    raise BudgetError(
                        "no room", budget_usd=self.budget.limit_usd or 0.0, requested_usd=1.0
                    )
            if b.delay_ms:
                await anyio.sleep(b.delay_ms / 1000)
            actual = b.worst_usd * b.spend
            if b.kind == "hang":
                await anyio.sleep(10)
            if reservation is not None:
                reservation.settle(actual)
            if b.kind == "budget":
                outcome = self._end(sid, "budget")
                return StepOutcome.failure(BudgetError("injected", budget_usd=1.0))
            if b.kind == "fail":
                outcome = self._end(sid, "fail")
                return StepOutcome.failure(RuntimeError("bad output"), attempts=2)
            if b.kind == "raise":
                outcome = self._end(sid, "raise")
                raise ValueError("step crashed")
            outcome = self._end(sid, "ok")
            self.returned_ok.add(sid)
            if b.kind == "plain":
                return f"value of {sid}"
            return StepOutcome.success(f"value of {sid}", attempts=1, info={"key": key})
        except anyio.get_cancelled_exc_class():
            self.how[sid] = "cancelled"
            if reservation is not None:
                # Cut off mid-call: the provider may bill it all, so keep the worst case.
                reservation.settle(reservation.amount_usd)
            raise
        finally:
            self.live -= 1
            self.live_by_key[key] -= 1
            self.ledger.append({"step_id": sid, "outcome": outcome})

    def _end(self, sid: str, how: str) -> str:
        if how == "budget" and self.events_at_first_budget_error is None:
            self.events_at_first_budget_error = len(self.events)
        self.how[sid] = how
        self.trace.append((how, sid))
        return how


def check_run(
    h: Harness, result: RunResult, events: list[Event], *, interrupted: bool = False
) -> None:
    """Invariants every run must satisfy, whatever the faults."""
    assert not h.violations, h.violations
    assert h.live == 0, "a step callable is still running after the run returned"
    assert sum(h.calls.values()) == len(h.ledger), "one ledger line per call"
    steps = result.steps
    assert list(steps) == list(h.deps)
    for sid, r in steps.items():
        assert h.calls[sid] <= 1, f"{sid} ran {h.calls[sid]} times"
        if sid in h.done:
            assert r.status is StepStatus.SUCCEEDED
            assert r.reused
            assert h.calls[sid] == 0
            continue
        dep_ok = all(steps[d].status is StepStatus.SUCCEEDED for d in h.deps[sid])
        if not dep_ok:
            assert r.status is StepStatus.BLOCKED, (sid, r.status)
            assert r.blocked_by in h.deps[sid]
            assert steps[r.blocked_by].status is not StepStatus.SUCCEEDED
        if r.status in (StepStatus.BLOCKED, StepStatus.NOT_RUN):
            assert h.calls[sid] == 0
            assert r.started_s is None
        if r.status is StepStatus.NOT_RUN:
            assert dep_ok
        how = h.how.get(sid)
        expected = {
            StepStatus.SUCCEEDED: {"ok"},
            StepStatus.FAILED: {"fail", "raise", "timeout"},
            StepStatus.BUDGET_EXHAUSTED: {"budget"},
            StepStatus.CANCELLED: {"cancelled"},
        }.get(r.status)
        if expected is not None:
            if r.status is StepStatus.FAILED and how == "cancelled":
                how = "timeout"  # cancelled by the step timeout, reported as a failure
            assert how in expected, (sid, r.status, how)
            assert h.calls[sid] == 1
            assert r.started_s is not None
            assert r.finished_s is not None
        if how == "timeout":
            assert isinstance(r.error, StepTimeoutError)
            assert r.error.step_id == sid
        if r.status is StepStatus.SUCCEEDED:
            assert r.value == f"value of {sid}"
    statuses = [r.status for r in steps.values()]
    all_ok = all(s is StepStatus.SUCCEEDED for s in statuses)
    if interrupted and not all_ok:
        assert result.status is RunStatus.CANCELLED
    elif StepStatus.BUDGET_EXHAUSTED in statuses:
        assert result.status is RunStatus.BUDGET_EXHAUSTED
    elif all_ok:
        assert result.status is RunStatus.SUCCEEDED
    else:
        assert result.status is RunStatus.FAILED
    if not interrupted and result.status is not RunStatus.BUDGET_EXHAUSTED:
        assert StepStatus.NOT_RUN not in statuses
        assert StepStatus.CANCELLED not in statuses
    check_events(events, result, h)


def check_events(events: list[Event], result: RunResult, h: Harness) -> None:
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status is result.status
    assert events[-1].counts == result.counts()
    seen: dict[str, list[str]] = {sid: [] for sid in result.steps}
    for ev in events[1:-1]:
        assert isinstance(ev, (StepReady, StepStarted, StepFinished))
        seen[ev.step_id].append(ev.kind)
        if isinstance(ev, StepFinished):
            assert ev.status is result.steps[ev.step_id].status
    for sid, kinds in seen.items():
        assert kinds.count("step_finished") == 1, (sid, kinds)
        assert kinds[-1] == "step_finished", (sid, kinds)
        assert kinds.count("step_started") == h.calls[sid]
        if "step_started" in kinds:
            assert kinds[0] == "step_ready"


def run(h: Harness, graph: dict[str, list[str]], **options: Any) -> tuple[RunResult, list[Event]]:
    events = h.events

    async def main() -> RunResult:
        return await Scheduler(graph, h, on_event=events.append, done=h.done, **options).run()

    return anyio.run(main), events


@SETTINGS
@given(data=st.data(), graph=dags())
def test_random_faults_keep_every_invariant(
    data: st.DataObject, graph: dict[str, list[str]]
) -> None:
    ids = list(graph)
    plan = data.draw(behaviours(ids))
    done = frozenset(data.draw(st.sets(st.sampled_from(ids), max_size=len(ids) // 3)))
    concurrency = data.draw(st.one_of(st.none(), st.integers(1, 16)))
    keys = data.draw(st.fixed_dictionaries({sid: st.sampled_from("ab") for sid in ids}))
    limits = data.draw(st.one_of(st.none(), st.fixed_dictionaries({"a": st.integers(1, 3)})))
    limit_usd = data.draw(st.one_of(st.none(), st.floats(0.05, 2.0)))
    budget = Budget(limit_usd)
    h = Harness(graph, plan, done=done, budget=budget, key_of=keys)
    result, events = run(
        h,
        graph,
        concurrency=concurrency,
        limiter_key=keys.__getitem__,
        limits=limits,
        step_timeout_s=TIMEOUT_S,
    )
    check_run(h, result, events)
    # Spend never exceeds the budget, not even transiently with reservations outstanding.
    if limit_usd is not None:
        assert h.peak_committed_usd <= limit_usd + 1e-9
        assert budget.spent_usd <= limit_usd + 1e-9
    assert budget.reserved_usd == 0.0 or math.isclose(budget.reserved_usd, 0.0, abs_tol=1e-9)
    # Concurrency limits held, globally and per key.
    if concurrency is not None:
        assert h.max_live <= concurrency
    if limits is not None:
        assert h.max_by_key["a"] <= limits["a"]
    # After a budget error, nothing new started.
    first_budget = next((n for n, (what, _) in enumerate(h.trace) if what == "budget"), None)
    if first_budget is not None:
        later = [sid for what, sid in h.trace[first_budget:] if what == "start"]
        assert later == [], f"steps started after the budget ran out: {later}"
        assert h.events_at_first_budget_error is not None
        after = events[h.events_at_first_budget_error :]
        assert not [e for e in after if isinstance(e, StepReady)], "ready after the stop"
        assert result.status is RunStatus.BUDGET_EXHAUSTED


@SETTINGS
@given(data=st.data(), graph=dags())
def test_cancellation_leaves_nothing_running_and_resume_finishes(
    data: st.DataObject, graph: dict[str, list[str]]
) -> None:
    ids = list(graph)
    plan = data.draw(behaviours(ids, kinds=("ok", "plain", "hang")))
    cancel_after_s = data.draw(st.integers(0, 12)) / 1000
    outer = data.draw(st.booleans())
    concurrency = data.draw(st.one_of(st.none(), st.integers(1, 6)))
    h = Harness(graph, plan)
    events: list[Event] = []
    scheduler = Scheduler(graph, h, concurrency=concurrency, on_event=events.append)

    async def main() -> RunResult | None:
        async with anyio.create_task_group() as tg:
            if outer:
                tg.cancel_scope.deadline = anyio.current_time() + cancel_after_s
            else:

                async def cancel_later() -> None:
                    await anyio.sleep(cancel_after_s)
                    scheduler.cancel()

                tg.start_soon(cancel_later)
            result = await scheduler.run()
            tg.cancel_scope.cancel()
            return result
        return None  # only reached when the outer scope swallowed the cancellation

    returned = anyio.run(main)
    result = scheduler.result
    assert result is not None
    if returned is not None:
        assert returned is result
    interrupted = result.status is RunStatus.CANCELLED
    check_run(h, result, events, interrupted=interrupted)
    for sid, r in result.steps.items():
        started = h.calls[sid] == 1
        returned_ok = sid in h.returned_ok
        # Every step that was running when the cancel came is reported cancelled.
        assert (r.status is StepStatus.CANCELLED) == (started and not returned_ok)
    if not interrupted:
        assert result.status is RunStatus.SUCCEEDED  # finished before the cancel fired
        return

    # Resume: the succeeded steps are never run again; the rest now succeed.
    again = Harness(
        graph,
        {sid: Behaviour("ok", 0, 0.0, 0.0) for sid in ids},
        done=result.succeeded,
    )
    resumed, resumed_events = run(again, graph, concurrency=concurrency)
    check_run(again, resumed, resumed_events)
    assert resumed.status is RunStatus.SUCCEEDED
    assert set(again.calls) == set(ids) - result.succeeded
    for sid in result.succeeded:
        assert resumed.steps[sid].reused
        assert again.calls[sid] == 0
