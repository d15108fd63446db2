"""Retries, failover and streaming against local fake providers, no keys needed.

Starts the loopback fake of the OpenAI, Anthropic and Gemini APIs, makes OpenAI rate-limit once
and Anthropic's model vanish (404), then sends a prompt down a three-model ladder and streams
the answer. Every call is metered; the ledger lines are printed at the end.

    python examples/03_provider_fallback.py
"""

from __future__ import annotations

import sys
import tempfile

from tokenplan import ChatRequest, Runtime, Settings, run_sync
from tokenplan.ledger.attempt import Attempt
from tokenplan.send import send, summary_line
from tokenplan.testing import FakeProviders, Fault, serve_fake

LADDER = ["anthropic/claude-haiku-4-5", "openai/gpt-5-mini", "gemini/gemini-2.5-flash"]


async def main() -> None:
    fake = FakeProviders(cached_tokens=8)
    fake.add_fault(Fault(status=404), model="claude-haiku-4-5")
    fake.add_fault(Fault(status=429, headers={"retry-after": "0.2"}), model="gpt-5-mini")
    attempts: list[Attempt] = []
    with serve_fake(fake) as server, tempfile.TemporaryDirectory() as home:
        settings = Settings.load(env={**server.env(), "TOKENPLAN_HOME": home})
        async with Runtime(settings, attempt_sink=attempts.append) as runtime:
            result = await send(
                runtime,
                LADDER,
                ChatRequest.from_prompt("Name a lighthouse in Brittany.", max_tokens=100),
                stream=True,
                on_delta=lambda text: print(text, end="", flush=True),
                budget_usd=0.01,
            )
    print()
    print(summary_line(result), file=sys.stderr)
    for a in attempts:
        print(f"  {a.attempt}. {a.model:<28} {a.outcome:<6} ${a.cost_usd:.6f}  {a.error or ''}")


if __name__ == "__main__":
    run_sync(main)
