"""OutcomeDataset invariants and the deterministic train/eval split."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _bench_data import synthetic_outcomes
from tokenplan.bench.dataset import Outcome, OutcomeDataset, Sample, Split, prompt_key


def _tiny(**changes: object) -> OutcomeDataset:
    args: dict[str, object] = {
        "name": "tiny",
        "id_prefix": "t",
        "models": ["m1", "m2"],
        "samples": [
            Sample("a", "prompt a", "mbpp", "code"),
            Sample("b", "prompt b", "gsm8k", "math"),
        ],
        "outcomes": {
            "m1": [Outcome(1.0, 0.01, "x"), Outcome(0.0, 0.03, "y")],
            "m2": [Outcome(0.5, 0.10, None), Outcome(1.0, 0.30, None)],
        },
    }
    args.update(changes)
    return OutcomeDataset(**args)  # type: ignore[arg-type]


def test_lookups_and_aggregates() -> None:
    ds = _tiny()
    assert ds.outcome("b", "m1").score == 0.0
    assert ds.find_text("prompt a") == ds.sample("a")
    assert ds.find_text("prompt a ") is None
    assert ds.model_id("m1") == "t/m1"
    assert ds.model_name("t/m2") == "m2"
    assert ds.model_name("x/m2") is None
    assert ds.model_name("t/unknown") is None
    assert ds.accuracy("m1") == pytest.approx(0.5)
    assert ds.mean_cost("m2") == pytest.approx(0.2)
    assert ds.has_responses("m1")
    assert not ds.has_responses("m2")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"samples": [Sample("a", "p", "t", "general"), Sample("a", "q", "t", "general")]},
            "sample ids",
        ),
        (
            {"samples": [Sample("a", "p", "t", "general"), Sample("b", "p", "t", "general")]},
            "prompt texts",
        ),
        ({"outcomes": {"m1": [Outcome(1.0, 0.0, "")] * 2}}, "one column per model"),
        (
            {"outcomes": {"m1": [Outcome(1.5, 0.0, "")] * 2, "m2": [Outcome(1.0, 0.0, "")] * 2}},
            "score",
        ),
        (
            {"outcomes": {"m1": [Outcome(1.0, -1.0, "")] * 2, "m2": [Outcome(1.0, 0.0, "")] * 2}},
            "cost",
        ),
        (
            {"outcomes": {"m1": [Outcome(1.0, 0.0, "")], "m2": [Outcome(1.0, 0.0, "")] * 2}},
            "outcomes for",
        ),
    ],
)
def test_invalid_datasets_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _tiny(**changes)


def test_split_is_deterministic_disjoint_and_complete() -> None:
    ds = synthetic_outcomes(200)
    train, ev = ds.split(Split(0.5, seed=3))
    again_train, _ = ds.split(Split(0.5, seed=3))
    assert [s.id for s in train.samples] == [s.id for s in again_train.samples]
    ids_train, ids_eval = {s.id for s in train.samples}, {s.id for s in ev.samples}
    assert not ids_train & ids_eval
    assert ids_train | ids_eval == {s.id for s in ds.samples}
    assert 60 < len(train) < 140  # about half
    other_train, _ = ds.split(Split(0.5, seed=4))
    assert {s.id for s in other_train.samples} != ids_train


def test_split_does_not_depend_on_the_other_rows() -> None:
    ds = synthetic_outcomes(100)
    split = Split(0.3, seed=1)
    part = ds.subset([s.id for s in ds.samples[:40]])
    train_all, _ = ds.split(split)
    train_part, _ = part.split(split)
    assert {s.id for s in train_part.samples} == {s.id for s in train_all.samples} & {
        s.id for s in part.samples
    }


@given(st.text(min_size=1, max_size=20), st.integers(0, 10**6), st.floats(0.05, 0.95))
def test_split_assignment_is_a_pure_function(sample_id: str, seed: int, fraction: float) -> None:
    assert Split(fraction, seed).is_train(sample_id) == Split(fraction, seed).is_train(sample_id)
    # A larger train fraction never moves a sample out of train.
    if Split(fraction, seed).is_train(sample_id):
        assert Split(min(0.99, fraction + 0.04), seed).is_train(sample_id)


@pytest.mark.parametrize("text", ["train:0", "train:1", "eval:0.5", "train", "train:x", "0.5"])
def test_split_parse_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError):
        Split.parse(text)


def test_split_parse() -> None:
    assert Split.parse("train:0.25", seed=7) == Split(0.25, 7)


def test_prompt_key_is_short_and_stable() -> None:
    assert prompt_key("hello") == prompt_key("hello") != prompt_key("hello!")
    assert len(prompt_key("x" * 10_000)) == 12
