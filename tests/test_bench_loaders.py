"""Loaders for RouterBench-format CSVs and the RouteLLM eval sets, on small files made here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from _bench_data import synthetic_outcomes, write_price_table, write_routerbench_csv
from tokenplan.bench.prices import PriceTable
from tokenplan.bench.routellm import load_routellm
from tokenplan.bench.routerbench import load_routerbench
from tokenplan.errors import ConfigError
from tokenplan.routing.classifier import classify
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def _append(path: Path, rows: list[list[object]]) -> None:
    with path.open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def test_routerbench_round_trip_with_quirks(tmp_path: Path) -> None:
    ds = synthetic_outcomes(6)
    csv_path = write_routerbench_csv(tmp_path / "rb" / "arc_train.csv", ds)
    models = list(ds.models)
    tail = ["big"]
    _append(
        csv_path,
        [
            # a repeated sample id (dropped), a NaN score (dropped), a repeated text (dropped)
            [
                9,
                "s1",
                repr(["other text"]),
                "arc-challenge",
                1,
                1,
                1,
                *["['A']"] * 3,
                0.1,
                0.1,
                0.1,
                *tail,
            ],
            [
                10,
                "s90",
                repr(["fresh"]),
                "arc-challenge",
                "",
                1,
                1,
                *["['A']"] * 3,
                0.1,
                0.1,
                0.1,
                *tail,
            ],
            [
                11,
                "s91",
                repr([ds.samples[0].text]),
                "arc-challenge",
                1,
                1,
                1,
                *["['A']"] * 3,
                0.1,
                0.1,
                0.1,
                *tail,
            ],
        ],
    )
    loaded = load_routerbench(tmp_path / "rb")
    assert loaded.models == tuple(models)
    assert [s.id for s in loaded.samples] == [s.id for s in ds.samples]
    for s in ds.samples:
        assert loaded.sample(s.id).text == s.text  # the stringified list was parsed
        # The capability is the product classifier's reading of the text, not the task's.
        assert loaded.sample(s.id).capability == classify(s.text).capability
        for m in models:
            assert loaded.outcome(s.id, m) == ds.outcome(s.id, m)
    notes = " ".join(loaded.notes)
    assert "1 rows with a repeated sample_id" in notes
    assert "1 rows with a missing score" in notes
    assert "1 rows with a repeated prompt text" in notes
    assert loaded.model_id("big") == "rb/big"


def test_routerbench_refuses_other_formats(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not in RouterBench format"):
        load_routerbench(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_routerbench(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no RouterBench-format CSV"):
        load_routerbench(tmp_path / "empty")


def test_routerbench_refuses_scores_outside_0_1(tmp_path: Path) -> None:
    ds = synthetic_outcomes(2)
    path = write_routerbench_csv(tmp_path / "x.csv", ds)
    _append(
        path, [[5, "s5", repr(["t"]), "mbpp", 7, 1, 1, "['a']", "['a']", "['a']", 0, 0, 0, "big"]]
    )
    with pytest.raises(ConfigError, match=r"expected 0\.\.1"):
        load_routerbench(path)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def prices(tmp_path: Path) -> PriceTable:
    return PriceTable.load(write_price_table(tmp_path / "prices.json"))


def test_price_table_lookup_prefers_the_vendor_then_listed_hosts(prices: PriceTable) -> None:
    gpt4 = prices.require(STRONG)
    assert (gpt4.input_per_mtok, gpt4.output_per_mtok) == pytest.approx((10.0, 30.0))
    mixtral = prices.require(WEAK)
    assert mixtral.source.endswith("together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert prices.lookup("GPT-4-1106-PREVIEW") is not None
    assert prices.lookup("nope") is None
    assert len(prices) == 3  # the entry without prices is skipped
    with pytest.raises(ConfigError, match="no price for 'nope'"):
        prices.require("nope")


def test_price_table_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        PriceTable.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        PriceTable.load(tmp_path / "bad.json")


def test_routellm_mmlu(tmp_path: Path, prices: PriceTable) -> None:
    root = tmp_path / "routellm-evals"
    q1, q2, q3 = (
        "Q one?\nA. a\nB. b\nAnswer:",
        "Q two?\nA. a\nB. b\nAnswer:",
        "Leaked?\nA. x\nAnswer:",
    )
    _write_csv(
        root / "mmlu" / "responses" / "mmlu_college_mathematics.csv",
        ["prompt", WEAK, STRONG],
        [[q1, "True", "True"], [q2, "False", "True"], [q3, "True", "True"]],
    )
    _jsonl(root / "mmlu" / "contaminated_prompts.jsonl", [{"train_prompt": "x", "eval_prompt": q3}])
    ds = load_routellm(root, benchmark="mmlu", prices=prices)
    assert [s.text for s in ds.samples] == [q1, q2]
    assert ds.samples[0].task == "mmlu/college_mathematics"
    assert ds.samples[0].capability == classify(q1).capability
    assert ds.accuracy(WEAK) == 0.5
    assert not ds.has_responses(STRONG)
    expected = (estimate_messages_tokens([q1]) * 10 + 1 * 30) / 1e6
    assert ds.outcome(ds.samples[0].id, STRONG).cost_usd == pytest.approx(expected)
    assert ds.costs_estimated(STRONG)
    assert any("1 contaminated" in n for n in ds.notes)
    assert any("no response text" in n for n in ds.notes)


def test_routellm_gsm8k(tmp_path: Path, prices: PriceTable) -> None:
    root = tmp_path / "evals"
    _write_csv(
        root / "gsm8k" / "gsm8k_responses.csv",
        ["prompt", WEAK, STRONG, f"{WEAK}_response", f"{STRONG}_response"],
        [
            ["Eggs?", "False", "True", "16 - 3 = 12 #### 12", "16 - 3 = 13 #### 13"],
            ["Cats?", "True", "True", "2 + 2 = 4 #### 4", "#### 4"],
        ],
    )
    _jsonl(root / "gsm8k" / "contaminated_prompts.jsonl", [{"eval_prompt": "Cats?"}])
    ds = load_routellm(root, benchmark="gsm8k", prices=prices)
    assert len(ds) == 1
    sample = ds.samples[0]
    assert sample.capability == classify("Eggs?").capability
    weak = ds.outcome(sample.id, WEAK)
    assert weak.response == "16 - 3 = 12 #### 12"
    assert weak.score == 0.0
    tokens = estimate_messages_tokens(["Eggs?"]) + estimate_tokens(weak.response)
    assert weak.cost_usd == pytest.approx(tokens * 0.6 / 1e6)


def _judge_turn1(answer: str) -> str:
    return (
        "[Instruction]\nRate it.\n\n[Question]\nq\n\n[The Start of Assistant's Answer]\n"
        f"{answer}\n[The End of Assistant's Answer]"
    )


def _judge_turn2(a1: str, a2: str) -> str:
    return (
        "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nq1\n\n"
        f"### Assistant A:\n{a1}\n\n### User:\nq2\n\n### Assistant A:\n{a2}\n\n"
        "<|The End of Assistant A's Conversation with User|>"
    )


def test_routellm_mt_bench(tmp_path: Path, prices: PriceTable) -> None:
    root = tmp_path / "evals"
    questions = [
        {"question_id": 81, "category": "writing", "turns": ["Write a blog post.", "Shorter."]},
        {"question_id": 121, "category": "coding", "turns": ["Write a parser.", "Faster."]},
        {"question_id": 99, "category": "math", "turns": ["Leaked question", "More."]},
    ]
    _jsonl(root / "mt_bench" / "question.jsonl", questions)
    _jsonl(root / "mt_bench" / "contaminated_prompts.jsonl", [{"eval_prompt": "Leaked question"}])
    judgements = []
    for q in questions:
        qid = q["question_id"]
        for model, (s1, s2) in ((STRONG, (10, 8)), (WEAK, (6, 4))):
            a1, a2 = f"{model} answer one to {qid}", f"{model} answer two"
            judgements.append(
                {
                    "question_id": qid,
                    "model": model,
                    "turn": 1,
                    "score": s1,
                    "user_prompt": _judge_turn1(a1),
                }
            )
            judgements.append(
                {
                    "question_id": qid,
                    "model": model,
                    "turn": 2,
                    "score": s2,
                    "user_prompt": _judge_turn2(a1, a2),
                }
            )
    _jsonl(root / "mt_bench" / "judgements.jsonl", judgements)
    ds = load_routellm(root, benchmark="mt_bench", prices=prices)
    assert [s.id for s in ds.samples] == ["mt-bench.81", "mt-bench.121"]
    assert [s.capability for s in ds.samples] == [classify(s.text).capability for s in ds.samples]
    assert ds.outcome("mt-bench.81", STRONG).score == pytest.approx(0.9)
    assert ds.outcome("mt-bench.81", WEAK).score == pytest.approx(0.5)
    assert ds.outcome("mt-bench.121", WEAK).response == f"{WEAK} answer one to 121"
    assert ds.outcome("mt-bench.81", STRONG).cost_usd > ds.outcome("mt-bench.81", WEAK).cost_usd


def test_routellm_missing_folder(tmp_path: Path, prices: PriceTable) -> None:
    with pytest.raises(ConfigError, match="gsm8k data not found"):
        load_routellm(tmp_path, benchmark="gsm8k", prices=prices)
