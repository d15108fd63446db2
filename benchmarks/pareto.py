"""Pareto benchmark: cost against quality for every routing policy.

Replay mode (the default, offline) runs every policy on recorded outputs of real models: the
policies call a ``replay`` provider that serves the recorded response and cost for each
(prompt, model), see only prompts and responses, and are graded from the recorded labels
afterwards. Everything a policy learns (catalog priors, cascade tables, budget operating
points) is fitted on the train part of a deterministic split; every figure is measured on the
eval part.

    python benchmarks/pareto.py                       # all datasets found under --data
    python benchmarks/pareto.py --dataset routerbench --split train:0.5 --seed 1
    python benchmarks/pareto.py --data ~/routerbench-csvs --dataset routerbench --out out/

Outputs in ``--out`` (default ``bench-out/pareto/``): ``results.csv`` (one row per dataset and
policy), ``curves.csv`` (the operating points behind APGR/CPT), ``pareto.png`` (all datasets)
and ``pareto-<dataset>.png``, ``fitted.json`` (the fitted catalog and cascade tables) and
``results.md``; the markdown table is also printed on stdout.

Datasets are not part of tokenplan (their licenses differ); get them from their public sources
and point ``--data`` at a folder holding them (default: ``../shared/data`` beside the repository
when it exists):

* ``routerbench-subset/``: RouterBench-format CSVs (Hu et al. 2024, arXiv:2403.12031; Hugging
  Face ``withmartian/routerbench``), e.g. the RouterDC re-split at GitHub ``shuhao02/RouterDC``,
  ``datasets/routerbench_zs/*.csv``. Any folder of CSVs in that format works.
* ``routellm-evals/``: GitHub ``lm-sys/RouteLLM``, folder ``routellm/evals/`` (``mmlu/``,
  ``gsm8k/``, ``mt_bench/``; Apache-2.0). These record no costs: they are estimated with a price
  table (``--prices``, default ``litellm-prices/model_prices_and_context_window.json`` under
  ``--data``, from GitHub ``BerriAI/litellm``) and token counts estimated from text.

Every call goes through the product's metering layer (one ``kind="bench"`` ledger attempt per
call; ``--budget`` is a hard ceiling per policy in replay mode, for the whole run live).

Live mode (``--live``) runs the built-in task suite (code graded by running hidden tests, math
by exact answer, facts by normalized match) through the product's runtime with real providers
(keys from the environment, the keys file or a local endpoint) under ``--budget``, recording
every call on the ledger; ``--sim`` runs it on the offline simulator (no sleeping unless
``TOKENPLAN_SIM_LATENCY_SCALE`` says so) as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = Path("bench-out") / "pareto"
PRICES_FILE = Path("litellm-prices") / "model_prices_and_context_window.json"
KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
)
LOCAL_VAR = "TOKENPLAN_OPENAI_BASE_URL"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pareto.py",
        description="Cost-vs-quality Pareto benchmark of tokenplan's routing policies.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Datasets: see the module docstring or docs/benchmarks.md for public sources.",
    )
    p.add_argument("--data", type=Path, default=None, help="folder with the datasets")
    p.add_argument(
        "--dataset",
        choices=("routerbench", "routellm", "all"),
        default="all",
        help="which datasets to replay (default: all found)",
    )
    p.add_argument("--split", default="train:0.5", help="train fraction, e.g. train:0.5")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/eval split")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--prices", type=Path, default=None, help="LiteLLM-format price table")
    p.add_argument(
        "--budgets",
        default="0.1,0.2",
        help="cascade operating points, as fractions of the strong model's cost",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--live", action="store_true", help="run the task suite on real models")
    mode.add_argument("--sim", action="store_true", help="run the task suite on the simulator")
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="USD ceiling: of the whole --live/--sim run (default 1.0), of each policy in replay "
        "mode (default: none)",
    )
    p.add_argument("--models", default="", help="live/sim: comma-separated catalog ids")
    p.add_argument(
        "--ledger",
        type=Path,
        default=None,
        help="replay: also write every call's ledger line (kind=bench) to this JSONL file",
    )
    return p


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(code)


def _info(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _budgets(text: str) -> tuple[float, ...]:
    from tokenplan.errors import UsageError

    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--budgets expects fractions like 0.1,0.2, got {text!r}") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise UsageError("--budgets fractions must be in (0, 1]")
    return values


def _data_root(arg: Path | None) -> Path:
    from tokenplan.errors import UsageError

    if arg is not None:
        if not arg.exists():
            raise UsageError(f"--data {arg} does not exist")
        return arg
    if DEFAULT_DATA.is_dir():
        return DEFAULT_DATA
    raise UsageError(
        f"no datasets found at {DEFAULT_DATA}; pass --data DIR (see docs/benchmarks.md for "
        "where to get RouterBench and the RouteLLM eval sets)"
    )


def _find(root: Path, sub: str, marker: str) -> Path | None:
    if (root / sub).is_dir():
        return root / sub
    if list(root.glob(marker)):
        return root
    return None


def _load(args: argparse.Namespace) -> list[Any]:
    from tokenplan.bench import PriceTable, load_routellm, load_routerbench
    from tokenplan.bench.routellm import ROUTELLM_BENCHMARKS
    from tokenplan.errors import UsageError

    root = _data_root(args.data)
    datasets = []
    if args.dataset in ("routerbench", "all"):
        folder = _find(root, "routerbench-subset", "*.csv")
        if folder is not None:
            datasets.append(load_routerbench(folder))
        elif args.dataset == "routerbench":
            raise UsageError(
                f"no RouterBench-format CSVs in {root} or {root / 'routerbench-subset'}"
            )
    if args.dataset in ("routellm", "all"):
        folder = _find(root, "routellm-evals", "gsm8k")
        if folder is not None:
            prices_path = args.prices or root / PRICES_FILE
            prices = PriceTable.load(prices_path)
            for bench in ROUTELLM_BENCHMARKS:
                if (folder / bench).is_dir():
                    datasets.append(load_routellm(folder, benchmark=bench, prices=prices))
        elif args.dataset == "routellm":
            raise UsageError(f"no RouteLLM eval sets in {root} or {root / 'routellm-evals'}")
    if not datasets:
        raise UsageError(f"no datasets found under {root}")
    return datasets


def _write(results: list[Any], out: Path, *, title: str, fitted: dict[str, Any]) -> None:
    from tokenplan.bench import markdown_table, plot_pareto, write_curves_csv, write_results_csv
    from tokenplan.bench.report import write_tasks_csv

    out.mkdir(parents=True, exist_ok=True)
    write_results_csv(results, out / "results.csv")
    write_curves_csv(results, out / "curves.csv")
    if any(r.tasks for r in results):
        write_tasks_csv(results, out / "tasks.csv")
    plot_pareto(results, out / "pareto.png", title=title)
    for r in results:
        plot_pareto([r], out / f"pareto-{r.dataset}.png", title=title)
    if fitted:
        (out / "fitted.json").write_text(json.dumps(fitted, indent=1, default=str) + "\n")
    text = "\n".join(markdown_table(r) for r in results)
    (out / "results.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    sys.stdout.flush()


async def _replay(args: argparse.Namespace) -> None:
    from tokenplan.bench import Split, run_replay_benchmark
    from tokenplan.errors import UsageError

    try:
        split = Split.parse(args.split, seed=args.seed)
    except ValueError as exc:
        raise UsageError(f"--split: {exc}") from None
    budgets = _budgets(args.budgets)
    started = time.perf_counter()
    datasets = _load(args)
    _info(
        f"loaded {', '.join(f'{d.name} ({len(d)})' for d in datasets)} in "
        f"{time.perf_counter() - started:.1f}s"
    )
    if args.budget is not None and not args.budget > 0:
        raise UsageError("--budget must be a positive number of USD")
    ledger = _replay_ledger(args.ledger)
    run_id = _run_id()
    results = []
    try:
        for dataset in datasets:
            result = await run_replay_benchmark(
                dataset,
                split=split,
                budgets=budgets,
                budget_usd=args.budget,
                ledger=ledger.append if ledger is not None else None,
                run_id=run_id,
            )
            _info(f"{dataset.name}: {len(result.rows)} policies in {result.seconds:.1f}s")
            results.append(result)
    finally:
        if ledger is not None:
            ledger.close()
    fitted = {r.dataset: r.fitted for r in results}
    _write(results, args.out, title=f"replay, split {split}", fitted=fitted)
    _info(
        f"wrote {args.out}/ (results.csv, curves.csv, pareto.png, fitted.json) in "
        f"{time.perf_counter() - started:.1f}s total"
    )


def _run_id() -> str:
    import secrets

    return "bench-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _replay_ledger(path: Path | None) -> Any:
    if path is None:
        return None
    from tokenplan.ledger.store import Ledger

    path.parent.mkdir(parents=True, exist_ok=True)
    return Ledger(path)


def _settings(args: argparse.Namespace) -> Any:
    """The invocation's settings; ``--sim`` forces the simulator, without sleeping by default."""
    from tokenplan.settings import Settings

    if not args.sim:
        return Settings.load()
    settings = Settings.load({"offline": True})
    if settings.sim_latency_scale is None:
        settings = settings.replace(sim_latency_scale=0.0)
    return settings


