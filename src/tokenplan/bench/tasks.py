"""Benchmark task names -> product capabilities.

STAND-IN: a prompt's capability should come from the router's classifier (``tokenplan.routing``)
reading the prompt text. Until that is wired into the benchmark, loaders tag each sample from
the benchmark it came from, with this table. The classifier replaces it without changing any
other part: policies read ``Query.capability`` and never the task name.
"""

from __future__ import annotations

__all__ = ["task_capability"]

_EXACT: dict[str, str] = {
    "arc-challenge": "reasoning",
    "winogrande": "reasoning",
    "hellaswag": "reasoning",
    "mbpp": "code",
    "humaneval": "code",
    "gsm8k": "math",
    "mmlu": "general",
    # MT-Bench categories
    "mt-bench/coding": "code",
    "mt-bench/math": "math",
    "mt-bench/reasoning": "reasoning",
}

# MMLU subjects that are mathematics in all but name.
_MMLU_MATH = ("mathematics", "algebra", "statistics", "econometrics")


def task_capability(task: str) -> str:
    """The capability tag (``code``, ``reasoning``, ``math``, ``general``) of a task name.

    ``task`` is the benchmark name, optionally with a subject (``mmlu/college_mathematics``,
    ``mt-bench/writing``). Unknown tasks are ``general``.
    """
    name = task.strip().lower()
    if name in _EXACT:
        return _EXACT[name]
    family, _, subject = name.partition("/")
    if family == "mmlu":
        return "math" if any(k in subject for k in _MMLU_MATH) else "general"
    if family in _EXACT and family != "mt-bench":
        return _EXACT[family]
    return "general"
