"""The budget of one run: a :class:`~tokenplan.budget.Budget` that steps can wait on.

Under concurrency, a call that does not fit *now* may fit once calls in flight settle (their
reservations are worst cases; actual costs are usually far lower). :class:`RunBudget` lets a
step wait for the next settlement instead of failing, and tells listeners (progress views)
what was spent. Only when nothing is outstanding and a call still does not fit is the budget
exhausted.

Settlements must happen on the event loop's thread (the metering layer settles in the task
that made the call, so they do).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from tokenplan.budget import _EPS, Budget, Reservation

__all__ = ["RunBudget"]


class RunBudget(Budget):
    """A :class:`Budget` with :meth:`wait_for_settle` and settle listeners.

    ``on_settle(budget)`` is called after each settlement (keep it quick).
    """

    def __init__(
        self,
        limit_usd: float | None,
        *,
        spent_usd: float = 0.0,
        on_settle: Callable[[RunBudget], object] | None = None,
    ) -> None:
        super().__init__(limit_usd, spent_usd=spent_usd)
        self.on_settle = on_settle
        self._settled: anyio.Event | None = None
        self._outstanding = 0

    @property
    def outstanding(self) -> int:
        """Reservations held now (calls in flight)."""
        return self._outstanding

    def try_reserve(self, amount_usd: float) -> Reservation | None:
        reservation = super().try_reserve(amount_usd)
        if reservation is not None:
            self._outstanding += 1
        return reservation

    def _settle(self, reservation: Reservation, actual: float) -> None:
        already = reservation.settled
        super()._settle(reservation, actual)
        if already:
            return
        self._outstanding -= 1
        event, self._settled = self._settled, None
        if event is not None:
            event.set()
        if self.on_settle is not None:
            self.on_settle(self)

    async def wait_for_settle(self) -> None:
        """Return after the next settlement (of any reservation)."""
        if self._settled is None:
            self._settled = anyio.Event()
        await self._settled.wait()

    async def wait_for_room(self, amount_usd: float) -> bool:
        """Wait until ``amount_usd`` fits, or until nothing is outstanding.

        Returns whether it fits. Returns at once when it fits or nothing is in flight; never
        reserves anything (the caller's next reservation, made without suspending in between,
        is what claims the room).
        """
        while not self.fits(amount_usd):
            if self._outstanding <= 0:
                return False
            await self.wait_for_settle()
        return True

    def fits(self, amount_usd: float) -> bool:
        """Whether a reservation of ``amount_usd`` would succeed now."""
        return amount_usd <= self.available_usd + _EPS
