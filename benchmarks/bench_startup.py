"""Start-up time of the CLI: median wall time of fresh subprocesses.

    python benchmarks/bench_startup.py [--runs 21]

Measures ``python -c pass`` (the floor), ``python -c "import typer"`` (what any typer CLI pays),
``tokenplan --help`` and ``tokenplan route "..." --json``, each as ``python -m tokenplan`` in a
fresh process with an isolated TOKENPLAN_HOME. Runs are interleaved so machine noise hits every
command alike; the report gives median, min and max per command in milliseconds.

Bytecode: an installed package has its ``.pyc`` files; an editable checkout run with
``PYTHONDONTWRITEBYTECODE=1`` recompiles every module on every start. By default the runs use a
private ``PYTHONPYCACHEPREFIX`` (so nothing is written into the checkout) and measure the
installed case; ``--no-bytecode`` measures the recompiling case instead.
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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--no-bytecode", action="store_true", help="recompile every module every run")
    args = ap.parse_args()

    py = sys.executable
    commands = {
        "python -c pass (floor)": [py, "-c", "pass"],
        "python -c 'import typer'": [py, "-c", "import typer"],
        "tokenplan --help": [py, "-m", "tokenplan", "--help"],
        'tokenplan route "..." --json': [py, "-m", "tokenplan", "route", PROMPT, "--json"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TOKENPLAN_HOME": home, "NO_COLOR": "1"}
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(home, "pycache")
        for cmd in commands.values():  # warm the OS file cache and the bytecode cache
            subprocess.run(cmd, env=env, capture_output=True, check=True)
        for _ in range(args.runs):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, capture_output=True, check=True)
                times[name].append((time.perf_counter() - t0) * 1e3)
    mode = "recompiling every run" if args.no_bytecode else "bytecode cached"
    print(
        f"{'command':32s}{'median ms':>11s}{'min':>8s}{'max':>8s}   ({args.runs} runs each, {mode})"
    )
    for name, samples in times.items():
        print(f"{name:32s}{statistics.median(samples):11.1f}{min(samples):8.1f}{max(samples):8.1f}")


if __name__ == "__main__":
    main()
