"""What ``tokenplan serve`` adds on top of the upstream it proxies, measured in one run.

Three processes: a zero-latency fake OpenAI upstream (``_loadgen.py fake``, raw asyncio, a
prebuilt answer; ``--fake tokenplan`` uses ``python -m tokenplan.testing.fakes`` instead), the
proxy (``python -m tokenplan serve`` on uvicorn + uvloop + httptools, ledger on, pointed at the
fake), and a raw-socket load generator (``_loadgen.py load``, a new process per phase). Each
phase hits the fake directly and then through the proxy, so every figure is a difference or a
ratio within the same run on the same (shared, noisy) machine:

* added p50 latency at concurrency 1 (proxy p50 - direct p50);
* proxy CPU per request: user + system time of the proxy process (``/proc/PID/stat``) over a
  phase, divided by its requests; this includes the proxy's own upstream call;
* requests/s through the proxy at concurrency 32;
* p99 latency through the proxy at concurrency 8;
* added time to first byte of a stream (``stream: true``) at concurrency 1;
* the same added p50 and CPU for ``model: auto`` (classification + routing on top).

Phases run ``--rounds`` times, interleaved; the table shows the median round.

    python benchmarks/bench_proxy.py [--rounds 3] [--requests 2000] [--fake lean|tokenplan] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODEL = "openai/gpt-5-mini"
PROMPT = "Summarize the plot of a short story about a lighthouse keeper in two sentences."
TARGETS = {
    "added_p50_ms": 0.3,
    "cpu_ms_per_request": 0.3,
    "rps_c32": 2000.0,
    "p99_c8_ms": 20.0,
    "added_ttft_ms": 0.5,
}
#: Published figures for the tools we compare with, measured on this class of machine.
REFERENCE = {
    "added_p50_ms": "TokenWise 0.86, LiteLLM 5.6-7",
    "cpu_ms_per_request": "TokenWise 0.95",
    "rps_c32": "TokenWise 485-615",
    "p99_c8_ms": "TokenWise 1200",
    "added_ttft_ms": "",
}


def _body(model: str, *, stream: bool = False) -> str:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 200,
    }
    if stream:
        body["stream"] = True
    return json.dumps(body)


def _start(
    cmd: list[str], env: dict[str, str], *, banner_on_stderr: bool
) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if banner_on_stderr else subprocess.DEVNULL,
        text=True,
    )
    stream = proc.stderr if banner_on_stderr else proc.stdout
    assert stream is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        if "listening on " in line:
            url = line.split("listening on ", 1)[1].split()[0].removesuffix("/v1")
            return proc, url
    proc.kill()
    raise SystemExit(f"{cmd[1:3]} did not start")


def start_fake(kind: str) -> tuple[subprocess.Popen[str], str]:
    if kind == "tokenplan":
        cmd = [
            sys.executable,
            "-m",
            "tokenplan.testing.fakes",
            "--port",
            "0",
            "--log-level",
            "error",
        ]
    else:
        cmd = [sys.executable, str(HERE / "_loadgen.py"), "fake"]
    return _start(cmd, dict(os.environ), banner_on_stderr=False)


def start_proxy(fake_url: str, home: str) -> tuple[subprocess.Popen[str], str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOKENPLAN_")},
        "TOKENPLAN_HOME": home,
        "TOKENPLAN_OPENAI_BASE_URL": fake_url + "/v1",
        "OPENAI_API_KEY": "sk-bench-0000000000000000",
        "NO_COLOR": "1",
    }
    cmd = [sys.executable, "-m", "tokenplan", "serve", "--port", "0", "--log-level", "error"]
    return _start(cmd, env, banner_on_stderr=True)


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def load(url: str, body: str, concurrency: int, requests: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(HERE / "_loadgen.py"),
        "load",
        url,
        "--body",
        body,
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    bad = {s: n for s, n in result["statuses"].items() if s != "200"}
    if bad:
        raise SystemExit(f"non-200 answers from {url}: {bad}")
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_round(fake: str, proxy: str, proxy_pid: int, n: int) -> dict[str, float]:
    upstream = _body(MODEL.split("/", 1)[1])
    out: dict[str, float] = {}
    direct = load(fake, upstream, 1, n)
    user0, sys0 = cpu_split(proxy_pid)
    via = load(proxy, _body(MODEL), 1, n)
    user1, sys1 = cpu_split(proxy_pid)
    out["cpu_ms_per_request_c1"] = (user1 + sys1 - user0 - sys0) / via["requests"] * 1000
    out["sys_share_c1"] = (sys1 - sys0) / max(1e-9, user1 + sys1 - user0 - sys0)
    out["direct_p50_ms"] = pct(direct["latency_ms"], 0.5)
    out["proxy_p50_ms"] = pct(via["latency_ms"], 0.5)
    out["added_p50_ms"] = out["proxy_p50_ms"] - out["direct_p50_ms"]

    direct32 = load(fake, upstream, 32, n * 4)
    cpu0 = cpu_seconds(proxy_pid)
    via32 = load(proxy, _body(MODEL), 32, n * 4)
    out["cpu_ms_per_request"] = (cpu_seconds(proxy_pid) - cpu0) / via32["requests"] * 1000
    out["direct_rps_c32"] = direct32["requests"] / direct32["wall_s"]
    out["rps_c32"] = via32["requests"] / via32["wall_s"]

    via8 = load(proxy, _body(MODEL), 8, n * 2)
    direct8 = load(fake, upstream, 8, n * 2)
    out["p99_c8_ms"] = pct(via8["latency_ms"], 0.99)
    out["direct_p99_c8_ms"] = pct(direct8["latency_ms"], 0.99)

    direct_s = load(fake, _body(MODEL.split("/", 1)[1], stream=True), 1, n // 2)
    via_s = load(proxy, _body(MODEL, stream=True), 1, n // 2)
    out["direct_ttft_ms"] = pct(direct_s["first_byte_ms"], 0.5)
    out["proxy_ttft_ms"] = pct(via_s["first_byte_ms"], 0.5)
    out["added_ttft_ms"] = out["proxy_ttft_ms"] - out["direct_ttft_ms"]

    cpu0 = cpu_seconds(proxy_pid)
    auto = load(proxy, _body("auto"), 1, n // 2)
    out["auto_cpu_ms_per_request"] = (cpu_seconds(proxy_pid) - cpu0) / auto["requests"] * 1000
    out["auto_added_p50_ms"] = pct(auto["latency_ms"], 0.5) - out["direct_p50_ms"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase (c=1)")
    parser.add_argument("--fake", choices=("lean", "tokenplan"), default="lean")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fake_proc, fake_url = start_fake(args.fake)
    with tempfile.TemporaryDirectory() as home:
        try:
            proxy_proc, proxy_url = start_proxy(fake_url, home)
            try:
                rounds = [
                    one_round(fake_url, proxy_url, proxy_proc.pid, args.requests)
                    for _ in range(args.rounds)
                ]
            finally:
                proxy_proc.terminate()
                proxy_proc.wait(timeout=20)
            ledger_lines = len((Path(home) / "ledger.jsonl").read_bytes().splitlines())
        finally:
            fake_proc.terminate()
            fake_proc.wait(timeout=20)
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    if args.json:
        print(
            json.dumps({"median": median, "rounds": rounds, "ledger_lines": ledger_lines}, indent=2)
        )
        return 0
    print(f"tokenplan serve vs the {args.fake} fake upstream; median of {args.rounds} rounds")
    rows = [
        (
            "added p50 latency, c=1 (ms)",
            "added_p50_ms",
            f"direct p50 {median['direct_p50_ms']:.3f}",
        ),
        (
            "proxy CPU per request, c=32 (ms)",
            "cpu_ms_per_request",
            f"c=1: {median['cpu_ms_per_request_c1']:.3f} ({median['sys_share_c1']:.0%} in the kernel)",
        ),
        (
            "requests/s through the proxy, c=32",
            "rps_c32",
            f"direct {median['direct_rps_c32']:.0f}/s",
        ),
        (
            "p99 latency through the proxy, c=8 (ms)",
            "p99_c8_ms",
            f"direct p99 {median['direct_p99_c8_ms']:.3f}",
        ),
        (
            "added stream time to first byte, c=1 (ms)",
            "added_ttft_ms",
            f"direct {median['direct_ttft_ms']:.3f}",
        ),
    ]
    print(f"  {'metric':<44} {'value':>9} {'target':>8}  ok   context; reference")
    for label, key, context in rows:
        value, target = median[key], TARGETS[key]
        ok = value >= target if key == "rps_c32" else value <= target
        ref = REFERENCE[key]
        print(
            f"  {label:<44} {value:9.3f} {target:8g}  {'yes' if ok else 'NO ':<4} {context}{'; ' + ref if ref else ''}"
        )
    print(
        f"  model=auto (classify + route): added p50 {median['auto_added_p50_ms']:.3f} ms, "
        f"CPU {median['auto_cpu_ms_per_request']:.3f} ms/request"
    )
    print(f"  ledger lines written by the proxy: {ledger_lines}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
