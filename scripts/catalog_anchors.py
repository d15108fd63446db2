"""Print the recorded-outcome anchors behind the catalog's quality priors.

The quality priors in ``scripts/catalog_curation.toml`` cite figures from the recorded outcomes
under ``../shared/data`` (per-model LiveCodeBench pass@1, RouterBench and RouteLLM accuracy,
AlpacaEval win rates) and the *tier gaps* they show: how a same-era cheaper model scores
relative to its vendor's flagship. This script recomputes every one of those figures from the
raw files, so a reader can check a prior's ``source`` note instead of trusting it::

    python scripts/catalog_anchors.py                 # tables on stdout
    python scripts/catalog_anchors.py --json          # the same figures as JSON
    python scripts/catalog_anchors.py --data PATH     # another copy of shared/data

It only reads; the catalog build itself (``build_catalog.py``) never touches these files.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"

# Same-era pairs (cheaper, dearer) whose ratio of scores shows the size of a tier gap.
TIER_PAIRS: dict[str, list[tuple[str, str, str]]] = {
    "livecodebench": [
        ("GPT-4O-mini-2024-07-18", "GPT-4O-2024-08-06", "openai mini vs full"),
        ("Claude-3-Haiku", "Claude-3.5-Sonnet-20241022", "anthropic haiku vs sonnet"),
        ("Gemini-2.5-Flash-Preview", "Gemini-2.5-Pro", "google flash vs pro"),
        ("O3-Mini-2025-01-31 (Low)", "O3-Mini-2025-01-31 (High)", "reasoning effort low vs high"),
        ("Gemini-Flash-1.5-002", "Gemini-Pro-1.5-002", "google flash vs pro (2024)"),
    ],
    "routerbench": [
        ("claude-instant-v1", "claude-v1", "anthropic instant vs v1"),
        ("gpt-3.5-turbo-1106", "gpt-4-1106-preview", "openai 3.5 vs 4"),
        ("mistralai/mistral-7b-chat", "mistralai/mixtral-8x7b-chat", "mistral 7b vs 8x7b"),
        ("mistralai/mixtral-8x7b-chat", "gpt-4-1106-preview", "open mid vs closed flagship"),
    ],
    "routellm": [
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview", "open mid vs flagship"),
    ],
    "alpacaeval": [
        ("claude-instant-1.2", "claude-2", "anthropic instant vs 2"),
        ("gpt-3.5-turbo-1106", "gpt4_1106_preview", "openai 3.5 vs 4 (reference = 0.5)"),
    ],
}


def livecodebench(data: Path) -> dict[str, dict[str, float]]:
    """Mean pass@1 (fraction) per model and difficulty, for each recorded file."""
    out: dict[str, dict[str, float]] = {}
    for path in sorted((data / "livecodebench-perf").glob("performances_generation_*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        scores: dict[tuple[str, str], list[float]] = defaultdict(list)
        for p in doc["performances"]:
            scores[(p["model"], "all")].append(p["pass@1"] / 100.0)
            scores[(p["model"], p["difficulty"])].append(p["pass@1"] / 100.0)
        for (model, level), vals in scores.items():
            out.setdefault(f"{path.name[24:34]}|{model}", {})[level] = _mean(vals)
    return out


def routerbench(data: Path) -> dict[str, dict[str, float]]:
    """Mean 0/1 score per model and eval (rows deduplicated on ``sample_id``)."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for path in sorted((data / "routerbench-subset").glob("*_train.csv")):
        seen: set[str] = set()
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            models = [c for c in reader.fieldnames or () if _is_score_column(c)]
            for row in reader:
                if row["sample_id"] in seen:
                    continue
                seen.add(row["sample_id"])
                for m in models:
                    if row[m] not in ("", "nan", "NaN"):
                        scores[(m, row["eval_name"])].append(float(row[m]))
                        scores[(m, "all")].append(float(row[m]))
    out: dict[str, dict[str, float]] = {}
    for (model, ev), vals in scores.items():
        out.setdefault(model, {})[ev] = _mean(vals)
    return out


def _is_score_column(name: str) -> bool:
    return (
        bool(name)
        and "|" not in name
        and name not in ("sample_id", "prompt", "eval_name")
        and (name != "oracle_model_to_route_to")
    )


