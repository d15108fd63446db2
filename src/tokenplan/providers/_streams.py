"""Closing a ``ChatModel.stream`` iterator deterministically."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

__all__ = ["closing_stream"]

T = TypeVar("T")


@asynccontextmanager
async def closing_stream(chunks: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Like ``contextlib.aclosing`` for any async iterator: calls ``aclose()`` when it has one,
    so a stream abandoned early releases its connection and records its attempt now, not at
    garbage collection."""
    try:
        yield chunks
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
