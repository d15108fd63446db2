"""``tokenplan runs``: run history, or one run's steps, attempts, escalations and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from tokenplan.cli._app import app

if TYPE_CHECKING:
    from pathlib import Path

    from tokenplan.ledger.attempt import Attempt
    from tokenplan.ledger.runs import RunInfo
    from tokenplan.settings import Settings


@app.command("runs")
def runs_cmd(
    run_id: str | None = typer.Argument(
        None,
        metavar="[RUN_ID]",
        help="Show this run (an id, or a unique prefix of one); omit to list runs.",
    ),
    limit: int = typer.Option(
        20, "--limit", "-n", min=1, metavar="N", help="Runs to list (newest first)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Emit JSON on stdout."),
) -> None:
    """List runs (newest first), or show one run's steps, attempts and where its outputs are."""
    import logging

    from tokenplan.settings import Settings

    settings = Settings.load()
    logging.getLogger("tokenplan.ledger.reader").addHandler(logging.NullHandler())
    if run_id is None:
        _list(settings.paths.runs_dir, limit=limit, as_json=as_json)
    else:
        _show(settings, run_id, as_json=as_json)


def _list(runs_dir: Path, *, limit: int, as_json: bool) -> None:
    from tokenplan.ledger.runs import list_runs

    runs = list_runs(runs_dir, limit=limit)
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json([r.to_dict() for r in runs])
        return
    from tokenplan.cli._output import stderr_console

    console = stderr_console()
    if not runs:
        console.print(
            f"no runs yet ({runs_dir}); 'tokenplan plan \"GOAL\" --execute' makes one",
            markup=False,
            highlight=False,
        )
        return
    from tokenplan.cli import _ledger_view as view

    console.print(view.runs_table(runs))


def _show(settings: Settings, run_id: str, *, as_json: bool) -> None:
    from tokenplan.ledger.runs import load_run
    from tokenplan.ledger.store import Ledger

    run = load_run(settings.paths.runs_dir, run_id)
    reader = Ledger(settings.ledger_file).read(run=run.run_id)
    attempts = list(reader)
    escalations = [a for a in attempts if a.escalated_from]
    ledger_spent = sum(a.cost_usd for a in attempts)
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json(
            {
                "run": run.to_dict(),
                "ledger_spent_usd": ledger_spent,
                "attempts": [a.to_dict() for a in attempts],
                "escalations": [_escalation(a) for a in escalations],
                "skipped_lines": reader.skipped,
            }
        )
        return
    _render(run, attempts, escalations, ledger_spent)
    if reader.skipped:
        from tokenplan.cli._output import stderr_console

        stderr_console().print(
            f"warning: skipped {reader.skipped} unreadable line(s) in {reader.path}",
            markup=False,
            highlight=False,
        )


def _escalation(a: Attempt) -> dict[str, Any]:
    return {"step_id": a.step_id, "from": a.escalated_from, "to": a.model, "outcome": a.outcome}


def _render(
    run: RunInfo, attempts: list[Attempt], escalations: list[Attempt], ledger_spent: float
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from tokenplan.cli import _ledger_view as view
    from tokenplan.cli._output import stderr_console

    console = stderr_console()
    console.print(f"[bold]Run[/] {escape(run.run_id)}  [bold]{escape(run.status or '-')}[/]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Goal", escape(run.goal or "-"))
    grid.add_row("Strategy", escape(run.strategy or "-"))
    grid.add_row("Created", view.when_dt(run.created))
    grid.add_row("Finished", view.when_dt(run.finished))
    grid.add_row(
        "Spend",
        f"{view.usd(run.spent_usd)} of {view.usd(run.budget_usd)} budget "
        f"(ledger: {view.usd(ledger_spent)} over {len(attempts)} attempt(s))",
    )
    grid.add_row("Steps", f"{run.steps_ok}/{len(run.steps)} ok")
    console.print(grid)
    if run.steps:
        console.print(view.run_steps_table(run))
        for step in run.steps:
            for line in (*step.notes, *([step.error] if step.error else [])):
                console.print(f"  {escape(step.id)}: {escape(line)}", highlight=False)
    if attempts:
        console.print(view.attempts_table(attempts, title="Attempts"))
    else:
        console.print("no attempts for this run in the ledger", markup=False, highlight=False)
    for a in escalations:
        console.print(
            f"escalated {escape(a.step_id or '-')}: {escape(a.escalated_from or '')} -> "
            f"{escape(a.model)} ({escape(a.outcome)})"
        )
    console.print(f"[bold]Outputs[/] {escape(str(run.folder))}")
    for label, path in (("plan", run.plan_path), ("result", run.result_path)):
        if path is not None:
            console.print(f"  {label}: {escape(str(path))}")
