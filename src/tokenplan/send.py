"""Send one request down a ladder of models: the library side of ``tokenplan route --send``.

The router ranks candidates; :func:`send` calls the first through the runtime's
:class:`~tokenplan.providers.fallback.FallbackModel` (retries, then the next rung), optionally
streaming text to a callback, under a per-send budget, with every call written to the ledger as
``kind="route"`` (one line per call, failed ones included). It returns the answer with the
total cost and wall-clock latency, which :func:`summary_line` renders for stderr::

    result = await send(runtime, ladder, request, stream=True, on_delta=write_stdout)
    console.print(summary_line(result))
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from tokenplan.budget import Budget
from tokenplan.errors import ResponseFormatError
from tokenplan.ledger.context import call_context
from tokenplan.money import format_usd
from tokenplan.providers._streams import closing_stream

if TYPE_CHECKING:
    from tokenplan.runtime import Runtime
    from tokenplan.types import ChatRequest, ChatResponse

__all__ = ["SendResult", "new_run_id", "send", "summary_line"]


def new_run_id(now: datetime | None = None) -> str:
    """A sortable id, ``YYYYMMDD-HHMMSS-xxxx``."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The answer plus what getting it took.

    ``cost_usd`` is the spend of every call made (failed calls that were billed included),
    ``calls`` how many calls were made, ``latency_ms`` the wall time of the whole send.
    """

    response: ChatResponse
    cost_usd: float
    latency_ms: float
    calls: int
    run_id: str
    ladder: tuple[str, ...]

    @property
    def fell_back(self) -> bool:
        """True when the answer did not come from the first model of the ladder."""
        return bool(self.ladder) and self.response.model != self.ladder[0]


async def send(
    runtime: Runtime,
    ladder: Sequence[str],
    request: ChatRequest,
    *,
    stream: bool = False,
    on_delta: Callable[[str], None] | None = None,
    budget_usd: float | None = None,
    run_id: str | None = None,
    capability: str | None = None,
) -> SendResult:
    """Answer ``request`` with the first model of ``ladder`` that succeeds.

    ``budget_usd`` caps the spend of this send (``max_tokens`` is lowered to fit; a call that
    cannot fit is not made). With ``stream``, ``on_delta`` receives text as it arrives; the
    ladder fails over only before the first piece of text. Raises
    :class:`~tokenplan.errors.AllCandidatesFailed` or :class:`~tokenplan.errors.BudgetError`.
    """
    budget = Budget(budget_usd)
    run_id = run_id or new_run_id()
    model = runtime.fallback_model(ladder)
    started = time.perf_counter()
    final: ChatResponse | None = None
    with call_context(run_id=run_id, kind="route", budget=budget, capability=capability) as ctx:
        try:
            if stream:
                async with closing_stream(model.stream(request)) as chunks:
                    async for chunk in chunks:
                        if chunk.delta and on_delta is not None:
                            on_delta(chunk.delta)
                        if chunk.response is not None:
                            final = chunk.response
            else:
                final = await model.complete(request)
                if on_delta is not None and final.text:
                    on_delta(final.text)
        finally:
            calls = ctx.next_attempt() - 1
    if final is None:  # every ChatModel stream ends with the assembled response
        raise ResponseFormatError("stream ended without a response")
    return SendResult(
        response=final,
        cost_usd=budget.spent_usd,
        latency_ms=(time.perf_counter() - started) * 1000.0,
        calls=calls,
        run_id=run_id,
        ladder=tuple(ladder),
    )


def summary_line(result: SendResult) -> str:
    """``model · tokens · cost · latency`` for stderr, e.g.
    ``openai/gpt-5-mini · 120 in / 48 out tokens · $0.000126 · 812 ms``."""
    r = result.response
    u = r.usage
    parts = [r.model, f"{u.input_tokens} in / {u.output_tokens} out tokens"]
    extras = []
    if u.cached_tokens:
        extras.append(f"{u.cached_tokens} cached")
    if u.reasoning_tokens:
        extras.append(f"{u.reasoning_tokens} reasoning")
    if extras:
        parts[-1] += f" ({', '.join(extras)})"
    parts.append(format_usd(result.cost_usd))
    parts.append(f"{result.latency_ms:.0f} ms")
    if result.calls > 1:
        parts.append(f"{result.calls} calls")
    if r.simulated:
        parts.append("simulated")
    return " · ".join(parts)
