"""Simulated prose: answers sized to what was asked, in sentences that do not repeat.

The size follows the prompt: an explicit length (``at most 100 words``, ``a 500-word essay``,
``briefly``, ``a detailed report``) wins; otherwise a one-line question gets a few sentences
and a long, many-part request a few sections (:func:`answer_size`). The shape follows the
size: a paragraph; a paragraph, a few points and a closing line; or a title and sections.
Sentences come from template banks filled with the prompt's own words, drawn without
repetition (:class:`Sentences`); :func:`continuation` keeps going for runaway answers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tokenplan.providers.sim.prompt import LengthHint, first_sentence, keywords
from tokenplan.providers.sim.rng import Rng

__all__ = ["Sentences", "Topic", "answer_size", "continuation", "prose_answer", "topic_of"]

# Keywords sit in object positions ("of {a}", "for {b}"), so plurals read as well as singulars.
_POINTS = (
    "Most of the constraints come from {a}, so it is worth settling that first.",
    "A common mistake is to treat {a} as fixed when it really depends on {b}.",
    "Where the question of {a} is ambiguous, state the assumption and move on.",
    "A small worked example involving {a} makes the trade-offs concrete.",
    "Changes to {a} usually shift {b} as well, so look at them together.",
    "Measuring {a} before and after a change shows the real cost for {b}.",
    "For most cases a simple approach to {a} is enough; add detail only where {b} calls for it.",
    "The strongest argument for investing in {a} is that it keeps work on {b} easy to verify.",
    "Edge cases around {b} deserve an explicit note, or better, a test.",
    "Practitioners usually start from {a} and revisit {b} once the basics work.",
    "Writing down the reasoning behind {a} saves time when the plans for {b} change.",
    "If anything about {b} is expensive to change later, decide on {a} early.",
    "The role of {a} grows with scale; at a small scale the details of {b} dominate.",
    "Compare at least two options for {a} side by side before committing to one.",
    "The evidence on {a} is mixed, so weigh it against the requirements of {b}.",
    "Reviewers tend to question the assumptions behind {a} first.",
    "Sorting the details of {a} by their effect on {b} makes the priorities obvious.",
    "It helps to explain {a} in one sentence that a newcomer to {b} would follow.",
    "The cost of {a} is easy to underestimate, and work on {b} is where it shows up.",
    "A short checklist for {a} keeps {b} from being overlooked.",
    "When the demands of {a} and {b} pull apart, favour the one that is harder to undo.",
    "Most of the practical benefit comes from getting {a} right; polishing {b} adds less.",
    "A quick sanity check on {a} catches most problems before they reach {b}.",
    "Be wary of advice about {a} that ignores {b}; context changes the answer.",
    "Small, reversible steps with {a} make the effect on {b} easy to see.",
    "Good defaults for {a} exist, but for {b} local judgement is needed.",
    "Discussions of {a} often frame it in terms of {b}, which is useful but incomplete.",
    "Clear names and units for {a} prevent most misunderstandings about {b}.",
    "Real-world cases of {a} rarely match the textbook, so leave room for {b}.",
    "A second pass over {a}, after a first look at {b}, usually shows what was missed.",
)
_SHORT = (
    "Start with {a}.",
    "Look at {a} first.",
    "It depends on {a}.",
    "Check {b} as well.",
    "Mind {b}.",
)
_OPENERS = (
    "On {topic}, a few points matter most, with {a} and {b} at the centre.",
    "In short, the answer on {topic} depends mostly on {a}, with {b} as the main qualifier.",
    "The key to {topic} lies in {a}; the role of {b} is smaller than it first appears.",
    "A good way to think about {topic} is through {a} and its relation to {b}.",
    "For {topic}, most of the answer is a question of {a}, though {b} shapes the details.",
)
_CLOSERS = (
    "In short: settle {a} first, then revisit {b} with the results in hand.",
    "Bottom line: the outcome hinges on {a}; double-check {b}.",
    "As a next step, apply this to {a} and watch the effect on {b}.",
    "Overall, for {topic} a careful look at {a} pays off first.",
    "Taken together, these points make {a} the place to start.",
)
_HEADINGS = (
    "{A}",
    "{A} and {b}",
    "Trade-offs",
    "In practice",
    "Common pitfalls",
    "The role of {b}",
    "Getting started",
    "Open questions",
)
_MATH_NOTES = (
    "Each step can be checked by redoing the arithmetic in a different order.",
    "A rough estimate gives the same order of magnitude, which is a useful check.",
    "Nothing beyond the usual order of operations is needed here.",
)
_GREETINGS = (
    "Hello! What would you like to work on?",
    "Hi there. Ask a question or describe a task, and I will answer it.",
)
#: Stand-ins when the prompt has too few content words of its own.
_FALLBACK_WORDS = ("the context", "the scope", "the goal", "the audience", "the timeline")
#: Prompt words that say how to answer, not what about: never the subject of a sentence.
_NOT_TOPICS = frozenset(
    str.split(
        """essay report paragraph paragraphs sentence sentences summary bullet bullets points
    point list answer question words word page pages short long small large big new good best
    simple quick main different many few several detailed brief clear full key important
    overview example examples way ways thing things lot kind type pick choose recommend decide
    find help know think include consider suggest prefer"""
    )
)

# Sizes in words (marker line excluded) by the prompt's weight, when it does not say.
_SIZES = ((1.5, (20, 50)), (3.0, (50, 110)), (6.0, (110, 220)), (float("inf"), (200, 360)))
_WEIGHT_WINDOW = 1_500
_DEMANDING = re.compile(
    r"\b(explain\w*|describ\w*|compar\w*|analy[sz]\w*|discuss\w*|evaluat\w*|design\w*|plan\w*|"
    r"why|how|pros|trade-?offs?|outline\w*|summar\w*|review\w*|recommend\w*|propos\w*|"
    r"strateg\w*|assess\w*|investigat\w*|research\w*)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b[\s!.,?]*$", re.I)
_LEAD = re.compile(
    r"^(?:please\s+|(?:can|could|would|will) you\s+|i (?:want|need) (?:you )?to\s+)*"
    r"(?:(?:what|who|which|where|when|why|how)\s+(?:is|are|was|were|do|does|did|can|could|"
    r"should|would|to)\s+(?:i\s+|we\s+|you\s+)?|tell me (?:about\s+)?|"
    r"(?:explain|describe|summari[sz]e|discuss|outline|compare|analy[sz]e|evaluate|"
    r"give (?:me )?an overview of|write (?:an? |the )?(?:[\w-]+ ){0,3}(?:about|on))\s+)?",
    re.IGNORECASE,
)
#: How-to-answer phrases trimmed from the end of a topic ("... in at most 40 words").
_TRAILER = re.compile(
    r"\s*(?:\b(?:in|using|with|within)\s+"
    r"(?:at (?:most|least)|no (?:more|fewer) than|(?:fewer|more) than|under|about|around)?\s*"
    r"\d+\s*words?|\bbriefly|\bconcisely|\bin detail|\bin brief|\bin one (?:sentence|line))"
    r"\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Topic:
    """What an answer is about: a noun phrase from the prompt and its content words."""

    phrase: str
    words: tuple[str, ...]


def topic_of(task: str) -> Topic:
    """The prompt's subject as a phrase (``the benefits of unit testing``) and its keywords
    (in the prompt's own spelling: ``PostgreSQL``, ``France``)."""
    first = re.split(r"[:;]\s| - ", first_sentence(task, max_chars=90), maxsplit=1)[0]
    phrase = _TRAILER.sub("", _LEAD.sub("", first, count=1)).strip(" ,;:-")
    if len(phrase) > 60:
        phrase = phrase[:60].rsplit(" ", 1)[0].rstrip(",;:- ")
    found = [w for w in keywords(task, limit=12) if w not in _NOT_TOPICS]
    words = tuple(_spelled(w, task) for w in _compounds(found, task))
    if len(phrase) < 3:
        phrase = words[0] if words else "this question"
    first_word = phrase.split(" ", 1)[0]
    if first_word[:1].isupper() and first_word[1:].islower():  # "The ..." from a sentence start
        phrase = phrase[:1].lower() + phrase[1:]
    return Topic(phrase, words[:8])


def _compounds(words: list[str], text: str) -> list[str]:
    """``words`` with pairs that stand side by side in the text joined into one phrase
    (``tide``, ``pools`` -> ``tide pools``; not across punctuation), in order of appearance."""
    known = set(words)
    tokens = list(re.finditer(r"[A-Za-z][A-Za-z0-9+#'-]*", text))
    out: list[str] = []
    used: set[str] = set()
    for first, second in itertools.pairwise(tokens):
        a, b = first.group(0).lower(), second.group(0).lower()
        adjacent = text[first.end() : second.start()] == " "
        if adjacent and a in known and b in known and a != b and not {a, b} & used:
            out.append(f"{a} {b}")
            used |= {a, b}
    out += [w for w in words if w not in used]
    lowered = text.lower()
    return sorted(out, key=lambda w: lowered.find(w) % (len(text) + 1))


def _spelled(word: str, text: str) -> str:
    """``word`` as the prompt spells it where that is not just a sentence start (``SQLite``)."""
    for m in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE):
        found = m.group(0)
        starts_sentence = m.start() == 0 or text[: m.start()].rstrip()[-1:] in ".!?\n"
        if found != word and not (starts_sentence and found[1:] == word[1:]):
            return found
    return word


