"""The Pareto benchmark's figures over several train/eval splits, vs the reference model.

Runs the replay benchmark of one dataset once per seed (everything fitted on that seed's train
part, measured on its eval part) and prints, per policy, accuracy and cost as % of the
reference model (the best single model) on each seed, with the mean and the spread (single
models: the reference and the weak model of APGR only):

    python benchmarks/pareto_seeds.py                          # RouterBench slice, seeds 0-4
    python benchmarks/pareto_seeds.py --seeds 0,1,2 --dataset routellm-gsm8k

``--data`` and ``--prices`` work as in ``benchmarks/pareto.py`` (default ``../shared/data``
beside the repository). Each seed takes about as long as one ``pareto.py`` run of the dataset.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
PRICES_FILE = Path("litellm-prices") / "model_prices_and_context_window.json"


def _seeds(text: str) -> list[int]:
    if "-" in text and "," not in text:
        lo, hi = text.split("-", 1)
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",") if s.strip()]


def _dataset(args: argparse.Namespace) -> Any:
    from tokenplan.bench import PriceTable, load_routellm, load_routerbench

    data = args.data or DEFAULT_DATA
    if args.dataset == "routerbench":
        folder = data / "routerbench-subset"
        return load_routerbench(folder if folder.is_dir() else data)
    benchmark = args.dataset.removeprefix("routellm-").replace("-", "_")
    prices = PriceTable.load(args.prices or data / PRICES_FILE)
    return load_routellm(data / "routellm-evals", benchmark=benchmark, prices=prices)


def _fmt(values: list[float]) -> str:
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.1f} ± {spread:.1f}"


async def _main(args: argparse.Namespace) -> None:
    from tokenplan.bench import Split, run_replay_benchmark

    dataset = _dataset(args)
    seeds = _seeds(args.seeds)
    figures: dict[str, dict[int, tuple[float, float]]] = {}
    kinds: dict[str, str] = {}
    reference = ""
    weak: set[str] = set()
    for seed in seeds:
        started = time.perf_counter()
        result = await run_replay_benchmark(dataset, split=Split(args.train, seed=seed))
        for row in result.rows:
            figures.setdefault(row.policy, {})[seed] = (row.pct_best_accuracy, row.pct_best_cost)
            kinds[row.policy] = row.kind
            reference = row.reference
        weak.add(result.weak)
        sys.stderr.write(f"seed {seed}: {time.perf_counter() - started:.1f}s\n")
    print(f"### {dataset.name}: % of `{reference}` accuracy / cost, eval part, seeds {seeds}\n")
    print("| policy | kind | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd |")
    print("|---|---|" + "---:|" * (len(seeds) + 1))
    for policy, by_seed in figures.items():
        if kinds[policy] == "single" and policy != reference and policy not in weak:
            continue  # single models: only the reference and the weak model of APGR
        cells = [f"{by_seed[s][0]:.1f} / {by_seed[s][1]:.1f}" for s in seeds if s in by_seed]
        acc = [by_seed[s][0] for s in seeds if s in by_seed]
        cost = [by_seed[s][1] for s in seeds if s in by_seed]
        print(
            f"| {policy} | {kinds[policy]} | "
            + " | ".join(cells)
            + f" | {_fmt(acc)} / {_fmt(cost)} |"
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="pareto_seeds.py", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="folder with the datasets")
    p.add_argument(
        "--dataset",
        default="routerbench",
        choices=("routerbench", "routellm-gsm8k", "routellm-mmlu", "routellm-mt-bench"),
    )
    p.add_argument("--seeds", default="0-4", help="seeds: 0-4 or 0,2,5")
    p.add_argument("--train", type=float, default=0.5, help="train fraction of each split")
    p.add_argument("--prices", type=Path, default=None, help="LiteLLM-format price table")
    args = p.parse_args(argv)
    import anyio

    from tokenplan.errors import TokenplanError

    try:
        anyio.run(_main, args)
    except (TokenplanError, ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
