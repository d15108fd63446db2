"""The ``tokenplan`` command line.

One module per noun registers its commands on :data:`app`. Command bodies import what they need
lazily, so ``tokenplan --help`` pays only for typer. Errors end as one line on stderr and an
exit code (2 for bad input), never a traceback; ``TOKENPLAN_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import os
import sys

import typer

from tokenplan.cli._app import app, app_for

# Each import registers that noun's commands on ``app``.
from tokenplan.cli import models as _models  # noqa: F401  isort: skip
from tokenplan.cli import ledger as _ledger  # noqa: F401  isort: skip
from tokenplan.cli import runs as _runs  # noqa: F401  isort: skip
from tokenplan.cli import keys as _keys  # noqa: F401  isort: skip
from tokenplan.cli import route as _route  # noqa: F401  isort: skip
from tokenplan.cli import plan as _plan  # noqa: F401  isort: skip
from tokenplan.cli import serve as _serve  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from tokenplan.errors import TokenplanError

    args = sys.argv[1:] if argv is None else argv
    try:
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
