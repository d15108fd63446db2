"""Gemini ``generateContent`` / ``streamGenerateContent?alt=sse`` (Google AI Studio API).

``POST {base}/models/{model}:generateContent`` with the key in ``x-goog-api-key`` (never in the
URL, so it cannot leak through logged URLs). Roles are ``user`` and ``model``; system messages
go to ``systemInstruction``; options live in ``generationConfig`` (``maxOutputTokens``,
``temperature``, ``topP``, ``stopSequences``, and for structured output ``responseMimeType`` +
``responseJsonSchema``).

Usage: ``promptTokenCount`` includes ``cachedContentTokenCount``; ``thoughtsTokenCount`` is
*apart from* ``candidatesTokenCount``, so normalized output is their sum. Every streamed chunk
is a whole ``GenerateContentResponse`` carrying the usage so far; the last one has a
``finishReason``. There is no end-of-stream marker, so a stream that closes before any
``finishReason`` was truncated.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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

__all__ = ["GeminiDialect", "usage_from_gemini"]

_FILTERED = (
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "MODEL_ARMOR",
)
_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(_FILTERED, "content_filter"),
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def usage_from_gemini(u: Any) -> Usage | None:
    """Normalize a Gemini ``usageMetadata`` object (``None`` if it is not one)."""
    if not isinstance(u, dict):
        return None
    thoughts = count(u.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=count(u.get("promptTokenCount")) + count(u.get("toolUsePromptTokenCount")),
        output_tokens=count(u.get("candidatesTokenCount")) + thoughts,
        cached_tokens=count(u.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


class _Parser:
    __slots__ = ("_blocked", "_done", "_finish", "_id", "_parts", "_raw", "_usage")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._id = ""
        self._finish: str | None = None
        self._blocked = False
        self._usage: Usage | None = None
        self._done = False
        self._raw: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self._done or self._finish is not None or self._blocked

    def feed_body(self, body: Any) -> None:
        if not isinstance(body, dict) or not (
            "candidates" in body or "promptFeedback" in body or "usageMetadata" in body
        ):
            raise MalformedPayload("not a GenerateContentResponse", repr(body)[:2000])
        self._raw = body
        self._take(body)
        self._done = True

    def feed_event(self, event: str, data: str) -> str:
        obj = loads(data)
        if isinstance(obj, list) and len(obj) == 1:  # errors may come wrapped in an array
            obj = obj[0]
        if not isinstance(obj, dict):
            raise MalformedPayload("stream chunk is not an object", data)
        if "error" in obj and "candidates" not in obj:
            info = _error_info(obj)
            err = obj["error"]
            code = err.get("code") if isinstance(err, dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            raise InStreamError(status, info, data)
        return self._take(obj)

    def _take(self, obj: dict[str, Any]) -> str:
        if obj.get("responseId"):
            self._id = str(obj["responseId"])
        usage = usage_from_gemini(obj.get("usageMetadata"))
        if usage is not None:
            self._usage = usage
        feedback = obj.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self._blocked = True
        text = ""
        candidates = obj.get("candidates")
        if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
            cand = candidates[0]
            content = cand.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts or ():
                if isinstance(part, dict) and not part.get("thought"):
                    value = part.get("text")
                    if isinstance(value, str):
                        text += value
            if isinstance(cand.get("finishReason"), str):
                self._finish = cand["finishReason"]
        if text:
            self._parts.append(text)
        return text

    def result(self) -> Parsed:
        if self._blocked and not self._parts:
            finish: FinishReason = "content_filter"
        elif self._finish is None:
            finish = "stop"
        else:
            finish = _FINISH.get(self._finish, "error")
        return Parsed(self._id, "".join(self._parts), finish, self._usage, self._raw)


def _error_info(body: Any) -> ErrorInfo:
    if isinstance(body, list) and body:
        body = body[0]
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return ErrorInfo()
    retry_after: float | None = None
    for detail in err.get("details") or ():
        if (
            isinstance(detail, dict)
            and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo")
            and isinstance(detail.get("retryDelay"), str)
        ):
            match = _DURATION.match(detail["retryDelay"])
            if match:
                retry_after = float(match.group(1))
    message, status = err.get("message"), err.get("status")
    return ErrorInfo(
        message=message if isinstance(message, str) else "",
        kind=status if isinstance(status, str) else "",
        retry_after_s=retry_after,
    )


def _contents(request: ChatRequest) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role in ("system", "developer"):
            system.append(m.content)
            continue
        role = "model" if m.role == "assistant" else "user"
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].append({"text": m.content})
        else:
            contents.append({"role": role, "parts": [{"text": m.content}]})
    return system, contents


class GeminiDialect:
    """The Gemini generateContent wire format."""

    name = "gemini"

    def build(
        self, request: ChatRequest, model: Model, endpoint: Endpoint, *, stream: bool
    ) -> WireRequest:
        system, contents = _contents(request)
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
        config: dict[str, Any] = {}
        if request.max_tokens is not None:
            config["maxOutputTokens"] = request.max_tokens
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.top_p is not None:
            config["topP"] = request.top_p
        if request.stop:
            config["stopSequences"] = list(request.stop)
        if request.response_format is not None:
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = request.response_format.json_schema
        elif request.json_mode:
            config["responseMimeType"] = "application/json"
        if config:
            body["generationConfig"] = config
        name = model.api_name.removeprefix("models/")
        method = "streamGenerateContent" if stream else "generateContent"
        path = f"/models/{quote(name, safe='-._~')}:{method}"
        params = {"alt": "sse"} if stream else None
        return WireRequest(path, merge_extra(body, request.extra), params)

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-goog-api-key": api_key} if api_key else {}

    def parser(self) -> _Parser:
        return _Parser()

    def error_info(self, status: int, body: Any) -> ErrorInfo:
        return _error_info(body)
