"""Progress of ``tokenplan plan --execute``: a live table on a terminal, plain lines otherwise,
JSON lines with ``--json``; then the run's summary.

Each view is a callable receiving the executor's events (on the event loop: quick, no I/O
beyond a line) and a context manager around the run.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenplan.cli._format import clip, usd
from tokenplan.execution.events import (
    BudgetWait,
    RunFinished,
    RunPlanned,
    SpendUpdated,
    StepAttempt,
    StepEscalated,
    StepFinished,
    StepReady,
    StepStarted,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from rich.console import Console, RenderableType
    from rich.live import Live

    from tokenplan.execution.events import ExecutorEvent
    from tokenplan.execution.records import ExecutionResult

__all__ = [
    "JsonLines",
    "LiveView",
    "PlainLines",
    "ProgressView",
    "make_view",
    "print_summary",
    "summary_json",
]


@dataclass(slots=True)
class _Row:
    step_id: str
    title: str = ""
    state: str = "pending"
    model: str = ""
    tier: str = ""
    rungs: int = 0
    calls: int | None = None
    cost_usd: float | None = None
    started: float | None = None
    duration_s: float | None = None
    note: str = ""


class ProgressView:
    """Tracks the run from its events; subclasses show it."""

    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}
        self.run_id = ""
        self.budget_usd: float | None = None
        self.spent_usd = 0.0
        self.simulated = False
        self.started = time.monotonic()
        #: True once the view's output has no reader any more (a closed pipe).
        self.output_closed = False

    def __call__(self, event: ExecutorEvent) -> None:
        self.track(event)
        self.show(event)

    def track(self, event: ExecutorEvent) -> None:
        if isinstance(event, RunPlanned):
            self.run_id, self.budget_usd = event.run_id, event.budget_usd
            self.spent_usd, self.simulated = event.spent_usd, event.simulated
            for step in event.plan.get("steps", ()):
                alloc = {
                    s["step_id"]: s for s in (event.plan.get("allocation") or {}).get("steps", ())
                }
                sa = alloc.get(step["id"], {})
                self.rows[step["id"]] = _Row(
                    step["id"], step.get("title", ""), model=sa.get("model", ""),
                    tier=sa.get("tier", ""),
                )  # fmt: skip
            self.started = time.monotonic()
        elif isinstance(event, SpendUpdated):
            self.spent_usd = event.spent_usd
        elif isinstance(event, StepReady):
            self._row(event.step_id).state = "queued"
        elif isinstance(event, StepStarted):
            row = self._row(event.step_id)
            row.state, row.started = "running", time.monotonic()
        elif isinstance(event, StepAttempt):
            row = self._row(event.step_id)
            row.model, row.tier, row.rungs = event.model, event.tier, event.rung
        elif isinstance(event, StepEscalated):
            self._row(event.step_id).note = event.reason
        elif isinstance(event, BudgetWait):
            self._row(event.step_id).state = "waiting for budget"
        elif isinstance(event, StepFinished):
            self._finished(event)

    def _finished(self, event: StepFinished) -> None:
        row = self._row(event.step_id)
        row.state = event.status.value
        if event.duration_s is None and event.status.value == "succeeded":
            row.state = "reused"
        row.duration_s = event.duration_s
        row.calls = event.attempts
        info = event.info
        if info.get("model"):
            row.model, row.tier = str(info["model"]), str(info.get("tier") or "")
        if isinstance(info.get("cost_usd"), (int, float)):
            row.cost_usd = float(info["cost_usd"])
        if event.blocked_by:
            row.note = f"blocked by {event.blocked_by}"
        elif event.error is not None:
            row.note = str(event.error)

    def _row(self, step_id: str) -> _Row:
        row = self.rows.get(step_id)
        if row is None:
            row = self.rows[step_id] = _Row(step_id)
        return row

    def show(self, event: ExecutorEvent) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass


class JsonLines(ProgressView):
    """One JSON object per event on stdout (NDJSON), flushed at once.

    When the reader goes away (``... --json | head -1``) the events stop, ``output_closed``
    turns true and ``on_output_closed`` is called (the CLI cancels the run: nobody is
    watching it spend).
    """

    def __init__(self, on_output_closed: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.on_output_closed = on_output_closed

    def show(self, event: ExecutorEvent) -> None:
        import orjson

        if self.output_closed:
            return
        try:
            sys.stdout.buffer.write(orjson.dumps(event.to_dict()) + b"\n")
            sys.stdout.flush()
        except BrokenPipeError:
            self.output_closed = True
            if self.on_output_closed is not None:
                self.on_output_closed()


class PlainLines(ProgressView):
    """One line per step change on stderr (for logs and pipes)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def _say(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.console.print(
            f"[{elapsed:6.1f}s] {text}", markup=False, highlight=False, soft_wrap=True
        )

    def show(self, event: ExecutorEvent) -> None:
        if isinstance(event, RunPlanned):
            verb = "resuming" if event.resumed else "running"
            sim = " (simulated)" if event.simulated else ""
            self._say(
                f"{verb} {event.run_id}: {event.steps} steps, budget {usd(event.budget_usd)}, "
                f"{usd(event.spent_usd)} spent so far{sim}"
            )
        elif isinstance(event, StepAttempt):
            what = "start   " if event.rung == 1 else "retry   "
            self._say(f"{what} {event.step_id}  on {event.model} ({event.tier})")
        elif isinstance(event, StepEscalated):
            to = event.to_model or "nothing (no higher tier)"
            self._say(f"escalate {event.step_id}  {event.from_model} -> {to}: {event.reason}")
        elif isinstance(event, BudgetWait):
            self._say(
                f"wait     {event.step_id}  needs {usd(event.needed_usd)}, "
                f"{usd(event.available_usd)} free until calls in flight settle"
            )
        elif isinstance(event, StepFinished):
            self._step_line(event)
        elif isinstance(event, RunFinished):
            self._say(f"finished {event.status.value}")

    def _step_line(self, event: StepFinished) -> None:
        row = self.rows.get(event.step_id) or _Row(event.step_id)
        status = event.status.value
        if row.state == "reused":
            self._say(f"reused   {event.step_id}  (succeeded in an earlier run)")
        elif status == "succeeded":
            calls = f"{row.calls} call{'s' if row.calls != 1 else ''}"
            self._say(
                f"done     {event.step_id}  {row.model} · {usd(row.cost_usd)} · {calls} · "
                f"{event.duration_s or 0:.1f} s · spent {usd(self.spent_usd)} of "
                f"{usd(self.budget_usd)}"
            )
        else:
            label = {"failed": "FAILED  ", "blocked": "blocked ", "not_run": "not run "}.get(
                status, f"{status} "
            )
            self._say(f"{label} {event.step_id}  {row.note}".rstrip())


_STATE_STYLE = {
    "pending": ("waiting", "dim"),
    "queued": ("queued", "dim"),
    "running": ("running", "cyan"),
    "waiting for budget": ("waiting for budget", "yellow"),
    "succeeded": ("done", "green"),
    "reused": ("done (earlier run)", "green"),
    "failed": ("FAILED", "bold red"),
    "blocked": ("blocked", "yellow"),
    "cancelled": ("cancelled", "magenta"),
    "budget_exhausted": ("budget exhausted", "bold red"),
    "not_run": ("not run", "dim"),
}


_LIVE_STATES = frozenset({"running", "waiting for budget"})


class LiveView(ProgressView):
    """A rich live table on the terminal: step, state, model, attempts, cost, time, and the
    run's spend against its budget."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self._live: Live | None = None

    def __enter__(self) -> LiveView:
        from rich.live import Live

        self._live = Live(
            get_renderable=self.render,
            console=self.console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self.rows:
            self.console.print(self.render())

    def show(self, event: ExecutorEvent) -> None:
        pass  # the Live refreshes on its own from the tracked state

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(header_style="bold", pad_edge=False, expand=False)
        for name in ("step", "state", "model", "attempts", "cost", "time", ""):
            table.add_column(
                name,
                justify="right" if name in ("attempts", "cost", "time") else "left",
                no_wrap=name in ("step", "time", "cost"),
            )
        now = time.monotonic()
        for row in list(self.rows.values()):
            label, style = _STATE_STYLE.get(row.state, (row.state, ""))
            took = row.duration_s
            if took is None and row.started is not None and row.state in _LIVE_STATES:
                took = now - row.started
            attempts = row.calls if row.calls is not None else (row.rungs or None)
            table.add_row(
                Text(row.step_id, style="bold"),
                Text(label, style=style),
                Text(f"{row.model} ({row.tier})" if row.model else "-", style="dim" if
                     row.state in ("pending", "queued") else ""),
                "-" if attempts is None else str(attempts),
                usd(row.cost_usd) if row.cost_usd is not None else "-",
                "-" if took is None else f"{took:.1f}s",
                Text(clip(row.note, 60), style="dim"),
            )  # fmt: skip
        return Group(table, self._footer(now))

    def _footer(self, now: float) -> RenderableType:
        from rich.text import Text

        done = sum(1 for r in self.rows.values() if r.state in ("succeeded", "reused"))
        running = sum(1 for r in self.rows.values() if r.state == "running")
        text = Text()
        text.append(f"spent {usd(self.spent_usd)} of {usd(self.budget_usd)}", style="bold")
        if self.budget_usd:
            share = min(1.0, self.spent_usd / self.budget_usd)
            filled = math.floor(share * 20)
            text.append("  [" + "#" * filled + "." * (20 - filled) + f"] {share:.0%}")
        text.append(f"  ·  {done}/{len(self.rows)} steps done, {running} running")
        text.append(f"  ·  {now - self.started:.1f}s")
        if self.simulated:
            text.append("  ·  simulated", style="yellow")
        return text


def make_view(*, as_json: bool, console: Console) -> ProgressView:
    """JSON lines with ``--json``, a live table on a terminal, plain lines otherwise."""
    if as_json:
        return JsonLines()
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveView(console)
    return PlainLines(console)


def print_summary(result: ExecutionResult, console: Console, *, notice: str | None) -> None:
    """The closing lines on stderr: status, steps, spend, where the result is, what next."""
    counts = result.counts()
    ok = counts.get("succeeded", 0)
    parts = [f"{ok}/{len(result.steps)} steps succeeded"]
    for key in ("failed", "blocked", "cancelled", "budget_exhausted", "not_run"):
        if counts.get(key):
            parts.append(f"{counts[key]} {key.replace('_', ' ')}")
    makespan = result.run.makespan_s if result.run is not None else 0.0
    style = {"succeeded": "bold green", "cancelled": "bold magenta"}.get(
        result.status.value, "bold red"
    )
    head = result.status.value.replace("_", " ")
    console.print(f"[{style}]{head}[/] · " + ", ".join(parts), highlight=False, soft_wrap=True)
    planner = f" (planner {usd(result.planner_cost_usd)})" if result.planner_cost_usd else ""
    console.print(
        f"spent {usd(result.spent_usd)} of {usd(result.budget_usd)}{planner} · {makespan:.1f} s",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"result: {result.result_path}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"details: tokenplan runs {result.run_id}", markup=False, highlight=False, soft_wrap=True
    )
    _next_step(result, console)
    if notice:
        console.print(
            f"note: {notice}", style="yellow", markup=False, highlight=False, soft_wrap=True
        )


def _next_step(result: ExecutionResult, console: Console) -> None:
    from tokenplan.execution.prepare import budget_arg

    status = result.status.value
    resume = f"tokenplan plan --resume {result.run_id}"
    if status == "budget_exhausted":
        more = (result.budget_usd or result.spent_usd) * 2
        console.print(
            f"resume with a higher budget: {resume} --budget {budget_arg(more)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    elif status in ("failed", "cancelled"):
        console.print(
            f"resume (succeeded steps are kept): {resume}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def summary_json(result: ExecutionResult) -> dict[str, Any]:
    """The last line of ``--json`` output."""
    return {"event": "run_summary", **result.to_dict()}
