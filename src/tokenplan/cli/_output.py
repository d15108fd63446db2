"""Output helpers: rich for people on stderr, JSON for programs on stdout.

``--json | jq`` always works because nothing but data is written to stdout. ``NO_COLOR`` is
honoured by rich itself.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["emit_json", "stderr_console"]

_consoles: dict[str, Console] = {}


def stderr_console() -> Console:
    """The shared rich console writing to stderr."""
    if "err" not in _consoles:
        from rich.console import Console

        _consoles["err"] = Console(stderr=True, highlight=False)
    return _consoles["err"]


def emit_json(data: Any) -> None:
    """Write ``data`` as one JSON document (indented, UTF-8) on stdout."""
    import orjson

    sys.stdout.buffer.write(
        orjson.dumps(
            data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
        )
        + b"\n"
    )
    sys.stdout.flush()
