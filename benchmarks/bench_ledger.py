"""Ledger benchmark: append throughput, and ``tokenplan ledger --summary`` time and memory.

Prints figures (and writes them as JSON with ``--json``):

* appends/s from one process (``Ledger.append`` one at a time, and ``append_many``), and from
  several processes appending to the same file at once;
* wall time and peak RSS of ``tokenplan ledger --summary`` (run as a subprocess, like a user
  runs it) over generated ledgers of 100,000 and 1,000,000 lines: memory should be flat;
* the same for ``--by model``, ``--by day`` and the recent-attempts table;
* in-process ``summarize`` with 1 and 2 worker processes (how much the fan-out helps here).

Targets (issue 3): >= 50,000 appends/s from one process; summary of 1,000,000 lines <= 2 s wall
with flat memory. The machine is shared: figures are noisy, so each CLI run is repeated and the
best and median wall times are shown, with the CPU time of all its processes (load moves it less).

    python benchmarks/bench_ledger.py                 # full run (~1 minute, ~450 MB of temp files)
    python benchmarks/bench_ledger.py --lines 200000  # quicker
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tokenplan.catalog import Catalog
from tokenplan.ledger import Attempt, Ledger, summarize

MODELS: list[Any] = [*Catalog.bundled(), None]  # None: a local model not in the catalog
KINDS = ["step"] * 6 + ["plan", "route", "route", "proxy", "bench"]
OUTCOMES = ["ok"] * 17 + ["error", "invalid", "cancelled"]
CAPABILITIES = ["code", "reasoning", "math", "general"]
ERRORS = {
    "error": "RateLimitError: 429 Too Many Requests",
    "invalid": "AcceptanceError: output is not valid JSON",
    "cancelled": "Cancelled: run interrupted",
}


def make_attempts(n: int, *, seed: int = 7, start_ts: float | None = None) -> list[Attempt]:
    """``n`` realistic attempts over the last 30 days (runs of ~8 calls, escalations, failures)."""
    rng = random.Random(seed)
    t0 = (start_ts or time.time()) - 30 * 86400
    out = []
    for i in range(n):
        m = rng.choice(MODELS)
        model, provider, tier = (
            ("local/llama-3.1-8b", "local", "local") if m is None else (m.id, m.provider, m.tier)
        )
        outcome = rng.choice(OUTCOMES)
        inp = rng.randint(200, 12_000)
        outp = rng.randint(50, 3_000)
        out.append(
            Attempt(
                run_id=f"20250101-000000-{i // 8:06x}",
                kind=rng.choice(KINDS),  # type: ignore[arg-type]
                model=model,
                provider=provider,
                outcome=outcome,  # type: ignore[arg-type]
                ts=t0 + i * (30 * 86400 / max(n, 1)) + rng.random(),
                step_id=f"step-{i % 5}",
                attempt=1 + (i % 3 == 2),
                tier=tier,
                input_tokens=inp,
                output_tokens=outp,
                cached_tokens=rng.randint(0, inp // 4),
                reasoning_tokens=rng.randint(0, outp // 3) if rng.random() < 0.3 else 0,
                cost_usd=0.0
                if m is None
                else (inp * m.input_per_mtok + outp * m.output_per_mtok) / 1e6,
                est_cost_usd=rng.random() / 100,
                latency_ms=rng.uniform(150, 9000),
                error=ERRORS.get(outcome),
                escalated_from="openai/gpt-5-nano" if i % 3 == 2 else None,
                capability=rng.choice(CAPABILITIES),
            )
        )
    return out


def bench_append(folder: Path, n: int) -> dict[str, float]:
    attempts = make_attempts(n, seed=1)
    path = folder / "append-one.jsonl"
    ledger = Ledger(path)
    ledger.append(attempts[0])  # open the file outside the timing
    t = time.perf_counter()
    for a in attempts:
        ledger.append(a)
    one = n / (time.perf_counter() - t)
    ledger.close()
    path2 = folder / "append-many.jsonl"
    t = time.perf_counter()
    with Ledger(path2) as many:
        many.append_many(attempts)
    batch = n / (time.perf_counter() - t)
    for p in (path, path2):
        p.unlink()
    return {"append_per_s": one, "append_many_per_s": batch}


_CHILD_APPEND = "--child-append"


def child_append(path: str, n: int, go: str) -> None:
    attempts = make_attempts(n, seed=os.getpid())
    ledger = Ledger(path)
    while not os.path.exists(go):
        time.sleep(0.0005)
    t = time.perf_counter()
    for a in attempts:
        ledger.append(a)
    print(f"{n / (time.perf_counter() - t):.0f}")


def bench_processes(folder: Path, procs: int, n: int) -> dict[str, float]:
    path, go = folder / "append-procs.jsonl", folder / "go"
    children = [
        subprocess.Popen(
            [sys.executable, __file__, _CHILD_APPEND, str(path), str(n), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    time.sleep(1.0 + 0.3 * procs)  # let every child import and build its attempts
    t = time.perf_counter()
    go.touch()
    rates = [float(c.communicate()[0]) for c in children]
    wall = time.perf_counter() - t
    lines = path.read_bytes().count(b"\n")
    assert lines == procs * n, f"expected {procs * n} lines, found {lines}"
    path.unlink()
    go.unlink()
    return {
        "processes": procs,
        "total_per_s": procs * n / wall,
        "per_process_per_s_min": min(rates),
    }


def generate(path: Path, n: int) -> float:
    t = time.perf_counter()
    chunk = 100_000
    with Ledger(path) as ledger:
        for start in range(0, n, chunk):
            ledger.append_many(make_attempts(min(chunk, n - start), seed=start))
    return time.perf_counter() - t


_CHILD_MEASURE = "--child-measure"


def child_measure(cmd: list[str]) -> None:
    """Run ``cmd``; print its wall time, peak RSS and CPU time (its workers included).

    Runs in its own process so that ``RUSAGE_CHILDREN`` covers ``cmd`` (and the workers it
    forks) and nothing else.
    """
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode())
        raise SystemExit(proc.returncode)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is in KiB on Linux: the largest of the CLI and its workers, not their sum.
    print(f"{wall} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")


def measure_cli(ledger: Path, args: list[str], repeat: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "tokenplan", "ledger", *args]
    env = {**os.environ, "TOKENPLAN_LEDGER": str(ledger)}
    walls, rss, cpus = [], [], []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, _CHILD_MEASURE, *cmd],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        walls.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
        cpus.append(float(out[2]))
    return {
        "wall_s_best": min(walls),
        "wall_s_median": statistics.median(walls),
        "cpu_s_best": min(cpus),
        "rss_mb": max(rss),
    }


def bench_summarize_inprocess(ledger: Path) -> dict[str, float]:
    cat = Catalog.bundled()
    out = {}
    for workers in (1, 2):
        t, c = time.perf_counter(), time.process_time()
        s = summarize(Ledger(ledger).read(), catalog=cat, workers=workers)
        out[f"workers_{workers}_wall_s"] = time.perf_counter() - t
        out[f"workers_{workers}_parent_cpu_s"] = time.process_time() - c
        assert s.totals.attempts > 0
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--lines", type=int, default=1_000_000, help="lines in the big ledger")
    p.add_argument("--small", type=int, default=100_000, help="lines in the small ledger")
    p.add_argument("--appends", type=int, default=200_000, help="appends timed in one process")
    p.add_argument("--procs", type=int, default=4, help="processes appending at once")
    p.add_argument("--per-proc", type=int, default=50_000, help="appends per process")
    p.add_argument("--repeat", type=int, default=3, help="runs of each CLI measurement")
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        figures: dict[str, Any] = {"cores": os.cpu_count()}
        figures["append"] = bench_append(folder, args.appends)
        print(
            f"append, 1 process:        {figures['append']['append_per_s']:>12,.0f} attempts/s"
            f"   (append_many: {figures['append']['append_many_per_s']:,.0f}/s)"
        )
        figures["append_procs"] = bench_processes(folder, args.procs, args.per_proc)
        fp = figures["append_procs"]
        print(
            f"append, {args.procs} processes:      {fp['total_per_s']:>12,.0f} attempts/s in all"
            f"   (slowest process {fp['per_process_per_s_min']:,.0f}/s)"
        )
        for label, n in (("small", args.small), ("big", args.lines)):
            path = folder / f"ledger-{n}.jsonl"
            gen_s = generate(path, n)
            size_mb = path.stat().st_size / 1e6
            print(f"\nledger of {n:,} lines ({size_mb:,.0f} MB, generated in {gen_s:.1f} s)")
            rows: dict[str, Any] = {"lines": n, "mb": size_mb}
            for name, cli_args in (
                ("summary", ["--summary", "--json"]),
                ("by_model", ["--by", "model", "--json"]),
                ("by_day", ["--by", "day", "--json"]),
                ("recent_table", ["--limit", "20"]),
            ):
                r = measure_cli(path, cli_args, args.repeat)
                rows[name] = r
                print(
                    f"  ledger {' '.join(cli_args):<22} wall {r['wall_s_best']:5.2f} s best, "
                    f"{r['wall_s_median']:5.2f} s median; CPU {r['cpu_s_best']:5.2f} s; "
                    f"peak RSS {r['rss_mb']:5.1f} MB"
                )
            if label == "big":
                rows["inprocess"] = ip = bench_summarize_inprocess(path)
                print(
                    f"  summarize() in-process: 1 worker {ip['workers_1_wall_s']:.2f} s, "
                    f"2 workers {ip['workers_2_wall_s']:.2f} s wall"
                )
            figures[label] = rows
            path.unlink()
        if args.json:
            import orjson

            args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == _CHILD_APPEND:
        child_append(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == _CHILD_MEASURE:
        child_measure(sys.argv[2:])
    else:
        main()
