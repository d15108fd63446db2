"""Test doubles satisfying :class:`~tokenplan.providers.base.ChatModel` without any network."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, FinishReason, StreamChunk, Usage

__all__ = ["FunctionModel", "Reply", "ScriptedModel"]

#: A scripted reply: text, a full response, or an exception to raise.
Reply = str | ChatResponse | BaseException


def _response(request: ChatRequest, text: str, *, provider: str) -> ChatResponse:
    usage = Usage(
        input_tokens=estimate_messages_tokens(m.content for m in request.messages),
        output_tokens=estimate_tokens(text) if text else 0,
    )
    finish: FinishReason = "stop"
    if request.max_tokens is not None and usage.output_tokens > request.max_tokens:
        usage = usage.model_copy(update={"output_tokens": request.max_tokens})
        finish = "length"
    return ChatResponse(
        id=f"{provider}-{time.monotonic_ns()}",
        model=request.model,
        provider=provider,
        text=text,
        finish_reason=finish,
        usage=usage,
    )


class _Recording:
    provider = "test"

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    async def _answer(self, request: ChatRequest) -> ChatResponse:  # pragma: no cover
        raise NotImplementedError

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        return await self._answer(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        self.requests.append(request)
        response = await self._answer(request)
        words = response.text.split(" ")
        for i, word in enumerate(words):
            yield StreamChunk(delta=word if i == 0 else " " + word)
        yield StreamChunk(response=response)


class ScriptedModel(_Recording):
    """Answers with ``replies`` in order; an exception in the list is raised instead.

    When the script runs out, ``default`` (if given) answers every further request;
    otherwise an ``AssertionError`` says the test asked for more calls than it scripted.
    """

    def __init__(self, replies: Iterable[Reply], *, default: str | None = None) -> None:
        super().__init__()
        self._replies = list(replies)
        self._default = default

    async def _answer(self, request: ChatRequest) -> ChatResponse:
        if self._replies:
            reply = self._replies.pop(0)
        elif self._default is not None:
            reply = self._default
        else:
            raise AssertionError(f"ScriptedModel ran out of replies at call {len(self.requests)}")
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ChatResponse):
            return reply
        return _response(request, reply, provider=self.provider)


class FunctionModel(_Recording):
    """Answers by calling ``fn(request)``, which returns text, a response, or raises.

    ``fn`` may be sync or async.
    """

    def __init__(
        self,
        fn: Callable[[ChatRequest], str | ChatResponse | Awaitable[str | ChatResponse]],
    ) -> None:
        super().__init__()
        self._fn = fn

    async def _answer(self, request: ChatRequest) -> ChatResponse:
        result = self._fn(request)
        if isinstance(result, Awaitable):
            result = await result
        if isinstance(result, ChatResponse):
            return result
        return _response(request, result, provider=self.provider)
