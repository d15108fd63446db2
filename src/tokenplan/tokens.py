"""Conservative pre-call token estimates (pure; never touches the network).

The budget promise rests on these numbers: a call's worst case is reserved before it is made, so
the input estimate must err high. Two backends:

* **tiktoken**, when it is importable *and* its ``cl100k_base`` or ``o200k_base`` file is already
  in tiktoken's cache on disk (``$TIKTOKEN_CACHE_DIR``, else ``$DATA_GYM_CACHE_DIR``, else
  ``<tempdir>/data-gym-cache``; the file is named by the SHA-1 of its download URL and is checked
  against its published SHA-256 first, so tiktoken never decides to download it). It is used only
  for texts of :data:`TOKENIZER_MIN_CHARS` characters or more: loading an encoding costs
  0.15-0.3 s, which a short prompt does not repay (the heuristic's overestimate on a 2 KB prompt
  is a few dozen tokens). The exact count gets a small margin, because the reference for "errs
  high" is the larger of the two OpenAI encodings (other vendors' tokenizers differ again).
* a **calibrated character heuristic** otherwise: one ``bytes.translate`` pass maps UTF-8 bytes
  to character classes (ASCII letters, digits, punctuation, spaces, line breaks; non-ASCII
  characters by script block, from the lead byte) and a few ``count`` passes weigh them. About
  3 µs for a 400-word prompt, 2 ms for 1 MB. A text never gets more tokens than it has UTF-8
  bytes (byte-level BPE cannot exceed that).

Calibration (``benchmarks/bench_tokens.py --fit`` redoes it): the class weights come from a
linear quantile regression at the 98.5th percentile of (estimate / reference), each source set
weighing the same and any set still underestimated more than 2% of the time weighed up, rounded
up. The reference is ``max(o200k_base, cl100k_base)`` counted by tiktoken with the official
encoding files (the ``litellm`` wheel on PyPI bundles them; their SHA-256 match tiktoken's).
Measured on 21,660 texts - routerbench prompts (ARC, Winogrande, MBPP) and GPT-4's MBPP code,
RouteLLM MMLU and GSM8K prompts and GSM8K answers, MT-Bench questions, AlpacaEval instructions,
and 1,498 ~1 KB samples in 25 other languages taken from system gettext catalogs:

=========================  ======  ======  ======  ==============  =====================
estimate vs reference      mean    p05     p95     underestimated  worst underestimate
=========================  ======  ======  ======  ==============  =====================
all texts                  +25.6%  +6.0%   +48.1%  0.62%           22 tokens
per set (10 sets)          +17% to +37%             at most 1.2%
code (MBPP answers)        +34.3%  +21.7%  +47.0%  0%              -
25 other languages         +22.3%  +1.0%   +60.8%  1.2%            22 tokens
``len(text) // 3 + 1``     +33.8%  -32.5%  +77.1%  12.0%           1,448 tokens
``len(text) / 4``          +0.1%   -49.4%  +32.7%  40.8%           1,537 tokens
=========================  ======  ======  ======  ==============  =====================

Other vendors count differently: the legacy Claude tokenizer (``anthropic_tokenizer.json``)
counts +3.6% more than the reference on average (21% of texts above it, mostly non-English);
current Claude and Gemini tokenizers are not public, so differences beyond the reference's are
not covered by this margin.
"""

from __future__ import annotations

import functools
import math
import os
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenplan.types import ChatRequest

__all__ = [
    "TOKENIZER_MIN_CHARS",
    "estimate_messages_tokens",
    "estimate_request_tokens",
    "estimate_tokens",
    "estimate_tokens_heuristic",
    "tokenizer_name",
]

#: Texts at least this long use tiktoken when its encoding files are already on disk.
TOKENIZER_MIN_CHARS = 8192

# Per-message overhead of chat formats (role markers, separators) and reply priming.
_MESSAGE_OVERHEAD = 4
_REPLY_PRIMING = 3
# What a request adds to its messages on the wire, beyond the JSON text of the added parts:
# a response schema is rendered into the prompt with its own framing; JSON mode adds an
# instruction on dialects without a native mode (Anthropic's is 12 tokens); tools (in
# ``extra``) come with a tool-use system prompt (Anthropic documents up to 346 tokens).
_SCHEMA_OVERHEAD = 64
_JSON_MODE_TOKENS = 24
_TOOLS_OVERHEAD = 400
_ESTIMATES_KEPT = 256

# -- heuristic -----------------------------------------------------------------------------------