def answer_size(
    task: str, hint: LengthHint | None, rng: Rng, *, used_words: int
) -> tuple[int, int]:
    """``(target, ceiling)`` in words for the body of an answer, ``used_words`` (the marker
    line) counted against an explicit limit, since word limits count the whole output."""
    if hint is not None:
        ceiling = max(1, hint.max_words - used_words)
        low = max(1, hint.min_words - used_words)
        return max(1, min(ceiling, rng.randint(low, max(low, ceiling)))), ceiling
    window = task[:_WEIGHT_WINDOW]
    weight = (
        len(window.split()) / 15
        + 0.5 * max(1, len(re.findall(r"[.?!](?:\s|$)|\n\s*(?:[-*]|\d+[.)])\s", window)))
        + len(_DEMANDING.findall(window))
    )
    low, high = next(size for limit, size in _SIZES if weight < limit)
    target = rng.randint(low, high)
    return target, target + 30


class Sentences:
    """Sentences about ``topic``, none repeated until every template has been used."""

    def __init__(self, topic: Topic, rng: Rng) -> None:
        self._topic = topic
        self._rng = rng
        self._words = list(topic.words[:6]) or list(_FALLBACK_WORDS[:3])
        fill = [w for w in _FALLBACK_WORDS if w not in self._words]
        # The prompt's own words first; stand-ins only once those pairs are used up.
        own = [(a, b) for a in self._words for b in self._words if a != b]
        stand_ins = [(a, b) for a in self._words for b in fill]
        stand_ins += [(b, a) for a in self._words for b in fill]
        self._pairs = sorted(own, key=lambda _: rng.random()) + sorted(
            stand_ins, key=lambda _: rng.random()
        )
        self._bags: dict[int, list[int]] = {}
        self._said: set[str] = set()
        self._n = 0

    def _pair(self) -> tuple[str, str]:
        pair = self._pairs[self._n % len(self._pairs)]
        self._n += 1
        return pair

    def _draw(self, bank: Sequence[str]) -> str:
        bag = self._bags.setdefault(id(bank), [])
        if not bag:
            bag.extend(sorted(range(len(bank)), key=lambda _: self._rng.random()))
        return bank[bag.pop()]

    def _fill(self, template: str) -> str:
        """``template`` with the next keyword pair that makes a sentence not said before."""
        for _ in range(len(self._pairs)):
            text = self._fill_once(template)
            if text not in self._said:
                break
        self._said.add(text)
        return text

    def _fill_once(self, template: str) -> str:
        a, b = self._pair()
        topic = self._topic.phrase
        if "{topic}" in template or "{Topic}" in template:
            # "The key to recursion lies in recursion": use words the phrase does not contain.
            a, b = self._outside(topic, a, b)
        return template.format(a=a, b=b, A=_cap(a), B=_cap(b), topic=topic, Topic=_cap(topic))

    def _outside(self, phrase: str, a: str, b: str) -> tuple[str, str]:
        lowered = phrase.lower()
        spare = [w for w in (*self._words, *_FALLBACK_WORDS) if w.lower() not in lowered]
        spare = spare[self._n % 3 :] + spare[: self._n % 3]  # vary the stand-ins
        if a.lower() in lowered:
            a = next(w for w in spare if w != b)
        if b.lower() in lowered or b == a:
            b = next(w for w in spare if w != a)
        return a, b

    def opener(self) -> str:
        return self._fill(self._draw(_OPENERS))

    def point(self) -> str:
        return self._fill(self._draw(_POINTS))

    def short(self) -> str:
        return self._fill(self._draw(_SHORT))

    def closer(self) -> str:
        return self._fill(self._draw(_CLOSERS))

    def heading(self) -> str:
        return self._fill(self._draw(_HEADINGS))

    def math_note(self) -> str:
        return self._draw(_MATH_NOTES)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words(text: str) -> int:
    return len(text.split())


