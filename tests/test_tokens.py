"""The token estimator errs high, stays cheap and never downloads anything."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenplan import tokens
from tokenplan.tokens import (
    TOKENIZER_MIN_CHARS,
    estimate_messages_tokens,
    estimate_tokens,
    estimate_tokens_heuristic,
    tokenizer_name,
)

# Texts with their token counts: max(o200k_base, cl100k_base), counted once with tiktoken.
KNOWN: list[tuple[str, int]] = [
    ("Hello!", 2),
    ("What is the capital of France?", 7),
    ("Write a Python function that returns the n-th Fibonacci number using memoization.", 15),
    (
        "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    r"
        "eturn fib(n - 1) + fib(n - 2)\n",
        35,
    ),
    (
        "class Cache:\n    def __init__(self):\n        self._data = {}"
        "\n\n    def get(self, key, default=None):\n        return self."
        "_data.get(key, default)\n",
        36,
    ),
    (
        '{"model": "openai/gpt-5-mini", "messages": [{"role": "user",'
        ' "content": "hi"}], "max_tokens": 256}',
        35,
    ),
    ("The quick brown fox jumps over the lazy dog. " * 20, 201),
    ("Solve for x: 3x^2 - 12x + 9 = 0. Show each step and check both roots.", 29),
    (
        "Order #4471-2209 shipped on 2024-11-03 at 14:05:59 UTC; total $1,249.99 (tax 8.25%).",
        39,
    ),
    ("3.14159265358979323846264338327950288419716939937510", 19),
    ("这是一个用于测试分词器的中文句子，包含标点符号。我们希望估计值偏高。", 37),
    ("Это предложение на русском языке для проверки оценки количества токенов.", 30),
    ("日本語のテキストです。トークン数の見積もりをテストします。", 26),
    ("Ελληνικά κείμενα για τον έλεγχο του εκτιμητή.", 40),
    ("مرحبا بالعالم، هذا نص عربي لاختبار المقدّر.", 32),
    ("नमस्ते दुनिया, यह हिंदी में एक परीक्षण वाक्य है।", 48),
    ("🚀🔥 Launch day! 🎉👍🏽 Thanks team ❤️", 22),
    ("Ünïcödé àccénts çà et là, naïve façade, coöperate, Zürich, São Paulo.", 32),
    (
        "SELECT u.id, COUNT(o.id) AS orders FROM users u LEFT JOIN or"
        "ders o ON o.user_id = u.id GROUP BY u.id HAVING COUNT(o.id) "
        "> 5;",
        38,
    ),
    ('<div class="card"><h2>Title</h2><p>Body &amp; more</p></div>', 25),
    ("a\n\n\n\nb\t\t\tc    d", 7),
    ("https://example.com/api/v1/models?provider=openai&sort=price_asc#section-2", 22),
    ("IMPORTANT: READ ALL INSTRUCTIONS CAREFULLY BEFORE ANSWERING THE QUESTION BELOW.", 16),
    (
        "Janet’s ducks lay 16 eggs per day. She eats three for breakf"
        "ast every morning and bakes muffins for her friends every da"
        "y with four. How much in dollars does she make every day at "
        "the farmers' market?",
        46,
    ),
]


@pytest.mark.parametrize(("text", "reference"), KNOWN)
def test_heuristic_never_underestimates_known_texts(text: str, reference: int) -> None:
    assert estimate_tokens_heuristic(text) >= reference
    assert estimate_tokens(text) >= reference


def test_heuristic_is_not_absurdly_high_on_prose() -> None:
    text, reference = KNOWN[6]  # the quick brown fox x 20
    assert estimate_tokens_heuristic(text) <= 1.5 * reference


def test_empty_and_tiny_texts() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("hi") <= 2  # never more tokens than UTF-8 bytes


@given(st.text(max_size=300))
def test_bounds(text: str) -> None:
    est = estimate_tokens_heuristic(text)
    size = len(text.encode("utf-8", "surrogatepass"))
    assert 0 <= est <= size
    assert (est == 0) == (size == 0)


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200))
def test_longer_text_never_needs_fewer_tokens_than_its_larger_half(a: str, b: str) -> None:
    # Not strictly monotone (runs of line breaks are discounted), but appending text can never
    # shrink the estimate below what the larger part alone needs, minus the run discount.
    joined = estimate_tokens_heuristic(a + b)
    assert joined >= max(estimate_tokens_heuristic(a), estimate_tokens_heuristic(b)) - 2


def test_surrogates_and_odd_characters_do_not_crash() -> None:
    assert estimate_tokens("\ud800 lone surrogate") > 0
    assert estimate_tokens("\x00\x01\x7f") > 0


def test_messages_add_overhead() -> None:
    one = estimate_tokens("hello there")
    assert estimate_messages_tokens(["hello there"]) > one
    assert estimate_messages_tokens(["a", "b"]) > estimate_messages_tokens(["a"])
    assert estimate_messages_tokens([]) > 0


def test_long_texts_are_linear_and_fast_enough() -> None:
    chunk = "The quick brown fox jumps over the lazy dog. "
    small = estimate_tokens_heuristic(chunk * 100)
    big = estimate_tokens_heuristic(chunk * 10_000)
    assert 95 * small <= big <= 105 * small


def _write_cache_file(folder: Path, name: str, content: bytes) -> Path:
    url = tokens._ENCODINGS[name][0]
    path = folder / hashlib.sha1(url.encode()).hexdigest()
    path.write_bytes(content)
    return path


def test_no_tokenizer_without_verified_files_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert tokenizer_name(10 * TOKENIZER_MIN_CHARS) == "heuristic"
    # A file with the right name but the wrong content is ignored (tiktoken would re-download it).
    _write_cache_file(tmp_path, "cl100k_base", b"not the encoding")
    assert tokenizer_name(10 * TOKENIZER_MIN_CHARS) == "heuristic"
    long_text = "word " * (TOKENIZER_MIN_CHARS // 2)
    assert estimate_tokens(long_text) == estimate_tokens_heuristic(long_text)


def test_empty_cache_dir_setting_means_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # TIKTOKEN_CACHE_DIR="" makes tiktoken download every time: we must not use it then.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tokenizer_name(10 * TOKENIZER_MIN_CHARS) == "heuristic"


def test_short_texts_use_the_heuristic() -> None:
    assert tokenizer_name(100) == "heuristic"


def _reference_encoding() -> object:
    """tiktoken's cl100k_base when it is installed and its file is already cached, else skip."""
    tiktoken = pytest.importorskip("tiktoken")
    for env in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(env):
            break
    else:
        pytest.skip("no tiktoken cache configured")
    if tokenizer_name(TOKENIZER_MIN_CHARS) == "heuristic":
        pytest.skip("no verified tiktoken encoding on disk")
    return tiktoken.get_encoding(tokenizer_name(TOKENIZER_MIN_CHARS).split(":", 1)[1])


def test_tiktoken_backend_errs_high_when_available() -> None:
    enc = _reference_encoding()
    text = "\n".join(t for t, _ in KNOWN) * 40
    exact = len(enc.encode(text, disallowed_special=()))  # type: ignore[attr-defined]
    assert exact <= estimate_tokens(text) <= exact * 1.1 + 10


def test_a_request_estimate_is_made_once_and_can_be_seeded() -> None:
    from tokenplan.tokens import estimate_request_tokens
    from tokenplan.types import ChatRequest

    request = ChatRequest.from_prompt("hello there", model="m", json_mode=True)
    twin = ChatRequest.from_prompt("hello there", model="m", json_mode=True)
    # A prompt builder's message estimate is used as given, and remembered for the request:
    # the metering layer reads the same number without estimating again.
    seeded = estimate_request_tokens(request, messages_tokens=1000)
    assert seeded > 1000
    assert estimate_request_tokens(request) == seeded
    assert estimate_request_tokens(twin) == seeded - 1000 + estimate_messages_tokens(
        ["hello there"]
    )