# Class letters after ``bytes.translate``: ASCII letters stay implicit (whatever is not counted),
# p digit or punctuation, s space, n line break / tab; non-ASCII lead bytes by script block into
# cost buckets v < w < x < y < z, e for 4-byte characters; c for UTF-8 continuation bytes.
# "nn" pairs (counted without overlap) discount runs of line breaks: blank lines are single
# tokens in modern BPE vocabularies. (A discount for runs of spaces was fitted to 0.)
_INTERCEPT = 2.78
_W_LETTER = 0.21
# Digits and punctuation share one class: their fitted weights were 1.00 and 1.01.
_W_PUNCT, _W_SPACE, _W_BREAK, _W_BREAK_PAIR = 1.01, 0.31, 1.45, -1.20
_W_OTHER = ((b"v", 0.80), (b"w", 1.06), (b"x", 1.50), (b"y", 2.08), (b"z", 2.68), (b"e", 4.0))


def _class_table() -> bytes:
    table = bytearray(b"l" * 256)
    for b in range(128):
        ch = chr(b)
        if b == 32:
            table[b] = ord("s")
        elif ch in "\t\n\r\x0b\x0c":
            table[b] = ord("n")
        elif not ch.isalpha():
            table[b] = ord("p")
    # (first lead byte, last lead byte, bucket): Unicode blocks by UTF-8 lead byte.
    blocks = (
        (0x80, 0xBF, "c"),  # continuation bytes
        (0xC0, 0xC3, "y"),  # Latin-1 supplement (accents break words)
        (0xC4, 0xCD, "z"),  # Latin extended, IPA, combining marks
        (0xCE, 0xCF, "w"),  # Greek
        (0xD0, 0xD3, "v"),  # Cyrillic
        (0xD4, 0xD7, "y"),  # Armenian, Hebrew
        (0xD8, 0xDF, "v"),  # Arabic, Syriac, Thaana
        (0xE0, 0xE0, "x"),  # Indic scripts, Thai, Lao, Tibetan
        (0xE1, 0xE2, "y"),  # Georgian, Ethiopic, Vietnamese; punctuation, symbols
        (0xE3, 0xE3, "v"),  # CJK punctuation, kana
        (0xE4, 0xE9, "x"),  # CJK ideographs
        (0xEA, 0xED, "w"),  # Hangul syllables
        (0xEE, 0xEF, "y"),  # private use, compatibility and full-width forms
        (0xF0, 0xFF, "e"),  # 4-byte characters: emoji, rare ideographs
    )
    for first, last, bucket in blocks:
        for b in range(first, last + 1):
            table[b] = ord(bucket)
    return bytes(table)


_TABLE = _class_table()


def estimate_tokens_heuristic(text: str) -> int:
    """The calibrated character-class estimate (see the module docstring for its error)."""
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    if size == 0:
        return 0
    classes = data.translate(_TABLE)
    count = classes.count
    punct, space, brk = count(b"p"), count(b"s"), count(b"n")
    counted = punct + space + brk
    est = _INTERCEPT + _W_PUNCT * punct + _W_SPACE * space + _W_BREAK * brk
    if brk > 1:
        est += _W_BREAK_PAIR * count(b"nn")
    if not text.isascii():
        for letter, weight in _W_OTHER:
            k = count(letter)
            counted += k
            est += weight * k
        counted += count(b"c")
    est += _W_LETTER * (size - counted)
    return min(math.ceil(est), size)


# -- tiktoken, only from files already on disk -----------------------------------------------------

# name -> (download URL (its SHA-1 names the cache file), SHA-256 of the file, safety factor).
# cl100k_base is preferred: it counts at least as many tokens as o200k_base on almost every text
# (measured: max(both) / cl100k <= 1.05 for 99.5% of English texts, <= 1.01 elsewhere).
_ENCODINGS: dict[str, tuple[str, str, float]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        1.05,
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        1.06,
    ),
}


def _tiktoken_cache_dir() -> str | None:
    # Mirrors tiktoken.load.read_file_cached; "" disables tiktoken's cache (it would download).
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        path = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        path = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        import tempfile

        path = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return path or None


def _cached_encoding_name(cache_dir: str) -> str | None:
    """The first encoding whose verified file is already in ``cache_dir``."""
    import hashlib  # not at module level: the CLI's start-up does not need OpenSSL

    for name, (url, sha256, _) in _ENCODINGS.items():
        path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
        try:
            with open(path, "rb") as fh:
                ok = hashlib.sha256(fh.read()).hexdigest() == sha256
        except OSError:
            continue
        if ok:
            return name
    return None


