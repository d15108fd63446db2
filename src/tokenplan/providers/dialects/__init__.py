"""Wire dialects: one class per API shape, shared by every endpoint that speaks it."""

from __future__ import annotations

from tokenplan.providers.dialects._common import (
    ErrorInfo,
    InStreamError,
    MalformedPayload,
    Parsed,
    ResponseParser,
    WireDialect,
    WireRequest,
)
from tokenplan.providers.dialects.anthropic import AnthropicDialect
from tokenplan.providers.dialects.gemini import GeminiDialect
from tokenplan.providers.dialects.openai_chat import OpenAIChatDialect

__all__ = [
    "AnthropicDialect",
    "ErrorInfo",
    "GeminiDialect",
    "InStreamError",
    "MalformedPayload",
    "OpenAIChatDialect",
    "Parsed",
    "ResponseParser",
    "WireDialect",
    "WireRequest",
    "get_dialect",
]

_DIALECTS: dict[str, WireDialect] = {
    "openai": OpenAIChatDialect(),
    "anthropic": AnthropicDialect(),
    "gemini": GeminiDialect(),
}


def get_dialect(name: str) -> WireDialect:
    """The dialect object for ``openai``, ``anthropic`` or ``gemini`` (stateless, shared)."""
    return _DIALECTS[name]
