"""Start-up time of the CLI: median wall and CPU time of fresh subprocesses.

    python benchmarks/bench_startup.py [--runs 21] [--no-bytecode]

Measures ``python -c pass`` (the floor), ``python -c "import typer"`` (what any typer CLI pays),
``tokenplan --help`` and ``tokenplan route "..." --json``, each as ``python -m tokenplan`` in a
fresh process with an isolated TOKENPLAN_HOME. Runs are interleaved so machine noise hits every
command alike; the report gives median, min and max wall time per command in milliseconds, and
the median CPU time (user + system, from ``wait4``), which a busy machine disturbs much less
than wall time. The last column is the median over typer's import: what tokenplan adds.

Bytecode: an installed package has its ``.pyc`` files; an editable checkout run with
``PYTHONDONTWRITEBYTECODE=1`` (this machine sets it) recompiles every module on every start. By
default the runs use a private ``PYTHONPYCACHEPREFIX`` (so nothing is written into the checkout)
and measure the installed case; ``--no-bytecode`` measures the recompiling case instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = "Write a Python function that checks whether a string is a palindrome."
TYPER = "python -c 'import typer'"


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one run of ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1e3
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} exited with {proc.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=21, help="runs per command (at least 21)")
    ap.add_argument("--no-bytecode", action="store_true", help="recompile every module every run")
    args = ap.parse_args()
    if args.runs < 21:
        ap.error("--runs: a median needs at least 21 runs on a shared machine")

    py = sys.executable
    commands = {
        "python -c pass (floor)": [py, "-c", "pass"],
        TYPER: [py, "-c", "import typer"],
        "tokenplan --help": [py, "-m", "tokenplan", "--help"],
        'tokenplan route "..." --json': [py, "-m", "tokenplan", "route", PROMPT, "--json"],
    }
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TOKENPLAN_HOME": home, "NO_COLOR": "1"}
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(home, "pycache")
        for cmd in commands.values():  # warm the OS file cache and the bytecode cache
            run_once(cmd, env)
        for _ in range(args.runs):
            for name, cmd in commands.items():
                w, c = run_once(cmd, env)
                wall[name].append(w)
                cpu[name].append(c)
    mode = "recompiling every run" if args.no_bytecode else "bytecode cached"
    print(f"{args.runs} runs each, {mode}; milliseconds")
    print(f"{'command':32s}{'median':>9s}{'min':>8s}{'max':>8s}{'cpu med':>9s}{'-typer':>8s}")
    base = statistics.median(wall[TYPER])
    for name in commands:
        med = statistics.median(wall[name])
        extra = f"{med - base:+8.1f}" if name.startswith("tokenplan") else f"{'':8s}"
        print(
            f"{name:32s}{med:9.1f}{min(wall[name]):8.1f}{max(wall[name]):8.1f}"
            f"{statistics.median(cpu[name]):9.1f}{extra}"
        )


if __name__ == "__main__":
    main()
