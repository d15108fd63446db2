"""``tokenplan ledger`` and ``tokenplan runs`` run as the user runs them: a subprocess."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tokenplan.catalog import Catalog
from tokenplan.ledger import Attempt, Ledger
from tokenplan.pricing import cost_usd
from tokenplan.settings import Settings

NOW = time.time()
RUN = "20250501-100000-abcd"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ")
    assert proc.stderr.count("\n") == 1
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def attempt(**kw: Any) -> Attempt:
    base: dict[str, Any] = {
        "run_id": RUN,
        "kind": "step",
        "model": "openai/gpt-5-mini",
        "provider": "openai",
        "outcome": "ok",
        "ts": NOW - 60,
    }
    base.update(kw)
    return Attempt(**base)


ATTEMPTS = [
    attempt(kind="plan", model="openai/gpt-5-nano", input_tokens=2000, output_tokens=800,
            cost_usd=0.0004),
    attempt(step_id="draft", model="openai/gpt-5-nano", outcome="invalid", input_tokens=1000,
            output_tokens=500, cost_usd=0.00025, error="AcceptanceError: empty output"),
    attempt(step_id="draft", attempt=2, input_tokens=1000, output_tokens=600, cost_usd=0.0015,
            escalated_from="openai/gpt-5-nano"),
    attempt(run_id="", kind="route", model="deepseek/deepseek-v4-flash", provider="deepseek",
            input_tokens=300, output_tokens=100, cost_usd=0.0002, ts=NOW - 10 * 86400),
]  # fmt: skip


@pytest.fixture
def ledger_file(isolated_env: Path) -> Path:
    path = isolated_env / "ledger.jsonl"
    with Ledger(path) as ledger:
        ledger.append_many(ATTEMPTS)
    return path


def test_empty_ledger_is_not_an_error(isolated_env: Path) -> None:
    listing = cli("ledger")
    assert listing.returncode == 0
    assert "no attempts recorded yet" in listing.stderr
    summary = cli("ledger", "--summary")
    assert summary.returncode == 0
    assert "no attempts recorded yet" in summary.stderr
    assert "Total spend" in summary.stderr
    assert any(line.split() == ["Total", "spend", "$0"] for line in summary.stderr.splitlines()), (
        summary.stderr
    )
    doc = orjson.loads(cli("ledger", "--summary", "--json").stdout)
    assert doc["totals"]["attempts"] == 0
    assert doc["totals"]["cost_usd"] == 0.0
    assert orjson.loads(cli("ledger", "--json").stdout) == []


def test_summary_json_totals(ledger_file: Path) -> None:
    proc = cli("ledger", "--summary", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)
    t = doc["totals"]
    assert doc["ledger"] == str(ledger_file)
    assert doc["baseline_model"] == Settings.load().baseline_model
    assert (t["attempts"], t["ok"], t["failed"]) == (4, 3, 1)
    assert t["cost_usd"] == pytest.approx(0.00235)
    assert t["wasted_usd"] == pytest.approx(0.00025)
    assert t["planner_usd"] == pytest.approx(0.0004)
    base_model = Catalog.bundled().get(doc["baseline_model"])
    baseline = sum(
        cost_usd(base_model, input_tokens=a.input_tokens, output_tokens=a.output_tokens)
        for a in ATTEMPTS
    )
    assert t["baseline_usd"] == pytest.approx(baseline)
    assert t["savings_usd"] == pytest.approx(baseline - 0.00235)


def test_summary_human_output(ledger_file: Path) -> None:
    proc = cli("ledger", "--summary", "--by", "model")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # people's output goes to stderr
    for text in (
        "Total spend",
        "$0.00235",
        "Wasted spend",
        "Planner spend",
        "Savings vs openai/gpt-5",
    ):
        assert text in proc.stderr
    assert "openai/gpt-5-nano" in proc.stderr
    assert "deepseek/deepseek-v4-flash" in proc.stderr


def test_by_implies_summary_and_filters_apply(ledger_file: Path) -> None:
    doc = orjson.loads(cli("ledger", "--by", "kind", "--since", "7d", "--json").stdout)
    assert doc["by"] == "kind"
    assert {g["key"]: g["attempts"] for g in doc["groups"]} == {"plan": 1, "step": 2}
    doc = orjson.loads(cli("ledger", "--by", "model", "--model", "gpt-5-nano", "--json").stdout)
    assert [g["key"] for g in doc["groups"]] == ["openai/gpt-5-nano"]
    doc = orjson.loads(cli("ledger", "-s", "--provider", "deepseek", "--json").stdout)
    assert doc["totals"]["attempts"] == 1


def test_summary_csv(ledger_file: Path) -> None:
    proc = cli("ledger", "--by", "run", "--csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert {r["run"]: int(r["attempts"]) for r in rows} == {RUN: 3, "-": 1}
    total = list(csv.DictReader(io.StringIO(cli("ledger", "--summary", "--csv").stdout)))
    assert len(total) == 1
    assert total[0]["scope"] == "total"
    assert float(total[0]["cost_usd"]) == pytest.approx(0.00235)


def test_recent_attempts(ledger_file: Path) -> None:
    doc = orjson.loads(cli("ledger", "--json", "--limit", "2").stdout)
    assert [(a["step_id"], a["attempt"]) for a in doc] == [("draft", 2), (None, 1)]
    assert [a["kind"] for a in doc] == ["step", "route"]
    doc = orjson.loads(cli("ledger", "--json", "--run", RUN, "--outcome", "invalid").stdout)
    assert len(doc) == 1
    assert doc[0]["error"] == "AcceptanceError: empty output"
    rows = list(csv.DictReader(io.StringIO(cli("ledger", "--csv").stdout)))
    assert len(rows) == 4
    assert rows[2]["escalated_from"] == "openai/gpt-5-nano"
    table = cli("ledger")
    assert table.returncode == 0
    assert "Last 4 attempt(s)" in table.stderr
    assert "deepseek/deepseek-v4-flash" in table.stderr
    none = cli("ledger", "--run", "nope")
    assert none.returncode == 0
    assert "no attempts match" in none.stderr


def test_torn_line_is_reported_not_fatal(ledger_file: Path) -> None:
    with ledger_file.open("ab") as fh:
        fh.write(b'{"run_id": "torn", "ki')
    proc = cli("ledger", "--summary", "--json")
    assert proc.returncode == 0
    assert orjson.loads(proc.stdout)["totals"]["attempts"] == 4
    assert "skipped 1 unreadable line(s)" in proc.stderr
    assert cli("ledger").stderr.count("skipped 1 unreadable line(s)") == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ledger", "--json", "--csv"], "exclusive"),
        (["ledger", "--by", "colour"], "--by"),
        (["ledger", "--outcome", "failed"], "--outcome"),
        (["ledger", "--kind", "chat"], "--kind"),
        (["ledger", "--summary", "--since", "last tuesday"], "--since"),
        (["ledger", "--limit", "0"], "--limit"),
        (["ledger", "--summary", "--baseline", "nope/nope"], "nope/nope"),
        (["runs", "20990101-000000-zzzz"], "unknown run"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    isolated_env: Path, args: list[str], fragment: str
) -> None:
    assert_one_line_error(cli(*args), fragment)


def test_unreadable_ledger_exits_2(isolated_env: Path) -> None:
    folder = isolated_env / "a-folder"
    folder.mkdir()
    for args in (["ledger"], ["ledger", "--summary"]):
        assert_one_line_error(cli(*args, env={"TOKENPLAN_LEDGER": str(folder)}), str(folder))
    assert_one_line_error(cli("ledger", "--file", str(folder)), "cannot")


def make_run_folder(home: Path) -> Path:
    folder = home / "runs" / RUN
    (folder / "steps").mkdir(parents=True)
    (folder / "steps" / "draft.md").write_text("a draft")
    (folder / "result.md").write_text("the result")
    doc = {
        "run_id": RUN,
        "goal": "Draft a [bold]note[/bold] about budgets",
        "status": "succeeded",
        "budget_usd": 0.05,
        "spent_usd": 0.00215,
        "created": "2025-05-01T10:00:00+00:00",
        "finished": "2025-05-01T10:00:09+00:00",
        "strategy": "cheapest",
        "steps": [
            {"id": "draft", "title": "Draft", "capability": "general", "status": "succeeded",
             "model": "openai/gpt-5-mini", "attempts": 2, "cost_usd": 0.00175,
             "output_path": "steps/draft.md"},
        ],
    }  # fmt: skip
    (folder / "run.json").write_bytes(orjson.dumps(doc))
    return folder


def test_runs_list_and_show(ledger_file: Path, isolated_env: Path) -> None:
    folder = make_run_folder(isolated_env)
    listing = orjson.loads(cli("runs", "--json").stdout)
    assert [r["run_id"] for r in listing] == [RUN]
    assert (listing[0]["steps_ok"], listing[0]["steps_total"]) == (1, 1)

    human = cli("runs")
    assert human.returncode == 0
    assert RUN in human.stderr
    assert "1/1" in human.stderr

    show = cli("runs", RUN[:12], "--json")  # a unique prefix is enough
    assert show.returncode == 0, show.stderr
    doc = orjson.loads(show.stdout)
    assert doc["run"]["run_id"] == RUN
    assert doc["run"]["result_path"] == str(folder / "result.md")
    assert [a["attempt"] for a in doc["attempts"]] == [1, 1, 2]  # only this run's attempts
    assert doc["ledger_spent_usd"] == pytest.approx(0.00215)
    assert doc["escalations"] == [
        {
            "step_id": "draft",
            "from": "openai/gpt-5-nano",
            "to": "openai/gpt-5-mini",
            "outcome": "ok",
        }
    ]

    text = cli("runs", RUN)
    assert text.returncode == 0
    assert "[bold]note[/bold]" in text.stderr  # user text is shown, not interpreted as markup
    assert "escalated draft: openai/gpt-5-nano -> openai/gpt-5-mini" in text.stderr
    assert str(folder / "result.md") in text.stderr


def test_runs_limit_with_a_run_id_keeps_its_last_attempts(
    ledger_file: Path, isolated_env: Path
) -> None:
    make_run_folder(isolated_env)
    doc = orjson.loads(cli("runs", RUN, "--limit", "2", "--json").stdout)
    assert [a["attempt"] for a in doc["attempts"]] == [1, 2]  # the last two of three
    assert doc["attempts_total"] == 3
    assert doc["ledger_spent_usd"] == pytest.approx(0.00215)  # still the whole run
    text = cli("runs", RUN, "-n", "1", env={"COLUMNS": "300"})
    assert text.returncode == 0, text.stderr
    assert "Last 1 of 3 attempts" in text.stderr


def test_runs_when_there_are_none(isolated_env: Path) -> None:
    proc = cli("runs")
    assert proc.returncode == 0
    assert "no runs yet" in proc.stderr
    assert orjson.loads(cli("runs", "--json").stdout) == []


def test_library_warnings_are_one_line_on_stderr(isolated_env: Path) -> None:
    broken = isolated_env / "runs" / "20250101-000000-aaaa"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text("{not json")
    proc = cli("runs")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "skipped run folder" in line]
    assert warnings == [warnings[0]]
    assert warnings[0].startswith("warning: skipped run folder 20250101-000000-aaaa: ")


@pytest.mark.parametrize("debug", [False, True])
def test_a_logged_exception_is_one_line_unless_debugging(
    debug: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    from tokenplan.cli._log import OneLineHandler

    logger = logging.getLogger("tokenplan.test_log_lines")
    handler = OneLineHandler(debug=debug)
    logger.addHandler(handler)
    try:
        try:
            raise BrokenPipeError(32, "Broken pipe")
        except BrokenPipeError:
            logger.warning("event sink failed;\n detached", exc_info=True)
        logger.info("not shown")
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    first, *rest = err.splitlines()
    assert first == "warning: event sink failed; detached: BrokenPipeError: [Errno 32] Broken pipe"
    assert ("Traceback (most recent call last):" in rest) is debug
    assert bool(rest) is debug
