"""Client-side cost of one model call through tokenplan's provider stack, per HTTP transport.

Starts the loopback fake (``python -m tokenplan.testing.fakes``) in a separate process with
zero added latency, then, in this process, for httpx's own transport and the aiohttp-based one:

* CPU per call (``time.process_time``, this process only) for a raw ``client.post``, for the
  provider (``HTTPChatModel.complete`` / ``.stream``) and for the full stack (runtime ->
  FallbackModel -> MeteredModel -> HTTPChatModel);
* throughput (calls/s) and CPU per call at concurrency 1, 8 and 32.

The machine is shared and noisy: compare the figures within one run.

    python benchmarks/bench_providers.py [--calls 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from tokenplan.catalog import Catalog
from tokenplan.providers.endpoints import find_endpoint, resolve_endpoint
from tokenplan.providers.http import HTTPChatModel
from tokenplan.providers.transport import AiohttpTransport
from tokenplan.runtime import Runtime
from tokenplan.settings import Settings
from tokenplan.types import ChatRequest

MODEL = "openai/gpt-5-mini"
REQUEST = ChatRequest.from_prompt(
    "Summarize the plot of a short story about a lighthouse keeper in two sentences.",
    model=MODEL,
    max_tokens=200,
)


def start_fake() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenplan.testing.fakes", "--port", "0", "--log-level", "error"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def make_transport(name: str) -> httpx.AsyncBaseTransport:
    if name == "aiohttp":
        return AiohttpTransport()
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)
    )


async def measure(
    call: Callable[[], Awaitable[Any]], *, calls: int, concurrency: int
) -> dict[str, float]:
    for _ in range(min(100, calls)):  # warm up connections and caches
        await call()
    per_worker = calls // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    done = per_worker * concurrency
    return {"cpu_us": cpu / done * 1e6, "calls_per_s": done / wall}


async def bench_transport(name: str, root: str, calls: int) -> dict[str, Any]:
    catalog = Catalog.bundled()
    model = catalog.get(MODEL)
    env = {"TOKENPLAN_OPENAI_BASE_URL": root + "/v1", "OPENAI_API_KEY": "sk-bench-000000000000"}
    resolved = resolve_endpoint(find_endpoint("openai"), env=env)  # type: ignore[arg-type]
    out: dict[str, Any] = {"transport": name}
    async with httpx.AsyncClient(transport=make_transport(name)) as client:
        provider = HTTPChatModel(model, resolved, client=client)
        body = b'{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}'

        async def raw() -> None:
            r = await client.post(root + "/v1/chat/completions", content=body)
            r.read()

        async def complete() -> None:
            await provider.complete(REQUEST)

        async def stream() -> None:
            async for _ in provider.stream(REQUEST):
                pass

        out["raw_post"] = await measure(raw, calls=calls, concurrency=1)
        out["complete"] = await measure(complete, calls=calls, concurrency=1)
        out["stream"] = await measure(stream, calls=calls // 2, concurrency=1)

    settings = Settings.load(
        env={**env, "TOKENPLAN_HOME": os.environ.get("TOKENPLAN_HOME", "/nonexistent")}
    )
    async with Runtime(settings, catalog=catalog, transport=make_transport(name)) as rt:
        stack = rt.fallback_model([MODEL])

        async def full() -> None:
            await stack.complete(REQUEST)

        out["full_stack"] = await measure(full, calls=calls, concurrency=1)
        for conc in (1, 8, 32):
            out[f"conc{conc}"] = await measure(full, calls=calls, concurrency=conc)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--transports", default="httpx,aiohttp")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    proc, root = start_fake()
    try:
        results = [
            anyio.run(bench_transport, name, root, args.calls)
            for name in args.transports.split(",")
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'transport':<9} {'metric':<12} {'cpu µs/call':>12} {'calls/s':>9}")
    for r in results:
        for key in ("raw_post", "complete", "stream", "full_stack", "conc1", "conc8", "conc32"):
            m = r[key]
            print(f"{r['transport']:<9} {key:<12} {m['cpu_us']:>12.1f} {m['calls_per_s']:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
