"""Tables fit any terminal width: columns chosen by priority, ids and numbers never cut.

Every listing is rendered into a string console at 60, 80, 120 and 200 columns.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from tokenplan.catalog import Catalog
from tokenplan.catalog.model import Model
from tokenplan.cli import _ledger_view as view
from tokenplan.cli import _route_view as route_view
from tokenplan.cli._format import ago, percent, tokens, usd
from tokenplan.cli._table import GAP, Col, Fitted, fit, hidden_note
from tokenplan.cli.models import models_table
from tokenplan.ledger import Attempt
from tokenplan.ledger.runs import RunInfo, RunStep
from tokenplan.ledger.summary import summarize
from tokenplan.routing.router import Router
from tokenplan.settings import Settings
from tokenplan.testing.catalogs import model_row

WIDTHS = (60, 80, 120, 200)
NOW = 1_750_000_000.0
RUN_A = "20250501-100000-abcd"
RUN_B = "20250502-110000-ef01"


def render(fitted: Fitted, width: int) -> list[str]:
    console = Console(
        file=io.StringIO(), width=width, color_system=None, force_terminal=False, record=True
    )
    console.print(fitted.table)
    return console.export_text().splitlines()


def header_line(lines: list[str], headers: Sequence[str]) -> str:
    return next(line for line in lines if all(h in line for h in headers if h))


def shown_headers(fitted: Fitted) -> list[str]:
    return [str(c.header) for c in fitted.table.columns]


def assert_fits(fitted: Fitted, lines: list[str], width: int) -> None:
    """No line is wider than the terminal, and every column shown has a visible header."""
    assert all(len(line.rstrip()) <= width for line in lines), "\n".join(lines)
    headers = shown_headers(fitted)
    assert len(headers) >= 2
    head = header_line(lines, headers)
    for h in headers:
        assert h in head, (h, head)  # never collapsed to zero width or cut


def assert_whole(lines: list[str], values: Sequence[str]) -> None:
    """Each value appears unbroken on one line (not wrapped, not cut by an ellipsis)."""
    text = "\n".join(lines)
    for value in values:
        assert any(value in line for line in lines), f"{value!r} not whole in:\n{text}"


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "run_id": RUN_A,
        "kind": "step",
        "model": "openai/gpt-5-mini",
        "provider": "openai",
        "outcome": "ok",
        "ts": NOW - 300,
        "input_tokens": 128_000,
        "output_tokens": 1_024,
        "cost_usd": 0.000414,
        "latency_ms": 812.0,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


ATTEMPTS = [
    attempt(kind="plan", step_id=None, model="anthropic/claude-sonnet-4-5", cost_usd=0.0123),
    attempt(step_id="draft-intro", outcome="invalid", error="AcceptanceError: empty output"),
    attempt(
        step_id="draft-intro",
        attempt=2,
        model="openrouter/deepseek/deepseek-v3.2",
        escalated_from="openai/gpt-5-mini",
        cost_usd=1.5,
    ),
    attempt(run_id=RUN_B, kind="route", step_id=None, simulated=True, ts=NOW - 7200),
]


# -- formatting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.000414442, "$0.000414"),
        (1.234, "$1.23"),
        (0.5, "$0.50"),
        (0.0123, "$0.0123"),
        (0, "$0"),
        (-0.05, "-$0.05"),
        (0.9996, "$1.00"),
        (1234.5, "$1,234.50"),
        (1e-9, "$0.000000001"),
        (None, "-"),
    ],
)
def test_usd(value: float | None, text: str) -> None:
    assert usd(value) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (950, "950"),
        (8_192, "8,192"),
        (12_345, "12.3k"),
        (128_000, "128k"),
        (272_000, "272k"),
        (131_072, "131k"),
        (999_500, "1M"),
        (1_000_000, "1M"),
        (1_048_576, "1.05M"),
        (2_500_000_000, "2.5B"),
    ],
)
def test_tokens_are_decimal_like_vendors_quote_them(n: int, text: str) -> None:
    assert tokens(n) == text


def test_relative_times_and_percent() -> None:
    assert [ago(NOW - s, now=NOW) for s in (5, 125, 7200, 3 * 86400)] == [
        "5s ago",
        "2m ago",
        "2h ago",
        "3d ago",
    ]
    assert ago(NOW - 90 * 86400, now=NOW) == datetime.fromtimestamp(NOW - 90 * 86400).strftime(
        "%Y-%m-%d"
    )
    assert ago(None) == "-"
    assert [percent(x) for x in (0.0, 0.004, 0.5, 0.996, 1.0)] == [
        "0%",
        "<1%",
        "50%",
        ">99%",
        "100%",
    ]


@given(st.floats(min_value=1e-12, max_value=1e7))
def test_usd_keeps_three_significant_digits(value: float) -> None:
    text = usd(value)
    assert text.startswith("$")
    assert "e" not in text
    shown = float(text[1:].replace(",", ""))
    if value >= 0.995:
        assert abs(shown - value) <= 0.005 + 1e-9
    else:
        assert abs(shown - value) <= value * 0.005 + 1e-12


# -- the fitting algorithm ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(min_value=30, max_value=220),
    cols=st.lists(
        st.tuples(
            st.sampled_from(["id", "num", "text", "prose"]),
            st.integers(min_value=0, max_value=5),
            st.integers(min_value=1, max_value=30),
        ),
        min_size=1,
        max_size=9,
    ),
)
def test_fit_never_exceeds_the_width_and_drops_low_priority_first(
    width: int, cols: list[tuple[str, int, int]]
) -> None:
    specs = [
        Col(f"c{i}", kind, priority=p)  # type: ignore[arg-type]
        for i, (kind, p, _) in enumerate(cols)
    ]
    row = [f"{'v' * n}{i}" if kind != "num" else "9" * n for i, (kind, _, n) in enumerate(cols)]
    fitted = fit(specs, [row], width=width)
    shown = shown_headers(fitted)
    must = sum(
        len(v) if c.kind in ("id", "num") else min(len(v), 12)
        for c, v in zip(specs, row, strict=True)
        if c.priority == 0
    ) + GAP * (sum(c.priority == 0 for c in specs) - 1)
    lines = render(fitted, width)
    if must <= width:
        assert all(len(line.rstrip()) <= width for line in lines), "\n".join(lines)
    # Every must-have column is shown, and a column is hidden only if every shown one is at
    # least as important or came first.
    assert {c.header for c in specs if c.priority == 0} <= set(shown)
    for h in fitted.hidden:
        hidden = next(c for c in specs if c.header == h)
        assert all(c.priority <= hidden.priority for c in specs if c.header in shown), (
            shown,
            fitted.hidden,
        )
    if must <= width:  # then nothing is squeezed: numbers and ids are whole
        for c, v in zip(specs, row, strict=True):
            if c.header in shown and c.kind in ("id", "num"):
                assert_whole(lines, [v])


def test_empty_columns_are_left_out_silently() -> None:
    fitted = fit([Col("a"), Col("b"), Col("c", priority=1)], [["x", "-", "1"]], width=80)
    assert shown_headers(fitted) == ["a", "c"]
    assert fitted.hidden == ()


def test_hidden_note_names_the_columns_once() -> None:
    assert hidden_note(()) is None
    assert hidden_note(("ms", "ms", "error")) == (
        "(2 columns hidden: ms, error - widen the terminal or use --json)"
    )


# -- every listing at every width -----------------------------------------------------------------


def catalog_models() -> list[Model]:
    rows = [
        model_row("openai/gpt-5-mini", tier="budget", context_window=272_000,
                  max_output_tokens=128_000, input_per_mtok=0.25, output_per_mtok=2.0,
                  cached_input_per_mtok=0.025),
        model_row("openrouter/meta-llama/llama-4-maverick", tier="mid",
                  context_window=1_048_576, input_per_mtok=0.15, output_per_mtok=0.6),
        model_row("anthropic/claude-opus-4-7", tier="flagship", context_window=200_000,
                  max_output_tokens=32_000, input_per_mtok=15.0, output_per_mtok=75.0),
    ]  # fmt: skip
    return list(Catalog.from_rows(rows))


@pytest.mark.parametrize("width", WIDTHS)
def test_models_table(width: int) -> None:
    models = catalog_models()
    fitted = models_table(models, width=width)
    lines = render(fitted, width)
    assert_fits(fitted, lines, width)
    assert_whole(lines, [m.id for m in models] + ["$0.25", "$15.00", "$0.15"])
    headers = shown_headers(fitted)
    if "context" in headers:
        assert_whole(lines, ["272k", "1.05M", "200k"])
    if width <= 80:
        assert "priors" in fitted.hidden
    if width == 200:
        assert fitted.hidden == ()
        assert_whole(lines, ["$0.025", "128k", "JTS-", "code .70 reas .70 math .70 gen .70"])
    assert len(headers) + len(fitted.hidden) == 10


@pytest.mark.parametrize("width", WIDTHS)
def test_attempts_table(width: int) -> None:
    fitted = view.attempts_table(ATTEMPTS, title="Last 4 attempts", width=width, now=NOW)
    lines = render(fitted, width)
    assert_fits(fitted, lines, width)
    assert_whole(
        lines,
        [a.model for a in ATTEMPTS] + ["$0.000414", "$0.0123", "$1.50", "invalid", "ok"],
    )
    headers = shown_headers(fitted)
    if "run" in headers:
        assert_whole(lines, [RUN_A, RUN_B])
    if "in" in headers:
        assert_whole(lines, ["128k", "1,024"])
    if width >= 120:
        assert {"when", "kind", "step", "in", "out", "error"} <= set(headers)
        assert_whole(lines, ["5m ago", "2h ago", "draft-intro"])
    if width == 200:
        assert fitted.hidden == ()
        assert_whole(lines, ["AcceptanceError: empty output"])


def test_attempts_of_one_run_all_simulated() -> None:
    rows = [attempt(simulated=True), attempt(simulated=True, attempt=2)]
    fitted = view.attempts_table(rows, title="Attempts", width=200, now=NOW)
    headers = shown_headers(fitted)
    assert "run" not in headers  # one run: the title says which
    assert "sim" not in headers
    assert "all simulated" in str(fitted.table.title)


def summary_of(by: str | None) -> object:
    return summarize(ATTEMPTS, by=by, baseline="openai/gpt-5", catalog=Catalog.bundled())


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_table(width: int) -> None:
    result = summarize(ATTEMPTS, by="model", baseline="openai/gpt-5", catalog=Catalog.bundled())
    fitted = view.summary_table(result, width=width)
    lines = render(fitted, width)
    assert_fits(fitted, lines, width)
    assert_whole(lines, [a.model for a in ATTEMPTS] + ["$1.50"])
    assert shown_headers(fitted)[0] == "model"


def run_info(folder: Path) -> RunInfo:
    return RunInfo(
        run_id=RUN_A,
        folder=folder,
        goal="Research three note-taking apps, compare them on price, sync and privacy, "
        "then recommend one",
        status="budget_exhausted",
        budget_usd=0.5,
        spent_usd=0.000414,
        created=datetime.fromtimestamp(NOW - 3 * 86400, tz=timezone.utc),
        strategy="balanced",
        steps=(
            RunStep("research-apps", "Research the apps", "general", "succeeded",
                    "openrouter/deepseek/deepseek-v3.2", 1, 0.0001, folder / "steps/r.md"),
            RunStep("compare", "Compare them", "reasoning", "failed",
                    "anthropic/claude-sonnet-4-5", 3, 0.0123, None),
        ),
    )  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
def test_runs_and_steps_tables(width: int, tmp_path: Path) -> None:
    run = run_info(tmp_path)
    fitted = view.runs_table([run], width=width, now=NOW)
    lines = render(fitted, width)
    assert_fits(fitted, lines, width)
    assert_whole(lines, [RUN_A, "budget_exhausted", "Research three"])
    if "created" in shown_headers(fitted):
        assert_whole(lines, ["3d ago"])
    if "spent" in shown_headers(fitted):
        assert_whole(lines, ["$0.000414"])
    if width == 200:
        assert_whole(lines, [run.goal])

    steps = view.run_steps_table(run, width=width)
    lines = render(steps, width)
    assert_fits(steps, lines, width)
    assert_whole(lines, ["research-apps", "compare", "failed"])
    if "model" in shown_headers(steps):
        assert_whole(lines, ["openrouter/deepseek/deepseek-v3.2"])
    if "output" in shown_headers(steps):
        assert_whole(lines, ["steps/r.md (missing)"])


@pytest.mark.parametrize("width", WIDTHS)
def test_route_tables(width: int) -> None:
    settings = Settings.load(env={})
    decision = Router(Catalog.bundled(), settings).route(
        "Compare PostgreSQL and SQLite for a small analytics app", budget_usd=0.002
    )
    for fitted in (
        route_view.candidates_table(decision, width=width),
        route_view.dropped_table(decision, width=width),
    ):
        lines = render(fitted, width)
        assert_fits(fitted, lines, width)
        ids = [c.model.id for c in decision.ladder] if "#" in shown_headers(fitted) else []
        assert_whole(lines, ids)
    dropped = render(route_view.dropped_table(decision, width=width), width)
    short_ids = [m for m in decision.dropped if len(m) <= width - GAP - 20]
    assert_whole(dropped, short_ids)


def test_a_narrow_terminal_cuts_only_the_longest_ids() -> None:
    long_id = "openrouter/mistralai/mistral-small-3.2-24b-instruct"
    rows = [[long_id, "$0.075", "$0.20"], ["openai/gpt-5-mini", "$0.25", "$2.00"]]
    cols = (Col("model"), Col("in", "num"), Col("out", "num"))
    fitted = fit(cols, rows, width=50)
    lines = render(fitted, 50)
    assert all(len(line.rstrip()) <= 50 for line in lines)
    assert_whole(lines, ["openai/gpt-5-mini", "$0.075", "$0.20", "$2.00"])
    assert any("openrouter/mistralai/" in line and "…" in line for line in lines)


def test_relative_time_is_computed_now() -> None:
    fitted = view.attempts_table([attempt(ts=time.time() - 30)], width=200)
    assert_whole(render(fitted, 200), ["s ago"])
