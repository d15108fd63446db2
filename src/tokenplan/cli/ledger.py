"""``tokenplan ledger``: recent attempts, or a spend summary, from the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tokenplan.cli._app import app, examples

if TYPE_CHECKING:
    from tokenplan.catalog import Catalog
    from tokenplan.ledger.reader import LedgerReader
    from tokenplan.ledger.store import Ledger
    from tokenplan.settings import Settings

_BY_HELP = "Group the summary by model, provider, day, run, capability, kind or tier."
#: Same as ``Settings.baseline_model``'s default (a test keeps them in step).
BASELINE_DEFAULT = "openai/gpt-5.4"


@app.command(
    "ledger",
    short_help="Show recent model calls, or spend, waste and savings totals.",
    epilog=examples(
        "tokenplan ledger",
        "tokenplan ledger --summary --since 7d",
        "tokenplan ledger --by model --since 2025-06-01",
        "tokenplan ledger --run 20250601-093000-ab12 --outcome invalid",
        "tokenplan ledger --by day --csv > spend.csv",
        note="Every model call (planner, steps, route --send, the proxy) is one line of the "
        "ledger, failed calls included; 'wasted' is what failed calls cost.",
    ),
)
def ledger_cmd(
    summary: bool = typer.Option(
        False, "--summary", "-s", help="Show totals instead of the recent attempts."
    ),
    by: str | None = typer.Option(
        None, "--by", "-b", metavar="KEY", help=_BY_HELP + " Implies --summary."
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        metavar="WHEN",
        help="Only attempts since: a duration back from now (7d, 12h, 30m) or an ISO date or "
        "datetime (2025-06-01, 2025-06-01T09:30).",
    ),
    until: str | None = typer.Option(
        None, "--until", metavar="WHEN", help="Only attempts before this (same forms as --since)."
    ),
    run: str | None = typer.Option(
        None, "--run", "-r", metavar="RUN_ID", help="Only this run (see 'tokenplan runs')."
    ),
    kind: str | None = typer.Option(
        None,
        "--kind",
        "-k",
        metavar="KIND",
        help="Only this kind: plan, step, route, proxy or bench.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        metavar="MODEL",
        help="Only this model (catalog id, or a bare name like gpt-5).",
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        "-p",
        metavar="PROVIDER",
        help="Only this provider: openai, anthropic, openrouter, ...",
    ),
    outcome: str | None = typer.Option(
        None,
        "--outcome",
        "-o",
        metavar="OUTCOME",
        help="Only this outcome: ok, error, invalid, cancelled, skipped.",
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        "-n",
        metavar="N",
        min=1,
        help="Attempts to list, or groups to show.  [default: 20 attempts, every group]",
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        metavar="MODEL",
        help="Model that savings are measured against: what the same tokens would have cost "
        f"on it.  [default: {BASELINE_DEFAULT}, or TOKENPLAN_BASELINE_MODEL / config]",
    ),
    file: str | None = typer.Option(
        None,
        "--file",
        metavar="PATH",
        help="Ledger file to read.  [default: TOKENPLAN_LEDGER / config, else ledger.jsonl in "
        "the data folder]",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV on stdout."),
) -> None:
    """Show the ledger: the most recent model calls (attempts), or with --summary / --by the
    total spend in USD, success rate, wasted and planner spend, tokens, and savings against a
    baseline model."""
    import logging

    from tokenplan.catalog import load_catalog
    from tokenplan.cli._choices import check_choice
    from tokenplan.errors import UsageError
    from tokenplan.ledger.attempt import ATTEMPT_KINDS, OUTCOMES
    from tokenplan.ledger.summary import GROUP_KEYS
    from tokenplan.settings import Settings

    if as_json and as_csv:
        raise UsageError("--json and --csv are exclusive; choose one of them")
    by = check_choice(by, GROUP_KEYS, flag="--by", what="grouping")
    kind = check_choice(kind, ATTEMPT_KINDS, flag="--kind", what="kind")
    outcome = check_choice(outcome, OUTCOMES, flag="--outcome", what="outcome")
    settings = Settings.load(
        {"baseline_model": baseline, "ledger_path": file},
        flags={"baseline_model": "--baseline", "ledger_path": "--file"},
    )
    from tokenplan.ledger.store import Ledger

    # The CLI reports unreadable lines itself (one line on stderr), not through logging.
    logging.getLogger("tokenplan.ledger.reader").addHandler(logging.NullHandler())
    ledger = Ledger(settings.ledger_file)
    catalog = None
    if provider is not None or model is not None or baseline is not None:
        catalog = load_catalog(settings)
        _check_filters(catalog, settings, ledger, provider=provider, model=model, baseline=baseline)
    reader = ledger.read(
        since=since,
        until=until,
        run=run,
        kind=kind,
        model=model,
        provider=provider,
        outcome=outcome,
    )
    if summary or by is not None:
        catalog = catalog or load_catalog(settings)
        _show_summary(reader, settings, catalog, by=by, limit=limit, as_json=as_json, as_csv=as_csv)
    else:
        _show_recent(reader, limit=limit or 20, as_json=as_json, as_csv=as_csv)
    _warn_skipped(reader)


def _check_filters(
    catalog: Catalog,
    settings: Settings,
    ledger: Ledger,
    *,
    provider: str | None,
    model: str | None,
    baseline: str | None,
) -> None:
    """A --provider or --model the catalog and the endpoints do not know, and the ledger has
    never recorded, is a typo: say so (with close matches) rather than "no attempts match".
    --baseline must be a catalog model."""
    from tokenplan.cli._choices import unknown_choice
    from tokenplan.providers.endpoints import ENDPOINTS

    if baseline is not None and catalog.find(settings.baseline_model) is None:
        raise unknown_choice(
            settings.baseline_model,
            [m.id for m in catalog],
            flag="--baseline",
            what="model",
            listed_by="tokenplan models",
        )
    if provider is not None:
        known = [*catalog.providers, *(e.name for e in ENDPOINTS), *settings.endpoints]
        if provider not in known and not ledger.read(provider=provider).tail(1):
            raise unknown_choice(provider, sorted(set(known)), flag="--provider", what="provider")
    if model is not None and catalog.find(model) is None and not ledger.read(model=model).tail(1):
        raise unknown_choice(
            model,
            [m.id for m in catalog] + [m.id.rsplit("/", 1)[-1] for m in catalog],
            flag="--model",
            what="model",
            listed_by="tokenplan models",
        )


def _workers() -> int:
    """Processes to summarize a large ledger with (the CLI is single-threaded: forking is safe)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _show_summary(
    reader: LedgerReader,
    settings: Settings,
    catalog: Catalog,
    *,
    by: str | None,
    limit: int | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    from dataclasses import replace

    from tokenplan.ledger.summary import summarize

    baseline = catalog.get(settings.baseline_model)
    result = summarize(reader, by=by, baseline=baseline, catalog=catalog, workers=_workers())
    if limit is not None:
        result = replace(result, groups=result.groups[:limit])
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json({"ledger": str(reader.path), **result.to_dict()})
        return
    from tokenplan.cli import _ledger_view as view

    if as_csv:
        view.write_summary_csv(result)
        return
    if result.totals.attempts == 0:
        _say_empty(reader)
    groups = view.print_summary(result, ledger=str(reader.path))
    if groups is not None:
        from tokenplan.cli._output import stderr_console
        from tokenplan.cli._table import print_tables

        print_tables(stderr_console(), groups)


def _show_recent(reader: LedgerReader, *, limit: int, as_json: bool, as_csv: bool) -> None:
    attempts = reader.tail(limit)
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json([a.to_dict() for a in attempts])
        return
    from tokenplan.cli import _ledger_view as view

    if as_csv:
        view.write_attempts_csv(attempts)
        return
    if not attempts:
        _say_empty(reader)
        return
    from tokenplan.cli._output import stderr_console
    from tokenplan.cli._table import print_tables

    title = f"Last {len(attempts)} attempt(s) in {reader.path}"
    print_tables(stderr_console(), view.attempts_table(attempts, title=title))


def _say_empty(reader: LedgerReader) -> None:
    from tokenplan.cli._output import stderr_console

    if reader.filter.is_empty:
        message = f"no attempts recorded yet ({reader.path})"
    else:
        message = "no attempts match these filters"
    stderr_console().print(message, markup=False, highlight=False)


def _warn_skipped(reader: LedgerReader) -> None:
    if reader.skipped:
        from tokenplan.cli._output import stderr_console

        stderr_console().print(
            f"warning: skipped {reader.skipped} unreadable line(s) in {reader.path}",
            markup=False,
            highlight=False,
        )
