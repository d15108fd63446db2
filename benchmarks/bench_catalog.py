"""How long loading the catalog takes - it is on every command's path.

::

    python benchmarks/bench_catalog.py [--runs 200]

Prints the cold time (caches cleared, files parsed: what a fresh CLI process pays) and the
warm time (same process, files unchanged) for: the bundled snapshot alone, plus a 300-model
OpenRouter refresh cache, plus a user models file. Inputs are synthetic files in a temporary
folder; nothing outside it is read or written. Target: well under 2 ms cold for the bundled
snapshot.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tokenplan.catalog import load_catalog
from tokenplan.catalog.loading import (
    _loaded,
    _parse_user_file,
    _read_refresh_cache,
    bundled_catalog,
    bundled_snapshot,
)
from tokenplan.settings import Settings

USER_FILE = """
[[model]]
id = "ollama/llama3.2"
base_url = "http://127.0.0.1:11434/v1"
context_window = 131072
max_output_tokens = 8192
capabilities = { general = 0.55, code = 0.45 }

[[model]]
id = "vllm/qwen3-32b"
tier = "budget"
input_per_mtok = 0.05
output_per_mtok = 0.1
context_window = 32768
max_output_tokens = 4096
capabilities = { reasoning = 0.7, math = 0.7 }

[[model]]
id = "openai/gpt-5-mini"
input_per_mtok = 0.2
"""


def refresh_cache(n: int) -> dict[str, object]:
    """A refresh cache shaped like the real one: ``n`` OpenRouter rows."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"openrouter/vendor{i % 40}/model-{i}",
                "provider": "openrouter",
                "api_name": f"vendor{i % 40}/model-{i}",
                "tier": ("budget", "mid", "flagship")[i % 3],
                "input_per_mtok": 0.1 + i / 100,
                "output_per_mtok": 0.4 + i / 50,
                "cached_input_per_mtok": None if i % 2 else 0.01,
                "cache_write_per_mtok": None,
                "reasoning_output_per_mtok": None,
                "context_window": 131072,
                "max_output_tokens": 16384,
                "quality": {"general": 0.5},
                "capabilities": ["general"],
                "json_schema": bool(i % 2),
                "tools": True,
                "streaming": True,
                "reasoning": bool(i % 3),
                "aliases": [],
                "display_name": f"Vendor {i}: Model {i}",
                "source": "openrouter-refresh",
                "notes": "added by models refresh; priors are conservative defaults",
            }
        )
    return {"version": 1, "source": "openrouter", "models": rows}


def clear_caches() -> None:
    bundled_snapshot.cache_clear()
    bundled_catalog.cache_clear()
    _read_refresh_cache.cache_clear()
    _parse_user_file.cache_clear()
    _loaded.clear()


def measure(fn: Callable[[], object], *, runs: int, cold: bool) -> tuple[float, float]:
    """(median, min) in milliseconds."""
    times = []
    for _ in range(runs):
        if cold:
            clear_caches()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain = Settings.load(env={"TOKENPLAN_HOME": str(root / "plain")})
        refreshed_home = root / "refreshed"
        refreshed_home.mkdir()
        (refreshed_home / "openrouter-models.json").write_text(json.dumps(refresh_cache(300)))
        refreshed = Settings.load(env={"TOKENPLAN_HOME": str(refreshed_home)})
        user_home = root / "user"
        user_home.mkdir()
        (user_home / "openrouter-models.json").write_text(json.dumps(refresh_cache(300)))
        (user_home / "models.toml").write_text(USER_FILE)
        with_user = Settings.load(env={"TOKENPLAN_HOME": str(user_home)})

        cases = [
            ("bundled only", plain),
            ("+ 300-model refresh cache", refreshed),
            ("+ refresh cache + user file", with_user),
        ]
        print(f"catalog load, {args.runs} runs each (median / min, ms)")
        for label, settings in cases:
            count = len(load_catalog(settings))
            cold = measure(lambda s=settings: load_catalog(s), runs=args.runs, cold=True)
            warm = measure(lambda s=settings: load_catalog(s), runs=args.runs, cold=False)
            print(
                f"  {label:30} {count:4d} models   cold {cold[0]:6.3f} / {cold[1]:6.3f}"
                f"   warm {warm[0]:6.3f} / {warm[1]:6.3f}"
            )


if __name__ == "__main__":
    main()
