"""Loaders for the RouteLLM evaluation sets (GPT-4-1106-preview vs Mixtral-8x7B).

RouteLLM (Ong et al. 2024, arXiv:2406.18665; GitHub ``lm-sys/RouteLLM``, ``routellm/evals/``)
publishes per-prompt outcomes of one strong and one weak model on three benchmarks:

* ``mmlu``: ``mmlu/responses/mmlu_<subject>.csv`` with ``prompt`` and a True/False column per
  model. No response text is recorded, so response-based policies cannot run on it.
* ``gsm8k``: ``gsm8k/gsm8k_responses.csv`` with correctness and each model's response text.
* ``mt_bench``: ``mt_bench/question.jsonl`` and GPT-4 judgements (``judgements.jsonl``, score
  1-10 per model and turn). The quality of a model on a question is the mean of its two turn
  scores divided by 10 (RouteLLM reports the mean judge score). The replayed response is the
  turn-1 answer, read out of the judge prompt; RouteLLM also routes on turn 1 only.

Prompts listed in ``<benchmark>/contaminated_prompts.jsonl`` (overlap with RouteLLM's router
training data) are excluded, as RouteLLM does.

**Costs are estimated**: none are recorded. Each (prompt, model) is priced with a public price
table (``PriceTable``) and token counts estimated from text (``tokenplan.tokens``): GSM8K from
the question and the recorded response; MMLU from the question plus one output token (RouteLLM
asked for one token; its 5-shot examples, up to 1,536 tokens, are not recorded, so MMLU costs
are understated for both models alike); MT-Bench from both turns' prompts and answers.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from tokenplan.bench.dataset import Outcome, OutcomeDataset, Sample, prompt_capability
from tokenplan.bench.prices import Price, PriceTable
from tokenplan.errors import ConfigError
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens

__all__ = ["ROUTELLM_BENCHMARKS", "RouteLLMBenchmark", "load_routellm"]

RouteLLMBenchmark = Literal["mmlu", "gsm8k", "mt_bench"]
ROUTELLM_BENCHMARKS: tuple[RouteLLMBenchmark, ...] = ("mmlu", "gsm8k", "mt_bench")

_TURN1_START = "[The Start of Assistant's Answer]\n"
_TURN1_END = "\n[The End of Assistant's Answer]"
_CONV_START = "<|The Start of Assistant A's Conversation with User|>"
_CONV_END = "<|The End of Assistant A's Conversation with User|>"
_ASSISTANT = "### Assistant A:\n"


def load_routellm(
    root: Path, *, benchmark: RouteLLMBenchmark, prices: PriceTable, id_prefix: str = "rl"
) -> OutcomeDataset:
    """Load one RouteLLM benchmark from ``root`` (the ``routellm-evals`` folder)."""
    folder = root / benchmark
    if not folder.is_dir():
        raise ConfigError(f"RouteLLM {benchmark} data not found: {folder}")
    contaminated = _contaminated(folder / "contaminated_prompts.jsonl")
    if benchmark == "mmlu":
        return _load_mmlu(folder, contaminated, prices, id_prefix)
    if benchmark == "gsm8k":
        return _load_gsm8k(folder, contaminated, prices, id_prefix)
    return _load_mt_bench(folder, contaminated, prices, id_prefix)


def _contaminated(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {str(row["eval_prompt"]) for row in _jsonl(path) if "eval_prompt" in row}


class _PromptFilter:
    """Drops contaminated and repeated prompts, counting each."""

    def __init__(self, contaminated: set[str]) -> None:
        self._contaminated = contaminated
        self._seen: set[str] = set()
        self.dropped = 0
        self.duplicates = 0

    def keep(self, text: str) -> bool:
        if text in self._contaminated:
            self.dropped += 1
            return False
        if text in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(text)
        return True

    def notes(self) -> list[str]:
        return [f"{self.duplicates} repeated prompts dropped"] if self.duplicates else []


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise ConfigError(f"{path.name}:{n} is not valid JSON") from None
        if isinstance(row, dict):
            yield row


def _bool(raw: str, where: str) -> float:
    value = raw.strip().lower()
    if value in ("true", "1", "1.0"):
        return 1.0
    if value in ("false", "0", "0.0"):
        return 0.0
    raise ConfigError(f"{where}: expected True/False, got {raw!r}")


def _price_models(models: Iterable[str], prices: PriceTable) -> dict[str, Price]:
    return {m: prices.require(m) for m in models}


def _estimated_cost(price: Price, *, prompts: Iterable[str], output_tokens: int) -> float:
    return price.cost_usd(
        input_tokens=estimate_messages_tokens(prompts), output_tokens=output_tokens
    )


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            return list(reader.fieldnames or ()), rows
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _pair_models(fields: list[str], path: Path) -> list[str]:
    models = [f for f in fields if f != "prompt" and not f.endswith("_response")]
    if "prompt" not in fields or len(models) < 2:
        raise ConfigError(f"{path.name} is not a RouteLLM outcomes file (prompt + model columns)")
    return models


def _dataset(
    name: str,
    id_prefix: str,
    models: list[str],
    samples: list[Sample],
    columns: Mapping[str, list[Outcome]],
    notes: list[str],
) -> OutcomeDataset:
    return OutcomeDataset(
        name=name,
        id_prefix=id_prefix,
        models=models,
        samples=samples,
        outcomes=columns,
        notes=notes,
    )


def _load_mmlu(
    folder: Path, contaminated: set[str], prices: PriceTable, id_prefix: str
) -> OutcomeDataset:
    files = sorted((folder / "responses").glob("mmlu_*.csv"))
    if not files:
        raise ConfigError(f"no mmlu_<subject>.csv files in {folder / 'responses'}")
    models: list[str] = []
    samples: list[Sample] = []
    columns: dict[str, list[Outcome]] = {}
    prompts = _PromptFilter(contaminated)
    price: dict[str, Price] = {}
    for path in files:
        fields, rows = _read_csv(path)
        file_models = _pair_models(fields, path)
        if not models:
            models = file_models
            columns = {m: [] for m in models}
            price = _price_models(models, prices)
        elif set(file_models) != set(models):
            raise ConfigError(f"{path.name} lists other models than {files[0].name}")
        subject = path.stem.removeprefix("mmlu_")
        for i, row in enumerate(rows):
            text = row["prompt"]
            if not prompts.keep(text):
                continue
            task = f"mmlu/{subject}"
            samples.append(Sample(f"mmlu.{subject}.{i}", text, task, prompt_capability(text)))
            for m in models:
                score = _bool(row[m], f"{path.name} row {i + 2}")
                cost = _estimated_cost(price[m], prompts=[text], output_tokens=1)
                columns[m].append(Outcome(score, cost, None, cost_estimated=True))
    notes = [
        f"{len(samples)} MMLU prompts ({len(files)} subjects); "
        f"{prompts.dropped} contaminated prompts excluded",
        "no response text recorded: response-based policies do not apply",
        "costs estimated: question tokens + 1 output token at "
        + ", ".join(f"{m} {price[m].source}" for m in models)
        + " (5-shot examples not recorded)",
    ]
    notes += prompts.notes()
    return _dataset("routellm-mmlu", id_prefix, models, samples, columns, notes)


def _load_gsm8k(
    folder: Path, contaminated: set[str], prices: PriceTable, id_prefix: str
) -> OutcomeDataset:
    path = folder / "gsm8k_responses.csv"
    fields, rows = _read_csv(path)
    models = _pair_models(fields, path)
    price = _price_models(models, prices)
    samples: list[Sample] = []
    columns: dict[str, list[Outcome]] = {m: [] for m in models}
    prompts = _PromptFilter(contaminated)
    for i, row in enumerate(rows):
        text = row["prompt"]
        if not prompts.keep(text):
            continue
        samples.append(Sample(f"gsm8k.{i}", text, "gsm8k", prompt_capability(text)))
        for m in models:
            response = row.get(f"{m}_response")
            score = _bool(row[m], f"{path.name} row {i + 2}")
            out_tokens = estimate_tokens(response) if response else 1
            cost = _estimated_cost(price[m], prompts=[text], output_tokens=out_tokens)
            columns[m].append(Outcome(score, cost, response, cost_estimated=True))
    notes = [
        f"{len(samples)} GSM8K prompts; {prompts.dropped} contaminated prompts excluded",
        "costs estimated: question + recorded response tokens at "
        + ", ".join(f"{m} {price[m].source}" for m in models),
    ]
    notes += prompts.notes()
    return _dataset("routellm-gsm8k", id_prefix, models, samples, columns, notes)


def _answer_from_judge_prompt(prompt: str, turn: int) -> str | None:
    if turn == 1 and _TURN1_START in prompt:
        return prompt.split(_TURN1_START, 1)[1].split(_TURN1_END, 1)[0]
    if _CONV_START in prompt:
        conversation = prompt.split(_CONV_START, 1)[1].split(_CONV_END, 1)[0]
        parts = conversation.split(_ASSISTANT)[1:]
        if len(parts) >= turn:
            return parts[turn - 1].split("\n\n### User:", 1)[0].strip()
    return None


_Judged = dict[tuple[int, str], dict[int, tuple[float, str | None]]]


def _judgements(path: Path) -> tuple[list[str], _Judged]:
    """Models in order of appearance, and (question, model) -> turn -> (score, answer)."""
    judged: _Judged = {}
    models: list[str] = []
    for row in _jsonl(path):
        model, turn = str(row["model"]), int(row["turn"])
        if model not in models:
            models.append(model)
        answer = _answer_from_judge_prompt(str(row.get("user_prompt", "")), turn)
        judged.setdefault((int(row["question_id"]), model), {})[turn] = (
            float(row["score"]),
            answer,
        )
    if len(models) < 2:
        raise ConfigError(f"{path}: judgements for fewer than two models")
    return models, judged


def _load_mt_bench(
    folder: Path, contaminated: set[str], prices: PriceTable, id_prefix: str
) -> OutcomeDataset:
    questions = {int(q["question_id"]): q for q in _jsonl(folder / "question.jsonl")}
    models, judged = _judgements(folder / "judgements.jsonl")
    price = _price_models(models, prices)
    samples: list[Sample] = []
    columns: dict[str, list[Outcome]] = {m: [] for m in models}
    dropped = incomplete = 0
    for qid in sorted(questions):
        q = questions[qid]
        turns = [str(t) for t in q.get("turns", [])]
        if any(t in contaminated for t in turns):
            dropped += 1
            continue
        per_model = [judged.get((qid, m), {}) for m in models]
        if not turns or any(set(j) != {1, 2} for j in per_model):
            incomplete += 1
            continue
        task = f"mt-bench/{q.get('category', 'general')}"
        samples.append(Sample(f"mt-bench.{qid}", turns[0], task, prompt_capability(turns[0])))
        for m, j in zip(models, per_model, strict=True):
            a1, a2 = j[1][1] or "", j[2][1] or ""
            score = (j[1][0] + j[2][0]) / 20.0
            cost = _estimated_cost(
                price[m],
                prompts=[turns[0], turns[0], a1, *turns[1:]],
                output_tokens=estimate_tokens(a1) + estimate_tokens(a2),
            )
            columns[m].append(Outcome(min(1.0, max(0.0, score)), cost, j[1][1], True))
    notes = [
        f"{len(samples)} MT-Bench questions; {dropped} contaminated questions excluded",
        "quality = mean GPT-4 judge score of both turns / 10; replayed response = turn-1 answer",
        "costs estimated: both turns' prompts and answers at "
        + ", ".join(f"{m} {price[m].source}" for m in models),
    ]
    if incomplete:
        notes.append(f"{incomplete} questions without both turns judged for every model dropped")
    return _dataset("routellm-mt-bench", id_prefix, models, samples, columns, notes)
