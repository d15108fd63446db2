"""Conservative pre-call token estimates.

PROVISIONAL: a plain character heuristic. To be calibrated against the prompts under
``../shared/data`` (and to use tiktoken when its encodings are already on disk).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["estimate_messages_tokens", "estimate_tokens"]

# Per-message overhead of chat formats (role markers, separators).
_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of the tokens in ``text``."""
    return len(text) // 3 + 1


def estimate_messages_tokens(contents: Iterable[str]) -> int:
    """Estimate for a chat prompt given its message contents."""
    return sum(estimate_tokens(c) + _MESSAGE_OVERHEAD for c in contents) + 3
