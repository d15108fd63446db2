"""tokenplan's log records on the CLI's stderr: one line each, tracebacks only when debugging.

The library configures no handlers; the CLI's entry point calls :func:`log_to_stderr` once.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["OneLineHandler", "log_to_stderr"]


class OneLineHandler(logging.Handler):
    """``warning: MESSAGE`` on stderr, with ``: ExcType: why`` when an exception was logged
    with the record (its traceback follows only with ``debug``). Secrets are redacted."""

    def __init__(self, *, debug: bool = False) -> None:
        super().__init__(logging.WARNING)
        self.debug = debug

    def emit(self, record: logging.LogRecord) -> None:
        from tokenplan.errors import redact

        try:
            text = " ".join(record.getMessage().split())
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                why = " ".join(str(exc).split())
                text += f": {type(exc).__name__}" + (f": {why}" if why else "")
            line = f"{record.levelname.lower()}: {redact(text, limit=1000)}\n"
            if self.debug and record.exc_info:
                import traceback

                trace = "".join(traceback.format_exception(*record.exc_info))
                line += redact(trace, limit=len(trace) + 1)
            sys.stderr.write(line)
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def log_to_stderr(*, debug: bool = False) -> None:
    """Send the ``tokenplan`` loggers' warnings and errors to stderr through one
    :class:`OneLineHandler` (installed once per process)."""
    logger = logging.getLogger("tokenplan")
    if not any(isinstance(h, OneLineHandler) for h in logger.handlers):
        logger.addHandler(OneLineHandler(debug=debug))