def routellm(data: Path) -> dict[str, dict[str, float]]:
    """MMLU and GSM8K accuracy, MT-Bench mean score / 10, per model."""
    root = data / "routellm-evals"
    acc: dict[tuple[str, str], list[float]] = defaultdict(list)
    for path in sorted((root / "mmlu" / "responses").glob("mmlu_*.csv")):
        _collect_bool_columns(path, "mmlu", acc)
    _collect_bool_columns(root / "gsm8k" / "gsm8k_responses.csv", "gsm8k", acc)
    with (root / "mt_bench" / "judgements.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("score", -1) >= 0:
                acc[(row["model"], "mt_bench")].append(row["score"] / 10.0)
    out: dict[str, dict[str, float]] = {}
    for (model, ev), vals in acc.items():
        out.setdefault(model, {})[ev] = _mean(vals)
    return out


def _collect_bool_columns(path: Path, ev: str, acc: dict[tuple[str, str], list[float]]) -> None:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = [c for c in reader.fieldnames or () if c != "prompt" and not c.endswith("_response")]
        for row in reader:
            for c in cols:
                if row[c] in ("True", "False"):
                    acc[(c, ev)].append(1.0 if row[c] == "True" else 0.0)


def alpacaeval(data: Path) -> dict[str, dict[str, float]]:
    """Mean win probability against the gpt-4-1106-preview reference (gaming entries dropped)."""
    wins: dict[str, list[float]] = defaultdict(list)
    with gzip.open(
        data / "alpacaeval-annotations" / "outcomes.csv.gz", "rt", encoding="utf-8"
    ) as fh:
        for row in csv.DictReader(fh):
            if row["model"] in ("NullModel", "gpt4_gamed"):
                continue
            wins[row["model"]].append(float(row["win_prob_vs_reference"]))
    wins["gpt4_1106_preview"] = [0.5]
    return {m: {"win_rate": _mean(v)} for m, v in wins.items()}


def tier_gaps(tables: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """Ratios cheaper/dearer for the same-era pairs in :data:`TIER_PAIRS`."""
    rows: list[dict[str, Any]] = []
    for source, pairs in TIER_PAIRS.items():
        table = tables[source]
        for low, high, label in pairs:
            lo, hi = _lookup(table, low), _lookup(table, high)
            if lo is None or hi is None:
                continue
            for metric in sorted(set(lo) & set(hi)):
                if hi[metric] > 0:
                    rows.append(
                        {
                            "source": source,
                            "pair": label,
                            "metric": metric,
                            "cheaper": round(lo[metric], 3),
                            "dearer": round(hi[metric], 3),
                            "ratio": round(lo[metric] / hi[metric], 3),
                        }
                    )
    return rows


def _lookup(table: dict[str, dict[str, float]], model: str) -> dict[str, float] | None:
    if model in table:
        return table[model]
    # livecodebench keys carry their file date; prefer the newest file.
    hits = sorted(k for k in table if k.endswith("|" + model))
    return table[hits[-1]] if hits else None


def _mean(vals: Iterable[float]) -> float:
    vals = list(vals)
    return sum(vals) / len(vals) if vals else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"no data folder at {args.data} (pass --data)")
    tables = {
        "livecodebench": livecodebench(args.data),
        "routerbench": routerbench(args.data),
        "routellm": routellm(args.data),
        "alpacaeval": alpacaeval(args.data),
    }
    gaps = tier_gaps(tables)
    if args.json:
        json.dump({"tables": tables, "tier_gaps": gaps}, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    for name, table in tables.items():
        print(f"== {name}")
        metrics = sorted({k for v in table.values() for k in v})
        print(f"  {'model':58}" + "".join(f"{m[:11]:>12}" for m in metrics))
        for model in sorted(table, key=lambda m: -table[m].get(metrics[0], 0.0)):
            cells = "".join(f"{table[model].get(m, float('nan')):12.3f}" for m in metrics)
            print(f"  {model[:58]:58}{cells}")
    print("== tier gaps (cheaper / dearer, same era)")
    for g in gaps:
        print(
            f"  {g['source']:14} {g['pair']:34} {g['metric']:12} "
            f"{g['cheaper']:.3f} / {g['dearer']:.3f} = {g['ratio']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