class _Doc:
    """Markdown blocks with a running word count that never passes ``ceiling``."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.words = 0
        self.blocks: list[list[str]] = []
        self.kinds: list[str] = []

    def add(self, kind: str, text: str) -> bool:
        """Append ``text`` to the last block if it is a ``kind`` block, else to a new one;
        ``False`` (and nothing added) when it would pass the ceiling."""
        cost = _words(text) + (kind == "bullets")  # a bullet's "-" is a word to a counter
        if self.words + cost > self.ceiling:
            return False
        if not self.blocks or self.kinds[-1] != kind or kind == "heading":
            self.blocks.append([])
            self.kinds.append(kind)
        self.blocks[-1].append(text)
        self.words += cost
        return True

    def render(self) -> str:
        out = []
        for kind, block in zip(self.kinds, self.blocks, strict=True):
            if kind == "bullets":
                out.append("\n".join(f"- {line}" for line in block))
            elif kind == "raw":
                out.append("\n\n".join(block))
            else:
                out.append(" ".join(block))
        return "\n\n".join(out)


def prose_answer(
    task: str, head: str, rng: Rng, *, hint: LengthHint | None, extra_line: str = ""
) -> str:
    """``head`` (the marker line), then an answer about ``task`` sized by ``hint`` or, without
    one, by the prompt's weight."""
    target, ceiling = answer_size(task, hint, rng.child("size"), used_words=_words(head))
    topic = topic_of(task)
    say = Sentences(topic, rng.child("sentences"))
    doc = _Doc(ceiling)
    if extra_line:
        doc.add("raw", extra_line)
    if _GREETING.match(task):
        doc.add("para", rng.choice(_GREETINGS))
    elif extra_line and hint is None and target < 70:
        doc.add("para", say.math_note())
    elif target < 70:
        _short(doc, say, target)
    elif target < 180:
        _medium(doc, say, target)
    else:
        _long(doc, say, target, title=topic.phrase)
    if doc.words == 0:  # a tight word limit: say something that fits
        for _ in range(len(_SHORT)):
            if doc.add("para", say.short()):
                break
    body = doc.render()
    return f"{head}\n\n{body}\n" if body else f"{head}\n"


