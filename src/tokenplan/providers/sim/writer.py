"""The simulator's answer text: the marker line, small code that parses, JSON objects, worked
arithmetic (prose is in :mod:`~tokenplan.providers.sim.prose`).

None of it is a real answer. It is shaped like one (code in a fenced block, points that reuse
the prompt's own words, a number for simple arithmetic) so that every downstream part -
acceptance checks, run folders, the proxy, the CLI - sees realistic output offline.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Callable
from typing import Any

from tokenplan.providers.sim.prompt import first_sentence, identifier_from, keywords
from tokenplan.providers.sim.prose import Sentences, topic_of
from tokenplan.providers.sim.rng import Rng

__all__ = [
    "MARKER_PREFIX",
    "arithmetic_answer",
    "broken_python",
    "code_answer",
    "json_answer",
    "marker",
]

#: Every free-text answer starts with this (see :func:`marker`).
MARKER_PREFIX = "[simulated by tokenplan sim as "


def marker(model_id: str) -> str:
    """The first line of every free-text answer: says what produced it, and that it is fake."""
    return f"{MARKER_PREFIX}{model_id} - not a real model answer]"


# -- code -------------------------------------------------------------------------------------

_PY_BODIES = (
    (
        "def {name}(items: Iterable[str]) -> list[str]:\n"
        '    """{doc}"""\n'
        "    result: list[str] = []\n"
        "    for item in items:\n"
        "        text = str(item).strip()\n"
        "        if text:\n"
        "            result.append(text)\n"
        "    return result\n",
        '    assert {name}([" a ", "", "b"]) == ["a", "b"]\n',
    ),
    (
        "def {name}(items: Iterable[str]) -> dict[str, int]:\n"
        '    """{doc}"""\n'
        "    counts: dict[str, int] = {{}}\n"
        "    for item in items:\n"
        "        key = str(item).strip().lower()\n"
        "        counts[key] = counts.get(key, 0) + 1\n"
        "    return counts\n",
        '    assert {name}(["A", "a", "b"]) == {{"a": 2, "b": 1}}\n',
    ),
    (
        "def {name}(values: Iterable[float]) -> float:\n"
        '    """{doc}"""\n'
        "    total = 0.0\n"
        "    count = 0\n"
        "    for value in values:\n"
        "        total += float(value)\n"
        "        count += 1\n"
        "    return total / count if count else 0.0\n",
        "    assert {name}([1, 2, 3]) == 2.0\n",
    ),
)

_OTHER_CODE = {
    "javascript": (
        "function {camel}(items) {{\n"
        "  // {doc}\n"
        '  return items.map((item) => String(item).trim()).filter((item) => item !== "");\n'
        "}}\n\nmodule.exports = {{ {camel} }};\n"
    ),
    "typescript": (
        "export function {camel}(items: string[]): string[] {{\n"
        "  // {doc}\n"
        '  return items.map((item) => item.trim()).filter((item) => item !== "");\n'
        "}}\n"
    ),
    "rust": (
        "/// {doc}\n"
        "pub fn {name}(items: &[&str]) -> Vec<String> {{\n"
        "    items.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()\n"
        "}}\n"
    ),
    "go": (
        "// {camel_upper} - {doc}\n"
        "func {camel_upper}(items []string) []string {{\n"
        "\tout := []string{{}}\n"
        "\tfor _, item := range items {{\n"
        '\t\tif s := strings.TrimSpace(item); s != "" {{\n'
        "\t\t\tout = append(out, s)\n"
        "\t\t}}\n\t}}\n\treturn out\n}}\n"
    ),
    "java": (
        "public final class {class_name} {{\n"
        "    /** {doc} */\n"
        "    public static java.util.List<String> {camel}(java.util.List<String> items) {{\n"
        "        return items.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();\n"
        "    }}\n}}\n"
    ),
    "sql": (
        "-- {doc}\n"
        "SELECT category, COUNT(*) AS total\nFROM items\nWHERE name IS NOT NULL\n"
        "GROUP BY category\nORDER BY total DESC;\n"
    ),
    "bash": (
        "#!/usr/bin/env bash\n# {doc}\nset -euo pipefail\n"
        'for item in "$@"; do\n  [ -n "$item" ] && echo "$item"\ndone\n'
    ),
}


def code_answer(task: str, model_id: str, rng: Rng, *, language: str) -> str:
    """A labelled answer with one fenced code block (Python parses; others are plausible)."""
    name = identifier_from(task)
    doc = (first_sentence(task, max_chars=70) or "Simulated implementation").replace('"', "'")
    doc = f"{doc} (simulated placeholder)."
    intro = f"A small {language} implementation of `{name}`."
    if language != "python":
        template = _OTHER_CODE.get(language, _OTHER_CODE["javascript"])
        parts = name.split("_")
        camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
        body = template.format(
            name=name,
            camel=camel,
            camel_upper=camel[:1].upper() + camel[1:],
            class_name=camel[:1].upper() + camel[1:] + "Util",
            doc=doc.replace("*/", ""),
        )
        return f"{marker(model_id)}\n\n{intro}\n\n```{language}\n{body}```\n"
    return f"{marker(model_id)}\n\n{intro}\n\n```python\n{python_source(task, rng)}```\n"


def python_source(task: str, rng: Rng) -> str:
    """A small, valid Python module derived from ``task`` (with a test when one is asked for)."""
    name = identifier_from(task)
    doc = (first_sentence(task, max_chars=70) or "Simulated implementation").replace('"', "'")
    doc = doc.replace("\\", "/") + " (simulated placeholder)."
    body, test = rng.choice(_PY_BODIES)
    source = "from collections.abc import Iterable\n\n\n" + body.format(name=name, doc=doc)
    if "test" in task.lower() or rng.chance(0.5):
        source += f"\n\ndef test_{name}() -> None:\n" + test.format(name=name)
    return source


def broken_python(text: str, rng: Rng) -> str:
    """``text`` with its Python block made unparseable in a way models really get wrong."""
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    if match is None:
        return text
    source = match.group(1)
    breakers: tuple[Callable[[str], str], ...] = (
        lambda s: re.sub(r"\) -> ([^:\n]+):", r" -> \1:", s, count=1),  # unclosed signature
        lambda s: re.sub(r"(\n\s+for [^\n]+?):\n", r"\1\n", s, count=1),  # missing colon
        lambda s: s.replace("    return ", "    return (", 1),  # unbalanced paren
        lambda s: s.replace("\n    ", "\n  ", 1),  # inconsistent indentation
    )
    start = rng.randint(0, len(breakers) - 1)
    for i in range(len(breakers)):
        broken = breakers[(start + i) % len(breakers)](source)
        if broken != source and not _parses(broken):
            return text[: match.start(1)] + broken + text[match.end(1) :]
    return text[: match.start(1)] + source + "def (:\n" + text[match.end(1) :]


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


# -- JSON -------------------------------------------------------------------------------------


def json_answer(task: str, model_id: str, rng: Rng) -> str:
    """A JSON object answering ``task`` in JSON mode; its ``note`` field labels it simulated."""
    topic = topic_of(task)
    say = Sentences(topic, rng.child("points"))
    sentence = first_sentence(task) or "the request"
    doc: dict[str, Any] = {
        "note": marker(model_id)[1:-1],
        "summary": f"Simulated answer to: {sentence}.",
        "points": [say.point() for _ in range(3)],
        "keywords": list(topic.words[:5]) or keywords(task) or ["request"],
    }
    return json.dumps(doc, ensure_ascii=False)


# -- arithmetic -------------------------------------------------------------------------------

# No whitespace inside the leading number: "1 1 1 ..." must not backtrack quadratically.
_EXPR = re.compile(r"[-+]?\(?\d[\d.]*(?:\s*(?:\*\*|[-+*/%^×÷])\s*\(?\s*[-+]?\d[\d.]*\s*\)?)+")
#: Only the start of a prompt is searched for arithmetic (step prompts can carry long data).
_EXPR_WINDOW = 2_000
_HAS_OPERATOR = re.compile(r"\d\s*(?:\*\*|[-+*/%^×÷])\s*\(?\s*[-+]?\d")
_OPS: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def arithmetic_answer(task: str) -> str | None:
    """``Answer: <value>`` for the first plain arithmetic expression in ``task``, if any."""
    window = task[:_EXPR_WINDOW]
    if not _HAS_OPERATOR.search(window):
        return None
    for match in _EXPR.finditer(window):
        expr = match.group(0).replace("^", "**").replace("×", "*").replace("÷", "/").strip()
        if expr.count("(") != expr.count(")"):
            expr = expr.strip("()")
        try:
            value = _evaluate(ast.parse(expr, mode="eval").body)
        except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
            continue
        shown = f"{value:,.6g}" if isinstance(value, float) else f"{value:,}"
        return f"Working: {expr} = {shown}\n\nAnswer: {shown}"
    return None


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ValueError("exponent too large")
        result: int | float = _OPS[type(node.op)](left, right)
        return result
    raise ValueError("not plain arithmetic")
