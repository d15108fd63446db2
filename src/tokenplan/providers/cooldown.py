"""Models and endpoints taken out of rotation after answers that retrying cannot fix.

A model answering 402, 403, 404 or a 400 about the model is cooled down; an endpoint answering
401 (bad or revoked key) is blocked, taking all its models with it. The registry belongs to the
runtime (one per process or per test), never to a module global, and remembers the error that
caused each entry so a skipped candidate can still say why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tokenplan.errors import CooledDownError, ProviderError

__all__ = ["Cooldowns"]


class Cooldowns:
    """Which models and endpoints to skip, and why.

    ``ttl_s=None`` keeps entries for the life of the registry (the process); a number lets a
    long-running proxy try a model again after that many seconds.
    """

    def __init__(
        self, *, ttl_s: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._models: dict[str, tuple[float, ProviderError]] = {}
        self._endpoints: dict[str, tuple[float, ProviderError]] = {}
        self._lock = threading.Lock()

    def cool_model(self, model_id: str, error: ProviderError) -> None:
        """Skip ``model_id`` from now on."""
        with self._lock:
            self._models[model_id] = (self._clock(), error)

    def block_endpoint(self, endpoint: str, error: ProviderError) -> None:
        """Skip every model served by ``endpoint`` from now on."""
        with self._lock:
            self._endpoints[endpoint] = (self._clock(), error)

    def reason(self, model_id: str, endpoint: str | None = None) -> ProviderError | None:
        """The error that took ``model_id`` (or its ``endpoint``) out, or ``None`` if usable."""
        with self._lock:
            for table, key in ((self._endpoints, endpoint), (self._models, model_id)):
                if key is None or key not in table:
                    continue
                since, error = table[key]
                if self.ttl_s is not None and self._clock() - since >= self.ttl_s:
                    del table[key]
                    continue
                return error
        return None

    def check(self, model_id: str, endpoint: str | None = None) -> CooledDownError | None:
        """A :class:`~tokenplan.errors.CooledDownError` for ``model_id`` if it (or its
        ``endpoint``) is out: the candidate, the cause, and when it may be tried again."""
        with self._lock:
            for table, key in ((self._endpoints, endpoint), (self._models, model_id)):
                if key is None or key not in table:
                    continue
                since, error = table[key]
                now = self._clock()
                if self.ttl_s is not None and now - since >= self.ttl_s:
                    del table[key]
                    continue
                until = None if self.ttl_s is None else time.time() + (since + self.ttl_s - now)
                return CooledDownError(
                    model=model_id,
                    endpoint=endpoint or error.provider,
                    cause=error,
                    until=until,
                    whole_endpoint=table is self._endpoints,
                )
        return None

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._endpoints.clear()

    def snapshot(self) -> dict[str, list[str]]:
        """``{"models": [...], "endpoints": [...]}`` currently out (for diagnostics)."""
        with self._lock:
            return {"models": sorted(self._models), "endpoints": sorted(self._endpoints)}
