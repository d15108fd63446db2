"""Validation of what a caller hands the router: prompt, budget, max_tokens, features."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tokenplan.errors import UsageError
from tokenplan.tokens import estimate_messages_tokens, estimate_request_tokens

if TYPE_CHECKING:
    from tokenplan.types import ChatRequest

__all__ = ["FEATURES", "check_features", "check_max_tokens", "prompt_parts"]

#: Features a route can require.
FEATURES: tuple[str, ...] = ("json_schema", "tools", "streaming", "reasoning")


def prompt_parts(
    prompt: str | ChatRequest,
) -> tuple[str, int, int | None, tuple[str, ...], str | None]:
    """(text, estimated input tokens, request max_tokens, implied features, request model)."""
    if isinstance(prompt, str):
        if not prompt.strip():
            raise UsageError("empty prompt")
        return prompt, estimate_messages_tokens((prompt,)), None, (), None
    text = prompt.prompt_text
    if not text.strip():
        raise UsageError("empty prompt")
    implied = ("json_schema",) if prompt.response_format is not None or prompt.json_mode else ()
    tokens = estimate_request_tokens(prompt)  # what metering reserves: schema and extras too
    return text, tokens, prompt.max_tokens, implied, prompt.model


def check_max_tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError(f"max_tokens must be a positive integer, got {value!r}")
    return value


def check_features(names: Iterable[str]) -> frozenset[str]:
    features = frozenset(names)
    unknown = sorted(features - set(FEATURES))
    if unknown:
        raise UsageError(f"unknown feature(s) {', '.join(unknown)}; expected {', '.join(FEATURES)}")
    return features
