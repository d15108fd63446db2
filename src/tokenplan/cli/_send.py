"""Terminal side of ``tokenplan route --send [--stream]`` (wired into ``route`` by its command).

The answer goes to stdout (streamed as it arrives with ``--stream``), the offline notice and the
``model · tokens · cost · latency`` summary to stderr; with ``--json`` one JSON document goes to
stdout instead. Every call is a ``kind="route"`` ledger line through the runtime's sink.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenplan.runtime import Runtime
    from tokenplan.send import SendResult
    from tokenplan.types import ChatRequest

__all__ = ["result_json", "route_send"]


async def route_send(
    runtime: Runtime,
    request: ChatRequest,
    ladder: Sequence[str],
    *,
    stream: bool = False,
    as_json: bool = False,
    budget_usd: float | None = None,
    capability: str | None = None,
    route: dict[str, Any] | None = None,
) -> SendResult:
    """Send ``request`` down ``ladder`` and render it for the terminal; returns the result.

    ``route`` (the routing decision's JSON) goes into the ``--json`` document under ``route``.
    """
    from tokenplan.cli._output import emit_json, stderr_console
    from tokenplan.runtime import offline_notice
    from tokenplan.send import send, summary_line

    console = stderr_console()
    notice = offline_notice(runtime)
    if notice is not None:
        console.print(
            f"note: {notice}", style="yellow", markup=False, highlight=False, soft_wrap=True
        )

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    result = await send(
        runtime,
        ladder,
        request,
        stream=stream and not as_json,
        on_delta=None if as_json else write,
        budget_usd=budget_usd,
        capability=capability,
    )
    if as_json:
        emit_json(result_json(result, route=route))
    else:
        if not result.response.text.endswith("\n"):
            write("\n")
        console.print(
            summary_line(result), style="dim", markup=False, highlight=False, soft_wrap=True
        )
    return result


def result_json(result: SendResult, *, route: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``--json`` document of a send: the answer and its cost, then (when given) the
    routing decision under ``route`` (the ``route --json`` document)."""
    r = result.response
    doc: dict[str, Any] = {
        "model": r.model,
        "provider": r.provider,
        "text": r.text,
        "finish_reason": r.finish_reason,
        "usage": r.usage.model_dump(),
        "cost_usd": result.cost_usd,
        "latency_ms": round(result.latency_ms, 1),
        "calls": result.calls,
        "fell_back": result.fell_back,
        "run_id": result.run_id,
        "simulated": r.simulated,
    }
    if route is not None:
        doc["route"] = route
    return doc
