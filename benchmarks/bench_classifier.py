"""Accuracy and speed of tokenplan's prompt classifier against labelled benchmark prompts.

    python benchmarks/bench_classifier.py [--data ../shared/data] [--split all|tune|holdout]

Labels (see benchmarks/_data.py for the reasoning): routerbench ``eval_name`` (mbpp = code,
arc-challenge and winogrande = reasoning), RouteLLM GSM8K = math, MMLU by subject (mathematics
and statistics = math, logic = reasoning, the rest = general), MT-Bench categories (coding = code,
math = math, reasoning = reasoning, the rest = general), AlpacaEval = general.

Prints a confusion table, per-set accuracy, and - as a check of the complexity estimate - the
share of recorded models that solved the prompts of each predicted complexity (it should fall
from simple to complex). ``--split tune`` / ``holdout`` keep one half of every set (by a hash of
the prompt text): the word lists were tuned looking at the ``tune`` half only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data

from tokenplan.routing.classifier import COMPLEXITIES, classify

CAPS = ("code", "reasoning", "math", "general")


def set_name(source: str) -> str:
    parts = source.split("/")
    if parts[0] == "routerbench":
        return f"routerbench {parts[1]}"
    if parts[0] == "routellm" and parts[1] == "mmlu":
        return f"mmlu ({_data.mmlu_label(parts[2])})"
    if parts[0] == "routellm":
        return parts[1]
    if parts[0] == "mt_bench":
        return f"mt_bench {parts[1]}"
    return parts[0]


def in_split(text: str, split: str) -> bool:
    if split == "all":
        return True
    half = zlib.crc32(text.encode("utf-8", "surrogatepass")) & 1
    return half == (0 if split == "tune" else 1)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=_data.DEFAULT_DATA)
    ap.add_argument("--split", choices=("all", "tune", "holdout"), default="all")
    ap.add_argument(
        "--show-errors", type=str, default="", help="print misclassified prompts of this set"
    )
    args = ap.parse_args()

    samples = [s for s in _data.load_all(args.data) if in_split(s.text, args.split)]
    confusion: Counter[tuple[str, str]] = Counter()
    per_set: dict[str, list[bool]] = defaultdict(list)
    complexity_by_set: dict[str, Counter[str]] = defaultdict(Counter)
    solved: dict[tuple[str, str], list[float]] = defaultdict(list)
    times: list[float] = []
    shown = 0
    for s in samples:
        t0 = time.perf_counter()
        c = classify(s.text)
        times.append(time.perf_counter() - t0)
        confusion[(s.label, c.capability)] += 1
        name = set_name(s.source)
        per_set[name].append(c.capability == s.label)
        complexity_by_set[name][c.complexity] += 1
        if s.solved_share is not None:
            solved[(name.split(" (")[0], c.complexity)].append(s.solved_share)
        if args.show_errors and args.show_errors in name and c.capability != s.label and shown < 25:
            shown += 1
            print(f"--- {name}: predicted {c.capability} {c.signals}\n{s.text[:300]!r}")

    n = len(samples)
    print(f"{n} labelled prompts (split: {args.split})\n")
    print("confusion (rows: label, columns: predicted)")
    print(f"{'':12s}" + "".join(f"{c:>11s}" for c in CAPS) + f"{'recall':>9s}{'n':>8s}")
    for label in CAPS:
        row = [confusion[(label, p)] for p in CAPS]
        total = sum(row)
        recall = confusion[(label, label)] / total if total else 0.0
        print(f"{label:12s}" + "".join(f"{v:11d}" for v in row) + f"{recall:9.1%}{total:8d}")
    precision = []
    for p in CAPS:
        col = sum(confusion[(label, p)] for label in CAPS)
        precision.append(confusion[(p, p)] / col if col else 0.0)
    print(f"{'precision':12s}" + "".join(f"{v:11.1%}" for v in precision))
    correct = sum(confusion[(c, c)] for c in CAPS)
    recalls = [confusion[(c, c)] / max(1, sum(confusion[(c, p)] for p in CAPS)) for c in CAPS]
    print(
        f"\naccuracy {correct / n:.1%}   macro recall (balanced accuracy) {statistics.fmean(recalls):.1%}"
    )

    print(f"\n{'set':32s}{'n':>7s}{'accuracy':>10s}   complexity simple/moderate/complex")
    for name in sorted(per_set):
        hits = per_set[name]
        cx = complexity_by_set[name]
        dist = "/".join(f"{cx[k] / len(hits):.0%}" for k in COMPLEXITIES)
        print(f"{name:32s}{len(hits):7d}{sum(hits) / len(hits):10.1%}   {dist}")

    print(
        "\nshare of recorded models that solved the prompt, by predicted complexity (should fall)"
    )
    print(f"{'set':24s}" + "".join(f"{k:>18s}" for k in COMPLEXITIES))
    for name in sorted({k[0] for k in solved}):
        cells = []
        for k in COMPLEXITIES:
            vals = solved.get((name, k), [])
            cells.append(f"{statistics.fmean(vals):.3f} (n={len(vals)})" if vals else "-")
        print(f"{name:24s}" + "".join(f"{c:>18s}" for c in cells))

    times.sort()
    words400 = " ".join(" ".join(s.text for s in samples[:200]).split()[:400])
    big = words400 * (1_000_000 // len(words400))
    for label, text in (
        ("400-word prompt", words400),
        ("1 MB prompt", big),
        ("short prompt", "What is the capital of France?"),
    ):
        runs = []
        for _ in range(2000):
            t0 = time.perf_counter()
            classify(text)
            runs.append(time.perf_counter() - t0)
        runs.sort()
        print(
            f"\n{label}: p50 {runs[len(runs) // 2] * 1e6:.1f} µs, p95 {runs[int(len(runs) * 0.95)] * 1e6:.1f} µs",
            end="",
        )
    print(
        f"\ndataset prompts: p50 {times[n // 2] * 1e6:.1f} µs, p95 {times[int(n * 0.95)] * 1e6:.1f} µs"
    )


if __name__ == "__main__":
    main()
