"""Reading answers out of model responses: multiple choice, numbers, code.

Cascades compare the answers of several models and check single answers without knowing the
right one, so everything here reads only the prompt and the response text. Graders of the live
suite use the same extractors.

* :func:`choice_options` finds the options of the last multiple-choice question in a prompt
  (``A) text`` / ``A. text`` / ``(A) text`` lines, as in ARC, Winogrande and MMLU).
* :func:`extract_choice` reads the chosen letter: a leading letter, ``the answer is B``, or the
  text of an option (models sometimes answer ``Rachel`` instead of ``B``).
* :func:`extract_number` reads a final numeric answer (GSM8K's ``#### 42``, ``the answer is
  42``, else the last number) in canonical form; :func:`arithmetic_consistent` re-checks the
  ``a + b = c`` steps of a worked answer.
* :func:`extract_code` returns the Python in a response (fenced block or ``[PYTHON]`` tags);
  :func:`code_defines_function` says whether it parses and defines a function.
"""

from __future__ import annotations

import ast
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

__all__ = [
    "Answer",
    "AnswerKind",
    "answer_kind",
    "arithmetic_consistent",
    "choice_options",
    "code_defines_function",
    "extract_answer",
    "extract_choice",
    "extract_code",
    "extract_number",
    "normalize_text",
]

AnswerKind = Literal["choice", "number", "code", "text"]

