"""Streaming answers: OpenAI's SSE ``chat.completion.chunk`` events from a ``ChatModel`` stream.

Nothing is sent until the first piece of the answer has arrived, so every failure before it
(including failover along the ladder, which the provider layer does while nothing has been
yielded) is still an ordinary HTTP error answer. The response headers then name the model,
provider and route; the cost is only known at the end, so it travels in the ``tokenplan``
field of the last chunk before ``data: [DONE]`` (the usage chunk when the client asked for
``stream_options.include_usage``, else the chunk with the finish reason). An error after the
first byte is sent as an ``{"error": ...}`` event and the stream ends without ``[DONE]``.

If the client goes away, the upstream stream is closed at once (its ledger line says
``cancelled``) instead of being read to the end for nobody.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio

from tokenplan.errors import ResponseFormatError
from tokenplan.providers._streams import closing_stream
from tokenplan.proxy.errors import ApiError, api_error_for
from tokenplan.proxy.response import DONE, ChunkWriter

if TYPE_CHECKING:
    from tokenplan.providers.base import ChatModel
    from tokenplan.proxy.app import ProxyApp, Receive, Send
    from tokenplan.proxy.request import ParsedChat
    from tokenplan.proxy.routes import Route
    from tokenplan.types import ChatRequest, ChatResponse, StreamChunk

__all__ = ["stream_completion"]

log = logging.getLogger(__name__)

_SSE_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


async def stream_completion(
    app: ProxyApp,
    model: ChatModel,
    request: ChatRequest,
    parsed: ParsedChat,
    route: Route,
    send: Send,
    receive: Receive,
    request_id: str,
    created: int,
) -> None:
    """Answer with an SSE stream; errors before the first byte propagate to the caller."""
    async with closing_stream(model.stream(request)) as chunks:
        first = await _next(chunks)
        if first is None:
            raise ResponseFormatError("the model stream ended without an answer")
        model_id = first.model or (first.response.model if first.response else request.model)
        provider = app.provider_of(model_id)
        simulated = app.runtime.simulated
        headers = [
            *_SSE_HEADERS,
            *app.result_headers(request_id, model_id, provider, route, simulated),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        writer = ChunkWriter(request_id=request_id, created=created, model=model_id)
        pending: StreamChunk | None = first
        if first.response is None:  # the first text goes out before anything else is set up
            if first.delta:
                body = writer.delta(first.delta)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            pending = None
        # Stays empty when the client disconnects (the task group's scope is cancelled).
        outcomes: list[ChatResponse | Exception] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_disconnect, receive, tg.cancel_scope)
            try:
                outcomes.append(await _relay(pending, chunks, writer, send))
            except Exception as exc:  # after the first byte: reported inside the stream
                outcomes.append(exc)
            tg.cancel_scope.cancel()
        if not outcomes:  # the client left: nothing more to say
            return
        outcome = outcomes[0]
        if isinstance(outcome, Exception):
            await _send_error(send, writer, outcome)
            return
        await send(
            {"type": "http.response.body", "body": _ending(app, writer, outcome, parsed, route)}
        )


async def _relay(
    pending: StreamChunk | None,
    chunks: AsyncIterator[StreamChunk],
    writer: ChunkWriter,
    send: Send,
) -> ChatResponse:
    """Forward text until the final response (cancelled if the client disconnects)."""
    chunk = pending if pending is not None else await _next(chunks)
    while chunk is not None:
        if chunk.response is not None:
            return chunk.response
        if chunk.delta:
            body = writer.delta(chunk.delta)
            await send({"type": "http.response.body", "body": body, "more_body": True})
        chunk = await _next(chunks)
    raise ResponseFormatError("the model stream ended without a final response")


async def _next(chunks: AsyncIterator[StreamChunk]) -> StreamChunk | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


def _ending(
    app: ProxyApp, writer: ChunkWriter, final: ChatResponse, parsed: ParsedChat, route: Route
) -> bytes:
    info = app.tokenplan_info(final, route)
    if parsed.include_usage:
        return (
            writer.finish(final, tokenplan=None) + writer.usage(final.usage, tokenplan=info) + DONE
        )
    return writer.finish(final, tokenplan=info) + DONE


async def _send_error(send: Send, writer: ChunkWriter, exc: Exception) -> None:
    err = api_error_for(exc)
    if err is None:
        log.exception("proxy_stream_internal_error")
        err = ApiError(500, f"internal error ({type(exc).__name__})", type="server_error")
    body: Any = writer.error(err.body())
    await send({"type": "http.response.body", "body": body, "more_body": False})
