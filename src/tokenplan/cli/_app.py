"""The typer application object, shared by the command modules.

Command modules register on :data:`app` when imported (``tokenplan.cli`` imports them all);
:func:`app_for` hands typer just the command a command line names, for start-up time.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Context, HelpFormatter

__all__ = ["EPILOG_HEADER", "app", "app_for", "examples"]

#: The order commands are listed in ``tokenplan --help`` (others follow, as registered).
COMMAND_ORDER = ("plan", "route", "models", "ledger", "runs", "serve", "keys")
#: One example per command, shown under ``tokenplan --help`` when the command is registered.
ROOT_EXAMPLES = (
    ("plan", 'tokenplan plan "Research three note-taking apps, then compare them" --execute'),
    ("route", 'tokenplan route "What is 17*23?" --send'),
    ("route", 'tokenplan route "Write a regex for ISO dates" --explain'),
    ("models", "tokenplan models --tier budget"),
    ("ledger", "tokenplan ledger --summary --by model --since 7d"),
    ("runs", "tokenplan runs"),
    ("serve", "tokenplan serve --port 8000"),
    ("keys", "tokenplan keys set openai"),
)
EPILOG_HEADER = "Examples:"


def examples(*lines: str, note: str = "") -> str:
    """A command's help epilog: example command lines, kept as written (``\\b`` stops click
    from re-wrapping them), then an optional note paragraph."""
    text = "\b\n" + EPILOG_HEADER + "\n" + "\n".join(f"  {line}" for line in lines)
    return text + (f"\n\n{note}" if note else "")


class _RootGroup(TyperGroup):
    """The top-level group: commands in a newcomer's order, examples for what is registered."""

    def list_commands(self, ctx: Context) -> list[str]:
        names = list(self.commands)
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        lines = [line for name, line in ROOT_EXAMPLES if name in self.commands]
        if lines:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(examples(*lines))
        super().format_epilog(ctx, formatter)


app = typer.Typer(
    name="tokenplan",
    cls=_RootGroup,
    help=(
        "Plan and run LLM work under a hard USD budget: pick the cheapest model that can do "
        "each job, escalate when it fails, and record every call's cost.\n\n"
        "Works offline: with no provider key, model calls go to the built-in simulator and "
        "outputs say so. Set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ... or run "
        "'tokenplan keys set PROVIDER' to use real models."
    ),
    epilog=(
        "Every listing takes --json (data on stdout; tables and notes go to stderr). "
        "Files live under TOKENPLAN_HOME when set, else the XDG config and data folders; "
        "TOKENPLAN_DEBUG=1 shows tracebacks. Run 'tokenplan COMMAND --help' for details."
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
