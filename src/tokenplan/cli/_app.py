"""The typer application object, shared by the command modules."""

from __future__ import annotations

import copy
from collections.abc import Sequence

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


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app to run ``args`` with: when they name a registered command or group, a copy of
    :data:`app` that holds only that one (typer builds the click objects of every command it
    holds, on every start; one is all a command line needs); otherwise :data:`app` itself, so
    that ``--help`` lists everything and a misspelt command gets suggestions."""
    name = next((a for a in args if not a.startswith("-")), None)
    if name is None:
        return app
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if isinstance(g.name, str) and g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    slim = copy.copy(app)
    slim.registered_commands = commands
    slim.registered_groups = groups
    return slim


def _command_name(info: typer.models.CommandInfo) -> str | None:
    if isinstance(info.name, str):
        return info.name
    if info.callback is None:
        return None
    return info.callback.__name__.lower().replace("_", "-")  # typer's default name
