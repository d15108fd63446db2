"""The progress views of ``plan --execute`` fed a run's events: live table, plain lines, JSON."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from _executor_support import FakeLLM, runtime
from _planning_factories import make_plan, step
from tokenplan.cli._progress import JsonLines, LiveView, PlainLines, make_view, print_summary
from tokenplan.execution.events import ExecutorEvent
from tokenplan.execution.executor import Executor
from tokenplan.types import ChatRequest


async def _run_with(view: object, home: Path) -> object:
    def behaviour(step_id: str, model: str, request: ChatRequest) -> str:
        return "" if (step_id, model) == ("a", "b1/small") else f"answer by {model}"

    plan = make_plan(
        step("a", model="b1/small"),
        step("b", ["a"], model="b1/small", acceptance="json"),
        step("c", model="b1/small"),
        step("d", ["b", "c"], model="b1/small"),
        goal="g",
    )
    async with runtime(home, FakeLLM(behaviour), settings={"max_attempts_per_step": 1}) as rt:
        return await Executor(rt, on_event=view).run(plan, budget_usd=0.5)  # type: ignore[arg-type]


def console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)


async def test_plain_lines_tell_the_run(isolated_env: Path) -> None:
    out = console()
    view = PlainLines(out)
    with view:
        result = await _run_with(view, isolated_env)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "running " in text
    assert "start    a  on b1/small (budget)" in text
    assert "escalate a  b1/small -> nothing (no higher tier): empty output" in text
    assert "FAILED   a  step 'a' failed" in text
    assert "blocked  b  blocked by a" in text
    assert "done     c  b1/small" in text
    assert "finished failed" in text
    summary = console()
    print_summary(result, summary, notice="simulated!")  # type: ignore[arg-type]
    said = summary.file.getvalue()  # type: ignore[attr-defined]
    assert said.startswith("failed · 1/4 steps succeeded, 1 failed, 2 blocked")
    assert "resume (succeeded steps are kept): tokenplan plan --resume " in said
    assert said.rstrip().endswith("note: simulated!")


async def test_the_live_table_renders_every_step(isolated_env: Path) -> None:
    out = console()
    view = LiveView(out)
    seen: list[ExecutorEvent] = []

    def both(event: ExecutorEvent) -> None:
        seen.append(event)
        view(event)

    await _run_with(both, isolated_env)
    shown = console()
    shown.print(view.render())
    table = shown.file.getvalue()  # type: ignore[attr-defined]
    for needle in ("FAILED", "blocked", "done", "b1/small (budget)", "spent $", "1/4 steps done"):
        assert needle in table, needle
    assert len(seen) > 10


async def test_json_lines_are_one_event_each(
    isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _run_with(JsonLines(), isolated_env)
    lines = capsys.readouterr().out.splitlines()
    events = [orjson.loads(line) for line in lines]
    assert events[0]["event"] == "run_planned"
    assert events[-1]["event"] == "run_finished"
    assert {e["event"] for e in events} >= {
        "step_attempt", "step_escalated", "step_finished", "spend",
    }  # fmt: skip


def test_the_view_follows_the_output() -> None:
    assert isinstance(make_view(as_json=True, console=console()), JsonLines)
    assert isinstance(make_view(as_json=False, console=console()), PlainLines)
    tty = Console(file=io.StringIO(), force_terminal=True)
    assert isinstance(make_view(as_json=False, console=tty), LiveView)
