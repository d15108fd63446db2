"""Pick a model for a few prompts, offline, and show why.

python examples/01_route.py
"""

from __future__ import annotations

from tokenplan import Catalog, Router, Settings

PROMPTS = [
    "What is the capital of France?",
    "Write a Python function that returns the n-th Fibonacci number using memoization.",
    "Design a rate limiter for a multi-region API gateway; compare token bucket and sliding "
    "window approaches and explain the consistency trade-offs in depth.",
]


def main() -> None:
    router = Router(Catalog.bundled(), Settings())  # built once, reused for every prompt
    for prompt in PROMPTS:
        decisions = {}
        for strategy in ("cheapest", "balanced", "best_quality"):
            d = decisions[strategy] = router.route(prompt, strategy=strategy, budget_usd=0.05)
            print(
                f"{strategy:12s} {d.capability}/{d.complexity:8s} -> {d.model.id:30s} "
                f"worst case ${d.estimated_cost_usd:.5f}"
            )
        balanced = decisions["balanced"]
        print(f"  why (balanced): {balanced.reason}")
        print(f"  fallback ladder: {[c.model.id for c in balanced.ladder[:3]]}\n")


if __name__ == "__main__":
    main()
