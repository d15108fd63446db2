"""Small synthetic datasets for the benchmark tests (never the real ones under ../shared)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from tokenplan.bench.dataset import Outcome, OutcomeDataset, Sample

MODELS = ("cheap-a", "cheap-b", "big")
COSTS = {"cheap-a": 0.0001, "cheap-b": 0.0002, "big": 0.004}


def mc_prompt(i: int) -> str:
    return (
        f"Question {i}: which option is right?\nA) alpha {i}\nB) beta {i}\nC) gamma {i}\n"
        f"D) delta {i}\nPrint only a single choice.\nAnswer:"
    )


def synthetic_outcomes(n: int = 80, *, seed: int = 0, name: str = "synthetic") -> OutcomeDataset:
    """Multiple-choice prompts where the cheap pair is right whenever it agrees.

    ``big`` is always right. ``cheap-a`` and ``cheap-b`` are each right on a random 70%; when
    both are wrong they give different wrong letters, so agreement means correct.
    """
    rng = random.Random(seed)
    samples, columns = [], {m: [] for m in MODELS}
    for i in range(n):
        text = mc_prompt(i)
        samples.append(Sample(f"s{i}", text, "arc-challenge", "reasoning"))
        a_ok, b_ok = rng.random() < 0.7, rng.random() < 0.7
        answers = {"cheap-a": "A" if a_ok else "B", "cheap-b": "A" if b_ok else "C", "big": "A"}
        for m in MODELS:
            score = 1.0 if answers[m] == "A" else 0.0
            columns[m].append(Outcome(score, COSTS[m], answers[m]))
    return OutcomeDataset(
        name=name, id_prefix="t", models=MODELS, samples=samples, outcomes=columns
    )


def write_routerbench_csv(path: Path, dataset: OutcomeDataset) -> Path:
    """Write ``dataset`` in RouterBench's CSV format (stringified lists, per-model columns)."""
    fields = ["", "sample_id", "prompt", "eval_name", *dataset.models]
    fields += [f"{m}|model_response" for m in dataset.models]
    fields += [f"{m}|total_cost" for m in dataset.models]
    fields += ["oracle_model_to_route_to"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for i, s in enumerate(dataset.samples):
            row: list[object] = [i, s.id, repr([s.text]), s.task]
            row += [dataset.outcome(s.id, m).score for m in dataset.models]
            row += [repr([dataset.outcome(s.id, m).response]) for m in dataset.models]
            row += [dataset.outcome(s.id, m).cost_usd for m in dataset.models]
            row += ["big"]
            w.writerow(row)
    return path


def write_price_table(path: Path) -> Path:
    """A LiteLLM-format price table with the two RouteLLM models."""
    doc = {
        "gpt-4-1106-preview": {
            "litellm_provider": "openai",
            "input_cost_per_token": 1e-05,
            "output_cost_per_token": 3e-05,
            "max_input_tokens": 128000,
            "max_output_tokens": 4096,
        },
        "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1": {
            "litellm_provider": "together_ai",
            "input_cost_per_token": 6e-07,
            "output_cost_per_token": 6e-07,
        },
        "anyscale/mistralai/Mixtral-8x7B-Instruct-v0.1": {
            "litellm_provider": "anyscale",
            "input_cost_per_token": 1.5e-07,
            "output_cost_per_token": 1.5e-07,
        },
        "sample_spec": {"input_cost_per_token": None},
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
