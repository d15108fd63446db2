"""Benchmark outputs: ``results.csv``, ``curves.csv``, ``pareto.png`` and a markdown table.

The plot needs matplotlib (``pip install 'tokenplan[bench]'``); it is imported only when a
plot is drawn, with the non-interactive Agg canvas (no display, no global backend switch).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from tokenplan.bench.results import BenchResult, ResultRow, TaskRow
from tokenplan.errors import ConfigError

__all__ = [
    "frontier",
    "markdown_table",
    "plot_pareto",
    "write_curves_csv",
    "write_results_csv",
    "write_tasks_csv",
]

_KIND_ORDER = {"single": 0, "router": 1, "cascade": 2, "baseline": 3, "oracle": 4}
_KIND_STYLE = {
    "single": ("o", "#7f7f7f"),
    "router": ("s", "#1f77b4"),
    "cascade": ("D", "#d62728"),
    "baseline": ("v", "#9467bd"),
    "oracle": ("*", "#2ca02c"),
}


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.6g}"
    return "" if value is None else value


def _write_rows(path: Path, row_type: type, rows: Iterable[ResultRow | TaskRow]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(row_type)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in rows:
            d = row.to_dict()
            writer.writerow([_fmt(d[n]) for n in names])
    return path


def write_results_csv(results: Sequence[BenchResult], path: Path) -> Path:
    """One row per (dataset, policy); columns are :class:`ResultRow`'s fields."""
    return _write_rows(path, ResultRow, (row for result in results for row in result.rows))


def write_tasks_csv(results: Sequence[BenchResult], path: Path) -> Path:
    """One row per (dataset, policy, task family); columns are :class:`TaskRow`'s fields."""
    return _write_rows(path, TaskRow, (row for result in results for row in result.tasks))


