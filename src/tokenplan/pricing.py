"""Cost math: USD from token counts and catalog prices. Pure functions, no I/O.

Token counts follow the normalization of :class:`tokenplan.types.Usage`: ``input_tokens``
includes cached reads and cache writes, ``output_tokens`` includes reasoning tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model

__all__ = ["UsageLike", "cost_usd", "usage_cost"]

_MTOK = 1_000_000.0


class UsageLike(Protocol):
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cached_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...


def cost_usd(
    model: Model,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> float:
    """USD for one call's normalized usage.

    Cached reads are billed at the cached-input price and cache writes at the cache-write price
    (both default to the input price); reasoning tokens at the reasoning-output price (default:
    the output price). A prompt past the model's long-context length is billed at those rates
    (:meth:`~tokenplan.catalog.model.Model.priced_for`). Counts that exceed their totals are
    clamped, so a provider reporting inconsistent numbers is never billed negative.
    """
    model = model.priced_for(input_tokens)
    cached = min(max(cached_tokens, 0), max(input_tokens, 0))
    writes = min(max(cache_write_tokens, 0), max(input_tokens - cached, 0))
    plain_in = max(input_tokens - cached - writes, 0)
    reasoning = min(max(reasoning_tokens, 0), max(output_tokens, 0))
    plain_out = max(output_tokens - reasoning, 0)
    in_price = model.input_per_mtok
    cached_price = in_price if model.cached_input_per_mtok is None else model.cached_input_per_mtok
    write_price = in_price if model.cache_write_per_mtok is None else model.cache_write_per_mtok
    out_price = model.output_per_mtok
    r_price = (
        out_price if model.reasoning_output_per_mtok is None else model.reasoning_output_per_mtok
    )
    return (
        plain_in * in_price
        + cached * cached_price
        + writes * write_price
        + plain_out * out_price
        + reasoning * r_price
    ) / _MTOK


def usage_cost(model: Model, usage: UsageLike) -> float:
    """:func:`cost_usd` for a :class:`~tokenplan.types.Usage` (or anything shaped like it)."""
    return cost_usd(
        model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )
