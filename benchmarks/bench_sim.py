"""Simulator overhead: CPU per call (complete and stream) at latency scale 0, by answer form.

The executor's and the Pareto benchmark's zero-latency runs push thousands of calls through the
simulator, so its own cost should stay far below a real call's. Prints one line per form::

    python benchmarks/bench_sim.py [--calls 500]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import anyio

from tokenplan.catalog.catalog import Catalog
from tokenplan.providers.sim import SimulatorModel
from tokenplan.types import ChatRequest, JsonSchemaFormat

SCHEMA = JsonSchemaFormat(
    name="invoice",
    schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["customer", "lines", "total"],
        "properties": {
            "customer": {"type": "string"},
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sku", "qty"],
                    "properties": {
                        "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
                        "qty": {"type": "integer", "minimum": 1},
                    },
                },
            },
            "total": {"type": "number", "minimum": 0},
        },
    },
)
MODEL = "openai/gpt-5-mini"
FORMS: dict[str, Callable[[int], ChatRequest]] = {
    "text": lambda i: ChatRequest.from_prompt(f"Explain topic {i} to a colleague.", model=MODEL),
    "code": lambda i: ChatRequest.from_prompt(
        f"Write a Python function for task {i}.", model=MODEL
    ),
    "schema": lambda i: ChatRequest.from_prompt(
        f"Invoice {i}", model=MODEL, response_format=SCHEMA
    ),
    "plan": lambda i: ChatRequest.from_prompt(
        f"<goal>Research option {i}, compare it with the others, then write a report.</goal>"
        "<max_steps>8</max_steps>",
        model=MODEL,
        json_mode=True,
    ),
}


async def measure(calls: int) -> None:
    sim = SimulatorModel(Catalog.bundled(), failure_rates=0.0, error_rates=0.0, latency_scale=0.0)
    print(f"simulator CPU per call, {calls} distinct requests per form (latency scale 0)")
    for form, make in FORMS.items():
        started = time.process_time()
        for i in range(calls):
            await sim.complete(make(i))
        complete_us = (time.process_time() - started) / calls * 1e6
        started = time.process_time()
        for i in range(calls):
            async for _ in sim.stream(make(calls + i)):
                pass
        stream_us = (time.process_time() - started) / calls * 1e6
        print(f"  {form:<7} complete {complete_us:7.0f} us   stream {stream_us:7.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="requests per form (default 500)")
    args = parser.parse_args()
    anyio.run(measure, args.calls)


if __name__ == "__main__":
    main()
