"""The one async model interface every caller uses.

Providers (one per wire dialect), the routed / fallback model and the public test doubles all
satisfy :class:`ChatModel`. ``complete`` and ``stream`` share one parser per dialect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from tokenplan.types import ChatRequest, ChatResponse, StreamChunk

__all__ = ["ChatModel"]


@runtime_checkable
class ChatModel(Protocol):
    """Something that answers chat requests.

    ``complete`` returns the whole answer. ``stream`` yields text deltas and, last, a chunk
    whose ``response`` holds the assembled :class:`ChatResponse` with usage and cost.
    Both raise :class:`tokenplan.errors.ProviderError` subclasses, never httpx exceptions.
    """

    async def complete(self, request: ChatRequest) -> ChatResponse: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]: ...
