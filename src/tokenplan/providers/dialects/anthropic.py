"""Anthropic Messages (``POST {base}/v1/messages``), JSON and SSE.

Auth is ``x-api-key`` plus ``anthropic-version: 2023-06-01`` (an endpoint's configured headers
may override the version). System messages go to the top-level ``system`` field; ``max_tokens``
is required. Structured output uses ``output_config.format`` (``{"type": "json_schema",
"schema": ...}``).

Usage: Anthropic reports ``input_tokens`` *apart from* ``cache_read_input_tokens`` and
``cache_creation_input_tokens``, so normalized input is their sum. A stream sends
``message_start`` (with the initial usage), ``content_block_start`` / ``content_block_delta`` /
``content_block_stop`` per block, ``ping`` at any time, ``message_delta`` (stop reason and
cumulative usage) and finally ``message_stop``; an ``error`` event may arrive mid-stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenplan.providers.dialects._common import (
    ErrorInfo,
    InStreamError,
    MalformedPayload,
    Parsed,
    WireRequest,
    count,
    loads,
    merge_extra,
)
from tokenplan.types import FinishReason, Usage

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.providers.endpoints import Endpoint
    from tokenplan.types import ChatRequest

__all__ = ["API_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicDialect", "usage_from_anthropic"]

#: The ``anthropic-version`` header sent unless the endpoint's headers say otherwise.
API_VERSION = "2023-06-01"
#: ``max_tokens`` is required by the API; used when the request leaves it open.
DEFAULT_MAX_TOKENS = 8192
_JSON_MODE_INSTRUCTION = "Respond with a single JSON object and nothing else."

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
#: Error ``type`` -> the HTTP status it comes with (used for errors inside a 200 stream).
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def usage_from_anthropic(u: Any) -> Usage | None:
    """Normalize an Anthropic ``usage`` object (``None`` if it is not one)."""
    if not isinstance(u, dict):
        return None
    reads = count(u.get("cache_read_input_tokens"))
    writes = count(u.get("cache_creation_input_tokens"))
    details = u.get("output_tokens_details")
    thinking = count(details.get("thinking_tokens")) if isinstance(details, dict) else 0
    return Usage(
        input_tokens=count(u.get("input_tokens")) + reads + writes,
        output_tokens=count(u.get("output_tokens")),
        cached_tokens=reads,
        cache_write_tokens=writes,
        reasoning_tokens=thinking,
    )


class _Parser:
    __slots__ = ("_done", "_finish", "_id", "_parts", "_raw", "_usage")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._id = ""
        self._finish: str | None = None
        self._usage: dict[str, Any] = {}
        self._done = False
        self._raw: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self._done

    def feed_body(self, body: Any) -> None:
        if not isinstance(body, dict) or body.get("type") != "message":
            raise MalformedPayload("not a message object", repr(body)[:2000])
        self._raw = body
        self._message(body)
        self._done = True

    def _message(self, m: dict[str, Any]) -> str:
        self._id = str(m.get("id") or self._id)
        if isinstance(m.get("usage"), dict):
            self._usage.update(m["usage"])
        if isinstance(m.get("stop_reason"), str):
            self._finish = m["stop_reason"]
        text = "".join(
            b.get("text", "")
            for b in m.get("content") or ()
            if isinstance(b, dict) and b.get("type") == "text"
        )
        if text:
            self._parts.append(text)
        return text

    def feed_event(self, event: str, data: str) -> str:
        obj = loads(data)
        if not isinstance(obj, dict):
            raise MalformedPayload("stream event is not an object", data)
        kind = obj.get("type") or event
        if kind == "content_block_delta":
            delta = obj.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "text_delta":
                text = delta.get("text")
                if isinstance(text, str) and text:
                    self._parts.append(text)
                    return text
            return ""
        if kind == "message_start":
            message = obj.get("message")
            if not isinstance(message, dict):
                raise MalformedPayload("message_start without a message", data)
            return self._message(message)
        if kind == "content_block_start":
            block = obj.get("content_block")
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
                self._parts.append(str(block["text"]))
                return str(block["text"])
            return ""
        if kind == "message_delta":
            delta = obj.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self._finish = delta["stop_reason"]
            usage = obj.get("usage")
            if isinstance(usage, dict):  # cumulative counts; nulls mean "unchanged"
                self._usage.update({k: v for k, v in usage.items() if v is not None})
            return ""
        if kind == "message_stop":
            self._done = True
            return ""
        if kind == "error":
            info = _error_info(obj)
            raise InStreamError(ERROR_STATUS.get(info.kind, 500), info, data)
        return ""  # ping, content_block_stop, and event types added after this was written

    def result(self) -> Parsed:
        usage = usage_from_anthropic(self._usage) if self._usage else None
        finish = _FINISH.get(self._finish or "end_turn", "stop")
        return Parsed(self._id, "".join(self._parts), finish, usage, self._raw)


def _error_info(body: Any) -> ErrorInfo:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return ErrorInfo()
    message, kind = err.get("message"), err.get("type")
    return ErrorInfo(
        message=message if isinstance(message, str) else "",
        kind=kind if isinstance(kind, str) else "",
    )


class AnthropicDialect:
    """The Anthropic Messages wire format."""

    name = "anthropic"

    def build(
        self, request: ChatRequest, model: Model, endpoint: Endpoint, *, stream: bool
    ) -> WireRequest:
        system: list[str] = []
        messages: list[dict[str, Any]] = []
        for m in request.messages:
            if m.role in ("system", "developer"):
                system.append(m.content)
                continue
            role = "assistant" if m.role == "assistant" else "user"
            if messages and messages[-1]["role"] == role:
                messages[-1]["content"] += "\n\n" + m.content
            else:
                messages.append({"role": role, "content": m.content})
        if request.json_mode and request.response_format is None:
            system.append(_JSON_MODE_INSTRUCTION)
        max_tokens = request.max_tokens or min(model.max_output_tokens, DEFAULT_MAX_TOKENS)
        body: dict[str, Any] = {
            "model": model.api_name,
            "max_tokens": max_tokens,
            "messages": messages,
        }
        if system:
            body["system"] = "\n\n".join(system)
        # Anthropic takes temperature in [0, 1] and rejects temperature with top_p together.
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)
        elif request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.response_format is not None:
            body["output_config"] = {
                "format": {"type": "json_schema", "schema": request.response_format.json_schema}
            }
        if stream:
            body["stream"] = True
        return WireRequest("/v1/messages", merge_extra(body, request.extra))

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def parser(self) -> _Parser:
        return _Parser()

    def error_info(self, status: int, body: Any) -> ErrorInfo:
        return _error_info(body)