def _default_models(available: list[Any]) -> list[str]:
    """The cheapest usable model, then per paid tier the best-rated usable model priced at or
    below the tier's median (the priciest flagships would eat a small budget alone)."""
    from tokenplan.catalog import TIER_ORDER

    def price(m: Any) -> float:
        return float(m.input_per_mtok + m.output_per_mtok)

    def rating(m: Any) -> float:
        return sum(m.quality.values()) / max(len(m.quality), 1)

    ids: list[str] = []
    if available:
        ids.append(min(available, key=lambda m: (price(m), m.id)).id)
    for tier in TIER_ORDER:
        prices = sorted(price(m) for m in available if m.tier == tier)
        if prices:
            median = prices[(len(prices) - 1) // 2]
            pool = [m for m in available if m.tier == tier and price(m) <= median]
            best = max(pool, key=lambda m: (rating(m), -price(m), m.id)).id
            if best not in ids:
                ids.append(best)
    return ids


def _live_model(args: argparse.Namespace, runtime: Any) -> tuple[Any, Any, list[str]]:
    """The metered models, catalog and model ids a live or simulated run goes through.

    Every call goes through the runtime's metered, retrying models; its ledger lines are
    collected for the report and written to the runtime's ledger.
    """
    from tokenplan.bench.metering import AttemptLog, MeteredModels
    from tokenplan.errors import UsageError

    if args.live and runtime.simulated:
        offline = runtime.settings.offline
        why = "offline mode is on" if offline else "no provider endpoint is usable"
        raise UsageError(
            f"--live needs a real model: {why}; set one of {', '.join(KEY_VARS)} "
            f"(or {LOCAL_VAR} for a local server), or use --sim"
        )
    log = AttemptLog(forward=runtime.attempt_sink)
    runtime.attempt_sink = log
    models = MeteredModels(lambda model_id: runtime.fallback_model([model_id]), log)
    available = runtime.available_models()
    if args.models:
        ids = [m.strip() for m in args.models.split(",") if m.strip()]
        usable = {m.id for m in available}
        for model_id in ids:
            if runtime.catalog.get(model_id).id not in usable:
                raise UsageError(f"--models: {model_id} cannot be called (no usable endpoint)")
        ids = [runtime.catalog.get(m).id for m in ids]
    else:
        ids = _default_models(available)
    return models, runtime.catalog, ids


async def _suite(args: argparse.Namespace) -> None:
    from tokenplan.bench.live import run_live_suite
    from tokenplan.runtime import Runtime

    budget = 1.0 if args.budget is None else args.budget
    async with Runtime.open(_settings(args)) as runtime:
        models, catalog, ids = _live_model(args, runtime)
        _info(f"{'live' if args.live else 'simulated'} run of {', '.join(ids)}, budget ${budget:g}")
        result = await run_live_suite(
            models,
            catalog=catalog,
            model_ids=ids,
            budget_usd=budget,
            dataset="live" if args.live else "sim",
            run_id=_run_id(),
        )
        ledger = runtime.settings.ledger_file
    _write([result], args.out, title="live" if args.live else "simulated", fitted={})
    _info(f"wrote {args.out}/ (results.csv, curves.csv, pareto.png); calls recorded in {ledger}")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    import anyio

    from tokenplan.errors import TokenplanError

    try:
        anyio.run(_suite if (args.live or args.sim) else _replay, args)
    except TokenplanError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


if __name__ == "__main__":
    main()
