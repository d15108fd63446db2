"""What the fake servers say, per wire dialect: bodies, SSE event sequences and error shapes.

Shapes follow the vendors' published formats (OpenAI's OpenAPI spec, the ``anthropic`` and
``google-genai`` SDK types); the test suite validates them against those.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["Answer", "error_body", "render_body", "render_stream"]


@dataclass(frozen=True, slots=True)
class Answer:
    """One deterministic answer, already cut to ``max_tokens``.

    ``finish`` is ``stop`` or ``length``; token counts follow :class:`tokenplan.types.Usage`
    (``input_tokens`` includes cached and cache-write tokens, ``output_tokens`` reasoning).
    """

    id: str
    model: str
    text: str
    chunks: tuple[str, ...]
    finish: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


def _sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


# -- OpenAI chat completions ----------------------------------------------------------------------


def _openai_usage(a: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": a.input_tokens,
        "completion_tokens": a.output_tokens,
        "total_tokens": a.input_tokens + a.output_tokens,
        "prompt_tokens_details": {"cached_tokens": a.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": a.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _openai_body(a: Answer) -> dict[str, Any]:
    return {
        "id": a.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": a.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": a.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": a.finish,
            }
        ],
        "usage": _openai_usage(a),
        "service_tier": "default",
    }


def _openai_events(a: Answer, *, include_usage: bool) -> Iterator[bytes]:
    created = int(time.time())
    base: dict[str, Any] = {"id": a.id, "object": "chat.completion.chunk", "created": created}
    base["model"] = a.model
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse({**base, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": "", "refusal": None}, None)
    for piece in a.chunks:
        yield chunk({"content": piece}, None)
    yield chunk({}, a.finish)
    if include_usage:
        yield _sse({**base, "choices": [], "usage": _openai_usage(a)})
    yield b"data: [DONE]\n\n"


_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    402: ("insufficient_quota", "insufficient_quota"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _openai_error(status: int, message: str) -> dict[str, Any]:
    kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# -- Anthropic Messages --------------------------------------------------------------------------


def _anthropic_usage(a: Answer, *, output_tokens: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": a.input_tokens - a.cached_tokens - a.cache_write_tokens,
        "cache_creation_input_tokens": a.cache_write_tokens,
        "cache_read_input_tokens": a.cached_tokens,
        "output_tokens": a.output_tokens if output_tokens is None else output_tokens,
        "service_tier": "standard",
    }
    if a.reasoning_tokens and output_tokens is None:
        usage["output_tokens_details"] = {"thinking_tokens": a.reasoning_tokens}
    return usage


_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens"}
_THINKING = "Considering the request."
_SIGNATURE = "ZmFrZS1zaWduYXR1cmU="


def _anthropic_message(a: Answer, *, content: list[dict[str, Any]], done: bool) -> dict[str, Any]:
    return {
        "id": a.id,
        "type": "message",
        "role": "assistant",
        "model": a.model,
        "content": content,
        "stop_reason": _ANTHROPIC_STOP[a.finish] if done else None,
        "stop_sequence": None,
        "usage": _anthropic_usage(a) if done else _anthropic_usage(a, output_tokens=1),
    }


def _anthropic_body(a: Answer) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if a.reasoning_tokens:
        content.append({"type": "thinking", "thinking": _THINKING, "signature": _SIGNATURE})
    content.append({"type": "text", "text": a.text, "citations": None})
    return _anthropic_message(a, content=content, done=True)


def _anthropic_events(a: Answer) -> Iterator[bytes]:
    yield _sse(
        {"type": "message_start", "message": _anthropic_message(a, content=[], done=False)},
        "message_start",
    )
    index = 0
    if a.reasoning_tokens:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        yield _sse(
            {"type": "content_block_start", "index": 0, "content_block": block},
            "content_block_start",
        )
        for delta in (
            {"type": "thinking_delta", "thinking": _THINKING},
            {"type": "signature_delta", "signature": _SIGNATURE},
        ):
            yield _sse(
                {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
            )
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        index = 1
    yield _sse(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        },
        "content_block_start",
    )
    yield _sse({"type": "ping"}, "ping")
    for piece in a.chunks:
        delta = {"type": "text_delta", "text": piece}
        yield _sse(
            {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
        )
    yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    usage = {"output_tokens": a.output_tokens}
    if a.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": a.reasoning_tokens}  # type: ignore[assignment]
    yield _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": _ANTHROPIC_STOP[a.finish], "stop_sequence": None},
            "usage": usage,
        },
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")


ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = ANTHROPIC_ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    return {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_fake0001",
    }


# -- Gemini generateContent ----------------------------------------------------------------------


def _gemini_usage(a: Answer, *, candidates: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": a.input_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": a.input_tokens + candidates + a.reasoning_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": a.input_tokens}],
    }
    if a.cached_tokens:
        usage["cachedContentTokenCount"] = a.cached_tokens
    if a.reasoning_tokens:
        usage["thoughtsTokenCount"] = a.reasoning_tokens
    return usage


_GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}


def _gemini_chunk(a: Answer, text: str, *, finish: str | None, candidates: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"parts": [{"text": text}], "role": "model"},
        "index": 0,
    }
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": _gemini_usage(a, candidates=candidates),
        "modelVersion": a.model,
        "responseId": a.id,
    }


def _gemini_body(a: Answer) -> dict[str, Any]:
    visible = a.output_tokens - a.reasoning_tokens
    return _gemini_chunk(a, a.text, finish=_GEMINI_FINISH[a.finish], candidates=visible)


def _gemini_events(a: Answer) -> Iterator[bytes]:
    visible = a.output_tokens - a.reasoning_tokens
    pieces = a.chunks or ("",)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        count = visible if last else max(1, visible * (i + 1) // len(pieces))
        finish = _GEMINI_FINISH[a.finish] if last else None
        yield _sse(_gemini_chunk(a, piece, finish=finish, candidates=count))


_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _gemini_error(status: int, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": _GEMINI_STATUS.get(
                status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"
            ),
        }
    }


# -- dispatch ------------------------------------------------------------------------------------


def render_body(dialect: str, answer: Answer) -> dict[str, Any]:
    """The non-streamed response body of ``dialect`` for ``answer``."""
    if dialect == "openai":
        return _openai_body(answer)
    if dialect == "anthropic":
        return _anthropic_body(answer)
    return _gemini_body(answer)


def render_stream(dialect: str, answer: Answer, *, include_usage: bool = True) -> Iterator[bytes]:
    """The SSE events (each a complete ``bytes`` event) of ``dialect`` for ``answer``."""
    if dialect == "openai":
        return _openai_events(answer, include_usage=include_usage)
    if dialect == "anthropic":
        return _anthropic_events(answer)
    return _gemini_events(answer)


def error_body(dialect: str, status: int, message: str) -> dict[str, Any]:
    """The error body ``dialect`` sends with HTTP ``status``."""
    if dialect == "openai":
        return _openai_error(status, message)
    if dialect == "anthropic":
        return _anthropic_error(status, message)
    return _gemini_error(status, message)


def stream_error_event(dialect: str, status: int, message: str) -> bytes:
    """An error reported inside a 200 stream, as ``dialect`` does it."""
    if dialect == "anthropic":
        return _sse(_anthropic_error(status, message), "error")
    return _sse(error_body(dialect, status, message))
