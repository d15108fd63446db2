"""``tokenplan runs``: run history, or one run's steps, attempts, escalations and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from tokenplan.cli._app import app, examples

if TYPE_CHECKING:
    from pathlib import Path

    from tokenplan.ledger.attempt import Attempt
    from tokenplan.ledger.runs import RunInfo
    from tokenplan.settings import Settings


@app.command(
    "runs",
    short_help="List plan runs, or show one run's steps, attempts and outputs.",
    epilog=examples(
        "tokenplan runs",
        "tokenplan runs 20250601-0930      # a unique prefix of the id is enough",
        "tokenplan runs 20250601-093000-ab12 --json",
        note="Runs are made by 'tokenplan plan GOAL --execute'; each has a folder with its "
        "plan.json, one output file per step and result.md.",
    ),
)
def runs_cmd(
    run_id: str | None = typer.Argument(
        None,
        metavar="[RUN_ID]",
        help="Show this run (its id, or a unique prefix of it); omit to list runs.",
        show_default=False,
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        "-n",
        min=1,
        metavar="N",
        help="Runs to list, newest first; with RUN_ID, the run's last N attempts.  "
        "[default: 20 runs, every attempt]",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """List runs, newest first (id, age, status, spend in USD against the budget, steps done,
    goal), or show one run: its steps with model and cost, every attempt, the escalations and
    where its outputs are."""
    import logging

    from tokenplan.settings import Settings

    settings = Settings.load()
    logging.getLogger("tokenplan.ledger.reader").addHandler(logging.NullHandler())
    if run_id is None:
        _list(settings.paths.runs_dir, limit=limit or 20, as_json=as_json)
    else:
        _show(settings, run_id, limit=limit, as_json=as_json)


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
            soft_wrap=True,
        )
        return
    from tokenplan.cli import _ledger_view as view
    from tokenplan.cli._table import print_tables

    print_tables(console, view.runs_table(runs))


def _show(settings: Settings, run_id: str, *, limit: int | None, as_json: bool) -> None:
    from tokenplan.ledger.runs import load_run
    from tokenplan.ledger.store import Ledger

    run = load_run(settings.paths.runs_dir, run_id)
    reader = Ledger(settings.ledger_file).read(run=run.run_id)
    every = list(reader)
    escalations = [a for a in every if a.escalated_from]
    ledger_spent = sum(a.cost_usd for a in every)
    attempts = every[-limit:] if limit is not None else every
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json(
            {
                "run": run.to_dict(),
                "ledger_spent_usd": ledger_spent,
                "attempts": [a.to_dict() for a in attempts],
                "attempts_total": len(every),
                "escalations": [_escalation(a) for a in escalations],
                "skipped_lines": reader.skipped,
            }
        )
        return
    _render(run, attempts, escalations, ledger_spent, total=len(every))
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
    run: RunInfo,
    attempts: list[Attempt],
    escalations: list[Attempt],
    ledger_spent: float,
    *,
    total: int,
) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from tokenplan.cli import _ledger_view as view
    from tokenplan.cli._format import timestamp, usd
    from tokenplan.cli._output import stderr_console
    from tokenplan.cli._table import Fitted, print_tables

    console = stderr_console()
    console.print(f"[bold]Run[/] {escape(run.run_id)}  [bold]{escape(run.status or '-')}[/]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Goal", Text(run.goal or "-"))
    grid.add_row("Strategy", Text(run.strategy or "-"))
    for label, dt in (("Created", run.created), ("Finished", run.finished)):
        grid.add_row(label, "-" if dt is None else timestamp(dt.timestamp()))
    grid.add_row(
        "Spend",
        f"{usd(run.spent_usd)} of {usd(run.budget_usd)} budget "
        f"(ledger: {usd(ledger_spent)} over {total} attempt(s))",
    )
    grid.add_row("Steps", f"{run.steps_ok}/{len(run.steps)} ok")
    grid.add_row("Folder", Text(str(run.folder)))
    console.print(grid)
    tables: list[Fitted] = []
    if run.steps:
        tables.append(view.run_steps_table(run))
    if attempts:
        title = (
            "Attempts" if len(attempts) == total else f"Last {len(attempts)} of {total} attempts"
        )
        tables.append(view.attempts_table(attempts, title=title))
    print_tables(console, *tables)
    for step in run.steps:
        for line in (*step.notes, *([step.error] if step.error else [])):
            console.print(f"  {step.id}: {line}", markup=False, highlight=False, soft_wrap=True)
    if not attempts:
        console.print("no attempts for this run in the ledger", markup=False, highlight=False)
    for a in escalations:
        console.print(
            f"escalated {a.step_id or '-'}: {a.escalated_from or ''} -> {a.model} ({a.outcome})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for label, path in (("plan", run.plan_path), ("result", run.result_path)):
        if path is not None:
            console.print(f"{label}: {path}", markup=False, highlight=False, soft_wrap=True)
