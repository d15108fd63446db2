"""Measure tokenplan's input-token estimator against real BPE tokenizers.

    python benchmarks/bench_tokens.py --tiktoken-cache DIR [--data ../shared/data]
        [--locale-dir /usr/share/locale] [--hf-tokenizer NAME=tokenizer.json ...] [--fit]

The reference count of a text is ``max(o200k_base, cl100k_base)`` from tiktoken. The internet is
closed here and tiktoken downloads its encodings at run time, so point ``--tiktoken-cache`` at a
folder holding tiktoken's cache files. The ``litellm`` wheel on PyPI bundles them (SHA-256
verified below against tiktoken's published hashes)::

    pip download litellm --no-deps -d wheels
    unzip -j wheels/litellm-*.whl 'litellm/litellm_core_utils/tokenizers/*' -d tiktoken-cache

That folder also holds ``anthropic_tokenizer.json`` (Claude's legacy tokenizer) and
``deepseek_tokenizer.json``; pass them with ``--hf-tokenizer`` (needs the ``tokenizers`` package)
to see how far other vendors' counts are from the reference.

Texts: every prompt in the datasets, the recorded GPT-4 answers (routerbench, GSM8K), MT-Bench
second turns and, with ``--locale-dir``, ~1 KB samples of 25 languages from gettext catalogs.
``--fit`` refits the heuristic's class weights (needs numpy and scipy) by quantile regression.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data

from tokenplan import tokens

LANGS = [
    "zh_CN",
    "zh_TW",
    "ja",
    "ko",
    "ru",
    "uk",
    "ar",
    "he",
    "hi",
    "bn",
    "ta",
    "th",
    "el",
    "de",
    "fr",
    "es",
    "pt_BR",
    "it",
    "pl",
    "tr",
    "vi",
    "fa",
    "ka",
    "hy",
    "sr",
]


def gettext_samples(locale_dir: Path, *, per_lang: int = 60) -> list[tuple[str, str]]:
    import gettext

    rng = random.Random(1)
    out: list[tuple[str, str]] = []
    for lang in LANGS:
        strings: list[str] = []
        for f in sorted(glob.glob(str(locale_dir / lang / "LC_MESSAGES" / "*.mo"))):
            try:
                with open(f, "rb") as fh:
                    catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
            except Exception:
                continue
            strings.extend(
                v for k, v in catalog.items() if k and isinstance(v, str) and len(v) > 20
            )
        rng.shuffle(strings)
        chunk: list[str] = []
        n = 0
        for s in strings[:3000]:
            chunk.append(s)
            if sum(map(len, chunk)) > 800:
                out.append((f"other languages ({lang})", "\n".join(chunk)))
                chunk = []
                n += 1
                if n >= per_lang:
                    break
    return out


def collect(data: Path, locale_dir: Path | None) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for s in _data.load_all(data):
        head = s.source.split("/")
        if head[0] == "routerbench":
            group = f"routerbench prompts ({head[-1]})"
        elif head[0] == "routellm":
            group = f"{head[1]} prompts"
        elif head[0] == "mt_bench":
            group = "mt_bench questions"
        else:
            group = "alpaca instructions"
        texts.append((group, s.text))
        for extra in s.extra_texts:
            if not extra.strip():
                continue
            if head[0] == "routerbench":
                if head[-1] != "mbpp":
                    continue  # one-letter multiple-choice answers carry no information
                kind = "code answers (mbpp)"
            elif head[0] == "routellm":
                kind = "gsm8k answers"
            else:
                kind = "mt_bench questions"
            texts.append((kind, extra))
    if locale_dir is not None and locale_dir.is_dir():
        texts.extend(gettext_samples(locale_dir))
    return texts


def load_reference(cache: Path):  # type: ignore[no-untyped-def]
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        import tiktoken
    except ImportError:
        raise SystemExit("tiktoken is not installed: pip install tiktoken") from None
    encs = []
    for name, (url, sha256, _) in tokens._ENCODINGS.items():
        path = cache / hashlib.sha1(url.encode()).hexdigest()
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"{name}: no verified file {path.name} in {cache} (see --help)")
        encs.append(tiktoken.get_encoding(name))
    return encs


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


def report(title: str, groups: dict[str, list[tuple[int, int]]]) -> None:
    """groups: name -> [(estimate, reference)]."""
    print(f"\n{title}")
    print(
        f"{'set':34s} {'texts':>6s} {'mean':>7s} {'p05':>7s} {'p50':>7s} {'p95':>7s} {'under':>7s} {'worst':>6s}"
    )
    rows = sorted(groups.items())
    every: list[tuple[int, int]] = []
    set_means: list[float] = []
    for name, pairs in rows:
        every.extend(pairs)
        ratios = [e / r for e, r in pairs if r > 0]
        set_means.append(statistics.fmean(ratios))
        _row(name, pairs)
    _row("ALL texts", every)
    print(
        f"{'mean over sets (each set weighs 1)':34s} {'':>6s} {statistics.fmean(set_means) - 1:+7.1%}"
    )


def _row(name: str, pairs: list[tuple[int, int]]) -> None:
    ratios = [e / r for e, r in pairs if r > 0]
    under = sum(1 for e, r in pairs if e < r)
    worst = max((r - e for e, r in pairs), default=0)
    print(
        f"{name[:34]:34s} {len(pairs):6d} {statistics.fmean(ratios) - 1:+7.1%} {pct(ratios, 5) - 1:+7.1%} "
        f"{pct(ratios, 50) - 1:+7.1%} {pct(ratios, 95) - 1:+7.1%} {under / len(pairs):7.2%} {max(worst, 0):6d}"
    )


def fit(texts: list[str], refs: list[int], groups: list[str], tau: float, max_under: float) -> None:
    try:
        import numpy as np
        from scipy.optimize import linprog
        from scipy.sparse import csr_matrix, hstack, identity
    except ImportError:
        raise SystemExit("--fit needs numpy and scipy") from None
    letters = [b"p", b"s", b"n", b"v", b"w", b"x", b"y", b"z", b"ss", b"nn"]
    rows, fixed = [], []
    for t in texts:
        data = t.encode("utf-8", "surrogatepass")
        cls = data.translate(tokens._TABLE)
        counts = [cls.count(k) for k in letters]
        four = cls.count(b"e")
        other = sum(counts[:-2]) + four + cls.count(b"c")
        rows.append([1.0, len(data) - other, *counts])
        fixed.append(4.0 * four)
    X, Y = np.array(rows), np.array(refs, float)
    fixed_tokens = np.array(fixed)
    nbytes = np.array([len(t.encode("utf-8", "surrogatepass")) for t in texts], float)
    target = (Y - fixed_tokens) / Y
    names = sorted(set(groups))
    member = {g: np.array([x == g for x in groups]) for g in names}
    boost = dict.fromkeys(names, 1.0)
    n, k = X.shape
    a_eq = hstack([csr_matrix(X / Y[:, None]), identity(n), -identity(n)]).tocsr()
    # Run discounts may be negative (bounded so a run never costs less than nothing).
    bounds = [(0, None)] * (k - 2) + [(-0.8, 0), (-1.2, 0)] + [(0, None)] * (2 * n)
    # Weighted quantile regression; every set weighs the same, and a set whose underestimate
    # rate stays above the target gets 1.4x its weight, until every set meets it.
    for _ in range(12):
        w = np.zeros(n)
        for g in names:
            w[member[g]] = boost[g] / member[g].sum()
        w /= w.sum()
        cost = np.concatenate([np.zeros(k), w * tau, w * (1 - tau)])
        res = linprog(cost, A_eq=a_eq, b_eq=target, bounds=bounds, method="highs")
        beta = np.ceil(res.x[:k] * 100) / 100
        est = np.minimum(np.ceil(X @ beta + fixed_tokens), nbytes)
        rates = {g: float(np.mean(est[member[g]] < Y[member[g]])) for g in names}
        worst = max(rates, key=lambda g: rates[g])
        print(
            f"  fit: worst set {worst} underestimates {rates[worst]:.2%}; mean {np.mean(est / Y) - 1:+.1%}"
        )
        if rates[worst] <= max_under:
            break
        for g in names:
            if rates[g] > max_under:
                boost[g] *= 1.4
    labels = ["intercept", "letter", *(b.decode() for b in letters)]
    print(f"\nrefit at tau={tau}, every set <= {max_under:.1%} underestimates (rounded up):")
    for label, b in zip(labels, beta, strict=True):
        print(f"  {label:10s} {b:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=_data.DEFAULT_DATA)
    ap.add_argument(
        "--tiktoken-cache",
        type=Path,
        default=Path(os.environ["TIKTOKEN_CACHE_DIR"])
        if os.environ.get("TIKTOKEN_CACHE_DIR")
        else None,
        help="folder with tiktoken's cache files (default: $TIKTOKEN_CACHE_DIR)",
    )
    ap.add_argument("--locale-dir", type=Path, default=Path("/usr/share/locale"))
    ap.add_argument("--hf-tokenizer", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--tau", type=float, default=0.985)
    ap.add_argument(
        "--max-under", type=float, default=0.02, help="per-set underestimate share target for --fit"
    )
    args = ap.parse_args()

    if args.tiktoken_cache is None:
        print(
            "bench_tokens: skipped - no reference tokenizer (pass --tiktoken-cache DIR; see --help)"
        )
        return
    encs = load_reference(args.tiktoken_cache)
    texts = collect(args.data, args.locale_dir)
    refs = [max(len(e.encode(t, disallowed_special=())) for e in encs) for _, t in texts]
    print(f"{len(texts)} texts; reference = max(o200k_base, cl100k_base)")

    def by_group(estimate) -> dict[str, list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
        g: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for (group, t), r in zip(texts, refs, strict=True):
            key = "other languages (25)" if group.startswith("other languages") else group
            g[key].append((estimate(t), r))
        return g

    report(
        "tokenplan heuristic (estimate / reference - 1)", by_group(tokens.estimate_tokens_heuristic)
    )
    report("baseline len(text) // 3 + 1", by_group(lambda t: len(t) // 3 + 1))
    report("baseline len(text) / 4", by_group(lambda t: math.ceil(len(t) / 4)))

    for spec in args.hf_tokenizer:
        name, _, path = spec.partition("=")
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(path)
        report(
            f"{name} tokenizer vs reference (its count / reference - 1)",
            by_group(lambda t, tok=tok: len(tok.encode(t, add_special_tokens=False).ids)),
        )

    sample = " ".join(t for _, t in texts[:60]).split()[:400]
    prompt = " ".join(sample)
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        tokens.estimate_tokens_heuristic(prompt)
    per = (time.perf_counter() - t0) / n * 1e6
    big = prompt * (1_000_000 // len(prompt))
    t0 = time.perf_counter()
    tokens.estimate_tokens_heuristic(big)
    big_ms = (time.perf_counter() - t0) * 1e3
    print(
        f"\nheuristic speed: {per:.2f} µs for a 400-word prompt ({len(prompt)} chars), {big_ms:.1f} ms for {len(big) / 1e6:.1f} MB"
    )

    if args.fit:
        fit(
            [t for _, t in texts],
            refs,
            [g.split(" (")[0] for g, _ in texts],
            args.tau,
            args.max_under,
        )


if __name__ == "__main__":
    main()