def _encoding() -> tuple[str, Any] | None:
    cache_dir = _tiktoken_cache_dir()
    return None if cache_dir is None else _load_encoding(cache_dir)


@functools.cache
def _load_encoding(cache_dir: str) -> tuple[str, Any] | None:
    import importlib.util

    if importlib.util.find_spec("tiktoken") is None:
        return None
    name = _cached_encoding_name(cache_dir)
    if name is None:
        return None
    try:
        import tiktoken

        return name, tiktoken.get_encoding(name)
    except Exception as exc:  # any failure here only costs precision, never correctness
        import logging

        logging.getLogger(__name__).debug(
            "tiktoken unavailable", extra={"encoding": name, "error": repr(exc)}
        )
        return None


def tokenizer_name(text_chars: int = TOKENIZER_MIN_CHARS) -> str:
    """Which backend :func:`estimate_tokens` uses for a text of ``text_chars`` characters.

    ``"tiktoken:<encoding>"`` or ``"heuristic"``. Asking about a long text may load tiktoken.
    """
    if text_chars >= TOKENIZER_MIN_CHARS:
        enc = _encoding()
        if enc is not None:
            return f"tiktoken:{enc[0]}"
    return "heuristic"


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of the tokens in ``text`` (see the module docstring)."""
    if len(text) >= TOKENIZER_MIN_CHARS:
        enc = _encoding()
        if enc is not None:
            name, encoding = enc
            exact = len(encoding.encode(text, disallowed_special=()))
            est = math.ceil(exact * _ENCODINGS[name][2]) + 2
            if name != "cl100k_base" and not text.isascii():
                # o200k is far more frugal than cl100k on non-Latin scripts.
                est = max(est, estimate_tokens_heuristic(text))
            return est
    return estimate_tokens_heuristic(text)


def estimate_messages_tokens(contents: Iterable[str]) -> int:
    """Estimate for a chat prompt given its message contents (per-message overhead included)."""
    return sum(estimate_tokens(c) + _MESSAGE_OVERHEAD for c in contents) + _REPLY_PRIMING


# id(request) -> (weak reference to it, estimate): a request's input estimate is made once,
# however many budget decisions read it (the step runner, then the metering layer, then each
# retry). Requests are frozen; an entry goes when its request does, and is only used for the
# very object it was made for.
_request_estimates: dict[int, tuple[weakref.ref[Any], int]] = {}


def estimate_request_tokens(request: ChatRequest, *, messages_tokens: int | None = None) -> int:
    """Everything a request sends and is billed for as input, estimated to err high.

    Its messages (:func:`estimate_messages_tokens`, names included), the JSON schema of
    ``response_format``, JSON mode's instruction, and every ``extra`` field (tools and the like),
    each with what the dialects add around it. Every budget decision about a call uses this one
    number. ``messages_tokens`` passes in an estimate of the messages already made (a prompt
    builder's); the result is remembered for the request, so asking again is free.
    """
    key = id(request)
    hit = _request_estimates.get(key)
    if hit is not None and hit[0]() is request:
        return hit[1]
    if messages_tokens is None:
        messages_tokens = estimate_messages_tokens(
            m.content if m.name is None else f"{m.name}: {m.content}" for m in request.messages
        )
    total = messages_tokens
    fmt = request.response_format
    if fmt is not None:
        total += _SCHEMA_OVERHEAD + estimate_tokens(fmt.name) + _json_tokens(fmt.json_schema)
    elif request.json_mode:
        total += _JSON_MODE_TOKENS
    if request.extra:
        total += _json_tokens(request.extra)
        if "tools" in request.extra or "functions" in request.extra:
            total += _TOOLS_OVERHEAD
    if len(_request_estimates) >= _ESTIMATES_KEPT:  # only if requests outlive their calls
        _request_estimates.clear()
    _request_estimates[key] = (weakref.ref(request, functools.partial(_forget, key)), total)
    return total


def _forget(key: int, _gone: object) -> None:
    _request_estimates.pop(key, None)


def _json_tokens(value: Any) -> int:
    """Tokens of ``value`` as JSON, at least as many as its ``json.dumps`` form (which has a
    space after every separator) estimates to; orjson is five times faster at writing it."""
    import orjson  # imported here: the CLI's start-up does not need it

    data = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
    separators = data.count(b",") + data.count(b":")
    return estimate_tokens(data.decode()) + math.ceil(_W_SPACE * separators)
