"""The normalized, in-memory outcomes dataset every benchmark part reads.

An :class:`OutcomeDataset` holds prompts (:class:`Sample`) and, for every (prompt, model) pair,
what that model answered, how it was graded and what it cost (:class:`Outcome`). Loaders for
the public formats (RouterBench CSVs, RouteLLM eval sets) produce it; the replay provider
serves its responses; graders read its scores; the catalog builder fits prices and quality
priors on its train part.

Only graders and the (clearly marked) oracle ever read ``Outcome.score``: policies see prompts
and the responses the replay provider returns.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Outcome", "OutcomeDataset", "Sample", "Split", "prompt_capability", "prompt_key"]


def prompt_capability(text: str) -> str:
    """The capability the product's classifier gives ``text`` (what the router will see)."""
    from tokenplan.routing.classifier import classify

    return classify(text).capability


def prompt_key(text: str) -> str:
    """A short stable digest of a prompt, for messages and logs (never the text itself)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Sample:
    """One prompt of a dataset.

    ``task`` names the source benchmark (``arc-challenge``, ``mmlu/anatomy``, ...); it is
    for reports only: no policy reads it. ``capability`` is what the product's classifier reads
    in the prompt text (:func:`prompt_capability`), the same tag the router routes on; catalog
    priors are fitted per capability.
    """

    id: str
    text: str
    task: str
    capability: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one model did on one prompt.

    ``score`` is the grade in [0, 1] (1/0 for right/wrong, a normalized judge score for
    open-ended prompts). ``response`` is ``None`` when the dataset recorded no text (RouteLLM's
    MMLU). ``cost_usd`` is the recorded cost, or an estimate when ``cost_estimated`` is true.
    """

    score: float
    cost_usd: float
    response: str | None
    cost_estimated: bool = False


