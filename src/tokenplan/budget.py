"""Hard-ceiling budget reservations, shared by the executor, the proxy and ``route --send``.

Before a model call, reserve its worst case; after it, settle the reservation to the actual
cost. Settled spend plus outstanding reservations never exceed the limit, however many calls
run at once, so the ceiling holds under concurrency (unless a provider bills more than the
worst case it was sent, which the estimator is built to prevent).
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model

__all__ = ["Budget", "Reservation"]

_EPS = 1e-12


class Reservation:
    """Money held for one call. Settle it exactly once (later calls are ignored)."""

    __slots__ = ("_budget", "amount_usd", "settled_usd")

    def __init__(self, budget: Budget, amount_usd: float) -> None:
        self._budget = budget
        self.amount_usd = amount_usd
        self.settled_usd: float | None = None

    @property
    def settled(self) -> bool:
        return self.settled_usd is not None

    def settle(self, actual_usd: float) -> None:
        """Replace the hold by the actual cost of the call.

        A NaN cost (unusable usage numbers) settles at the amount held: the worst case.
        """
        if math.isnan(actual_usd):
            actual_usd = self.amount_usd
        self._budget._settle(self, max(0.0, actual_usd))


class Budget:
    """A USD ceiling with reservations. ``limit_usd=None`` means unlimited (still tracked)."""

    def __init__(self, limit_usd: float | None, *, spent_usd: float = 0.0) -> None:
        if limit_usd is not None and not (limit_usd > 0 and math.isfinite(limit_usd)):
            raise ValueError("limit_usd must be a positive finite number or None")
        self.limit_usd = limit_usd
        self._spent = float(spent_usd)
        self._reserved = 0.0
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        """Settled spend."""
        return self._spent

    @property
    def reserved_usd(self) -> float:
        """Outstanding reservations."""
        return self._reserved

    @property
    def available_usd(self) -> float:
        """What a new reservation may take (``inf`` when unlimited)."""
        if self.limit_usd is None:
            return math.inf
        return max(0.0, self.limit_usd - self._spent - self._reserved)

    def try_reserve(self, amount_usd: float) -> Reservation | None:
        """Hold ``amount_usd`` if it fits, else return ``None``.

        ``ValueError`` for NaN: a broken estimate must never pass as a free call.
        """
        if math.isnan(amount_usd):
            raise ValueError("cannot reserve NaN USD: the call's worst case is unknown")
        amount = max(0.0, amount_usd)
        with self._lock:
            if self.limit_usd is not None and (
                self._spent + self._reserved + amount > self.limit_usd + _EPS
            ):
                return None
            self._reserved += amount
        return Reservation(self, amount)

    def fit_max_tokens(
        self, model: Model, *, input_tokens: int, max_tokens: int, min_output_tokens: int = 1
    ) -> int | None:
        """The largest ``max_tokens`` (<= the one asked) whose worst case fits what is left.

        ``None`` when not even ``min_output_tokens`` fit. Pure: nothing is reserved.
        """
        available = self.available_usd
        if math.isinf(available):
            return max_tokens
        # The same dearest rates as Model.worst_case_cost, so a fitted call always reserves.
        in_price, out_price = model.dearest_rates(input_tokens)
        left = available * 1_000_000.0 - input_tokens * in_price
        if out_price <= 0:
            fits = max_tokens if left >= -_EPS else 0
        else:
            fits = min(max_tokens, int(left / out_price)) if left > 0 else 0
        return fits if fits >= min_output_tokens else None

    def _settle(self, reservation: Reservation, actual: float) -> None:
        # Checked under the lock: two threads settling one reservation must not count it twice.
        with self._lock:
            if reservation.settled_usd is not None:
                return
            reservation.settled_usd = actual
            self._reserved = max(0.0, self._reserved - reservation.amount_usd)
            self._spent += actual
