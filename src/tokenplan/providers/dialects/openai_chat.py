"""OpenAI chat completions (``POST {base}/chat/completions``), JSON and SSE.

Serves OpenAI and every compatible server (OpenRouter, DeepSeek, Mistral, xAI, Groq, Together,
Ollama, vLLM, llama.cpp); per-endpoint quirks are fields of the endpoint row.

Usage: ``prompt_tokens`` already includes ``prompt_tokens_details.cached_tokens`` (DeepSeek:
``prompt_cache_hit_tokens``). OpenAI's ``completion_tokens`` includes
``completion_tokens_details.reasoning_tokens`` (``total_tokens`` = prompt + completion), which
is exactly :class:`~tokenplan.types.Usage`; xAI reports reasoning *apart from* it (``total_tokens``
= prompt + completion + reasoning). Both are read right: output is completion + reasoning when
reasoning exceeds completion, else ``total_tokens - prompt_tokens`` when the total counts more
than prompt + completion, else completion.
A stream carries usage in its last chunk when ``stream_options.include_usage`` is sent (that
chunk has empty ``choices``) and ends with ``data: [DONE]``.
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

__all__ = ["OpenAIChatDialect", "usage_from_openai"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_MODEL_ERROR_CODES = frozenset({"model_not_found", "model_not_supported", "unsupported_model"})


def usage_from_openai(u: Any) -> Usage | None:
    """Normalize an OpenAI ``usage`` object (``None`` if it is not one)."""
    if not isinstance(u, dict):
        return None
    prompt_details = u.get("prompt_tokens_details")
    completion_details = u.get("completion_tokens_details")
    pd = prompt_details if isinstance(prompt_details, dict) else {}
    cd = completion_details if isinstance(completion_details, dict) else {}
    prompt, completion = count(u.get("prompt_tokens")), count(u.get("completion_tokens"))
    reasoning, total = count(cd.get("reasoning_tokens")), count(u.get("total_tokens"))
    output = completion
    if reasoning > completion:  # cannot be a part of it: reported apart (xAI)
        output = completion + reasoning
    elif total > prompt + completion:  # the total counts output beyond completion_tokens
        output = total - prompt
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        cached_tokens=count(pd.get("cached_tokens")) or count(u.get("prompt_cache_hit_tokens")),
        cache_write_tokens=count(pd.get("cache_write_tokens")),
        reasoning_tokens=reasoning,
    )


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts (Mistral's reasoning models stream these)
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


class _Parser:
    __slots__ = ("_done", "_finish", "_id", "_parts", "_raw", "_refusal", "_usage")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._refusal: list[str] = []
        self._id = ""
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._done = False
        self._raw: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        # ``[DONE]`` ends a stream. A finish reason alone does not: the usage chunk (sent
        # after it when ``stream_options.include_usage`` is on) and ``[DONE]`` may still be
        # missing, and a stream cut there would be billed from its visible text only. A
        # server that never sends ``[DONE]`` is complete once it has sent usage too.
        return self._done or (self._finish is not None and self._usage is not None)

    def feed_body(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            raise MalformedPayload("not a chat completion object", repr(body)[:2000])
        self._raw = body
        self._take(body, "message")
        self._done = True

    def feed_event(self, event: str, data: str) -> str:
        if data == "[DONE]":
            self._done = True
            return ""
        obj = loads(data)
        if not isinstance(obj, dict):
            raise MalformedPayload("stream chunk is not an object", data)
        if obj.get("error"):
            # OpenAI sends a bare {"error": ...}; OpenRouter adds it to a chunk whose choice
            # has finish_reason "error". Either way the answer is broken.
            raise InStreamError(_stream_error_status(obj["error"]), _error_info(obj), data)
        return self._take(obj, "delta")

    def _take(self, obj: dict[str, Any], key: str) -> str:
        if obj.get("id"):
            self._id = str(obj["id"])
        usage = usage_from_openai(obj.get("usage"))
        if usage is not None:
            self._usage = usage
        text = ""
        for choice in obj.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            message = choice.get(key)
            if isinstance(message, dict):
                text += _content_text(message.get("content"))
                refusal = message.get("refusal")
                if isinstance(refusal, str) and refusal:
                    self._refusal.append(refusal)
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                self._finish = finish
        if text:
            self._parts.append(text)
        return text

    def result(self) -> Parsed:
        text = "".join(self._parts)
        finish = _FINISH.get(self._finish or "stop", "stop")
        if not text and self._refusal:
            text, finish = "".join(self._refusal), "content_filter"
        return Parsed(self._id, text, finish, self._usage, self._raw)


def _error_info(body: Any) -> ErrorInfo:
    if not isinstance(body, dict):
        return ErrorInfo()
    err = body.get("error")
    if isinstance(err, str):  # Ollama and some proxies: {"error": "message"}
        return ErrorInfo(message=err)
    if not isinstance(err, dict):
        err = body  # Mistral / vLLM: {"object": "error", "message": ..., "type": ...}
    message = err.get("message")
    code = err.get("code")
    kind = err.get("type") if isinstance(err.get("type"), str) else ""
    on_model = err.get("param") == "model" or (isinstance(code, str) and code in _MODEL_ERROR_CODES)
    return ErrorInfo(
        message=message if isinstance(message, str) else "",
        kind=str(kind or (code if isinstance(code, str) else "")),
        on_model=on_model,
    )


def _stream_error_status(err: Any) -> int:
    if isinstance(err, dict):
        code = err.get("code")
        if isinstance(code, int) and 400 <= code < 600:
            return code
        kind = err.get("type")
        if kind in ("rate_limit_exceeded", "rate_limit_error", "tokens", "requests"):
            return 429
    return 500


class OpenAIChatDialect:
    """The OpenAI chat completions wire format."""

    name = "openai"

    def build(
        self, request: ChatRequest, model: Model, endpoint: Endpoint, *, stream: bool
    ) -> WireRequest:
        messages: list[dict[str, Any]] = []
        for m in request.messages:
            role: str = m.role
            if role == "developer" and not endpoint.developer_role:
                role = "system"
            elif role == "tool":  # no tool-call ids in our messages: a tool result is user text
                role = "user"
            msg: dict[str, Any] = {"role": role, "content": m.content}
            if m.name:
                msg["name"] = m.name
            messages.append(msg)
        body: dict[str, Any] = {"model": model.api_name, "messages": messages}
        if request.max_tokens is not None:
            body[endpoint.max_tokens_field] = request.max_tokens
        sampling = endpoint.reasoning_sampling or not model.reasoning
        if request.temperature is not None and sampling:
            body["temperature"] = request.temperature
        if request.top_p is not None and sampling:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop"] = list(request.stop)
        if request.response_format is not None:
            fmt = request.response_format
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": fmt.name, "schema": fmt.json_schema, "strict": fmt.strict},
            }
        elif request.json_mode:
            body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream"] = True
            if endpoint.stream_usage:
                body["stream_options"] = {"include_usage": True}
        return WireRequest("/chat/completions", merge_extra(body, request.extra))

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def parser(self) -> _Parser:
        return _Parser()

    def error_info(self, status: int, body: Any) -> ErrorInfo:
        return _error_info(body)
