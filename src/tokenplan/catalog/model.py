"""The catalog row: one chat model with its prices, limits, tier, capabilities and flags.

Kept as a slotted frozen dataclass (not pydantic) because the catalog is loaded on every
command's path and routing reads it in tight loops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Capability = Literal["code", "reasoning", "math", "general"]
Tier = Literal["budget", "mid", "flagship", "local"]

#: Every capability a step or prompt can be tagged with.
CAPABILITIES: tuple[Capability, ...] = ("code", "reasoning", "math", "general")
#: Paid tiers in escalation order (never downward). ``local`` models sit outside the ladder.
TIER_ORDER: tuple[Tier, ...] = ("budget", "mid", "flagship")
TIERS: tuple[Tier, ...] = ("budget", "mid", "flagship", "local")

_MTOK = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Model:
    """A chat model in the catalog.

    Prices are USD per million tokens. ``cached_input_per_mtok``, ``cache_write_per_mtok`` and
    ``reasoning_output_per_mtok`` are ``None`` when they equal the plain input / output price.
    ``quality`` holds a prior in [0, 1] per capability the model has; a capability missing from
    it is one the model is not offered for.
    """

    id: str
    provider: str
    api_name: str
    tier: Tier
    input_per_mtok: float
    output_per_mtok: float
    context_window: int
    max_output_tokens: int
    quality: Mapping[str, float]
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    reasoning_output_per_mtok: float | None = None
    json_schema: bool = False
    tools: bool = False
    streaming: bool = True
    reasoning: bool = False
    aliases: tuple[str, ...] = ()
    display_name: str = ""
    source: str = "bundled"
    notes: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Capabilities this model is offered for, in :data:`CAPABILITIES` order."""
        return tuple(c for c in CAPABILITIES if c in self.quality)

    @property
    def is_local(self) -> bool:
        return self.tier == "local"

    def can(self, capability: str) -> bool:
        return capability in self.quality

    def prior(self, capability: str) -> float:
        """Quality prior for ``capability`` (0.0 when the model lacks it)."""
        return self.quality.get(capability, 0.0)

    def priced_for(self, input_tokens: int) -> Model:
        """This model with the prices a call of ``input_tokens`` prompt tokens is billed at.

        Some providers bill the whole call at higher rates once the prompt passes a length
        (``extra["long_context"]``: ``above_input_tokens`` and the prices that then apply);
        below it, or without such a tier, the model itself is returned.
        """
        tier = self.extra.get("long_context") if self.extra else None
        if not tier or input_tokens <= int(tier.get("above_input_tokens", 0)):
            return self
        scale = float(tier.get("output_per_mtok", self.output_per_mtok)) / (
            self.output_per_mtok or 1.0
        )
        return replace(
            self,
            input_per_mtok=float(tier.get("input_per_mtok", self.input_per_mtok)),
            output_per_mtok=float(tier.get("output_per_mtok", self.output_per_mtok)),
            cached_input_per_mtok=_opt_float(
                tier.get("cached_input_per_mtok", self.cached_input_per_mtok)
            ),
            cache_write_per_mtok=_opt_float(
                tier.get("cache_write_per_mtok", self.cache_write_per_mtok)
            ),
            reasoning_output_per_mtok=None
            if self.reasoning_output_per_mtok is None
            else self.reasoning_output_per_mtok * scale,
            extra={k: v for k, v in self.extra.items() if k != "long_context"},
        )

    def worst_case_cost(self, input_tokens: int, max_output_tokens: int) -> float:
        """Upper bound in USD for ``input_tokens`` of input and ``max_output_tokens`` of output.

        Every token is priced at the dearest rate it could be billed at: the long-context rates
        when the prompt passes that length, input at the higher of the input and cache-write
        prices, output at the higher of the output and reasoning prices, so no mix of reported
        usage can cost more.
        """
        in_price, out_price = self.dearest_rates(input_tokens)
        return (input_tokens * in_price + max_output_tokens * out_price) / _MTOK

    def dearest_rates(self, input_tokens: int) -> tuple[float, float]:
        """USD per million (input, output) tokens at the dearest rates a call of
        ``input_tokens`` prompt tokens can be billed: long-context rates past that length,
        input at the higher of the input and cache-write prices, output at the higher of the
        output and reasoning prices. :meth:`worst_case_cost` and budget fitting share them."""
        m = self.priced_for(input_tokens)
        return (
            max(m.input_per_mtok, m.cache_write_per_mtok or 0.0),
            max(m.output_per_mtok, m.reasoning_output_per_mtok or 0.0),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the catalog file's row format)."""
        d: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "api_name": self.api_name,
            "tier": self.tier,
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "cached_input_per_mtok": self.cached_input_per_mtok,
            "cache_write_per_mtok": self.cache_write_per_mtok,
            "reasoning_output_per_mtok": self.reasoning_output_per_mtok,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "quality": dict(self.quality),
            "capabilities": list(self.capabilities),
            "json_schema": self.json_schema,
            "tools": self.tools,
            "streaming": self.streaming,
            "reasoning": self.reasoning,
            "aliases": list(self.aliases),
            "display_name": self.display_name,
            "source": self.source,
            "notes": self.notes,
        }
        if self.extra:
            d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Model:
        """Build from the catalog file's row format (unknown keys are ignored)."""
        return cls(
            id=d["id"],
            provider=d["provider"],
            api_name=d.get("api_name") or d["id"].split("/", 1)[-1],
            tier=d["tier"],
            input_per_mtok=float(d["input_per_mtok"]),
            output_per_mtok=float(d["output_per_mtok"]),
            cached_input_per_mtok=_opt_float(d.get("cached_input_per_mtok")),
            cache_write_per_mtok=_opt_float(d.get("cache_write_per_mtok")),
            reasoning_output_per_mtok=_opt_float(d.get("reasoning_output_per_mtok")),
            context_window=int(d["context_window"]),
            max_output_tokens=int(d["max_output_tokens"]),
            quality={str(k): float(v) for k, v in d["quality"].items()},
            json_schema=bool(d.get("json_schema", False)),
            tools=bool(d.get("tools", False)),
            streaming=bool(d.get("streaming", True)),
            reasoning=bool(d.get("reasoning", False)),
            aliases=tuple(d.get("aliases", ())),
            display_name=d.get("display_name", ""),
            source=d.get("source", "bundled"),
            notes=d.get("notes", ""),
            extra=dict(d.get("extra", {})),
        )


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
