"""How long one proxy request may wait between attempts: ``[proxy] retry_budget_s``.

The provider layer's :class:`~tokenplan.providers.retry.RetryPolicy` bounds the waiting per
model (``max_total_s`` from that model's first call). A client of the proxy waits for the whole
ladder, so each request gets a :class:`RequestRetries`: the same policy, plus a deadline shared
by every rung. No retry is scheduled that would end after it; a ``retry-after`` longer than
what is left means fail over now, and when every rung is rate limited the client gets its 429
(with the upstream's shortest ``retry-after``) at once instead of the proxy sleeping on it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokenplan.providers.retry import RetryPolicy

if TYPE_CHECKING:
    import random

__all__ = ["RequestRetries", "request_retries"]


@dataclass(frozen=True, slots=True)
class RequestRetries(RetryPolicy):
    """A :class:`RetryPolicy` that also schedules nothing past ``deadline`` (``time.monotonic``)."""

    deadline: float = math.inf

    def delay_s(
        self,
        error: BaseException,
        *,
        attempt: int,
        elapsed_s: float,
        rng: random.Random | None = None,
    ) -> float | None:
        # RetryPolicy.delay_s named explicitly: zero-argument super() does not work in a
        # dataclass built with slots=True before Python 3.14.
        delay = RetryPolicy.delay_s(self, error, attempt=attempt, elapsed_s=elapsed_s, rng=rng)
        if delay is None or time.monotonic() + delay > self.deadline:
            return None
        return delay


def request_retries(*, max_attempts: int, retry_budget_s: float) -> RequestRetries:
    """The policy for a request starting now: ``max_attempts`` calls per model, at most
    ``retry_budget_s`` of waiting between them over the whole ladder."""
    return RequestRetries(
        max_attempts=max_attempts,
        max_total_s=retry_budget_s,
        deadline=time.monotonic() + retry_budget_s,
    )
