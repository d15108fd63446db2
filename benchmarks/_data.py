"""Readers for the recorded-outcome datasets under ``../shared/data`` (benchmarks only).

Each reader yields :class:`Sample` rows: the prompt text, its source set, a capability label
(``code`` / ``reasoning`` / ``math`` / ``general``) and a difficulty signal where the data has
one (the share of recorded models that got the prompt right; ``None`` when unknown).

Label mapping (documented in docs/routing.md):

* routerbench ``eval_name``: ``mbpp`` -> code, ``arc-challenge`` and ``winogrande`` -> reasoning.
* RouteLLM GSM8K -> math.
* RouteLLM MMLU, per subject: the mathematics and statistics subjects -> math, the logic subjects
  (``formal_logic``, ``logical_fallacies``) -> reasoning, every other subject -> general (the
  computer-science subjects too: they ask what something is, they do not ask for a program).
  MMLU tests recalled knowledge with a one-letter answer, so broad knowledge ("general") is the
  capability a router should buy for it.
* MT-Bench categories: coding -> code, math -> math, reasoning -> reasoning, the rest -> general.
* AlpacaEval instructions -> general (open-ended instruction following).
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_DATA", "Sample", "load_all", "mmlu_label"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"

csv.field_size_limit(1 << 30)

MMLU_MATH = frozenset(
    {
        "abstract_algebra",
        "college_mathematics",
        "elementary_mathematics",
        "high_school_mathematics",
        "high_school_statistics",
    }
)
MMLU_REASONING = frozenset({"formal_logic", "logical_fallacies"})
ROUTERBENCH_LABELS = {"mbpp": "code", "arc-challenge": "reasoning", "winogrande": "reasoning"}
_NOT_SCORES = frozenset({"sample_id", "prompt", "eval_name", "oracle_model_to_route_to"})
MT_BENCH_LABELS = {"coding": "code", "math": "math", "reasoning": "reasoning"}


@dataclass(frozen=True, slots=True)
class Sample:
    source: str
    text: str
    label: str
    solved_share: float | None = None  # share of recorded models that answered correctly
    extra_texts: tuple[str, ...] = ()  # model responses, for token-estimator calibration


def mmlu_label(subject: str) -> str:
    if subject in MMLU_MATH:
        return "math"
    if subject in MMLU_REASONING:
        return "reasoning"
    return "general"


def _truthy(v: str) -> float | None:
    v = v.strip().lower()
    if v in ("true", "1", "1.0"):
        return 1.0
    if v in ("false", "0", "0.0"):
        return 0.0
    return None


def _share(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _routellm_solved(row: dict[str, str]) -> float | None:
    """Share of RouteLLM's two recorded models (Mixtral, GPT-4) that answered correctly."""
    return _share(
        [_truthy(row["mistralai/Mixtral-8x7B-Instruct-v0.1"]), _truthy(row["gpt-4-1106-preview"])]
    )


def routerbench(data: Path) -> Iterator[Sample]:
    seen: set[str] = set()
    for path in sorted((data / "routerbench-subset").glob("*_train.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            score_cols = [f for f in fields if f and "|" not in f and f not in _NOT_SCORES]
            for row in reader:
                if row["sample_id"] in seen:
                    continue
                seen.add(row["sample_id"])
                parts = ast.literal_eval(row["prompt"])
                text = "\n".join(parts) if isinstance(parts, list) else str(parts)
                scores = [_truthy(row[c]) for c in score_cols]
                resp = row.get("gpt-4-1106-preview|model_response", "")
                try:
                    responses = tuple(str(r) for r in ast.literal_eval(resp)) if resp else ()
                except (SyntaxError, ValueError):
                    responses = ()
                yield Sample(
                    source=f"routerbench/{row['eval_name']}",
                    text=text,
                    label=ROUTERBENCH_LABELS[row["eval_name"]],
                    solved_share=_share(scores),
                    extra_texts=responses,
                )


def gsm8k(data: Path) -> Iterator[Sample]:
    path = data / "routellm-evals" / "gsm8k" / "gsm8k_responses.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield Sample(
                source="routellm/gsm8k",
                text=row["prompt"],
                label="math",
                solved_share=_routellm_solved(row),
                extra_texts=(row.get("gpt-4-1106-preview_response", ""),),
            )


def mmlu(data: Path) -> Iterator[Sample]:
    for path in sorted((data / "routellm-evals" / "mmlu" / "responses").glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                yield Sample(
                    source=f"routellm/mmlu/{subject}",
                    text=row["prompt"],
                    label=mmlu_label(subject),
                    solved_share=_routellm_solved(row),
                )


def mt_bench(data: Path) -> Iterator[Sample]:
    path = data / "routellm-evals" / "mt_bench" / "question.jsonl"
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            yield Sample(
                source=f"mt_bench/{q['category']}",
                text=q["turns"][0],
                label=MT_BENCH_LABELS.get(q["category"], "general"),
                extra_texts=tuple(q["turns"][1:]),
            )


def alpaca(data: Path) -> Iterator[Sample]:
    path = data / "alpacaeval-annotations" / "instructions.csv.gz"
    with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield Sample(source="alpaca", text=row["instruction"], label="general")


READERS = {
    "routerbench": routerbench,
    "gsm8k": gsm8k,
    "mmlu": mmlu,
    "mt_bench": mt_bench,
    "alpaca": alpaca,
}


def load_all(data: Path, *, sets: tuple[str, ...] = tuple(READERS)) -> list[Sample]:
    if not data.is_dir():
        raise SystemExit(f"data folder not found: {data} (pass --data)")
    out: list[Sample] = []
    for name in sets:
        out.extend(READERS[name](data))
    return out