@dataclass(frozen=True, slots=True)
class Split:
    """A deterministic, seeded train/eval split by sample id.

    A sample is in the train part when a SHA-256 hash of ``seed`` and its id, read as a number
    in [0, 1), is below ``train_fraction``. The assignment does not depend on the order of the
    rows, on the other samples, or on Python's hash seed, so a sample never changes side when
    the dataset grows.
    """

    train_fraction: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.train_fraction < 1.0:
            raise ValueError("train_fraction must be in (0, 1)")

    @classmethod
    def parse(cls, text: str, *, seed: int = 0) -> Split:
        """Parse ``train:0.5`` (the train fraction; the rest is the eval part)."""
        name, sep, value = text.partition(":")
        if name.strip() != "train" or not sep:
            raise ValueError(f"expected 'train:FRACTION' (for example train:0.5), got {text!r}")
        try:
            fraction = float(value)
        except ValueError:
            raise ValueError(f"split fraction is not a number: {value!r}") from None
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"split fraction must be between 0 and 1 (exclusive), got {value}")
        return cls(train_fraction=fraction, seed=seed)

    def is_train(self, sample_id: str) -> bool:
        digest = hashlib.sha256(f"{self.seed}\x00{sample_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2.0**64 < self.train_fraction

    def __str__(self) -> str:
        return f"train:{self.train_fraction:g} (seed {self.seed})"


class OutcomeDataset:
    """Prompts x models -> :class:`Outcome`, indexed by sample id and by exact prompt text.

    ``models`` are the dataset's own model names; ``id_prefix`` turns them into catalog ids
    (``rb`` + ``gpt-4-1106-preview`` -> ``rb/gpt-4-1106-preview``). Sample ids and prompt texts
    must be unique (loaders dedupe and say so in ``notes``).
    """

    __slots__ = (
        "_by_text",
        "_index",
        "_outcomes",
        "id_prefix",
        "models",
        "name",
        "notes",
        "samples",
    )

    def __init__(
        self,
        *,
        name: str,
        id_prefix: str,
        models: Sequence[str],
        samples: Sequence[Sample],
        outcomes: Mapping[str, Sequence[Outcome]],
        notes: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.id_prefix = id_prefix
        self.models: tuple[str, ...] = tuple(models)
        self.samples: tuple[Sample, ...] = tuple(samples)
        self.notes: tuple[str, ...] = tuple(notes)
        if len(set(self.models)) != len(self.models):
            raise ValueError("duplicate model names")
        if set(outcomes) != set(self.models):
            raise ValueError("outcomes must have exactly one column per model")
        self._outcomes = {m: tuple(outcomes[m]) for m in self.models}
        for m, column in self._outcomes.items():
            if len(column) != len(self.samples):
                raise ValueError(
                    f"model {m!r} has {len(column)} outcomes for {len(self.samples)} samples"
                )
            for o in column:
                if not (0.0 <= o.score <= 1.0 and math.isfinite(o.cost_usd) and o.cost_usd >= 0):
                    raise ValueError(f"model {m!r}: score must be in [0, 1] and cost >= 0, got {o}")
        self._index = {s.id: i for i, s in enumerate(self.samples)}
        if len(self._index) != len(self.samples):
            raise ValueError("duplicate sample ids")
        self._by_text = {s.text: i for i, s in enumerate(self.samples)}
        if len(self._by_text) != len(self.samples):
            raise ValueError("duplicate prompt texts")

    # -- lookup -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.samples)

    def __contains__(self, sample_id: object) -> bool:
        return sample_id in self._index

    def sample(self, sample_id: str) -> Sample:
        return self.samples[self._index[sample_id]]

    def find_text(self, text: str) -> Sample | None:
        """The sample whose prompt is exactly ``text``, or ``None``."""
        i = self._by_text.get(text)
        return None if i is None else self.samples[i]

    def outcome(self, sample_id: str, model: str) -> Outcome:
        """The outcome of dataset model ``model`` on ``sample_id`` (``KeyError`` if unknown)."""
        return self._outcomes[model][self._index[sample_id]]

    def column(self, model: str) -> tuple[Outcome, ...]:
        """Outcomes of ``model``, aligned with :attr:`samples`."""
        return self._outcomes[model]

    def model_id(self, model: str) -> str:
        """Catalog id of a dataset model name."""
        return f"{self.id_prefix}/{model}"

    def model_name(self, model_id: str) -> str | None:
        """Dataset model name of a catalog id, or ``None`` when it is not one of ours."""
        prefix = self.id_prefix + "/"
        if not model_id.startswith(prefix):
            return None
        name = model_id[len(prefix) :]
        return name if name in self._outcomes else None

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(self.model_id(m) for m in self.models)

    def has_responses(self, model: str) -> bool:
        """Whether response texts were recorded for ``model`` (on every sample)."""
        return all(o.response is not None for o in self._outcomes[model])

    def costs_estimated(self, model: str) -> bool:
        return any(o.cost_estimated for o in self._outcomes[model])

    # -- aggregates ---------------------------------------------------------------------------

    def accuracy(self, model: str) -> float:
        """Mean score of ``model`` (0.0 on an empty dataset)."""
        column = self._outcomes[model]
        return sum(o.score for o in column) / len(column) if column else 0.0

    def mean_cost(self, model: str) -> float:
        """Mean USD per prompt of ``model``."""
        column = self._outcomes[model]
        return sum(o.cost_usd for o in column) / len(column) if column else 0.0

    def tasks(self) -> list[str]:
        return sorted({s.task for s in self.samples})

    # -- views --------------------------------------------------------------------------------

    def subset(self, sample_ids: Iterable[str], *, name: str | None = None) -> OutcomeDataset:
        """The dataset restricted to ``sample_ids`` (in this dataset's order)."""
        wanted = set(sample_ids)
        keep = [i for i, s in enumerate(self.samples) if s.id in wanted]
        return OutcomeDataset(
            name=name or self.name,
            id_prefix=self.id_prefix,
            models=self.models,
            samples=[self.samples[i] for i in keep],
            outcomes={m: [col[i] for i in keep] for m, col in self._outcomes.items()},
            notes=self.notes,
        )

    def split(self, split: Split) -> tuple[OutcomeDataset, OutcomeDataset]:
        """``(train, eval)`` parts; disjoint, together the whole dataset."""
        train_ids = [s.id for s in self.samples if split.is_train(s.id)]
        train = self.subset(train_ids, name=f"{self.name}:train")
        eval_ids = [s.id for s in self.samples if s.id not in train]
        return train, self.subset(eval_ids, name=f"{self.name}:eval")

    def __repr__(self) -> str:
        return (
            f"OutcomeDataset({self.name!r}, {len(self.samples)} samples, {len(self.models)} models)"
        )
