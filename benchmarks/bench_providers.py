"""Client-side cost of one model call through tokenplan's provider stack, per HTTP transport.

Starts the loopback fake (``python -m tokenplan.testing.fakes``) in a separate process with
zero added latency, then measures in this process, for tokenplan's own HTTP/1.1 transport
(``tokenplan.providers.h1.H1Transport``, the default), httpx's own transport and the
aiohttp-based one (``tokenplan.providers.transport.AiohttpTransport``):

* CPU per call (``time.process_time`` of this process) layer by layer: the floor (a bare
  ``aiohttp`` session; for h1 its direct entry with a prebuilt request), the transport under
  httpx's request objects, ``httpx.AsyncClient.send``, the provider (``HTTPChatModel.complete``
  and ``.stream``; on h1 it calls the transport directly), the provider under metering, and the
  full stack the runtime hands out (``FallbackModel`` -> ``MeteredModel`` -> ``HTTPChatModel``);
* throughput (calls/s, wall clock) and CPU per call of the full stack at concurrency 1, 8, 32.

Layers are measured in interleaved rounds and the best round is reported: the machine is
shared and noisy, so compare figures within one run.

    python benchmarks/bench_providers.py [--calls 1000] [--rounds 3] [--uvloop] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anyio
import httpx

from tokenplan.catalog import Catalog
from tokenplan.providers.endpoints import find_endpoint, resolve_endpoint
from tokenplan.providers.h1 import H1Transport, Origin
from tokenplan.providers.http import HTTPChatModel
from tokenplan.providers.metered import MeteredModel
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
BODY = b'{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}'
Call = Callable[[], Awaitable[Any]]


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
    if name == "h1":
        return H1Transport()
    if name == "aiohttp":
        return AiohttpTransport()
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)
    )


async def cpu_per_call(call: Call, calls: int, concurrency: int = 1) -> dict[str, float]:
    per_worker = max(1, calls // concurrency)

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


async def bench_transport(
    name: str, root: str, calls: int, rounds: int, home: str
) -> dict[str, Any]:
    catalog = Catalog.bundled()
    model = catalog.get(MODEL)
    env = {
        "TOKENPLAN_OPENAI_BASE_URL": root + "/v1",
        "OPENAI_API_KEY": "sk-bench-000000000000",
        "TOKENPLAN_HOME": home,
    }
    endpoint = find_endpoint("openai")
    assert endpoint is not None
    resolved = resolve_endpoint(endpoint, env=env)
    url = httpx.URL(root + "/v1/chat/completions")
    layers: dict[str, Call] = {}
    client_transport = make_transport(name)
    # On h1 the provider calls the client's transport directly, as the runtime arranges.
    provider_direct = client_transport if isinstance(client_transport, H1Transport) else None
    async with (
        httpx.AsyncClient(transport=client_transport) as client,
        Runtime(Settings.load(env=env), catalog=catalog, transport=make_transport(name)) as rt,
    ):
        if name == "aiohttp":
            import aiohttp

            session = aiohttp.ClientSession()

            async def floor() -> None:
                async with session.post(str(url), data=BODY) as resp:
                    await resp.read()

            layers["aiohttp session (floor)"] = floor

        direct_transport = make_transport(name)
        if isinstance(direct_transport, H1Transport):
            h1 = direct_transport
            origin = Origin.of(url)
            raw = (
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: %s\r\n"
                b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (origin.host_header.encode(), len(BODY), BODY)
            )

            async def h1_floor() -> None:
                await h1.request(origin, raw, timeout_s=30.0)

            layers["h1 direct request (floor)"] = h1_floor

        async def direct() -> None:
            r = await direct_transport.handle_async_request(
                httpx.Request("POST", url, content=BODY)
            )
            try:
                await r.aread()
            finally:
                await r.aclose()

        async def send() -> None:
            r = await client.send(httpx.Request("POST", url, content=BODY))
            await r.aread()

        provider = HTTPChatModel(model, resolved, client=client, direct=provider_direct)
        metered = MeteredModel(provider, model, provider="openai")
        stack = rt.fallback_model([MODEL])

        async def stream() -> None:
            async for _ in provider.stream(REQUEST):
                pass

        layers["transport, no client"] = direct
        layers["httpx client.send"] = send
        layers["provider complete"] = lambda: provider.complete(REQUEST)
        layers["provider stream"] = stream
        layers["metered complete"] = lambda: metered.complete(REQUEST)
        layers["full stack complete"] = lambda: stack.complete(REQUEST)

        samples: dict[str, list[float]] = {k: [] for k in layers}
        for call in layers.values():  # warm up connections and caches
            for _ in range(50):
                await call()
        for _ in range(rounds):
            for label, call in layers.items():
                samples[label].append((await cpu_per_call(call, calls))["cpu_us"])
        out: dict[str, Any] = {
            "transport": name,
            "cpu_us": {k: min(v) for k, v in samples.items()},
            "cpu_us_median": {k: statistics.median(v) for k, v in samples.items()},
        }
        out["concurrency"] = {
            str(c): await cpu_per_call(layers["full stack complete"], calls * 2, c)
            for c in (1, 8, 32)
        }
        if name == "aiohttp":
            await session.close()
        await direct_transport.aclose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per layer and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transports", default="h1,aiohttp,httpx")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--uvloop", action="store_true", help="run the client on uvloop")
    args = parser.parse_args()
    options = {"use_uvloop": True} if args.uvloop else {}
    proc, root = start_fake()
    try:
        with TemporaryDirectory() as home:
            results = [
                anyio.run(
                    bench_transport,
                    name,
                    root,
                    args.calls,
                    args.rounds,
                    home,
                    backend_options=options,
                )
                for name in args.transports.split(",")
            ]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"CPU per call, best of {args.rounds} rounds of {args.calls} calls (µs; median in brackets)"
    )
    for r in results:
        for label, us in r["cpu_us"].items():
            print(f"  {r['transport']:<8} {label:<26} {us:8.1f}  [{r['cpu_us_median'][label]:.1f}]")
    print("Full stack under concurrency: calls/s (wall) and CPU µs per call")
    for r in results:
        for conc, m in r["concurrency"].items():
            print(
                f"  {r['transport']:<8} concurrency {conc:>2}  {m['calls_per_s']:8.0f}/s  {m['cpu_us']:8.1f} µs"
            )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    raise SystemExit(main())