def _short(doc: _Doc, say: Sentences, target: int) -> None:
    doc.add("para", say.opener())
    while doc.words < target and doc.add("para", say.point()):
        pass


def _medium(doc: _Doc, say: Sentences, target: int) -> None:
    doc.add("para", say.opener())
    doc.add("para", say.point())
    closer = say.closer()
    while doc.words + _words(closer) < target and doc.add("bullets", say.point()):
        pass
    doc.add("close", closer)


def _long(doc: _Doc, say: Sentences, target: int, *, title: str) -> None:
    doc.add("heading", f"## {_cap(title)}")
    doc.add("para", say.opener())
    doc.add("para", say.point())
    closer = say.closer()
    section = 0
    while doc.words + _words(closer) < target:
        if not doc.add("heading", f"### {say.heading()}"):
            break
        kind = "bullets" if section % 2 else "para"
        for _ in range(3 + section % 2):
            if doc.words + _words(closer) >= target or not doc.add(kind, say.point()):
                break
        section += 1
    doc.add("close", closer)


def continuation(task: str, rng: Rng) -> Iterator[str]:
    """Paragraphs that go on about ``task`` for as long as asked: a runaway answer's tail."""
    say = Sentences(topic_of(task), rng)
    while True:
        yield " ".join(say.point() for _ in range(3)) + "\n\n"
