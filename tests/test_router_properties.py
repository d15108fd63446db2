"""Property tests: the router's choice is exact against a brute-force oracle.

Routers are reused across examples (one per catalog seed) so the cached candidate orders are
exercised with many prompt sizes, budgets and output caps.
"""

from __future__ import annotations

import math
from functools import cache

from hypothesis import event, given, settings
from hypothesis import strategies as hs

from tokenplan.errors import NoCandidateError
from tokenplan.routing import strategies as st
from tokenplan.routing.classifier import classify
from tokenplan.routing.router import FEATURES, Router
from tokenplan.testing.catalogs import synthetic_catalog
from tokenplan.tokens import estimate_messages_tokens

PROMPTS = (
    "What is the capital of France?",
    "Write a Python function that returns the n-th Fibonacci number using memoization.",
    "Prove that there are infinitely many primes of the form 4k + 3.",
    "If all bloops are razzies and all razzies are lazzies, are all bloops lazzies? Explain.",
    "Design a distributed, scalable job scheduler; discuss the trade-offs in depth.",
)


@cache
def router(seed: int) -> Router:
    return Router(synthetic_catalog(12 + 9 * seed, seed=seed))


def score(strategy: str, complexity: str, quality: float, cost: float) -> float:
    if strategy == "cheapest":
        return -cost
    if strategy == "best_quality":
        return quality
    return st.utility(quality, cost, cost_aversion=st.COST_AVERSION[complexity])


@settings(max_examples=300, deadline=None)
@given(
    seed=hs.integers(0, 5),
    prompt=hs.sampled_from(PROMPTS),
    repeat=hs.sampled_from([1, 3, 40, 400, 4000]),
    strategy=hs.sampled_from(["cheapest", "balanced", "best_quality"]),
    budget=hs.one_of(hs.none(), hs.floats(1e-6, 2.0).map(lambda x: float(f"{x:.3g}"))),
    max_tokens=hs.sampled_from([1, 256, 1024, 5000, 40_000]),
    features=hs.sets(hs.sampled_from(FEATURES), max_size=2),
)
def test_choice_matches_brute_force(
    seed: int,
    prompt: str,
    repeat: int,
    strategy: str,
    budget: float | None,
    max_tokens: int,
    features: set[str],
) -> None:
    r = router(seed)
    text = " ".join([prompt] * repeat)
    cls = classify(text)
    tokens = estimate_messages_tokens((text,))
    pool = [m for m in r.catalog if all(getattr(m, f) for f in features)]
    cap = cls.capability if any(cls.capability in m.quality for m in pool) else "general"
    best_prior = max((m.quality[cap] for m in r.catalog if cap in m.quality), default=0.0)
    floor = 0.0 if strategy == "best_quality" else st.FLOOR_FRACTION[cls.complexity] * best_prior
    limit = math.inf if budget is None else budget + 1e-12

    def fits(m, *, with_budget: bool = True) -> bool:  # type: ignore[no-untyped-def]
        return (
            cap in m.quality
            and max_tokens <= m.max_output_tokens
            and tokens + max_tokens <= m.context_window
            and (not with_budget or m.worst_case_cost(tokens, max_tokens) <= limit)
        )

    viable = [m for m in pool if fits(m)]
    try:
        d = r.route(text, strategy=strategy, budget_usd=budget, max_tokens=max_tokens,
                    require=features)  # fmt: skip
    except NoCandidateError as exc:
        error = str(exc)
    else:
        error = ""
    if error:
        event("no candidate")
        assert not viable
        possible = [m for m in pool if fits(m, with_budget=False)]
        if possible:
            low = min(m.worst_case_cost(tokens, max_tokens) for m in possible)
            named = error.split("cheapest is ", 1)[1].split(" at ", 1)[0]
            assert r.catalog.get(named).worst_case_cost(tokens, max_tokens) == low
        return

    chosen = d.model
    # every constraint holds for the chosen model
    assert chosen in viable
    assert all(getattr(chosen, f) for f in features)
    assert d.estimated_cost_usd == chosen.worst_case_cost(tokens, max_tokens)
    assert d.estimated_cost_usd <= limit
    # and nothing viable beats it under the strategy (at the floor when one applies)
    floored = [m for m in viable if m.quality[cap] >= floor] or viable
    event(f"{strategy}: floor {'relaxed' if d.quality_floor == 0 and floor > 0 else 'kept'}")
    assert chosen in floored
    mine = score(strategy, cls.complexity, chosen.quality[cap], d.estimated_cost_usd)
    for m in floored:
        theirs = score(
            strategy, cls.complexity, m.quality[cap], m.worst_case_cost(tokens, max_tokens)
        )
        assert theirs <= mine + 1e-12, (m.id, theirs, chosen.id, mine)
    if strategy == "cheapest":
        cheaper = [
            m for m in floored if m.worst_case_cost(tokens, max_tokens) < d.estimated_cost_usd
        ]
        assert not cheaper
    # the ladder holds exactly the viable models (at the applied floor), chosen first
    ladder = [c.model for c in d.ladder]
    assert ladder[0] is chosen
    assert {m.id for m in ladder} == {m.id for m in viable if m.quality[cap] >= d.quality_floor}
