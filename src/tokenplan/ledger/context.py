"""Per-call context: who is calling a model, for what, and against which budget.

Callers set it around model calls; the metering layer of the provider stack (which reserves
budget and writes one ledger line per call) reads it. It travels through ``contextvars``, so
each anyio task (each concurrent step) sees its own::

    with call_context(run_id=run.id, kind="step", step_id="draft", budget=run.budget):
        response = await model.complete(request)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenplan.budget import Budget
    from tokenplan.ledger.attempt import AttemptKind
    from tokenplan.types import ChatResponse

__all__ = ["CallContext", "call_context", "current_context"]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the metering layer needs to know about the calls made under it.

    ``budget`` (if any) is reserved against before each call. ``attempts`` numbers the calls
    made under this context (1, 2, ...), retries and failovers included. ``accept`` (if any)
    judges each successful answer: it returns ``None`` to accept it or a short reason, and a
    rejected answer's ledger line says ``invalid`` with that reason (the answer is still
    returned: the caller decides whether to escalate). ``min_output_tokens`` is the least
    output room a call is worth making with: when the budget cannot cover that many output
    tokens (on top of the input), the metering layer raises
    :class:`~tokenplan.errors.BudgetError` instead of sending a call certain to be cut off.
    """

    run_id: str = ""
    kind: AttemptKind = "route"
    step_id: str | None = None
    capability: str | None = None
    escalated_from: str | None = None
    budget: Budget | None = None
    min_output_tokens: int = 1
    accept: Callable[[ChatResponse], str | None] | None = field(default=None, compare=False)
    attempts: Iterator[int] = field(default_factory=lambda: itertools.count(1), compare=False)

    def next_attempt(self) -> int:
        return next(self.attempts)


_current: ContextVar[CallContext | None] = ContextVar("tokenplan_call_context", default=None)


def current_context() -> CallContext:
    """The context of the running task (a fresh default one outside any ``call_context``)."""
    return _current.get() or CallContext()


@contextmanager
def call_context(**fields: Any) -> Iterator[CallContext]:
    """Set fields of the current context for the block (others are inherited).

    The attempt counter is shared with the enclosing context unless ``step_id`` or ``run_id``
    changes, so escalations within one step keep counting.
    """
    base = current_context()
    if ("step_id" in fields and fields["step_id"] != base.step_id) or (
        "run_id" in fields and fields["run_id"] != base.run_id
    ):
        fields.setdefault("attempts", itertools.count(1))
    ctx = replace(base, **fields)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
