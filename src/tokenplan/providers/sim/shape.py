"""Fitting answer text to the request: ``max_tokens``, stop sequences, stream pieces."""

from __future__ import annotations

from tokenplan.providers.sim.writer import MARKER_PREFIX
from tokenplan.tokens import estimate_tokens

__all__ = ["cut_at_stop", "pieces", "text_tokens", "truncate"]


def text_tokens(text: str) -> int:
    """Output tokens of visible ``text`` (an empty answer costs nothing)."""
    return estimate_tokens(text) if text else 0


def truncate(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` that fits in ``tokens`` tokens."""
    if tokens <= 0:
        return ""
    if estimate_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if estimate_tokens(text[:mid]) <= tokens:
            low = mid
        else:
            high = mid - 1
    return text[:low]


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """``text`` up to the first stop sequence (which is not included)."""
    cuts = [i for s in stop if s and (i := text.find(s)) >= 0]
    return text[: min(cuts)] if cuts else text


def pieces(text: str) -> list[str]:
    """Stream deltas of about two words each; they concatenate back to ``text`` exactly.

    The marker line goes out whole in the first delta, so a reader of a stream sees the label
    before any of the answer.
    """
    out: list[str] = []
    start = 0
    words = 0
    if text.startswith(MARKER_PREFIX) and (end := text.find("\n")) > 0:
        out.append(text[: end + 1])
        start = end + 1
    for i in range(start, len(text)):
        if text[i].isspace() and i + 1 < len(text) and not text[i + 1].isspace():
            words += 1
            if words == 2:
                out.append(text[start : i + 1])
                start, words = i + 1, 0
    if start < len(text):
        out.append(text[start:])
    return out
