"""``tokenplan models``: list the catalog."""

from __future__ import annotations

import typer

from tokenplan.cli._app import app


@app.command("models")
def models_cmd(
    capability: str | None = typer.Option(
        None,
        "--capability",
        "-c",
        help="Only models with this capability (code, reasoning, math, general).",
    ),
    tier: str | None = typer.Option(
        None, "--tier", "-t", help="Only this tier (budget, mid, flagship, local)."
    ),
    provider: str | None = typer.Option(None, "--provider", "-p", help="Only this provider."),
    as_json: bool = typer.Option(False, "--json", help="Emit JSON on stdout."),
) -> None:
    """List models in the catalog with prices (USD per million tokens), tier and capabilities."""
    from tokenplan.catalog import Catalog
    from tokenplan.cli._output import emit_json

    cat = Catalog.bundled()
    rows = cat.filter(capability=capability, tier=tier, provider=provider)
    if as_json:
        emit_json([m.to_dict() for m in rows])
        return
    for m in rows:
        typer.echo(f"{m.id}\t{m.tier}\t{m.input_per_mtok}\t{m.output_per_mtok}", err=True)
