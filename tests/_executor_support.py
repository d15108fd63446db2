"""Shared pieces of the executor tests: a three-tier catalog, a scriptable fake LLM, a runtime."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from tokenplan.catalog.catalog import Catalog
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.store import Ledger
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.testing.catalogs import model_row
from tokenplan.types import ChatRequest, ChatResponse, Usage

TIER_OF = {
    "b1/small": "budget",
    "b2/small": "budget",
    "m1/medium": "mid",
    "m2/medium": "mid",
    "f1/large": "flagship",
    "f2/large": "flagship",
}
RANK = {"budget": 1, "mid": 2, "flagship": 3}


def _q(p: float) -> dict[str, float]:
    return {"code": p, "reasoning": p, "math": p, "general": p}


def catalog(*, context_window: int = 128_000) -> Catalog:
    """Two models per tier, every capability; one provider per model."""
    rows = [
        model_row("b1/small", tier="budget", input_per_mtok=0.1, output_per_mtok=0.4,
                  quality=_q(0.65), context_window=context_window),
        model_row("b2/small", tier="budget", input_per_mtok=0.15, output_per_mtok=0.6,
                  quality=_q(0.6), context_window=context_window),
        model_row("m1/medium", tier="mid", input_per_mtok=0.5, output_per_mtok=2.0,
                  quality=_q(0.76)),
        model_row("m2/medium", tier="mid", input_per_mtok=0.6, output_per_mtok=2.4,
                  quality=_q(0.74)),
        model_row("f1/large", tier="flagship", input_per_mtok=2.5, output_per_mtok=10.0,
                  quality=_q(0.9)),
        model_row("f2/large", tier="flagship", input_per_mtok=3.0, output_per_mtok=12.0,
                  quality=_q(0.88)),
    ]  # fmt: skip
    return Catalog.from_rows(rows, source="test")


_STEP_RE = re.compile(r'<your_step id="([a-z][a-z0-9-]*)"')
_INPUT_RE = re.compile(r'<input step="([a-z][a-z0-9-]*)"')

#: What the fake does for one call: a text answer, a response, or an exception to raise.
Behaviour = Callable[[str, str, ChatRequest], "str | ChatResponse | BaseException"]


@dataclass
class Call:
    step_id: str
    model: str
    inputs: list[str]
    request: ChatRequest


@dataclass
class FakeLLM:
    """Answers step prompts; ``behaviour(step_id, model_id, request)`` decides each answer
    (default: ``"answer of STEP by MODEL"``). Records every call it received."""

    behaviour: Behaviour | None = None
    checkpoints: int = 0
    calls: list[Call] = field(default_factory=list)
    on_call: Callable[[Call], None] | None = None

    async def complete(self, request: ChatRequest) -> ChatResponse:
        text = request.messages[-1].content
        m = _STEP_RE.search(text)
        step_id = m.group(1) if m else "?"
        call = Call(step_id, request.model, _INPUT_RE.findall(text), request)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        for _ in range(self.checkpoints):
            await anyio.lowlevel.checkpoint()
        reply = (
            self.behaviour(step_id, request.model, request)
            if self.behaviour is not None
            else f"answer of {step_id} by {request.model}"
        )
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ChatResponse):
            return reply
        return response(request, reply)

    async def stream(self, request: ChatRequest) -> Any:  # pragma: no cover - not used
        raise NotImplementedError

    def calls_for(self, step_id: str) -> list[Call]:
        return [c for c in self.calls if c.step_id == step_id]


def response(
    request: ChatRequest,
    text: str,
    *,
    output_tokens: int | None = None,
    finish_reason: str = "stop",
) -> ChatResponse:
    out = output_tokens if output_tokens is not None else max(1, len(text) // 4)
    if request.max_tokens is not None and out > request.max_tokens:
        out, finish_reason = request.max_tokens, "length"
    return ChatResponse(
        model=request.model,
        provider="fake",
        text=text,
        finish_reason=finish_reason,  # type: ignore[arg-type]
        usage=Usage(
            input_tokens=sum(len(m.content) // 4 for m in request.messages), output_tokens=out
        ),
    )


def runtime(
    home: Path,
    fake: Any,
    *,
    cat: Catalog | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Runtime:
    """A simulated runtime whose every model is ``fake``, recording to ``home``'s ledger."""
    base = Settings.load(dict(settings or {}), env={"TOKENPLAN_HOME": str(home)})
    return Runtime(base, catalog=cat or catalog(), simulator=fake, ledger=Ledger(base.ledger_file))


def ledger_lines(home: Path, *, kind: str | None = None) -> list[Attempt]:
    """The ledger lines of ``home`` (of one ``kind`` if given), oldest first."""
    return list(Ledger(home / "ledger.jsonl").read(kind=kind))
