"""Acceptance checks: does a model's output do what the step asked for?

:func:`check_output` runs the built-in checks every output must pass (not empty, not cut off
by the length limit, not blocked by a content filter) and then the step's acceptance spec
(parsed by :func:`tokenplan.planning.acceptance.parse_acceptance`):

    json              the output is valid JSON (a fenced ```json block counts)
    python            every ```python block parses, and there is at least one
    code              a fenced code block is present
    contains:<text>   the output contains <text> (case-insensitive)
    regex:<pattern>   ``re.search(pattern, output)`` matches
    max_words:<N>     at most N words
    min_words:<N>     at least N words

It returns ``None`` when the output is accepted, else a short reason. The executor escalates a
step whose output is rejected to the next tier; the metering layer records that call's ledger
line as ``invalid`` with the reason (see :attr:`tokenplan.ledger.context.CallContext.accept`).
"""

from __future__ import annotations

import ast
import json
import re
from typing import TYPE_CHECKING

from tokenplan.planning.acceptance import AcceptanceSpec, parse_acceptance

if TYPE_CHECKING:
    from tokenplan.types import ChatResponse

__all__ = ["check_output", "check_text", "code_blocks"]

_FENCE_RE = re.compile(r"^```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_PYTHON_TAGS = frozenset({"python", "py", "python3"})


def code_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag lower-cased, body)`` for each fenced block in ``text``."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE_RE.finditer(text)]


def check_output(response: ChatResponse, spec: AcceptanceSpec | str | None = None) -> str | None:
    """``None`` if ``response`` passes the built-in checks and ``spec``; else why it does not."""
    if response.finish_reason == "length":
        return "output cut off by the length limit"
    if response.finish_reason == "content_filter":
        return "output blocked by the provider's content filter"
    return check_text(response.text, spec)


def check_text(text: str, spec: AcceptanceSpec | str | None = None) -> str | None:
    """The content checks of :func:`check_output` on plain text."""
    if not text.strip():
        return "empty output"
    parsed = spec if isinstance(spec, AcceptanceSpec) else parse_acceptance(spec)
    kind, arg = parsed.kind, parsed.argument
    if kind == "json":
        return _check_json(text)
    if kind == "python":
        return _check_python(text)
    if kind == "code":
        return None if code_blocks(text) else "no fenced code block"
    if kind == "contains":
        return None if arg.lower() in text.lower() else f"output does not contain {arg!r}"
    if kind == "regex":
        return None if re.search(arg, text) else f"output does not match /{arg}/"
    if kind in ("max_words", "min_words"):
        words = len(text.split())
        if kind == "max_words" and words > parsed.words:
            return f"{words} words, more than the {parsed.words} allowed"
        if kind == "min_words" and words < parsed.words:
            return f"{words} words, fewer than the {parsed.words} required"
    return None


def _check_json(text: str) -> str | None:
    body = text.strip()
    blocks = code_blocks(body)
    if blocks and body.startswith("```"):
        body = blocks[0][1]
    try:
        json.loads(body)
    except ValueError as exc:
        return f"not valid JSON: {exc}"
    return None


def _check_python(text: str) -> str | None:
    blocks = [body for tag, body in code_blocks(text) if tag in _PYTHON_TAGS]
    if not blocks:
        return "no ```python code block"
    for body in blocks:
        try:
            ast.parse(body)
        except SyntaxError as exc:
            return f"python does not parse: line {exc.lineno}: {exc.msg}"
        except ValueError as exc:  # e.g. null bytes
            return f"python does not parse: {exc}"
    return None
