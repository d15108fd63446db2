"""The work of ``tokenplan plan``: check the flags, plan or load, show, execute, report."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from rich.console import Console

    from tokenplan.cli._progress import ProgressView
    from tokenplan.execution.executor import Executor
    from tokenplan.execution.prepare import PlannedRun
    from tokenplan.execution.records import ExecutionResult
    from tokenplan.planning.allocator import Allocation
    from tokenplan.planning.planfile import PlanDocument, PlannerInfo
    from tokenplan.planning.schema import Plan
    from tokenplan.settings import Settings

__all__ = ["main", "options"]

#: Below this console width the plan is shown as a tree (the table needs room for "why").
_TABLE_MIN_WIDTH = 140


@dataclass(frozen=True, slots=True)
class Options:
    goal: str | None
    document: PlanDocument | None
    resume: str | None
    budget_usd: float | None
    strategy: str | None
    max_steps: int | None
    execute: bool
    out: Path | None
    as_json: bool
    mermaid: bool
    tree: bool
    #: The strategy came from the plan file's allocation (no --strategy given).
    strategy_from_file: bool = False


def options(
    goal: str | None,
    from_file: Path | None,
    resume: str | None,
    budget: str | None,
    strategy: str | None,
    max_steps: int | None,
    execute: bool,
    out: Path | None,
    as_json: bool,
    mermaid: bool,
    tree: bool,
    *,
    settings: Settings,
) -> Options:
    """Check the flags together, before anything runs; each problem is a one-line
    :class:`UsageError` (exit 2). A plan file is read and an earlier run looked up here."""
    from tokenplan.errors import UsageError
    from tokenplan.planning.inputs import (
        check_budget_usd,
        check_goal,
        check_max_steps,
        check_strategy,
    )

    if sum(x is not None for x in (goal, from_file, resume)) != 1:
        raise UsageError("give one of: a GOAL, --from PLAN_JSON, or --resume RUN_ID")
    if as_json and mermaid:
        raise UsageError("--json and --mermaid cannot be combined")
    if resume is not None and (strategy or max_steps or out or mermaid):
        raise UsageError(
            "--resume runs the run's saved plan: --strategy, --max-steps, --out and --mermaid "
            "do not apply"
        )
    if goal is not None:
        goal = check_goal(sys.stdin.read() if goal == "-" else goal)
    checked_max_steps = None if max_steps is None else check_max_steps(max_steps)
    document = None
    if from_file is not None:
        from tokenplan.planning.planfile import load_plan

        document = load_plan(from_file, max_steps=checked_max_steps)
    strategy_from_file = False
    if strategy is not None:
        try:
            strategy = check_strategy(strategy)
        except UsageError as exc:
            raise UsageError(f"--strategy: {exc}") from None
    elif document is not None and document.allocation is not None:
        # The plan was allocated with this strategy; a run of it keeps it unless told otherwise.
        strategy, strategy_from_file = check_strategy(document.allocation.strategy), True
    if resume is not None:
        from tokenplan.ledger.runs import find_run_folder

        # A unique prefix is enough. Nothing is read here: resume reads the run under its lock.
        resume = find_run_folder(settings.paths.runs_dir, resume).name
    return Options(
        goal=goal,
        document=document,
        resume=resume,
        budget_usd=None if budget is None else check_budget_usd(budget, name="--budget"),
        strategy=strategy,
        max_steps=checked_max_steps,
        execute=execute or resume is not None,
        out=out,
        as_json=as_json,
        mermaid=mermaid,
        tree=tree,
        strategy_from_file=strategy_from_file,
    )


async def main(opts: Options, settings: Settings) -> int:
    import anyio

    from tokenplan.cli._output import stderr_console
    from tokenplan.cli._progress import JsonLines, make_view
    from tokenplan.execution.executor import Executor
    from tokenplan.execution.signals import cancel_on_signals
    from tokenplan.runtime import Runtime, offline_notice

    console = stderr_console()
    view = make_view(as_json=opts.as_json, console=console) if opts.execute else None
    async with Runtime.open(settings) as runtime:
        notice = offline_notice(runtime)
        if notice is not None:
            console.print(
                f"note: {notice}", style="yellow", markup=False, highlight=False, soft_wrap=True
            )
        executor = Executor(runtime, on_event=view)
        if isinstance(view, JsonLines):
            view.on_output_closed = executor.cancel  # nobody reads the events: stop spending
        session = _Session(opts, executor, console, view)
        with anyio.CancelScope() as scope:

            def on_signal() -> None:
                executor.cancel()
                if not executor.running:
                    scope.cancel()

            failure: Exception | None = None
            code = 0
            async with cancel_on_signals(on_signal):
                try:
                    code = await session.go()
                except Exception as exc:  # raised below, outside the signal task group
                    failure = exc
            if failure is not None:
                raise failure
        if scope.cancelled_caught:
            session.interrupted()
            return 130
        return code


class _Session:
    """One ``tokenplan plan`` invocation: get the plan, show it, run it, report."""

    def __init__(
        self,
        opts: Options,
        executor: Executor,
        console: Console,
        view: ProgressView | None,
    ) -> None:
        self.opts = opts
        self.executor = executor
        self.console = console
        self.view = view
        self.planned: PlannedRun | None = None

    async def go(self) -> int:
        opts, executor = self.opts, self.executor
        if opts.resume is not None:
            return await self._run(None)
        if opts.document is not None:
            doc = opts.document
            if opts.strategy_from_file and not opts.as_json:
                self.console.print(
                    f"strategy {opts.strategy} (saved in the plan file; --strategy overrides it)",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            if not opts.execute:
                allocation = self._allocate(doc.plan)
                self._show(doc.plan, allocation, None, run_id=None)
                return 0
            self.planned = executor.prepare(
                doc.plan, budget_usd=opts.budget_usd, strategy=opts.strategy
            )
        else:
            assert opts.goal is not None
            with self._status("planning"):
                self.planned = await executor.plan(
                    opts.goal,
                    budget_usd=opts.budget_usd,
                    strategy=opts.strategy,
                    max_steps=opts.max_steps,
                )
        planned = self.planned
        self._show(planned.plan, planned.allocation, planned.planner, run_id=planned.run_id)
        if not opts.execute:
            if not opts.as_json:
                self.console.print(
                    f"run it: tokenplan plan --resume {planned.run_id}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            return 0
        return await self._run(planned)

    async def _run(self, planned: PlannedRun | None) -> int:
        view = self.view
        assert view is not None
        with view:
            if planned is None:
                assert self.opts.resume is not None
                result = await self.executor.resume(
                    self.opts.resume, budget_usd=self.opts.budget_usd
                )
            else:
                result = await self.executor.run(planned)
        self._report(result)
        return result.exit_code

    def _allocate(self, plan: Plan) -> Allocation:
        from tokenplan.execution.prepare import available_ids
        from tokenplan.planning.allocator import allocate_for_settings

        runtime = self.executor.runtime
        return allocate_for_settings(
            plan,
            runtime.catalog,
            runtime.settings,
            budget_usd=self.opts.budget_usd,
            strategy=self.opts.strategy,
            available=available_ids(runtime),
        )

    def _show(
        self,
        plan: Plan,
        allocation: Allocation,
        planner: PlannerInfo | None,
        *,
        run_id: str | None,
    ) -> None:
        opts = self.opts
        if opts.out is not None:
            from tokenplan.planning.planfile import save_plan

            save_plan(opts.out, plan, allocation, planner=planner)
        if opts.as_json:
            if not opts.execute:
                from tokenplan.cli._output import emit_json
                from tokenplan.planning.render import plan_json

                doc = plan_json(plan, allocation, planner=planner)
                emit_json({**doc, "run_id": run_id} if run_id else doc)
            return
        if opts.mermaid:
            from tokenplan.planning.render import plan_mermaid

            sys.stdout.write(plan_mermaid(plan, allocation))
            sys.stdout.flush()
            if not opts.execute:
                return
        from tokenplan.planning.render import render_plan

        wide = self.console.width >= _TABLE_MIN_WIDTH
        render_plan(
            plan,
            allocation,
            planner=planner,
            console=self.console,
            view="table" if wide and not opts.tree else "tree",
        )
        if opts.out is not None:
            self.console.print(
                f"plan saved to {opts.out}", markup=False, highlight=False, soft_wrap=True
            )

    def _report(self, result: ExecutionResult) -> None:
        from tokenplan.cli._progress import print_summary, summary_json

        if self.opts.as_json:
            import orjson

            if self.view is not None and self.view.output_closed:
                again = "" if result.ok else f"; resume: tokenplan plan --resume {result.run_id}"
                self.console.print(
                    f"stdout was closed: run {result.run_id} {result.status.value}{again}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
                raise BrokenPipeError  # the entry point ends quietly (exit 0), as for any pipe
            sys.stdout.buffer.write(orjson.dumps(summary_json(result)) + b"\n")
            sys.stdout.flush()
            return
        simulated = (
            "the outputs are simulated (offline simulator), not real model answers"
            if result.simulated
            else None
        )
        print_summary(result, self.console, notice=simulated)
        if result.result_text:
            sys.stdout.write(result.result_text)
            sys.stdout.flush()

    def _status(self, what: str) -> AbstractContextManager[object]:
        import contextlib

        if self.opts.as_json or not self.console.is_terminal:
            return contextlib.nullcontext()
        return self.console.status(f"{what}...", spinner="dots")

    def interrupted(self) -> None:
        planned = self.planned
        if planned is None:
            self.console.print(
                "interrupted while planning; nothing ran", markup=False, soft_wrap=True
            )
        else:
            self.console.print(
                f"interrupted; resume with: tokenplan plan --resume {planned.run_id}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
