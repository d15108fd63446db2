"""Loader for RouterBench-format CSVs (recorded outcomes of many models on many prompts).

Format (as published by RouterBench, arXiv:2403.12031, and re-split by RouterDC): one row per
prompt with ``sample_id``, ``prompt`` (a stringified Python list of prompt strings),
``eval_name``, one 0/1 score column per model, and per model ``<model>|model_response`` (a
stringified list) and ``<model>|total_cost`` (USD). Any folder of such CSVs can be loaded.

Rows are deduplicated on ``sample_id`` (first wins) and on prompt text; rows with a missing
score or cost are dropped. Every drop is counted in the dataset's ``notes``.
"""

from __future__ import annotations

import ast
import csv
import math
import sys
from collections.abc import Iterable
from pathlib import Path

from tokenplan.bench.dataset import Outcome, OutcomeDataset, Sample, prompt_capability
from tokenplan.errors import ConfigError

__all__ = ["load_routerbench"]

_COST_SUFFIX = "|total_cost"
_RESPONSE_SUFFIX = "|model_response"
_REQUIRED = ("sample_id", "prompt", "eval_name")


def _csv_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if files:
            return files
        raise ConfigError(f"no RouterBench-format CSV files in {path}")
    raise ConfigError(f"RouterBench data not found: {path}")


def _text(raw: str) -> str:
    """A stringified list of strings -> the strings joined by blank lines; other text as is."""
    stripped = raw.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return raw
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n\n".join(value)
    return raw


def _number(raw: str | None) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _header_models(fieldnames: Iterable[str], file: Path) -> list[str]:
    names = list(fieldnames)
    missing = [c for c in _REQUIRED if c not in names]
    models = [c[: -len(_COST_SUFFIX)] for c in names if c.endswith(_COST_SUFFIX)]
    if missing or not models:
        what = f"columns {', '.join(missing)}" if missing else "any '<model>|total_cost' column"
        raise ConfigError(f"{file.name} is not in RouterBench format: no {what}")
    absent = [m for m in models if m not in names]
    if absent:
        raise ConfigError(f"{file.name}: no score column for {', '.join(absent)}")
    return models


def _row_outcomes(row: dict[str, str], models: list[str], file: Path) -> dict[str, Outcome]:
    """The row's outcome per model; empty when any score or cost is missing."""
    outcomes: dict[str, Outcome] = {}
    for m in models:
        score, cost = _number(row.get(m)), _number(row.get(m + _COST_SUFFIX))
        if score is None or cost is None:
            return {}
        if not 0.0 <= score <= 1.0 or cost < 0:
            raise ConfigError(
                f"{file.name}: {m} on {row['sample_id']} has score {score} (expected 0..1) "
                f"and cost {cost} (expected >= 0)"
            )
        raw_response = row.get(m + _RESPONSE_SUFFIX)
        response = None if raw_response is None else _text(raw_response)
        outcomes[m] = Outcome(score=score, cost_usd=cost, response=response)
    return outcomes


class _Collector:
    """Accumulates deduplicated rows and counts what it drops."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.samples: list[Sample] = []
        self.columns: dict[str, list[Outcome]] = {m: [] for m in models}
        self.ids: set[str] = set()
        self.texts: set[str] = set()
        self.dropped = {
            "a repeated sample_id": 0,
            "a repeated prompt text": 0,
            "a missing score or cost": 0,
        }

    def add(self, row: dict[str, str], file: Path) -> None:
        sample_id = row["sample_id"]
        if sample_id in self.ids:
            self.dropped["a repeated sample_id"] += 1
            return
        outcomes = _row_outcomes(row, self.models, file)
        if not outcomes:
            self.dropped["a missing score or cost"] += 1
            return
        text = _text(row["prompt"])
        if text in self.texts:
            self.dropped["a repeated prompt text"] += 1
            return
        self.ids.add(sample_id)
        self.texts.add(text)
        task = row["eval_name"].strip()
        self.samples.append(Sample(sample_id, text, task, prompt_capability(text)))
        for m in self.models:
            self.columns[m].append(outcomes[m])


def load_routerbench(
    path: Path, *, name: str = "routerbench", id_prefix: str = "rb"
) -> OutcomeDataset:
    """Load every RouterBench-format CSV under ``path`` (a folder or one file).

    All files must list the same models. Scores must be 0..1 (RouterBench's are 0/1).
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    collector: _Collector | None = None
    files = _csv_files(path)
    for file in files:
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            file_models = _header_models(reader.fieldnames or (), file)
            if collector is None:
                collector = _Collector(file_models)
            elif set(file_models) != set(collector.models):
                raise ConfigError(f"{file.name} lists other models than {files[0].name}")
            for row in reader:
                collector.add(row, file)
    assert collector is not None  # _csv_files returns at least one file
    notes = [
        f"{len(collector.samples)} prompts from {', '.join(f.name for f in files)}; costs recorded"
    ]
    notes += [f"{n} rows with {why} dropped" for why, n in collector.dropped.items() if n]
    return OutcomeDataset(
        name=name,
        id_prefix=id_prefix,
        models=collector.models,
        samples=collector.samples,
        outcomes=collector.columns,
        notes=notes,
    )
