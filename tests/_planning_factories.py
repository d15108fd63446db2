"""Small builders for planning tests: step dicts, plans, models and catalogs made in-test."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tokenplan.catalog import Catalog, Model
from tokenplan.planning.schema import Plan
from tokenplan.planning.validate import parse_plan


def step(
    sid: str,
    deps: Sequence[str] = (),
    *,
    capability: str = "general",
    tin: int = 1000,
    tout: int = 500,
    acceptance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": sid,
        "title": f"Title of {sid}",
        "instructions": f"Do the work of {sid}.",
        "capability": capability,
        "depends_on": list(deps),
        "est_input_tokens": tin,
        "est_output_tokens": tout,
        "acceptance": acceptance,
    }
    d.update(extra)
    return d


def answer(*steps: Mapping[str, Any]) -> str:
    """A planner answer (JSON text) with these steps."""
    return json.dumps({"steps": list(steps)})


def make_plan(*steps: Mapping[str, Any], goal: str = "the goal") -> Plan:
    return parse_plan({"steps": list(steps)}, goal=goal)


GOOD_ANSWER = answer(
    step("outline", capability="reasoning"),
    step("code", ["outline"], capability="code", acceptance="python"),
    step("write", ["outline", "code"]),
)


def model(
    mid: str,
    *,
    tier: str = "budget",
    inp: float = 1.0,
    out: float = 2.0,
    quality: Mapping[str, float] | None = None,
    ctx: int = 200_000,
    max_out: int = 32_000,
    json_schema: bool = True,
    reasoning: bool = False,
) -> Model:
    provider = mid.split("/", 1)[0]
    return Model(
        id=mid,
        provider=provider,
        api_name=mid.split("/", 1)[-1],
        tier=tier,  # type: ignore[arg-type]
        input_per_mtok=inp,
        output_per_mtok=out,
        context_window=ctx,
        max_output_tokens=max_out,
        quality=dict(
            quality
            if quality is not None
            else {"code": 0.7, "reasoning": 0.7, "math": 0.7, "general": 0.7}
        ),
        json_schema=json_schema,
        reasoning=reasoning,
    )


def catalog(*models: Model) -> Catalog:
    return Catalog(models, sources=("test",))


def ladder() -> Catalog:
    """Three tiers, every capability, no reasoning surcharge: easy numbers to reason about."""
    return catalog(
        model("cheap/small", tier="budget", inp=0.1, out=0.4, quality=_q(0.6)),
        model("mid/medium", tier="mid", inp=0.5, out=2.0, quality=_q(0.75)),
        model("top/large", tier="flagship", inp=2.5, out=10.0, quality=_q(0.9)),
    )


def _q(p: float) -> dict[str, float]:
    return {"code": p, "reasoning": p, "math": p, "general": p}
