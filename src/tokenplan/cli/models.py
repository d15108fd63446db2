"""``tokenplan models``: list the catalog; ``tokenplan models refresh``: update it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tokenplan.cli._app import app

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model

models_app = typer.Typer(
    name="models",
    help="List the model catalog, or refresh it from OpenRouter.",
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(models_app, name="models")

_SOURCE_LABELS = {"bundled": "", "openrouter-refresh": "refresh", "user": "user"}
_SHORT = {"code": "code", "reasoning": "reas", "math": "math", "general": "gen"}


@models_app.callback(invoke_without_command=True)
def models_cmd(
    ctx: typer.Context,
    capability: str | None = typer.Option(
        None,
        "--capability",
        "-c",
        help="Only models offered for this capability (code, reasoning, math, general).",
    ),
    tier: str | None = typer.Option(
        None, "--tier", "-t", help="Only this tier (budget, mid, flagship, local)."
    ),
    provider: str | None = typer.Option(
        None, "--provider", "-p", help="Only this provider (openai, anthropic, openrouter, ...)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Emit the models as JSON on stdout."),
) -> None:
    """List models with prices (USD per million tokens), limits, tier, priors and flags.

    The catalog is the bundled snapshot, plus what 'tokenplan models refresh' fetched and the
    models in your models.toml (marked 'refresh' and 'user').
    """
    if ctx.invoked_subcommand is not None:
        return
    from tokenplan.catalog import CAPABILITIES, TIERS, load_catalog
    from tokenplan.errors import UsageError
    from tokenplan.settings import Settings

    capability = _choice(capability, CAPABILITIES, "capability")
    tier = _choice(tier, TIERS, "tier")
    catalog = load_catalog(Settings.load())
    if provider is not None:
        provider = provider.strip().lower()
        if provider not in catalog.providers:
            raise UsageError(
                f"unknown provider {provider!r}; known providers: {', '.join(catalog.providers)}"
            )
    rows = catalog.filter(capability=capability, tier=tier, provider=provider)
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json([m.to_dict() for m in rows])
    if not rows:
        typer.echo("no models match", err=True)
        return
    if not as_json:
        _render_table(rows, total=len(catalog))


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None:
        return None
    norm = value.strip().lower()
    if norm not in allowed:
        from tokenplan.errors import UsageError

        raise UsageError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return norm


def _render_table(rows: list[Model], *, total: int) -> None:
    from rich.table import Table

    from tokenplan.cli._output import stderr_console

    table = Table(
        title=f"{len(rows)} of {total} models - prices in USD per million tokens",
        caption="flags: J json_schema, T tools, S streaming, R reasoning",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("model", no_wrap=True)
    table.add_column("tier")
    for name in ("in", "out", "cached", "context", "max out"):
        table.add_column(name, justify="right")
    table.add_column("priors", no_wrap=True)
    table.add_column("flags")
    table.add_column("source")
    for m in rows:
        table.add_row(
            m.id,
            m.tier,
            _price(m.input_per_mtok),
            _price(m.output_per_mtok),
            "" if m.cached_input_per_mtok is None else _price(m.cached_input_per_mtok),
            _tokens(m.context_window),
            _tokens(m.max_output_tokens),
            " ".join(
                f"{_SHORT[c]} {m.quality[c]:.2f}".replace(" 0.", " .") for c in m.capabilities
            ),
            "".join(
                letter if on else "-"
                for letter, on in zip(
                    "JTSR", (m.json_schema, m.tools, m.streaming, m.reasoning), strict=True
                )
            ),
            _SOURCE_LABELS.get(m.source, m.source),
        )
    stderr_console().print(table)


def _price(usd: float) -> str:
    return f"{usd:g}"


def _tokens(n: int) -> str:
    # Powers of two read as 64k / 128k / 1M (how vendors quote them); others in decimal units.
    if n % 1_048_576 == 0:
        return f"{n // 1_048_576}M"
    if n % 1024 == 0:
        return f"{n // 1024}k"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g}M"
    if n >= 1_000:
        return f"{n / 1_000:.4g}k"
    return str(n)


@models_app.command("refresh")
def refresh_cmd(
    as_json: bool = typer.Option(False, "--json", help="Emit the summary as JSON on stdout."),
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
