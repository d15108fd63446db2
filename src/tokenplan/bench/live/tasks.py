"""The built-in live task suite: small code, math and fact tasks with programmatic graders.

* **code**: write a named Python function; the prompt states one example ``assert`` (as MBPP's
  prompts do), and the answer is graded by running all the hidden ``assert`` tests (the stated
  one among them) against the response's code in a sandboxed subprocess with a timeout
  (:mod:`.sandbox`).
* **math**: a word problem with one numeric answer; graded by exact equality of the final
  number (:func:`~tokenplan.bench.answers.extract_number`).
* **fact**: a short factual question; graded by normalized match (case, accents, punctuation
  and articles ignored) against the answer and its aliases.

Every task carries a ``reference`` answer that passes its own grader (a test checks all of
them), so a grader bug cannot hide behind a weak model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tokenplan.bench.answers import extract_code, extract_number, normalize_text
from tokenplan.bench.live.sandbox import run_tests

__all__ = ["TASKS", "Task", "TaskKind", "grade_response"]

TaskKind = Literal["code", "math", "fact"]

_CODE_SUFFIX = (
    "\n\nReply with the complete function in one ```python code block. Do not print anything."
)
_MATH_SUFFIX = "\n\nShow brief working, then give the final answer on the last line as 'Answer: N'."
_FACT_SUFFIX = "\n\nAnswer with just the answer, no explanation."


@dataclass(frozen=True, slots=True)
class Task:
    """One live task. ``answer``/``aliases`` grade math and facts; ``tests`` grade code.

    ``example`` (code) is the test the prompt states; the hidden ``tests`` include it.
    """

    id: str
    kind: TaskKind
    question: str
    reference: str
    answer: str = ""
    aliases: tuple[str, ...] = ()
    tests: str = ""
    example: str = ""

    @property
    def prompt(self) -> str:
        suffix = {"code": _CODE_SUFFIX, "math": _MATH_SUFFIX, "fact": _FACT_SUFFIX}[self.kind]
        stated = f"\n\nYour code should pass this test:\n{self.example}" if self.example else ""
        return self.question + stated + suffix


def _fact_matches(response: str, accepted: Sequence[str]) -> bool:
    said = normalize_text(response)
    first_line = normalize_text(response.strip().splitlines()[0]) if response.strip() else ""
    for answer in accepted:
        want = normalize_text(answer)
        if not want:
            continue
        if want in (said, first_line) or re.search(rf"(?<!\w){re.escape(want)}(?!\w)", first_line):
            return True
    return False


async def grade_response(task: Task, response: str, *, timeout_s: float = 10.0) -> float:
    """1.0 when ``response`` solves ``task``, else 0.0."""
    if task.kind == "math":
        return 1.0 if extract_number(response) == extract_number(task.answer) else 0.0
    if task.kind == "fact":
        return 1.0 if _fact_matches(response, (task.answer, *task.aliases)) else 0.0
    code = extract_code(response)
    if code is None:
        return 0.0
    result = await run_tests(code, task.tests, timeout_s=timeout_s)
    return 1.0 if result.passed else 0.0


def _code(id: str, question: str, reference: str, tests: str) -> Task:
    example = tests.splitlines()[0]  # the first hidden test is stated in the prompt
    return Task(
        id,
        "code",
        question,
        reference="```python\n" + reference + "```",
        tests=tests,
        example=example,
    )


def _math(id: str, question: str, answer: str) -> Task:
    return Task(id, "math", question, reference=f"Answer: {answer}", answer=answer)


def _fact(id: str, question: str, answer: str, *aliases: str) -> Task:
    return Task(id, "fact", question, reference=answer, answer=answer, aliases=aliases)


TASKS: tuple[Task, ...] = (
    # -- code ----------------------------------------------------------------------------------
    _code(
        "code-fizzbuzz",
        "Write a Python function `fizzbuzz(n)` returning a list of strings for 1..n: 'Fizz' for "
        "multiples of 3, 'Buzz' for multiples of 5, 'FizzBuzz' for both, else the number.",
        "def fizzbuzz(n):\n    out = []\n    for i in range(1, n + 1):\n"
        "        s = ('Fizz' if i % 3 == 0 else '') + ('Buzz' if i % 5 == 0 else '')\n"
        "        out.append(s or str(i))\n    return out\n",
        "assert fizzbuzz(5) == ['1', '2', 'Fizz', '4', 'Buzz']\n"
        "assert fizzbuzz(15)[-1] == 'FizzBuzz'\nassert fizzbuzz(0) == []\n",
    ),
    _code(
        "code-palindrome",
        "Write a Python function `is_palindrome(s)` that returns True when the string reads "
        "the same backwards, ignoring case and every character that is not a letter or digit.",
        "def is_palindrome(s):\n    t = [c.lower() for c in s if c.isalnum()]\n"
        "    return t == t[::-1]\n",
        "assert is_palindrome('A man, a plan, a canal: Panama')\n"
        "assert not is_palindrome('race a car')\nassert is_palindrome('')\n",
    ),
    _code(
        "code-merge-intervals",
        "Write a Python function `merge_intervals(intervals)` that takes a list of [start, end] "
        "pairs and returns the merged, sorted list of overlapping intervals (touching intervals "
        "such as [1, 2] and [2, 3] merge).",
        "def merge_intervals(intervals):\n    out = []\n    for s, e in sorted(intervals):\n"
        "        if out and s <= out[-1][1]:\n            out[-1][1] = max(out[-1][1], e)\n"
        "        else:\n            out.append([s, e])\n    return out\n",
        "assert merge_intervals([[1, 3], [2, 6], [8, 10], [15, 18]]) == "
        "[[1, 6], [8, 10], [15, 18]]\nassert merge_intervals([[1, 4], [4, 5]]) == [[1, 5]]\n"
        "assert merge_intervals([]) == []\n",
    ),
    _code(
        "code-roman",
        "Write a Python function `to_roman(n)` converting an integer 1..3999 to a Roman numeral.",
        "def to_roman(n):\n    vals = [(1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), "
        "(100, 'C'), (90, 'XC'), (50, 'L'), (40, 'XL'), (10, 'X'), (9, 'IX'), (5, 'V'), "
        "(4, 'IV'), (1, 'I')]\n    out = ''\n    for v, s in vals:\n        while n >= v:\n"
        "            out += s\n            n -= v\n    return out\n",
        "assert to_roman(1994) == 'MCMXCIV'\nassert to_roman(3999) == 'MMMCMXCIX'\n"
        "assert to_roman(4) == 'IV'\n",
    ),
    _code(
        "code-word-count",
        "Write a Python function `top_words(text, k)` returning the k most frequent words of "
        "`text` (lower-cased, words are runs of letters a-z) as a list, most frequent first, "
        "ties broken alphabetically.",
        "import re\nfrom collections import Counter\n\ndef top_words(text, k):\n"
        "    c = Counter(re.findall(r'[a-z]+', text.lower()))\n"
        "    return [w for w, _ in sorted(c.items(), key=lambda x: (-x[1], x[0]))[:k]]\n",
        "assert top_words('b a b c a b', 2) == ['b', 'a']\n"
        "assert top_words('Dog dog CAT cat bird', 2) == ['cat', 'dog']\n"
        "assert top_words('', 3) == []\n",
    ),
    _code(
        "code-flatten",
        "Write a Python function `flatten(xs)` that flattens arbitrarily nested lists into one "
        "list, keeping order (only lists are flattened; strings stay whole).",
        "def flatten(xs):\n    out = []\n    for x in xs:\n"
        "        if isinstance(x, list):\n            out.extend(flatten(x))\n"
        "        else:\n            out.append(x)\n    return out\n",
        "assert flatten([1, [2, [3, [4]], 5]]) == [1, 2, 3, 4, 5]\n"
        "assert flatten(['ab', ['c']]) == ['ab', 'c']\nassert flatten([]) == []\n",
    ),
    _code(
        "code-primes",
        "Write a Python function `primes_below(n)` returning the sorted list of primes < n.",
        "def primes_below(n):\n    if n < 3:\n        return []\n    sieve = [True] * n\n"
        "    sieve[0] = sieve[1] = False\n    for i in range(2, int(n ** 0.5) + 1):\n"
        "        if sieve[i]:\n            sieve[i * i::i] = [False] * len(sieve[i * i::i])\n"
        "    return [i for i, p in enumerate(sieve) if p]\n",
        "assert primes_below(20) == [2, 3, 5, 7, 11, 13, 17, 19]\nassert primes_below(2) == []\n"
        "assert len(primes_below(10000)) == 1229\n",
    ),
    _code(
        "code-balanced",
        "Write a Python function `balanced(s)` returning True when every bracket in `s` "
        "('()', '[]', '{}') is closed in the right order; other characters are ignored.",
        "def balanced(s):\n    pairs = {')': '(', ']': '[', '}': '{'}\n    stack = []\n"
        "    for c in s:\n        if c in '([{':\n            stack.append(c)\n"
        "        elif c in pairs:\n            if not stack or stack.pop() != pairs[c]:\n"
        "                return False\n    return not stack\n",
        "assert balanced('a(b[c]{d})')\nassert not balanced('(]')\nassert not balanced('((')\n"
        "assert balanced('')\n",
    ),
    _code(
        "code-run-length",
        "Write a Python function `rle(s)` that run-length encodes a string: 'aaabcc' -> 'a3b1c2'.",
        "def rle(s):\n    out = []\n    i = 0\n    while i < len(s):\n        j = i\n"
        "        while j < len(s) and s[j] == s[i]:\n            j += 1\n"
        "        out.append(f'{s[i]}{j - i}')\n        i = j\n    return ''.join(out)\n",
        "assert rle('aaabcc') == 'a3b1c2'\nassert rle('') == ''\nassert rle('z') == 'z1'\n",
    ),
    _code(
        "code-second-largest",
        "Write a Python function `second_largest(xs)` returning the second largest distinct "
        "value of a list of numbers, or None when there is none.",
        "def second_largest(xs):\n    d = sorted(set(xs))\n"
        "    return d[-2] if len(d) >= 2 else None\n",
        "assert second_largest([3, 1, 3, 2]) == 2\nassert second_largest([5, 5]) is None\n"
        "assert second_largest([]) is None\nassert second_largest([-1, -7]) == -7\n",
    ),
    # -- math ----------------------------------------------------------------------------------
    _math(
        "math-eggs",
        "A farm's hens lay 16 eggs a day. The farmer eats 3 for breakfast and uses 4 for "
        "baking every day, and sells the rest at $2 per egg. How many dollars does the farmer "
        "make per day?",
        "18",
    ),
    _math(
        "math-train",
        "A train travels 150 km in 2.5 hours. At the same speed, how many kilometres does it "
        "travel in 4 hours?",
        "240",
    ),
    _math(
        "math-discount",
        "A jacket costs $80. It is discounted by 25%, and then a further 10% is taken off the "
        "discounted price. What is the final price in dollars?",
        "54",
    ),
    _math(
        "math-workers",
        "If 6 workers build a wall in 10 days, how many days do 15 workers need to build the "
        "same wall, working at the same rate?",
        "4",
    ),
    _math(
        "math-sum-odd",
        "What is the sum of the first 50 odd positive integers?",
        "2500",
    ),
    _math(
        "math-ages",
        "Ann is twice as old as Ben. In 10 years, Ann will be 1.5 times as old as Ben. How old "
        "is Ann now?",
        "20",
    ),
    _math(
        "math-rectangle",
        "A rectangle's length is 3 times its width and its perimeter is 64 cm. What is its "
        "area in square centimetres?",
        "192",
    ),
    _math(
        "math-marbles",
        "A bag has 5 red, 7 blue and 8 green marbles. How many marbles must you add, all red, "
        "so that red makes up exactly half of the bag?",
        "10",
    ),
    _math(
        "math-interest",
        "$1,000 is invested at 10% interest per year, compounded yearly. How many dollars is "
        "it worth after 3 years?",
        "1331",
    ),
    _math(
        "math-handshakes",
        "At a meeting every one of 12 people shakes hands with every other person exactly "
        "once. How many handshakes take place?",
        "66",
    ),
    # -- facts ---------------------------------------------------------------------------------
    _fact("fact-capital-australia", "What is the capital city of Australia?", "Canberra"),
    _fact("fact-element-au", "Which chemical element has the symbol Au?", "Gold"),
    _fact("fact-largest-planet", "What is the largest planet in the Solar System?", "Jupiter"),
    _fact(
        "fact-hamlet",
        "Who wrote the play Hamlet?",
        "William Shakespeare",
        "Shakespeare",
    ),
    _fact("fact-bones", "How many bones are in the adult human body?", "206"),
    _fact(
        "fact-speed-light-unit",
        "What is the SI unit of electrical resistance?",
        "Ohm",
        "ohms",
    ),
    _fact("fact-longest-river-sa", "Which river flows through Manaus and Iquitos?", "Amazon"),
    _fact(
        "fact-python-creator",
        "Who created the Python programming language?",
        "Guido van Rossum",
        "van Rossum",
    ),
    _fact(
        "fact-everest-country",
        "Mount Everest lies on the border of Nepal and which other "
        "country's territory (name the country)?",
        "China",
        "Tibet",
        "People's Republic of China",
    ),
    _fact("fact-dna-bases", "How many different nucleotide bases are found in DNA?", "4", "four"),
)