_OPTION_RE = re.compile(r"^\s*\(?([A-J])[).:]\s+(\S.*?)\s*$")
_LEADING_LETTER_RE = re.compile(r"^\(?([A-J])(?:[).:,\s]|$)")
_STATED_LETTER_RE = re.compile(
    r"\b(?:answer|choice|option)\s*(?:is|would be|:)?\s*:?\s*\(?([A-J])\)?(?![A-Za-z])",
    re.IGNORECASE,
)
_NUM = r"-?\d[\d,]*(?:\.\d+)?"
_HASH_ANSWER_RE = re.compile(r"####\s*\$?\s*(" + _NUM + ")")
_STATED_NUMBER_RE = re.compile(r"answer\s*(?:is|:)\s*:?\s*\$?\s*(" + _NUM + ")", re.IGNORECASE)
_ANY_NUMBER_RE = re.compile(r"(?<![\w.])" + _NUM)
# "a op b (op c)* = d", numbers optionally with a currency sign.
_EQUATION_RE = re.compile(
    r"((?:\$?\d[\d,]*(?:\.\d+)?\s*[-+*/x×÷]\s*)+\$?\d[\d,]*(?:\.\d+)?)\s*=\s*\$?\s*("
    + _NUM
    + r")(?![\d.]*\s*[-+*/x×÷]\s*\d)"
)
_FENCE_RE = re.compile(r"```[ \t]*([\w+#.\-]*)[^\n]*\n(.*?)```", re.DOTALL)
_TAGGED_PY_RE = re.compile(r"\[PYTHON\](.*?)\[/PYTHON\]", re.DOTALL)
_PYTHON_FENCES = ("", "python", "py", "python3", "py3")
_SHORT_ANSWER_CHARS = 60
_OTHER_LANGUAGE_RE = re.compile(
    r"(?<![\w+#])(C\+\+|C#|Java|JavaScript|TypeScript|Rust|Golang|Go program|Ruby|Kotlin|Swift"
    r"|PHP|Scala|Haskell|SQL|Bash|shell script|HTML|CSS|R function)(?![\w+#])",
    re.IGNORECASE,
)
_PYTHON_RE = re.compile(r"\bpython\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a response says, as far as agreement and checks are concerned.

    ``value`` is comparable across responses (a letter, a canonical number) or ``None`` when
    the response has no extractable answer or the kind has no comparable form (code, prose).
    ``check`` is the outcome of a self-contained check (``True``/``False``) or ``None`` when
    nothing could be checked.
    """

    value: str | None
    check: bool | None = None


def normalize_text(text: str) -> str:
    """Lower-case, accents and punctuation removed, articles dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    words = [w for w in text.split() if w not in ("a", "an", "the")]
    return " ".join(words)


# -- multiple choice ----------------------------------------------------------------------------


def choice_options(prompt: str) -> dict[str, str]:
    """Options ``{"A": text, ...}`` of the last multiple-choice question in ``prompt``.

    Empty when the prompt has no run of at least two options lettered from ``A``.
    """
    return dict(_choice_options(prompt))


@functools.lru_cache(maxsize=4096)
def _choice_options(prompt: str) -> tuple[tuple[str, str], ...]:
    # Cached: a cascade reads the options of the same prompt once per response.
    lines = prompt.splitlines()
    for end in range(len(lines) - 1, -1, -1):
        m = _OPTION_RE.match(lines[end])
        if m is None:
            continue
        block: list[tuple[str, str]] = [(m.group(1), m.group(2))]
        i = end - 1
        while block[0][0] != "A" and i >= 0:
            prev = _OPTION_RE.match(lines[i])
            if prev is None or ord(prev.group(1)) != ord(block[0][0]) - 1:
                break
            block.insert(0, (prev.group(1), prev.group(2)))
            i -= 1
        if block[0][0] == "A" and len(block) >= 2:
            return tuple(block)
        return ()
    return ()


def extract_choice(response: str, options: dict[str, str]) -> str | None:
    """The option letter ``response`` picks, or ``None``.

    Tried in order: a leading letter (``B``, ``(B)``, ``B) ...``), a stated letter (``the
    answer is B``), then the text of exactly one option at the start of the response (or a
    truncated prefix of it, at least three characters long).
    """
    s = response.strip()
    if not s or not options:
        return None
    m = _LEADING_LETTER_RE.match(s)
    if m and m.group(1) in options:
        return m.group(1)
    m = _STATED_LETTER_RE.search(s)
    if m and m.group(1) in options:
        return m.group(1)
    said = normalize_text(s.splitlines()[0])
    if not said:
        return None
    matches = set()
    for letter, text in options.items():
        option = normalize_text(text)
        if not option:
            continue
        if (
            said == option
            or said.startswith(option + " ")
            or (len(said) >= 3 and option.startswith(said))
        ):
            matches.add(letter)
    return matches.pop() if len(matches) == 1 else None


# -- numbers ------------------------------------------------------------------------------------


def _canonical_number(raw: str) -> str | None:
    try:
        d = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def extract_number(response: str) -> str | None:
    """The final numeric answer in canonical form (``"1,200.50"`` -> ``"1200.5"``), or ``None``.

    Prefers GSM8K's ``#### N``, then the last ``answer is N``, then the last number.
    """
    for pattern in (_HASH_ANSWER_RE, _STATED_NUMBER_RE):
        found = pattern.findall(response)
        if found:
            return _canonical_number(found[-1])
    found = _ANY_NUMBER_RE.findall(response)
    return _canonical_number(found[-1]) if found else None


def _evaluate(expression: str) -> Fraction | None:
    tokens = re.findall(r"\d[\d,]*(?:\.\d+)?|[-+*/x×÷]", expression.replace("$", ""))
    if not tokens:
        return None
    terms: list[Fraction] = []
    sign = 1
    current: Fraction | None = None
    pending: str | None = None
    for tok in tokens:
        if tok in "+-":
            if current is None:
                return None
            terms.append(sign * current)
            sign, current, pending = (1 if tok == "+" else -1), None, None
        elif tok in "*/x×÷":
            if current is None:
                return None
            pending = tok
        else:
            value = Fraction(tok.replace(",", ""))
            if current is None:
                current = value
            elif pending in ("*", "x", "×"):
                current *= value
            elif pending in ("/", "÷"):
                if value == 0:
                    return None
                current /= value
            else:
                return None
            pending = None
    if current is None:
        return None
    terms.append(sign * current)
    return sum(terms, Fraction(0))


def arithmetic_consistent(response: str, *, rel_tol: float = 0.01) -> bool | None:
    """Whether every ``a op b = c`` step in ``response`` is right (``None``: no steps found).

    Results are compared with a relative tolerance (worked answers round ``10 / 3 = 3.33``).
    """
    checked = False
    for expression, stated in _EQUATION_RE.findall(response):
        value = _evaluate(expression)
        if value is None:
            continue
        claimed = Fraction(stated.replace(",", ""))
        checked = True
        if abs(value - claimed) > rel_tol * max(abs(value), Fraction(1)):
            return False
    return True if checked else None


# -- code ---------------------------------------------------------------------------------------


def extract_code(response: str) -> str | None:
    """The Python code in ``response``, or ``None`` (no code, or code in another language).

    Looks for fenced blocks (the first one marked Python or unmarked), ``[PYTHON]`` tags, and
    finally a response that is itself a Python program defining a function.
    """
    text = response.replace("\r\n", "\n")
    fences = _FENCE_RE.findall(text)
    if fences:
        for lang, body in fences:
            if lang.lower() in _PYTHON_FENCES:
                return str(body)
        return None
    tagged = _TAGGED_PY_RE.search(text)
    if tagged:
        return tagged.group(1)
    stripped = text.strip()
    if "def " in stripped and code_defines_function(stripped):
        return stripped
    return None


def code_defines_function(code: str | None) -> bool:
    """Whether ``code`` parses as Python and defines at least one function."""
    if not code:
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(tree))


# -- dispatch -----------------------------------------------------------------------------------


def _asks_other_language(prompt: str) -> bool:
    """Whether the prompt asks for code in a language other than Python."""
    return bool(_OTHER_LANGUAGE_RE.search(prompt)) and not _PYTHON_RE.search(prompt)


def answer_kind(prompt: str, capability: str) -> AnswerKind:
    """How answers to ``prompt`` are read: options present -> ``choice``; else by capability."""
    if choice_options(prompt):
        return "choice"
    if capability == "code":
        return "code"
    if capability == "math":
        return "number"
    return "text"


def extract_answer(kind: AnswerKind, prompt: str, response: str) -> Answer:
    """The :class:`Answer` of ``response`` to ``prompt`` for an answer ``kind``."""
    if kind == "choice":
        return Answer(extract_choice(response, choice_options(prompt)))
    if kind == "number":
        return Answer(extract_number(response), arithmetic_consistent(response))
    if kind == "code":
        if _asks_other_language(prompt):
            return Answer(None, bool(_FENCE_RE.search(response)))
        return Answer(None, code_defines_function(extract_code(response)))
    said = normalize_text(response)
    # Short answers (a name, a word) are comparable; prose is not.
    return Answer(said if 0 < len(said) <= _SHORT_ANSWER_CHARS else None, bool(said))
