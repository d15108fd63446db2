"""The typer application object, shared by the command modules."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tokenplan",
    help=(
        "Plan and run LLM work under a hard USD budget.\n\n"
        "With no provider key configured, every model call goes to the built-in offline "
        "simulator and outputs say so."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from tokenplan import __version__

        typer.echo(f"tokenplan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """Plan and run LLM work under a hard USD budget."""
