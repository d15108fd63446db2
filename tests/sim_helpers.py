"""Shared pieces of the simulator tests: a small catalog independent of the bundled snapshot."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from tokenplan.catalog.catalog import Catalog


def _row(
    model_id: str, tier: str, price_in: float, price_out: float, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": model_id,
        "provider": model_id.split("/", 1)[0],
        "tier": tier,
        "input_per_mtok": price_in,
        "output_per_mtok": price_out,
        "context_window": 200_000,
        "max_output_tokens": 32_000,
        "quality": {"code": 0.7, "reasoning": 0.7, "math": 0.7, "general": 0.7},
        "aliases": [model_id.split("/", 1)[1]],
    }
    row.update(extra)
    return row


ROWS = [
    _row(
        "acme/small",
        "budget",
        0.10,
        0.40,
        quality={"code": 0.6, "reasoning": 0.6, "math": 0.6, "general": 0.6},
    ),
    _row(
        "acme/small-plus",
        "budget",
        0.20,
        0.80,
        quality={"code": 0.7, "reasoning": 0.7, "math": 0.7, "general": 0.7},
    ),
    _row("acme/medium", "mid", 0.50, 2.00, cached_input_per_mtok=0.05),
    _row(
        "acme/large",
        "flagship",
        3.00,
        15.00,
        quality={"code": 0.9, "reasoning": 0.9, "math": 0.9, "general": 0.9},
    ),
    _row("acme/thinker", "flagship", 2.00, 8.00, reasoning=True, reasoning_output_per_mtok=10.0),
    _row("other/tiny-window", "budget", 0.10, 0.40, context_window=100),
    _row("anthropic/cached", "mid", 1.0, 5.0, cached_input_per_mtok=0.1),
    _row("local/short", "local", 0.0, 0.0, max_output_tokens=300),
]


def make_catalog() -> Catalog:
    return Catalog.from_rows(ROWS, source="tests")


def python_block(text: str) -> str | None:
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    return match.group(1) if match else None


def parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
