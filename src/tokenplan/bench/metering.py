"""Benchmark calls go through the product's metering, so spend accounting is the product's too.

Every model a policy calls is the product's :class:`~tokenplan.providers.metered.MeteredModel`
(over the replay provider offline, over the runtime's providers live): it reserves the call's
worst case from the budget of the current :func:`~tokenplan.ledger.context.call_context`,
settles the actual cost from the reported usage, and hands one ledger
:class:`~tokenplan.ledger.attempt.Attempt` (``kind="bench"``) per call to its sink.

:class:`AttemptLog` is that sink: it keeps each query's attempts (keyed by the context's run and
step ids) until the harness takes them, and forwards every attempt to a ledger when given one.
The harness reads a query's calls and costs from those attempts, never from the policy.
:class:`MeteredModels` is the :class:`~tokenplan.providers.base.ChatModel` handed to policies:
it sends each request to the metered model serving ``request.model``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from tokenplan.providers._streams import closing_stream
from tokenplan.providers.metered import AttemptSink, MeteredModel

if TYPE_CHECKING:
    from tokenplan.catalog import Catalog
    from tokenplan.ledger.attempt import Attempt
    from tokenplan.providers.base import ChatModel
    from tokenplan.types import ChatRequest, ChatResponse, StreamChunk

__all__ = ["AttemptLog", "MeteredModels"]


class AttemptLog:
    """An attempt sink keeping attempts by ``(run_id, step_id)`` until :meth:`take` collects them.

    ``forward`` (for example a ledger's ``append``) receives every attempt as well. ``total``
    counts every attempt seen.
    """

    def __init__(self, *, forward: AttemptSink | None = None) -> None:
        self.forward = forward
        self.total = 0
        self._pending: dict[tuple[str, str | None], list[Attempt]] = {}
        self._lock = threading.Lock()

    def __call__(self, attempt: Attempt) -> None:
        with self._lock:
            self._pending.setdefault((attempt.run_id, attempt.step_id), []).append(attempt)
            self.total += 1
        if self.forward is not None:
            self.forward(attempt)

    def take(self, run_id: str, step_id: str | None) -> list[Attempt]:
        """The attempts recorded under ``run_id``/``step_id`` so far (removed from the log)."""
        with self._lock:
            return self._pending.pop((run_id, step_id), [])


class MeteredModels:
    """Sends each request to the metered model serving ``request.model``.

    ``factory(model_id)`` builds that model once per id (a ``MeteredModel``, or a runtime's
    fallback model whose rungs are metered); its attempts go to ``log``.
    """

    def __init__(self, factory: Callable[[str], ChatModel], log: AttemptLog) -> None:
        self._factory = factory
        self.log = log
        self._models: dict[str, ChatModel] = {}

    @classmethod
    def wrapping(
        cls,
        inner: ChatModel,
        catalog: Catalog,
        *,
        provider: str,
        forward: AttemptSink | None = None,
        simulated: bool = False,
    ) -> MeteredModels:
        """``inner`` (serving every id of ``catalog``) behind one ``MeteredModel`` per id."""
        log = AttemptLog(forward=forward)

        def factory(model_id: str) -> ChatModel:
            return MeteredModel(
                inner, catalog.get(model_id), provider=provider, sink=log, simulated=simulated
            )

        return cls(factory, log)

    def model(self, model_id: str) -> ChatModel:
        found = self._models.get(model_id)
        if found is None:
            found = self._models[model_id] = self._factory(model_id)
        return found

    async def complete(self, request: ChatRequest) -> ChatResponse:
        return await self.model(request.model).complete(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        async with closing_stream(self.model(request.model).stream(request)) as chunks:
            async for chunk in chunks:
                yield chunk
