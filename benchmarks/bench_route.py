"""Route-decision latency on a synthetic catalog of >= 300 models.

    python benchmarks/bench_route.py [--models 330] [--calls 20000] [--data ../shared/data]

Prints p50 / p95 per call for each strategy, for a short prompt and a 400-word prompt:
``decision`` is the router with the classification given (what the brief's 10 µs target is
about), ``classify+decide`` the whole ``Router.route`` call (estimator, classifier, decision).
``varied`` routes distinct real prompts from the datasets (each one classified and estimated
afresh; the sorted-order cache warms per token bucket) when ``--data`` exists.

The machine is shared and noisy: compare figures within one run; the ``python: str.split of
the 400-word prompt`` line gives a yardstick for this machine's speed at the time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data

from tokenplan.routing.classifier import classify
from tokenplan.routing.router import Router
from tokenplan.testing.catalogs import synthetic_catalog

SHORT = "Write a Python function that checks whether a string is a palindrome."
PARAGRAPH = (
    "Our team is migrating a legacy billing service to an event driven architecture and we need "
    "a careful plan. The current system runs nightly batch jobs that reconcile invoices, apply "
    "discounts and send reminder emails; it is written in Java and talks to a single Postgres "
    "database. Please explain how you would split it into services, which events you would "
    "publish, how you would keep invoices consistent while both systems run side by side, and "
    "what you would monitor during the cut over. Include the risks you see, how you would test "
    "the new flow against production traffic, and a rough order of the work for a team of four. "
)
LONG = " ".join((PARAGRAPH.split() * 5)[:400])


def percentiles(samples: list[int]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.95)] / 1000


def timed(fn, calls: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for _ in range(200):  # warm caches and the interpreter
        fn()
    out = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return percentiles(out)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", type=int, default=330)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--data", type=Path, default=_data.DEFAULT_DATA)
    args = ap.parse_args()

    catalog = synthetic_catalog(args.models, seed=7)
    t0 = time.perf_counter()
    router = Router(catalog)
    build_ms = (time.perf_counter() - t0) * 1e3
    print(f"synthetic catalog: {len(catalog)} models; Router() built in {build_ms:.2f} ms")
    print(f"400-word prompt: {len(LONG.split())} words, {len(LONG)} chars\n")
    print(
        f"{'strategy':14s}{'prompt':8s}{'decision p50/p95 µs':>22s}{'classify+decide p50/p95 µs':>30s}"
    )
    for strategy in ("cheapest", "balanced", "best_quality"):
        for label, prompt in (("short", SHORT), ("400w", LONG)):
            cls = classify(prompt)
            d50, d95 = timed(
                lambda p=prompt, s=strategy, c=cls: router.route(p, strategy=s, classification=c),
                args.calls,
            )
            f50, f95 = timed(lambda p=prompt, s=strategy: router.route(p, strategy=s), args.calls)
            print(f"{strategy:14s}{label:8s}{d50:>12.2f} /{d95:>7.2f}{f50:>20.2f} /{f95:>7.2f}")

    c50, _ = timed(lambda: classify(LONG), args.calls)
    s50, _ = timed(lambda: LONG.split(), args.calls)
    print(f"\nclassifier alone, 400-word prompt: p50 {c50:.2f} µs")
    print(f"python: str.split of the 400-word prompt: p50 {s50:.2f} µs (machine yardstick)")

    if args.data.is_dir():
        prompts = [s.text for s in _data.load_all(args.data, sets=("mt_bench", "alpaca", "gsm8k"))][
            :2000
        ]
        for strategy in ("cheapest", "balanced", "best_quality"):
            fresh = Router(catalog)
            samples = []
            clock = time.perf_counter_ns
            for p in prompts:
                t0 = clock()
                fresh.route(p, strategy=strategy)
                samples.append(clock() - t0)
            p50, p95 = percentiles(samples)
            mean = statistics.fmean(samples) / 1000
            print(
                f"varied: {len(prompts)} distinct prompts, {strategy:12s} classify+decide p50 {p50:.2f} µs, p95 {p95:.2f} µs, mean {mean:.2f} µs (cold router)"
            )


if __name__ == "__main__":
    main()
