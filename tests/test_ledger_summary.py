"""Summaries: hand-computed totals, groups, savings against a baseline, and invariants."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenplan.catalog import Catalog
from tokenplan.errors import UnknownModelError, UsageError
from tokenplan.ledger import GROUP_KEYS, Attempt, Ledger, Summary, summarize
from tokenplan.ledger.parallel import can_fork

CATALOG = Catalog.from_rows(
    [
        {
            "id": "test/cheap",
            "provider": "test",
            "tier": "budget",
            "input_per_mtok": 1.0,
            "output_per_mtok": 2.0,
            "context_window": 100_000,
            "max_output_tokens": 8_000,
            "quality": {"general": 0.5},
        },
        {
            "id": "test/base",
            "provider": "test",
            "tier": "flagship",
            "input_per_mtok": 10.0,
            "output_per_mtok": 20.0,
            "cached_input_per_mtok": 1.0,
            "reasoning_output_per_mtok": 40.0,
            "context_window": 100_000,
            "max_output_tokens": 8_000,
            "quality": {"general": 0.9},
        },
    ]
)
BASE = CATALOG.get("test/base")
DAY1 = datetime(2025, 3, 1, 12).timestamp()  # local noon: the same local day in any zone
DAY2 = datetime(2025, 3, 2, 12).timestamp()


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "run_id": "r1",
        "kind": "step",
        "model": "test/cheap",
        "provider": "test",
        "outcome": "ok",
        "ts": DAY1,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


# Baseline costs, by hand, at test/base prices (10 in, 1 cached, 20 out, 40 reasoning per Mtok):
HAND = [
    # 1M in + 0.5M out: 10 + 10 = 20.0
    attempt(kind="plan", input_tokens=1_000_000, output_tokens=500_000, cost_usd=2.0,
            capability="general", tier="budget", ts=DAY1),
    # 100k plain in + 100k cached: 1.0 + 0.1 = 1.1
    attempt(outcome="error", input_tokens=200_000, cached_tokens=100_000, cost_usd=0.2,
            capability="code", tier="budget", ts=DAY1 + 60),
    # not in the catalog: counts at its actual cost, 0.5
    attempt(model="elsewhere/mystery", provider="elsewhere", run_id="r2", input_tokens=1000,
            output_tokens=1000, cost_usd=0.5, ts=DAY2),
    # 100k in + 50k out + 50k reasoning: 1.0 + 1.0 + 2.0 = 4.0
    attempt(model="test/base", outcome="invalid", run_id="r2", input_tokens=100_000,
            output_tokens=100_000, reasoning_tokens=50_000, cost_usd=4.0, simulated=True,
            tier="flagship", capability="code", ts=DAY2 + 60),
]  # fmt: skip


def test_totals_match_hand_computation() -> None:
    s = summarize(HAND, baseline=BASE, catalog=CATALOG)
    t = s.totals
    assert (t.attempts, t.ok, t.failed, t.simulated) == (4, 2, 2, 1)
    assert t.success_rate == 0.5
    assert t.cost_usd == pytest.approx(6.7)
    assert t.wasted_usd == pytest.approx(4.2)  # error 0.2 + invalid 4.0
    assert t.planner_usd == pytest.approx(2.0)
    assert (t.input_tokens, t.output_tokens) == (1_301_000, 601_000)
    assert (t.cached_tokens, t.reasoning_tokens) == (100_000, 50_000)
    assert t.baseline_usd == pytest.approx(20.0 + 1.1 + 0.5 + 4.0)
    assert t.savings_usd == pytest.approx(25.6 - 6.7)
    assert t.savings_pct == pytest.approx(100 * 18.9 / 25.6)
    assert (t.first_ts, t.last_ts) == (DAY1, DAY2 + 60)
    assert s.groups == ()
    assert s.baseline_model == "test/base"


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("model", {"test/base": (1, 4.0, 4.0), "test/cheap": (2, 2.2, 21.1),
                   "elsewhere/mystery": (1, 0.5, 0.5)}),
        ("provider", {"test": (3, 6.2, 25.1), "elsewhere": (1, 0.5, 0.5)}),
        ("run", {"r1": (2, 2.2, 21.1), "r2": (2, 4.5, 4.5)}),
        ("kind", {"plan": (1, 2.0, 20.0), "step": (3, 4.7, 5.6)}),
        ("capability", {"general": (1, 2.0, 20.0), "code": (2, 4.2, 5.1), "-": (1, 0.5, 0.5)}),
        ("tier", {"budget": (2, 2.2, 21.1), "flagship": (1, 4.0, 4.0), "-": (1, 0.5, 0.5)}),
        ("day", {"2025-03-01": (2, 2.2, 21.1), "2025-03-02": (2, 4.5, 4.5)}),
    ],
)  # fmt: skip
def test_groups_match_hand_computation(
    by: str, expected: dict[str, tuple[int, float, float]]
) -> None:
    s = summarize(HAND, by=by, baseline=BASE, catalog=CATALOG)
    got = {g.key: (g.attempts, g.cost_usd, g.baseline_usd) for g in s.groups}
    assert set(got) == set(expected)
    for key, (n, cost, base) in expected.items():
        assert got[key][0] == n
        assert got[key][1] == pytest.approx(cost)
        assert got[key][2] == pytest.approx(base)
    if by == "day":
        assert [g.key for g in s.groups] == sorted(got)
    else:
        costs = [g.cost_usd for g in s.groups]
        assert costs == sorted(costs, reverse=True)


def test_the_baseline_model_itself_saves_nothing() -> None:
    a = attempt(model="test/base", input_tokens=1000, output_tokens=500, cost_usd=0.02)
    t = summarize([a], baseline=BASE, catalog=CATALOG).totals
    assert t.baseline_usd == pytest.approx(0.02)
    assert t.savings_usd == pytest.approx(0.0)


def test_inconsistent_subsets_are_clamped_per_line() -> None:
    # 10 cached out of 5 input cannot be: priced as 5 cached, like pricing.cost_usd does.
    a = attempt(input_tokens=5, cached_tokens=10, output_tokens=3, reasoning_tokens=9)
    b = attempt(input_tokens=1000, output_tokens=1000)
    t = summarize([a, b], baseline=BASE, catalog=CATALOG).totals
    per_line = (5 * 1.0 + 3 * 40.0) / 1e6 + (1000 * 10.0 + 1000 * 20.0) / 1e6
    assert t.baseline_usd == pytest.approx(per_line)
    assert (t.cached_tokens, t.reasoning_tokens) == (10, 9)  # reported as written


def test_empty_summary_is_zero() -> None:
    s = summarize([], by="model", baseline=BASE, catalog=CATALOG)
    assert s.totals.attempts == 0
    assert s.totals.success_rate == 0.0
    assert s.totals.savings_pct == 0.0
    assert s.totals.first_ts is None
    assert s.groups == ()


def test_bad_arguments() -> None:
    with pytest.raises(UsageError, match="cannot group by"):
        summarize(HAND, by="colour", catalog=CATALOG)
    with pytest.raises(UnknownModelError):
        summarize(HAND, baseline="test/nope", catalog=CATALOG)


def test_default_baseline_is_a_bundled_flagship() -> None:
    s = summarize([attempt(model="openai/gpt-5-mini", input_tokens=1000, cost_usd=0.0)])
    assert s.baseline_model == "openai/gpt-5.4"
    assert s.totals.baseline_usd > 0


def test_summary_is_json_serializable() -> None:
    s = summarize(HAND, by="model", baseline=BASE, catalog=CATALOG)
    doc = orjson.loads(orjson.dumps(s.to_dict()))
    assert doc["by"] == "model"
    assert doc["totals"]["attempts"] == 4
    assert doc["totals"]["savings_usd"] == pytest.approx(18.9)
    assert {g["key"] for g in doc["groups"]} == {"test/base", "test/cheap", "elsewhere/mystery"}


def test_reader_summary_equals_list_summary(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.append_many(HAND)
    ledger.close()
    for by in (None, *GROUP_KEYS):
        from_file = summarize(ledger.read(), by=by, baseline=BASE, catalog=CATALOG)
        in_memory = summarize(HAND, by=by, baseline=BASE, catalog=CATALOG)
        assert from_file == in_memory
    filtered = summarize(ledger.read(run="r2"), baseline=BASE, catalog=CATALOG)
    assert filtered.totals.attempts == 2


@pytest.mark.skipif(not can_fork(), reason="needs os.fork")
def test_parallel_summary_equals_serial(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "big.jsonl")
    many = [
        attempt(run_id=f"r{i % 17}", model=("test/cheap", "test/base", "x/y")[i % 3],
                outcome="ok" if i % 5 else "error", input_tokens=i, output_tokens=2 * i,
                cost_usd=i * 1e-6, ts=DAY1 + i, error="e" * 200)
        for i in range(45_000)
    ]  # fmt: skip
    ledger.append_many(many)
    ledger.close()
    assert len(ledger.read().split(2)) == 2  # over 16 MiB: two 8 MiB parts
    assert can_fork()
    for by in (None, "run"):
        serial = summarize(ledger.read(), by=by, baseline=BASE, catalog=CATALOG)
        parallel = summarize(ledger.read(), by=by, baseline=BASE, catalog=CATALOG, workers=2)
        assert parallel.totals.attempts == serial.totals.attempts == 45_000
        assert parallel.totals.input_tokens == serial.totals.input_tokens
        assert parallel.totals.cost_usd == pytest.approx(serial.totals.cost_usd, rel=1e-12)
        assert [g.key for g in parallel.groups] == [g.key for g in serial.groups]


_models = st.sampled_from(["test/cheap", "test/base", "elsewhere/x"])
_attempts = st.builds(
    attempt,
    run_id=st.sampled_from(["a", "b", "c"]),
    kind=st.sampled_from(["plan", "step", "route", "proxy", "bench"]),
    model=_models,
    outcome=st.sampled_from(["ok", "error", "invalid", "cancelled", "skipped"]),
    input_tokens=st.integers(0, 2_000_000),
    output_tokens=st.integers(0, 200_000),
    cached_tokens=st.integers(0, 2_000_000),
    reasoning_tokens=st.integers(0, 200_000),
    cost_usd=st.floats(0, 50, allow_nan=False),
    capability=st.none() | st.sampled_from(["code", "math"]),
    tier=st.sampled_from(["", "budget", "mid"]),
    simulated=st.booleans(),
    ts=st.floats(DAY1, DAY1 + 5 * 86400),
)


def _expected_baseline(a: Attempt) -> float:
    from tokenplan.pricing import cost_usd

    if CATALOG.find(a.model) is None:
        return a.cost_usd
    return cost_usd(
        BASE,
        input_tokens=a.input_tokens,
        output_tokens=a.output_tokens,
        cached_tokens=a.cached_tokens,
        reasoning_tokens=a.reasoning_tokens,
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(attempts=st.lists(_attempts, max_size=60), by=st.sampled_from([None, *GROUP_KEYS]))
def test_totals_equal_sums_over_lines(
    tmp_path: Path, attempts: list[Attempt], by: str | None
) -> None:
    path = tmp_path / "prop.jsonl"
    path.unlink(missing_ok=True)
    with Ledger(path) as ledger:
        ledger.append_many(attempts)
    s: Summary = summarize(Ledger(path).read(), by=by, baseline=BASE, catalog=CATALOG)
    t = s.totals
    approx = {"rel": 1e-9, "abs": 1e-9}
    assert t.attempts == len(attempts)
    assert t.ok == sum(a.outcome == "ok" for a in attempts)
    assert t.simulated == sum(a.simulated for a in attempts)
    assert t.input_tokens == sum(a.input_tokens for a in attempts)
    assert t.output_tokens == sum(a.output_tokens for a in attempts)
    assert t.cached_tokens == sum(a.cached_tokens for a in attempts)
    assert t.reasoning_tokens == sum(a.reasoning_tokens for a in attempts)
    assert t.cost_usd == pytest.approx(math.fsum(a.cost_usd for a in attempts), **approx)
    assert t.wasted_usd == pytest.approx(
        math.fsum(a.cost_usd for a in attempts if a.outcome != "ok"), **approx
    )
    assert t.planner_usd == pytest.approx(
        math.fsum(a.cost_usd for a in attempts if a.kind == "plan"), **approx
    )
    assert t.baseline_usd == pytest.approx(
        math.fsum(_expected_baseline(a) for a in attempts), **approx
    )
    if by is None:
        assert s.groups == ()
        return
    # groups partition the attempts
    assert sum(g.attempts for g in s.groups) == t.attempts
    assert sum(g.ok for g in s.groups) == t.ok
    assert sum(g.input_tokens for g in s.groups) == t.input_tokens
    assert math.fsum(g.cost_usd for g in s.groups) == pytest.approx(t.cost_usd, **approx)
    assert math.fsum(g.baseline_usd for g in s.groups) == pytest.approx(t.baseline_usd, **approx)
    assert len({g.key for g in s.groups}) == len(s.groups)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    attempts=st.lists(_attempts, max_size=40),
    by=st.sampled_from([None, *GROUP_KEYS]),
    run=st.none() | st.sampled_from(["a", "b"]),
    provider=st.none() | st.sampled_from(["test", "other"]),
    step=st.none() | st.sampled_from(["s1", "s2"]),
)
def test_filtered_reader_summary_equals_filtered_list(
    tmp_path: Path,
    attempts: list[Attempt],
    by: str | None,
    run: str | None,
    provider: str | None,
    step: str | None,
) -> None:
    attempts = [
        dataclasses.replace(a, step_id=("s1", "s2", None)[i % 3]) for i, a in enumerate(attempts)
    ]
    path = tmp_path / "prop.jsonl"
    path.unlink(missing_ok=True)
    with Ledger(path) as ledger:
        ledger.append_many(attempts)
    reader = Ledger(path).read(run=run, provider=provider, step=step)
    expected = [a for a in attempts if reader.filter.matches(a)]
    assert summarize(reader, by=by, baseline=BASE, catalog=CATALOG) == summarize(
        expected, by=by, baseline=BASE, catalog=CATALOG
    )


def test_baseline_is_priced_at_standard_rates_even_when_sums_pass_a_long_context_threshold() -> (
    None
):
    from dataclasses import replace as _replace

    from tokenplan.catalog.model import Model
    from tokenplan.ledger.attempt import Attempt
    from tokenplan.ledger.summary import summarize as _summarize
    from tokenplan.pricing import cost_usd as _cost

    base = Model(
        id="b/base", provider="b", api_name="base", tier="flagship", input_per_mtok=1.0,
        output_per_mtok=2.0, context_window=10**6, max_output_tokens=10**4,
        quality={"general": 0.9},
        extra={"long_context": {"above_input_tokens": 1000, "input_per_mtok": 9.0}},
    )  # fmt: skip
    from tokenplan.catalog.catalog import Catalog as _Catalog

    cheap = _replace(base, id="x/y", api_name="y", extra={})
    calls = [
        Attempt(run_id="r", kind="route", model="x/y", provider="x", outcome="ok",
                input_tokens=600, output_tokens=10, cost_usd=0.0)
        for _ in range(3)
    ]  # fmt: skip
    summary = _summarize(calls, baseline=base, catalog=_Catalog([base, cheap]))
    flat = _replace(base, extra={})
    expected = sum(_cost(flat, input_tokens=600, output_tokens=10) for _ in calls)
    assert summary.totals.baseline_usd == pytest.approx(expected)


def test_the_library_and_the_cli_default_to_the_same_savings_baseline() -> None:
    from tokenplan.ledger.summary import DEFAULT_BASELINE_MODEL
    from tokenplan.settings import Settings

    assert Settings.load(env={}).baseline_model == DEFAULT_BASELINE_MODEL
