"""Generate a string that matches a (simple) regular expression.

JSON schemas use ``pattern`` for ids, codes and slugs. We walk Python's own parse tree of the
pattern (``re._parser``; ``sre_parse`` before 3.11) and build a matching string, then check it
with ``re.search``. Look-arounds and exotic constructs may defeat it: :func:`sample` then returns
``None`` and the caller falls back to a plain string.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

from tokenplan.providers.sim.rng import Rng

# The parser is private API, stable in practice; importing ``sre_parse`` on 3.11+ would warn.
_p: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")

__all__ = ["sample"]

_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_NOT_DIGIT": "abcxyz",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "abcxyz019",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyz0123456789",
    "CATEGORY_NOT_WORD": "-. ",
}
# Candidates tried for negated classes and ``.``.
_PROBE = "abcdexyzABCXYZ0123456789-_. "
_MAX_EXTRA_REPEAT = 4
#: Longest string we are willing to build (``a{1000000000}`` is a pattern, not a plan).
_MAX_CHARS = 100_000


class _Unsupported(Exception):
    pass


def sample(pattern: str, rng: Rng, *, min_len: int = 0, max_len: int | None = None) -> str | None:
    """A string matching ``pattern`` (searched, as JSON Schema does), or ``None``."""
    try:
        tree = _p.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    compiled = re.compile(pattern)
    for attempt in range(8):
        try:
            text = _emit(tree, rng.child("regex", attempt), {}, greedy=attempt > 3)
        except (_Unsupported, RecursionError):
            return None
        if compiled.search(text) is None:
            continue
        if len(text) < min_len or (max_len is not None and len(text) > max_len):
            continue
        return text
    return None


def _emit(items: Any, rng: Rng, groups: dict[int, str], *, greedy: bool) -> str:
    out: list[str] = []
    for op, arg in items:
        out.append(_one(str(op), arg, rng, groups, greedy=greedy))
    return "".join(out)


def _one(op: str, arg: Any, rng: Rng, groups: dict[int, str], *, greedy: bool) -> str:
    if op == "LITERAL":
        return chr(arg)
    if op == "NOT_LITERAL":
        return next(c for c in _PROBE if ord(c) != arg)
    if op == "ANY":
        return rng.choice("abcxyz")
    if op == "IN":
        return _in(arg, rng)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = arg
        cap = low + (_MAX_EXTRA_REPEAT if greedy else 2)
        high = min(high, cap) if high != _p.MAXREPEAT else cap
        if low > _MAX_CHARS:
            raise _Unsupported("repeat too long")
        count = rng.randint(low, max(low, high))
        if low == 0 and count == 0 and rng.chance(0.5):
            count = min(1, high)
        out: list[str] = []
        size = 0
        for _ in range(count):
            piece = _emit(sub, rng, groups, greedy=greedy)
            size += len(piece)
            if size > _MAX_CHARS:
                raise _Unsupported("repeat too long")
            out.append(piece)
        return "".join(out)
    if op == "SUBPATTERN":
        group, sub = arg[0], arg[-1]
        text = _emit(sub, rng, groups, greedy=greedy)
        if group is not None:
            groups[group] = text
        return text
    if op == "BRANCH":
        _, alternatives = arg
        return _emit(rng.choice(alternatives), rng, groups, greedy=greedy)
    if op == "AT":
        return ""
    if op == "GROUPREF":
        return groups.get(arg, "")
    if op == "ATOMIC_GROUP":
        return _emit(arg, rng, groups, greedy=greedy)
    raise _Unsupported(op)


def _in(items: Any, rng: Rng) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    allowed: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            allowed.append(chr(arg))
        elif name == "RANGE":
            low, high = arg
            allowed.extend(chr(c) for c in range(low, min(high, low + 25) + 1))
        elif name == "CATEGORY":
            allowed.extend(_CATEGORY_CHARS.get(str(arg), ""))
        elif name != "NEGATE":
            raise _Unsupported(name)
    if negate:
        pool = [c for c in _PROBE if c not in allowed]
        if not pool:
            raise _Unsupported("negated class excludes every probe")
        return rng.choice(pool)
    if not allowed:
        raise _Unsupported("empty class")
    return rng.choice(allowed)
