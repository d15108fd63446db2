"""``tokenplan plan``: plan a goal under a budget, show the plan, and run it (``--execute``).

Only the command's signature lives here; the work is in :mod:`tokenplan.cli._plan_session`,
imported when the command runs (``tokenplan --help`` must start fast).
"""

from __future__ import annotations

from pathlib import Path

import typer

from tokenplan.cli._app import app, examples

__all__ = ["plan_cmd"]


@app.command(
    "plan",
    short_help="Plan a goal as steps under a budget; --execute runs it.",
    epilog=examples(
        'tokenplan plan "Write a Python function that validates emails, then tests for it"'
        " --budget 0.05 --execute",
        'tokenplan plan "Compare three note-taking apps" --strategy cheapest --out plan.json',
        "tokenplan plan --from plan.json --execute",
        "tokenplan plan --resume 20261122-101500-ab12",
        'tokenplan plan "Draft a release announcement" --mermaid',
    ),
)
def plan_cmd(
    goal: str | None = typer.Argument(
        None, metavar="[GOAL]", help="What to achieve, in words (- reads it from stdin)."
    ),
    budget: str | None = typer.Option(
        None,
        "--budget",
        "-b",
        metavar="USD",
        help="Hard ceiling for the whole run, planner included (default: 0.50, or "
        "TOKENPLAN_BUDGET / config). With --resume: a new ceiling for the run.",
    ),
    strategy: str | None = typer.Option(
        None,
        "--strategy",
        "-s",
        metavar="STRATEGY",
        help="How to choose models: cheapest, balanced (default), best_quality. With "
        "--from: the strategy saved in the plan file unless given.",
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", metavar="N", help="Most steps the plan may have (default 12)."
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-c",
        metavar="N",
        help="Most steps running at once (default 8, or TOKENPLAN_CONCURRENCY / config).",
    ),
    execute: bool = typer.Option(
        False, "--execute", "-x", help="Run the plan: steps in parallel, with live progress."
    ),
    resume: str | None = typer.Option(
        None,
        "--resume",
        metavar="RUN_ID",
        help="Run what has not succeeded yet in an earlier run (see 'tokenplan runs').",
    ),
    from_file: Path | None = typer.Option(
        None, "--from", metavar="PLAN_JSON", help="Use an (edited) plan.json instead of a goal."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", metavar="PLAN_JSON", help="Also save the plan to this file."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="JSON on stdout: the plan, or with --execute one event per line."
    ),
    mermaid: bool = typer.Option(False, "--mermaid", help="Print the plan as a Mermaid graph."),
    tree: bool = typer.Option(False, "--tree", help="Show the plan as a tree, not a table."),
) -> None:
    """Plan GOAL as a DAG of steps with a model each, under a hard USD budget; --execute runs it.

    Works offline: with no provider key every model call goes to the built-in simulator and
    the outputs say so. Exit codes: 0 all steps succeeded, 1 some failed or were blocked,
    2 bad input, 3 budget exhausted (or too small for the plan), 130 interrupted.
    """
    from tokenplan._sync import run_sync
    from tokenplan.cli._plan_session import main, options
    from tokenplan.settings import Settings

    settings = Settings.load({"concurrency": concurrency}, flags={"concurrency": "--concurrency"})
    opts = options(goal, from_file, resume, budget, strategy, max_steps, execute, out,
                   as_json, mermaid, tree, settings=settings)  # fmt: skip
    code = run_sync(main, opts, settings)
    if code:
        raise typer.Exit(code)
