"""Acceptance specs: the short check a step's output must pass (parsed here, run by the executor).

Recognised forms (case-insensitive keyword, argument after the colon kept as written)::

    json              the output is valid JSON
    python            the output has a ```python block that parses
    code              a fenced code block is present
    contains:<text>   the output contains <text>
    regex:<pattern>   the output matches <pattern> (Python ``re.search``)
    max_words:<N>     at most N words
    min_words:<N>     at least N words

``None`` or any other text means only the built-in checks (non-empty, not truncated); free text
is kept as a note for the reader. A recognised keyword with a bad argument (a regex that does not
compile, a word count that is not a positive integer, an empty ``contains:``) is an error, so a
plan never carries a check that cannot run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["ACCEPTANCE_KINDS", "AcceptanceKind", "AcceptanceSpec", "parse_acceptance"]

AcceptanceKind = Literal[
    "none", "json", "python", "code", "contains", "regex", "max_words", "min_words"
]
ACCEPTANCE_KINDS: tuple[str, ...] = (
    "none",
    "json",
    "python",
    "code",
    "contains",
    "regex",
    "max_words",
    "min_words",
)

_BARE = {"json", "python", "code"}
_WITH_ARG = {"contains", "regex", "max_words", "min_words"}


@dataclass(frozen=True, slots=True)
class AcceptanceSpec:
    """A parsed acceptance spec. ``argument`` is the text after the colon (``""`` if none)."""

    kind: AcceptanceKind
    argument: str = ""
    source: str | None = None

    @property
    def words(self) -> int:
        """The word limit of ``max_words`` / ``min_words`` specs."""
        return int(self.argument)


def parse_acceptance(spec: str | None) -> AcceptanceSpec:
    """Parse an acceptance spec; ``ValueError`` (with a one-line reason) for a broken argument."""
    if spec is None:
        return AcceptanceSpec("none")
    text = spec.strip()
    keyword, sep, argument = text.partition(":")
    keyword = keyword.strip().lower()
    argument = argument.strip()
    if not sep and keyword in _BARE:
        return AcceptanceSpec(keyword, "", spec)  # type: ignore[arg-type]
    if not sep or keyword not in _WITH_ARG:
        # Free text: a note for people, only the built-in checks apply.
        return AcceptanceSpec("none", "", spec)
    if keyword == "contains":
        if not argument:
            raise ValueError("'contains:' needs the text to look for")
        return AcceptanceSpec("contains", argument, spec)
    if keyword == "regex":
        try:
            re.compile(argument)
        except re.error as exc:
            raise ValueError(f"regex {argument!r} does not compile: {exc}") from None
        return AcceptanceSpec("regex", argument, spec)
    if not argument.isdigit() or int(argument) <= 0:
        raise ValueError(f"'{keyword}:' needs a positive whole number, got {argument!r}")
    return AcceptanceSpec(keyword, str(int(argument)), spec)  # type: ignore[arg-type]
