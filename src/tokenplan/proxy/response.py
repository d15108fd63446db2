"""OpenAI's response shapes: ``chat.completion``, ``chat.completion.chunk`` events, model lists.

Stream chunks are built from bytes prepared once per stream (everything but the text is the
same in every chunk), so a chunk costs one ``orjson.dumps`` of its text.
"""

from __future__ import annotations

from typing import Any

import orjson

from tokenplan.types import ChatResponse, Usage

__all__ = ["ChunkWriter", "completion_body", "usage_json"]

#: Our finish reasons that OpenAI's schema does not have.
_FINISH = {"error": "stop", "cancelled": "stop"}
DONE = b"data: [DONE]\n\n"


def usage_json(usage: Usage) -> dict[str, Any]:
    """OpenAI's ``usage`` object (cached and reasoning tokens in their details)."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def finish_reason(response: ChatResponse) -> str:
    return _FINISH.get(response.finish_reason, response.finish_reason)


def completion_body(
    response: ChatResponse, *, request_id: str, created: int, tokenplan: dict[str, Any]
) -> bytes:
    """A ``chat.completion`` object; ``tokenplan`` is our extension field (cost, route)."""
    return orjson.dumps(
        {
            "id": request_id,
            "object": "chat.completion",
            "created": created,
            "model": response.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": response.text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason(response),
                }
            ],
            "usage": usage_json(response.usage),
            "tokenplan": tokenplan,
        }
    )


class ChunkWriter:
    """SSE events of one streamed completion, in OpenAI's ``chat.completion.chunk`` shape."""

    __slots__ = ("_base", "_first", "_head", "_tail")

    def __init__(self, *, request_id: str, created: int, model: str) -> None:
        self._base = {
            "id": request_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        prefix = orjson.dumps(self._base)[:-1]  # without the closing brace
        self._head = b"data: " + prefix + b',"choices":[{"index":0,"delta":{"content":'
        self._tail = b'},"logprobs":null,"finish_reason":null}]}\n\n'
        self._first = True

    def delta(self, text: str) -> bytes:
        """One chunk of text (the first chunk also carries the assistant role)."""
        if self._first:
            self._first = False
            return self._event(
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                }
            )
        return self._head + orjson.dumps(text) + self._tail

    def finish(self, response: ChatResponse, *, tokenplan: dict[str, Any] | None) -> bytes:
        """The chunk with the finish reason (and the ``tokenplan`` extension when given)."""
        delta: dict[str, Any] = {}
        if self._first:  # an empty answer: still say who speaks
            self._first = False
            delta = {"role": "assistant", "content": "", "refusal": None}
        event: dict[str, Any] = {
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": finish_reason(response),
                }
            ]
        }
        if tokenplan is not None:
            event["tokenplan"] = tokenplan
        return self._event(event)

    def usage(self, usage: Usage, *, tokenplan: dict[str, Any]) -> bytes:
        """The usage chunk (``choices`` empty) sent when ``stream_options.include_usage``."""
        return self._event({"choices": [], "usage": usage_json(usage), "tokenplan": tokenplan})

    def error(self, body: bytes) -> bytes:
        """An error event after the stream started (OpenAI sends ``{"error": {...}}``)."""
        return b"data: " + body + b"\n\n"

    def _event(self, fields: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps({**self._base, **fields}) + b"\n\n"
