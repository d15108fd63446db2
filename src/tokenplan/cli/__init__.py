"""The ``tokenplan`` command line.

One module per noun registers its commands on the typer app when imported. A command line loads
only the module of the command it names (all of them for ``--help`` or an unknown name), and
command bodies import what they need lazily, so start-up pays for little beyond typer. Errors end
as one line on stderr and an exit code (2 for bad input), never a traceback, and so do the
library's log warnings (``warning: ...``); ``TOKENPLAN_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tokenplan.cli._app import app as app

__all__ = ["COMMAND_MODULES", "app", "main"]

#: Command name -> the module that registers it.
COMMAND_MODULES: dict[str, str] = {
    "plan": "tokenplan.cli.plan",
    "route": "tokenplan.cli.route",
    "models": "tokenplan.cli.models",
    "ledger": "tokenplan.cli.ledger",
    "runs": "tokenplan.cli.runs",
    "keys": "tokenplan.cli.keys",
    "serve": "tokenplan.cli.serve",
}


def load_commands(args: Sequence[str] = ()) -> typer.Typer:
    """Register the commands ``args`` need (every command unless they name one) on the app."""
    from tokenplan.cli._app import app

    name = next((a for a in args if not a.startswith("-")), None)
    modules = [COMMAND_MODULES[name]] if name in COMMAND_MODULES else COMMAND_MODULES.values()
    for module in modules:
        importlib.import_module(module)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # the complete app (docs generation, tests): every command registered
        return load_commands()
    raise AttributeError(f"module 'tokenplan.cli' has no attribute {name!r}")


def _log_to_stderr(*, debug: bool) -> None:
    """Install the one-line stderr handler (:mod:`tokenplan.cli._log`) as soon as ``logging``
    is imported: now if it already is, else right after whatever imports it first. Commands
    that never log (``route`` without ``--send``, ``models``, ``--help``) skip the ~2 ms
    ``import logging`` on start-up; every module that logs imports it before it can log."""

    def install() -> None:
        from tokenplan.cli._log import log_to_stderr

        log_to_stderr(debug=debug)

    if "logging" in sys.modules:
        install()
        return

    import importlib.machinery

    class _AfterLoggingImport:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
            if name != "logging":
                return None
            sys.meta_path.remove(_AfterLoggingImport)
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            loader = spec.loader if spec is not None else None
            if loader is None or not hasattr(loader, "exec_module"):
                return spec
            run = loader.exec_module

            def exec_module(module: Any) -> None:
                run(module)
                install()

            loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _AfterLoggingImport)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from tokenplan.cli._app import app_for
    from tokenplan.errors import TokenplanError

    args = sys.argv[1:] if argv is None else argv
    _log_to_stderr(debug=bool(os.environ.get("TOKENPLAN_DEBUG")))
    try:
        load_commands(args)
        rv = app_for(args)(args=args, prog_name="tokenplan", standalone_mode=False)
    except TokenplanError as exc:
        _fail(str(exc), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, ...
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stderr.write(ctx.get_help() + "\n")
            sys.exit(0 if ctx.parent is None else 2)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"{exc.format_message()}{hint}", 2)
    except BrokenPipeError:
        # `tokenplan ... | head` closed the pipe: not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("TOKENPLAN_DEBUG"):
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set TOKENPLAN_DEBUG=1 for a traceback and please report it)",
            1,
        )
    sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str, code: int) -> None:
    from tokenplan.errors import redact

    sys.stderr.write(f"error: {redact(message, limit=1000)}\n")
    sys.stderr.flush()
    raise SystemExit(code)
