"""A public price table (LiteLLM's ``model_prices_and_context_window.json`` format).

Used where a dataset records no costs (RouteLLM's eval sets) and, optionally, to price a
dataset catalog. Each entry gives USD per token; :class:`Price` holds USD per million tokens,
like the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenplan.errors import ConfigError

__all__ = ["DEFAULT_PROVIDER_PREFERENCE", "Price", "PriceTable"]

#: When a model is listed by several hosts, the first of these that lists it wins (the model's
#: own vendor first, then the large open-model hosts).
DEFAULT_PROVIDER_PREFERENCE: tuple[str, ...] = (
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "deepseek",
    "together_ai",
    "fireworks_ai",
    "deepinfra",
    "anyscale",
    "groq",
    "perplexity",
    "replicate",
    "bedrock",
)


@dataclass(frozen=True, slots=True)
class Price:
    """List price of one model: USD per million input and output tokens, and where from."""

    input_per_mtok: float
    output_per_mtok: float
    source: str
    context_window: int | None = None
    max_output_tokens: int | None = None

    def cost_usd(self, *, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


class PriceTable:
    """Prices by model name, with lookups tolerant of host prefixes and letter case."""

    def __init__(self, entries: Mapping[str, Any], *, source: str = "memory") -> None:
        self.source = source
        self._entries: dict[str, Mapping[str, Any]] = {}
        for key, entry in entries.items():
            if not isinstance(entry, Mapping):
                continue
            if (
                entry.get("input_cost_per_token") is None
                or entry.get("output_cost_per_token") is None
            ):
                continue
            self._entries[key] = entry
        self._lower = {k.lower(): k for k in self._entries}

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        """Read a LiteLLM-format JSON file; :class:`ConfigError` if it is missing or malformed."""
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"price table not found: {path} (pass --prices FILE)") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read price table {path}: {exc}") from None
        if not isinstance(doc, Mapping):
            raise ConfigError(f"price table {path} is not a JSON object of models")
        return cls(doc, source=str(path.name))

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(
        self, name: str, *, prefer: Sequence[str] = DEFAULT_PROVIDER_PREFERENCE
    ) -> Price | None:
        """The price of ``name``: an exact key, else a key ending in ``/name`` (any case).

        Among several hosts, the first provider in ``prefer`` wins, then the alphabetically
        first key, so the answer is deterministic.
        """
        key = name if name in self._entries else self._lower.get(name.lower())
        if key is None:
            suffix = "/" + name.lower()
            candidates = [k for k in self._entries if k.lower().endswith(suffix)]
            if not candidates:
                return None
            rank = {p: i for i, p in enumerate(prefer)}

            def order(k: str) -> tuple[int, str]:
                provider = str(self._entries[k].get("litellm_provider", ""))
                return (rank.get(provider, len(rank)), k)

            key = min(candidates, key=order)
        entry = self._entries[key]
        return Price(
            input_per_mtok=float(entry["input_cost_per_token"]) * 1e6,
            output_per_mtok=float(entry["output_cost_per_token"]) * 1e6,
            source=f"{self.source}:{key}",
            context_window=_opt_int(entry.get("max_input_tokens")),
            max_output_tokens=_opt_int(entry.get("max_output_tokens")),
        )

    def require(self, name: str) -> Price:
        """:meth:`lookup`, or :class:`ConfigError` naming the model."""
        price = self.lookup(name)
        if price is None:
            raise ConfigError(
                f"no price for {name!r} in the price table {self.source}; "
                "add it to the table or pass another --prices file"
            )
        return price


def _opt_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
