"""Reading a request the way the simulator needs to: what kind of answer, how long, about what.

Deliberately small keyword heuristics (the router has the real classifier); the simulator only
needs plausible, deterministic choices.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from tokenplan.catalog.model import Capability
from tokenplan.types import ChatRequest

__all__ = [
    "LengthHint",
    "PlanAsk",
    "capability_of",
    "code_language",
    "first_sentence",
    "identifier_from",
    "keywords",
    "length_hint",
    "plan_ask",
    "slugify",
    "task_text",
    "wants_json",
]

_CODE = re.compile(
    r"\b(python|code|coding|functions?|scripts?|class(?:es)?|methods?|implement\w*|programs?|"
    r"programming|refactor\w*|debug\w*|bugs?|unit[- ]?tests?|pytest|endpoints?|sql|regex|"
    r"javascript|typescript|rust|golang|java|c\+\+|html|css|compiles?|snippet|cli|parser|"
    r"decorators?|async|api)\b",
    re.IGNORECASE,
)
_MATH = re.compile(
    r"\b(calculat\w*|comput(?:e|es|ing)|solve|equations?|integrals?|derivatives?|"
    r"probabilit\w*|percent\w*|arithmetic|algebra\w*|geometr\w*|statistic\w*|average|"
    r"mean|median|variance|sum of|product of|prove|proofs?|theorems?|formulas?|"
    r"how many|how much|interest rate|compound|estimat\w*|forecast\w*|budget\w*)\b"
    r"|\d+\s*[-+*/^%]\s*\d+",
    re.IGNORECASE,
)
_REASONING = re.compile(
    r"\b(analy[sz]\w*|compar\w*|evaluat\w*|assess\w*|decid\w*|decisions?|trade-?offs?|"
    r"pros and cons|why|argu\w*|critique|critici[sz]e|reason\w*|strateg\w*|prioriti[sz]\w*|"
    r"recommend\w*|risks?|implications?|logic\w*|puzzle|infer\w*|diagnos\w*|weigh|"
    r"justify|design)\b",
    re.IGNORECASE,
)


def capability_of(text: str) -> Capability:
    """The capability ``text`` most looks like it needs (``general`` when nothing stands out)."""
    scores: list[tuple[int, Capability]] = [
        (len(_CODE.findall(text)), "code"),
        (len(_MATH.findall(text)), "math"),
        (len(_REASONING.findall(text)), "reasoning"),
    ]
    best = max(scores, key=lambda s: s[0])  # first wins ties: code > math > reasoning
    return best[1] if best[0] > 0 else "general"


_LANGUAGES = (
    ("typescript", r"typescript|\bts\b"),
    ("javascript", r"javascript|node\.?js|\bjs\b"),
    ("rust", r"\brust\b"),
    ("go", r"\bgolang\b|\bin go\b|\bgo (?:code|function|program)"),
    ("java", r"\bjava\b"),
    ("sql", r"\bsql\b|\bquery\b"),
    ("bash", r"\bbash\b|\bshell script\b"),
    ("python", r"python"),
)


def code_language(text: str) -> str:
    """The programming language asked for (``python`` unless another one is named)."""
    lowered = text.lower()
    found = [(m.start(), lang) for lang, pat in _LANGUAGES if (m := re.search(pat, lowered))]
    return min(found)[1] if found else "python"


_JSON_DIRECTIVE = re.compile(
    r"\b(return|respond|reply|output|answer|format(?:ted)?|emit|produce|give|as|in|only|valid)"
    r"\b[^.\n]{0,30}\bjson\b|\bjson\b[^.\n]{0,15}\b(only|object|array|format|document)\b"
    r"|\bacceptance\W+json\b",
    re.IGNORECASE,
)


def wants_json(text: str) -> bool:
    """Whether the prompt asks for a JSON answer in words (no ``json_mode`` needed)."""
    return bool(_JSON_DIRECTIVE.search(text))


@dataclass(frozen=True, slots=True)
class LengthHint:
    """Words the prompt asks for: at least ``min_words`` and at most ``max_words``."""

    min_words: int
    max_words: int


_MAX_WORDS = re.compile(
    r"(?:at most|no more than|not more than|under|fewer than|less than|maximum of|max(?:imum)?|"
    r"up to|within|max_words:)\s*(\d{1,5})\s*(?:words?)?",
    re.IGNORECASE,
)
_MIN_WORDS = re.compile(
    r"(?:at least|minimum of|no fewer than|no less than|more than|min_words:)\s*(\d{1,5})"
    r"\s*(?:words?)?",
    re.IGNORECASE,
)
_ABOUT_WORDS = re.compile(r"\b(\d{1,5})[- ]words?\b", re.IGNORECASE)
_BRIEF = re.compile(
    r"\b(brief(?:ly)?|short|concise(?:ly)?|succinct(?:ly)?|one[- ]sentence|single sentence|"
    r"one paragraph|tl;?dr|one[- ]liner|in a sentence|one line)\b",
    re.IGNORECASE,
)
_LONG = re.compile(
    r"\b(detailed|thorough(?:ly)?|comprehensive|in[- ]depth|report|essay|extensive|long[- ]form|"
    r"exhaustive)\b",
    re.IGNORECASE,
)


def length_hint(text: str) -> LengthHint | None:
    """The answer length the prompt asks for, if it says (``at most 100 words``, ``brief``)."""
    if m := _MAX_WORDS.search(text):
        n = max(1, int(m.group(1)))
        if "word" in m.group(0).lower() or "max_words" in m.group(0).lower():
            return LengthHint(max(1, n // 2), n)
    if m := _MIN_WORDS.search(text):
        n = int(m.group(1))
        if "word" in m.group(0).lower() or "min_words" in m.group(0).lower():
            return LengthHint(n, n + max(40, n // 2))
    if m := _ABOUT_WORDS.search(text):
        n = max(1, int(m.group(1)))
        return LengthHint(max(1, (n * 4) // 5), n)
    if _BRIEF.search(text):
        return LengthHint(25, 70)
    if _LONG.search(text):
        return LengthHint(300, 550)
    return None


@dataclass(frozen=True, slots=True)
class PlanAsk:
    """A planner request: the goal and the step limit from the plan contract's tags."""

    goal: str
    max_steps: int


