"""What every wire dialect shares: the request/parse seam and the internal failure signals.

A dialect turns a :class:`~tokenplan.types.ChatRequest` into a :class:`WireRequest`, and turns
what comes back into a :class:`Parsed` through ONE :class:`ResponseParser` per call, fed either a
whole JSON body (``complete``) or SSE events (``stream``). Dialects know nothing of HTTP
clients; the provider (``tokenplan.providers.http``) maps the signals below to
:mod:`tokenplan.errors` types with the provider and model filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.providers.endpoints import Endpoint
    from tokenplan.types import ChatRequest, FinishReason, Usage

__all__ = [
    "ErrorInfo",
    "InStreamError",
    "MalformedPayload",
    "Parsed",
    "ResponseParser",
    "WireDialect",
    "WireRequest",
    "count",
    "loads",
    "merge_extra",
]


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A request ready to send: ``path`` is joined to the endpoint's base URL."""

    path: str
    body: dict[str, Any]
    params: Mapping[str, str] | None = None


@dataclass(slots=True)
class Parsed:
    """The dialect-neutral result of one call; ``usage`` is ``None`` when none was reported."""

    id: str = ""
    text: str = ""
    finish_reason: FinishReason = "stop"
    usage: Usage | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a vendor's error body says, read from its structured fields only.

    ``on_model`` marks a 400 that concerns the model itself (unknown / unsupported), which
    makes it a :class:`~tokenplan.errors.ModelUnavailableError`. ``retry_after_s`` comes from a
    structured retry hint in the body (Gemini's ``RetryInfo``), for when no header says it.
    """

    message: str = ""
    kind: str = ""
    on_model: bool = False
    retry_after_s: float | None = None


class MalformedPayload(Exception):
    """A body or event that is not the JSON the dialect expects."""

    def __init__(self, reason: str, raw: str | bytes = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


class InStreamError(Exception):
    """The server reported an error inside a 200 stream (Anthropic ``event: error``, ...).

    ``status`` is the HTTP status the same error has outside a stream.
    """

    def __init__(self, status: int, info: ErrorInfo, raw: str = "") -> None:
        super().__init__(info.message)
        self.status = status
        self.info = info
        self.raw = raw


class ResponseParser(Protocol):
    """Accumulates one call's answer; shared by ``complete`` and ``stream``."""

    @property
    def done(self) -> bool:
        """True once the answer's terminal marker was seen (a stream that ends without it was
        truncated)."""
        ...

    def feed_body(self, body: Any) -> None:
        """Take a whole non-streamed JSON response."""
        ...

    def feed_event(self, event: str, data: str) -> str:
        """Take one SSE event; return the text it adds (``""`` if none)."""
        ...

    def result(self) -> Parsed: ...


class WireDialect(Protocol):
    """One API shape (OpenAI chat completions, Anthropic Messages, Gemini generateContent)."""

    name: str

    def build(
        self, request: ChatRequest, model: Model, endpoint: Endpoint, *, stream: bool
    ) -> WireRequest: ...

    def auth_headers(self, api_key: str | None) -> dict[str, str]: ...

    def parser(self) -> ResponseParser: ...

    def error_info(self, status: int, body: Any) -> ErrorInfo: ...


def count(value: Any) -> int:
    """A token count from a usage object: a positive int, else 0 (missing, null, bool, junk)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def loads(data: str | bytes) -> Any:
    """Parse JSON or raise :class:`MalformedPayload`."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedPayload("invalid JSON", data[:2000]) from None


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a request's ``extra`` fields over ``body``: the caller wins; tables merge one level
    deep (so ``extra={"generationConfig": {"seed": 1}}`` keeps our ``maxOutputTokens``)."""
    for key, value in extra.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value
    return body
