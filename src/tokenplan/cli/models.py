"""``tokenplan models``: list the catalog; ``tokenplan models refresh``: update it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tokenplan.cli._app import app, examples

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.cli._table import Fitted

models_app = typer.Typer(
    name="models",
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(models_app, name="models", short_help="List models with prices, limits and tiers.")

_SOURCE_LABELS = {"bundled": "", "openrouter-refresh": "refresh", "user": "user"}
_SHORT = {"code": "code", "reasoning": "reas", "math": "math", "general": "gen"}


@models_app.callback(
    invoke_without_command=True,
    epilog=examples(
        "tokenplan models",
        "tokenplan models --tier budget --capability code",
        "tokenplan models --provider anthropic --json",
        "tokenplan models refresh",
        note="Add local or private models in models.toml (see docs/catalog.md); they are "
        "listed with source 'user'.",
    ),
)
def models_cmd(
    ctx: typer.Context,
    capability: str | None = typer.Option(
        None,
        "--capability",
        "-c",
        metavar="CAPABILITY",
        help="Only models offered for this capability: code, reasoning, math or general.",
    ),
    tier: str | None = typer.Option(
        None,
        "--tier",
        "-t",
        metavar="TIER",
        help="Only this tier: budget, mid, flagship or local.",
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        "-p",
        metavar="PROVIDER",
        help="Only this provider: openai, anthropic, gemini, openrouter, ...",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the models as JSON on stdout (prices in USD per 1M tokens)."
    ),
) -> None:
    """List the model catalog: prices in USD per million tokens, context and output limits in
    tokens, tier, quality priors per capability and feature flags; or refresh it.

    The catalog is the bundled snapshot, plus what 'tokenplan models refresh' fetched and the
    models in your models.toml (marked 'refresh' and 'user').
    """
    if ctx.invoked_subcommand is not None:
        return
    from tokenplan.catalog import CAPABILITIES, TIERS, load_catalog
    from tokenplan.cli._choices import check_choice
    from tokenplan.settings import Settings

    capability = check_choice(capability, CAPABILITIES, flag="--capability", what="capability")
    tier = check_choice(tier, TIERS, flag="--tier", what="tier")
    catalog = load_catalog(Settings.load())
    provider = check_choice(provider, catalog.providers, flag="--provider", what="provider")
    rows = catalog.filter(capability=capability, tier=tier, provider=provider)
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json([m.to_dict() for m in rows])
    if not rows:
        typer.echo("no models match", err=True)
        return
    if not as_json:
        _render_table(rows, total=len(catalog))


def _render_table(rows: list[Model], *, total: int) -> None:
    from tokenplan.cli._output import stderr_console
    from tokenplan.cli._table import print_tables

    console = stderr_console()
    fitted = models_table(
        rows,
        width=console.width,
        title=f"{len(rows)} of {total} models · prices in USD per million tokens",
    )
    print_tables(console, fitted)
    legend = [
        text
        for column, text in (
            ("flags", "flags: J json_schema, T tools, S streaming, R reasoning"),
            ("priors", "priors: quality per capability (reas = reasoning, gen = general)"),
        )
        if column not in fitted.hidden
    ]
    if legend:
        console.print(" · ".join(legend), style="dim", markup=False, highlight=False)


def models_table(rows: list[Model], *, width: int, title: str | None = None) -> Fitted:
    """The catalog rows as a table that fits ``width`` (ids and numbers are never cut)."""
    from tokenplan.cli._format import tokens
    from tokenplan.cli._table import Col, fit

    cols = (
        Col("model", priority=0),
        Col("tier", priority=1),
        Col("in", "num", priority=0),
        Col("out", "num", priority=0),
        Col("cached", "num", priority=4),
        Col("context", "num", priority=2),
        Col("max out", "num", priority=3),
        Col("flags", priority=3),
        Col("source", priority=5),
        Col("priors", priority=6),
    )
    table_rows = [
        [
            m.id,
            m.tier,
            _price(m.input_per_mtok),
            _price(m.output_per_mtok),
            "-" if m.cached_input_per_mtok is None else _price(m.cached_input_per_mtok),
            tokens(m.context_window),
            tokens(m.max_output_tokens),
            "".join(
                letter if on else "-"
                for letter, on in zip(
                    "JTSR", (m.json_schema, m.tools, m.streaming, m.reasoning), strict=True
                )
            ),
            _SOURCE_LABELS.get(m.source, m.source) or "-",
            " ".join(
                f"{_SHORT[c]} {m.quality[c]:.2f}".replace(" 0.", " .") for c in m.capabilities
            ),
        ]
        for m in rows
    ]
    return fit(cols, table_rows, width=width, title=title)


def _price(usd_per_mtok: float) -> str:
    """A price per million tokens as vendors quote it: ``$0.05``, ``$0.075``, ``$15.00``."""
    text = f"{usd_per_mtok:,.4f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return f"${usd_per_mtok:,.{max(2, decimals)}f}"


@models_app.command(
    "refresh",
    epilog=examples("tokenplan models refresh", "tokenplan models refresh --json"),
)
def refresh_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Fetch OpenRouter's model list and merge it into the catalog.

    Updates prices and limits of catalog models served by OpenRouter and adds the others with
    default priors. Works without a key; sends OPENROUTER_API_KEY when set. The base URL is
    https://openrouter.ai unless TOKENPLAN_OPENROUTER_BASE_URL or [endpoints.openrouter]
    base_url says otherwise. On any failure the previous cache is kept.
    """
    import anyio

    from tokenplan.catalog.openrouter import refresh_catalog
    from tokenplan.settings import Settings

    settings = Settings.load()
    result = anyio.run(refresh_catalog, settings)
    summary = result.to_dict()
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json(summary)
    skipped = ", ".join(f"{k} {v}" for k, v in summary["skipped_by_reason"].items())
    lines = [
        f"OpenRouter listed {summary['listed']} models: updated {summary['updated']}, "
        f"added {summary['added']}, skipped {summary['skipped']}"
        + (f" ({skipped})" if skipped else ""),
        f"cache: {summary['cache_file']}",
    ]
    if summary["missing_ids"]:
        lines.append("not listed any more: " + ", ".join(summary["missing_ids"]))
    for line in lines:
        typer.echo(line, err=True)