_GOAL = re.compile(r"<goal>(.*?)</goal>", re.DOTALL)
_MAX_STEPS = re.compile(r"<max_steps>\s*(\d{1,4})\s*</max_steps>")
_DEFAULT_MAX_STEPS = 12


def plan_ask(request: ChatRequest) -> PlanAsk | None:
    """The goal and step limit if this is a planner request (the goal is in a user message)."""
    for message in request.messages:
        if message.role != "user":
            continue
        if m := _GOAL.search(message.content):
            steps = _MAX_STEPS.search(message.content)
            limit = int(steps.group(1)) if steps else _DEFAULT_MAX_STEPS
            return PlanAsk(goal=m.group(1).strip(), max_steps=max(1, limit))
    return None


def task_text(request: ChatRequest) -> str:
    """What is being asked: the last user message (or the last message of any role)."""
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return request.messages[-1].content if request.messages else ""


_STOPWORDS = frozenset(
    str.split(
        """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either few for
    from further had has have having he her here hers him his how i if in into is it its itself
    just let me more most my no nor not now of off on once only or other our ours out over own
    please same she should so some such than that the their theirs them then there these they
    this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours write give make provide create produce return use
    using list explain describe show tell need want should must may might one two three step
    steps task answer output based each into within without per via like e.g etc i.e get got
    well way new summarize summarise compare analyze analyse outline draft discuss implement
    research evaluate words word least brief briefly short concise detailed thorough"""
    )
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#'-]*")


def keywords(text: str, *, limit: int = 8) -> list[str]:
    """Content words of ``text``, most frequent first (ties: first seen), lower-cased."""
    counts: dict[str, int] = {}
    for raw in _WORD.findall(text):
        word = raw.lower().strip("'-")
        if len(word) < 3 or word in _STOPWORDS:
            continue
        counts[word] = counts.get(word, 0) + 1
    order = {w: i for i, w in enumerate(counts)}
    ranked = sorted(counts, key=lambda w: (-counts[w], order[w]))
    return ranked[:limit]


def first_sentence(text: str, *, max_chars: int = 120) -> str:
    """The first sentence or line of ``text``, trimmed to ``max_chars``."""
    stripped = re.sub(r"<[^>]{1,40}>", " ", text).strip()
    first = re.split(r"(?<=[.!?])\s|\n", stripped, maxsplit=1)[0].strip()
    first = re.sub(r"\s+", " ", first).rstrip(".!?:; ")
    if len(first) > max_chars:
        first = first[:max_chars].rsplit(" ", 1)[0].rstrip(",;:- ")
    return first


def slugify(text: str, *, max_len: int = 32, max_words: int = 4) -> str:
    """A slug matching ``^[a-z][a-z0-9-]*$`` (``step`` when nothing usable is left)."""
    words = [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]
    useful = [w for w in words if w not in _STOPWORDS] or words
    slug = ""
    for word in useful[:max_words]:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            break
        slug = candidate
    if not slug and useful:
        slug = useful[0][:max_len]
    if not slug or not slug[0].isalpha():
        slug = ("step-" + slug)[:max_len].strip("-")
    return slug


_NAME_NOISE = frozenset(
    str.split(
        """a an the of to for in on with and or that which it its this python function code
    script given some all each every from into by as is are be returns return"""
    )
)
_AFTER_NOUN = re.compile(
    r"\b(?:function|method|script|program|class|code|utility|helper|routine|tool|cli)\s+"
    r"(?:that|which|to|for|called|named)\s+([a-z][a-z ]{2,60})",
    re.IGNORECASE,
)
_AFTER_VERB = re.compile(r"\b(?:implement|write|build|create|code)\s+(?:an?|the)?\s*([a-z ]{3,60})")


def identifier_from(text: str, *, fallback: str = "solve") -> str:
    """A snake_case Python identifier naming what the prompt asks to build."""
    m = _AFTER_NOUN.search(text) or _AFTER_VERB.search(text.lower())
    phrase = m.group(1) if m else " ".join(keywords(text, limit=3))
    words = [w for w in re.findall(r"[a-z]+", phrase.lower()) if w not in _NAME_NOISE][:3]
    if words and len(words[0]) > 4 and words[0].endswith("s") and not words[0].endswith("ss"):
        words[0] = words[0][:-1]  # "parses dates" -> "parse_dates"
    name = "_".join(words) or fallback
    if keyword.iskeyword(name) or not name.isidentifier():
        name = f"{name}_value" if name.isidentifier() else fallback
    return name
