"""Checks of a flag's value against what it may name, shared by the commands.

Each failure is one :class:`~tokenplan.errors.UsageError` that names the flag and teaches the
fix: ``--tier: unknown tier 'cheap'; expected one of budget, mid, flagship, local``, or for long
lists close matches and the command that lists them (``--model: unknown model 'gpt-5-mni' (did
you mean openai/gpt-5-mini?); 'tokenplan models' lists them``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["check_choice", "unknown_choice"]

#: Up to this many allowed values are listed in full; beyond, close matches are suggested.
_LIST_AT_MOST = 12


def check_choice(
    value: str | None,
    allowed: Iterable[str],
    *,
    flag: str,
    what: str,
    listed_by: str | None = None,
) -> str | None:
    """``value`` stripped and lower-cased when it is one of ``allowed`` (``None`` stays
    ``None``); otherwise :func:`unknown_choice`."""
    if value is None:
        return None
    norm = value.strip().lower()
    options = list(allowed)
    if norm in options:
        return norm
    raise unknown_choice(value, options, flag=flag, what=what, listed_by=listed_by)


def unknown_choice(
    value: str,
    allowed: Iterable[str],
    *,
    flag: str,
    what: str,
    listed_by: str | None = None,
) -> Exception:
    """The :class:`UsageError` for a ``value`` that is none of ``allowed``."""
    import difflib

    from tokenplan.errors import UsageError

    options = list(dict.fromkeys(allowed))  # in order, once each
    close = difflib.get_close_matches(value.strip().lower(), options, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    if len(options) <= _LIST_AT_MOST or listed_by is None:
        return UsageError(
            f"{flag}: unknown {what} {value!r}{hint}; expected one of {', '.join(options)}"
        )
    return UsageError(f"{flag}: unknown {what} {value!r}{hint}; '{listed_by}' lists them")
