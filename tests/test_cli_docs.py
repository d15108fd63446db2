"""docs/cli.md is generated from the help texts and must not be stale; the help texts themselves
are held to the house style (examples, units, named metavars, defaults); app_for's slim app
prints the same help as the full one."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer.core import TyperGroup

from tokenplan.cli import app
from tokenplan.cli._app import EPILOG_HEADER, app_for
from tokenplan.cli.ledger import BASELINE_DEFAULT
from tokenplan.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def test_docs_cli_md_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + "(run: python scripts/gen_cli_docs.py)"


def commands() -> Iterator[tuple[str, typer.main._click.Command, object]]:
    """Every command and group under the root, with a context to render its help."""

    def walk(cmd: typer.main._click.Command, path: list[str], parent: object) -> Iterator:
        ctx = cmd.make_context(path[-1], [], parent=parent, resilient_parsing=True)
        yield " ".join(path), cmd, ctx
        if isinstance(cmd, TyperGroup):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, [*path, name], ctx)

    yield from walk(typer.main.get_command(app), ["tokenplan"], None)


def test_every_command_is_in_the_docs() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for path, _, _ in commands():
        assert f"\n## {path}\n" in text, path


def test_help_texts_follow_the_house_style() -> None:
    """A newcomer reading any --help finds examples, and every option says what it takes."""
    problems: list[str] = []
    for path, cmd, ctx in commands():
        top = path == "tokenplan" or path.count(" ") == 1  # the root and each top-level command
        if top and EPILOG_HEADER not in cmd.get_help(ctx):
            problems.append(f"{path}: no examples in the help epilog")
        if path != "tokenplan" and len(cmd.get_short_help_str(limit=80)) > 62:
            problems.append(f"{path}: the one-line help is too long for the command list")
        for param in cmd.params:
            if param.param_type_name != "option":
                continue
            name = "/".join(param.opts)
            if not getattr(param, "help", None):
                problems.append(f"{path} {name}: no help text")
            if getattr(param, "is_flag", False):
                continue
            metavar = param.make_metavar(ctx)
            if not re.fullmatch(r"[A-Z][A-Z_]*", metavar):  # not typer's "<str>" / "<int range>"
                problems.append(f"{path} {name}: metavar {metavar!r}; name what it takes")
    assert problems == []


def test_documented_defaults_match_the_settings() -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert defaults["baseline_model"] == BASELINE_DEFAULT
    assert defaults["default_max_tokens"] == 1024
    assert defaults["strategy"] == "balanced"
    route_help = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "[default: 1024, or config]" in route_help
    assert "[default: balanced," in route_help


@pytest.mark.parametrize(
    "args",
    [["route"], ["models"], ["models", "refresh"], ["ledger"], ["runs"], ["keys", "set"]],
)
def test_the_slim_app_prints_the_same_help(args: list[str]) -> None:
    def help_of(typer_app: typer.Typer) -> str:
        cmd: typer.main._click.Command = typer.main.get_command(typer_app)
        ctx = cmd.make_context("tokenplan", [], resilient_parsing=True)
        for name in args:
            assert isinstance(cmd, TyperGroup)
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            cmd, ctx = sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True)
        return cmd.get_help(ctx)

    assert help_of(app_for(args)) == help_of(app)