def write_curves_csv(results: Sequence[BenchResult], path: Path) -> Path:
    """The operating points of every knob family (what APGR and CPT are computed from)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["dataset", "family", "strong_share", "accuracy", "usd_per_1k"])
        for result in results:
            for family, points in result.curves.items():
                for p in sorted(points, key=lambda p: (p.strong_share, p.cost_usd)):
                    writer.writerow(
                        [
                            result.dataset,
                            family,
                            _fmt(p.strong_share),
                            _fmt(p.quality),
                            _fmt(1000 * p.cost_usd),
                        ]
                    )
    return path


def _sorted_rows(rows: Sequence[ResultRow]) -> list[ResultRow]:
    return sorted(rows, key=lambda r: (_KIND_ORDER.get(r.kind, 9), r.usd_per_1k, r.policy))


def _num(value: float | None, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def markdown_table(result: BenchResult) -> str:
    """A GitHub-flavoured markdown table of one dataset's rows, with its notes."""
    ref = result.rows[0].reference if result.rows else ""
    lines = [
        f"### {result.dataset}",
        "",
        f"Reference (100%): best single model `{ref}`. Strong/weak for APGR/CPT: "
        f"`{result.strong}` / `{result.weak}`.",
        "",
        "| policy | kind | accuracy | USD / 1k | % best acc | % best cost | escalated | "
        "strong calls | APGR | CPT(50%) | CPT(80%) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in _sorted_rows(result.rows):
        lines.append(
            f"| {r.policy} | {r.kind} | {_num(r.accuracy, '.3f')} | {_num(r.usd_per_1k, '.3f')} "
            f"| {_num(r.pct_best_accuracy, '.1f')} | {_num(r.pct_best_cost, '.1f')} "
            f"| {_num(100 * r.escalation_rate, '.1f')}% | {_num(100 * r.strong_share, '.1f')}% "
            f"| {_num(r.apgr, '.3f')} | {_num(r.cpt50, '.1f')} | {_num(r.cpt80, '.1f')} |"
        )
    lines.extend(_task_table(result))
    errors = sum(r.errors for r in result.rows)
    if errors:
        lines.append("")
        lines.append(f"{errors} policy errors (scored 0); see the errors column of results.csv")
    if result.notes:
        lines.append("")
        lines.extend(f"- {n}" for n in result.notes)
    return "\n".join(lines) + "\n"


def _task_table(result: BenchResult) -> list[str]:
    """Accuracy per task family (and % of the reference's accuracy / cost on it)."""
    if not result.tasks:
        return []
    tasks = sorted({t.task for t in result.tasks})
    cells = {(t.policy, t.task): t for t in result.tasks}
    ref = result.tasks[0].reference
    lines = [
        "",
        f"By task: accuracy (% of `{ref}`'s accuracy, % of its cost, on the same prompts)",
        "",
        "| policy | " + " | ".join(f"{t} (n={_task_n(result.tasks, t)})" for t in tasks) + " |",
        "|---|" + "---:|" * len(tasks),
    ]
    for r in _sorted_rows(result.rows):
        row = []
        for task in tasks:
            c = cells.get((r.policy, task))
            row.append(
                "-"
                if c is None
                else f"{c.accuracy:.3f} ({_num(c.pct_reference_accuracy, '.0f')}% · "
                f"{_num(c.pct_reference_cost, '.0f')}%)"
            )
        lines.append(f"| {r.policy} | " + " | ".join(row) + " |")
    return lines


def _task_n(rows: Sequence[TaskRow], task: str) -> int:
    return max((t.n for t in rows if t.task == task), default=0)


def frontier(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The cost-quality Pareto frontier: points no other point beats on both (cheapest first)."""
    best: list[tuple[float, float]] = []
    for cost, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if not best or quality > best[-1][1]:
            best.append((cost, quality))
    return best


def _short(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def _label_groups(
    rows: Sequence[ResultRow], prefix: str, *, closeness: float = 0.015
) -> list[tuple[tuple[float, float], list[str]]]:
    """One label per spot: points closer than ``closeness`` of both axis ranges (x in log
    space) share the label of the first one, so coinciding policies do not print over each
    other (a router that picks the reference model, an escalation that rarely escalates)."""
    if not rows:
        return []
    xs = [math.log10(r.usd_per_1k) for r in rows]
    ys = [r.accuracy for r in rows]
    dx = closeness * max(max(xs) - min(xs), 1e-9)
    dy = closeness * max(max(ys) - min(ys), 1e-9)
    groups: list[tuple[float, float, tuple[float, float], list[str]]] = []
    for r, lx, y in zip(rows, xs, ys, strict=True):
        for gx, gy, _, names in groups:
            if abs(gx - lx) <= dx and abs(gy - y) <= dy:
                names.append(_short(r.policy, prefix))
                break
        else:
            groups.append((lx, y, (r.usd_per_1k, r.accuracy), [_short(r.policy, prefix)]))
    return [(spot, names) for _, _, spot, names in groups]


def _draw(ax: Any, result: BenchResult) -> None:
    prefix = result.strong.split("/", 1)[0] + "/" if "/" in result.strong else ""
    rows = [r for r in result.rows if not math.isnan(r.usd_per_1k) and r.usd_per_1k > 0]
    for family, points in result.curves.items():
        pts = sorted((1000 * p.cost_usd, p.quality) for p in points if p.cost_usd > 0)
        if pts:
            ax.plot(*zip(*pts, strict=True), lw=0.8, alpha=0.35, ls=":", label=f"{family} sweep")
    for kind, (marker, color) in _KIND_STYLE.items():
        pick = [r for r in rows if r.kind == kind]
        if not pick:
            continue
        label = "oracle (upper bound)" if kind == "oracle" else kind
        ax.scatter(
            [r.usd_per_1k for r in pick],
            [r.accuracy for r in pick],
            marker=marker,
            color=color,
            s=60 if kind == "oracle" else 28,
            label=label,
            zorder=3,
        )

    for (x, y), names in _label_groups(rows, prefix):
        ax.annotate(", ".join(names), (x, y), fontsize=6, xytext=(3, 2), textcoords="offset points")
    front = frontier([(r.usd_per_1k, r.accuracy) for r in rows if r.kind != "oracle"])
    if front:
        xs, ys = zip(*front, strict=True)
        ax.step(xs, ys, where="post", color="black", lw=1.0, ls="--", label="frontier")
    ax.set_xscale("log")
    ax.set_xlabel("USD per 1,000 queries (log scale)")
    ax.set_ylabel("accuracy / quality")
    ax.set_title(result.dataset, fontsize=10)
    ax.grid(True, which="both", alpha=0.2)
    ax.legend(fontsize=6, loc="best")


def plot_pareto(results: Sequence[BenchResult], path: Path, *, title: str = "") -> Path:
    """Cost (x, log) against quality (y) per dataset: labelled points, sweeps, the frontier."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "the plot needs matplotlib: pip install 'tokenplan[bench]' (or matplotlib)"
        ) from None
    n = max(len(results), 1)
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(7.5 * cols, 5.5 * rows), dpi=120)
    FigureCanvasAgg(fig)
    for i, result in enumerate(results):
        _draw(fig.add_subplot(rows, cols, i + 1), result)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
