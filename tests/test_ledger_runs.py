"""Reading run folders written by the executor (made by hand here)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from tokenplan.errors import LedgerError, UnknownRunError
from tokenplan.ledger import list_runs, load_run


def make_run(runs: Path, run_id: str, **doc: Any) -> Path:
    folder = runs / run_id
    (folder / "steps").mkdir(parents=True)
    (folder / "run.json").write_bytes(orjson.dumps({"run_id": run_id, **doc}))
    return folder


FULL = {
    "goal": "Summarize the quarterly report",
    "status": "succeeded",
    "budget_usd": 0.5,
    "spent_usd": 0.042,
    "created": "2025-05-01T10:00:00+00:00",
    "finished": "2025-05-01T10:01:30Z",
    "strategy": "balanced",
    "steps": [
        {"id": "read", "title": "Read", "capability": "general", "status": "succeeded",
         "model": "openai/gpt-5-mini", "attempts": 1, "cost_usd": 0.01,
         "output_path": "steps/read.md"},
        {"id": "write", "title": "Write", "capability": "general", "status": "failed",
         "model": "openai/gpt-5", "attempts": 3, "cost_usd": 0.032, "output_path": None},
        {"id": "blocked", "status": "blocked"},
    ],
}  # fmt: skip


def test_load_full_run(tmp_path: Path) -> None:
    folder = make_run(tmp_path, "20250501-100000-abcd", **FULL)
    (folder / "plan.json").write_text("{}")
    (folder / "result.md").write_text("done")
    run = load_run(tmp_path, "20250501-100000-abcd")
    assert run.goal == "Summarize the quarterly report"
    assert (run.status, run.strategy) == ("succeeded", "balanced")
    assert (run.budget_usd, run.spent_usd) == (0.5, 0.042)
    assert run.created == datetime(2025, 5, 1, 10, tzinfo=timezone.utc)
    assert run.finished == datetime(2025, 5, 1, 10, 1, 30, tzinfo=timezone.utc)
    assert [s.id for s in run.steps] == ["read", "write", "blocked"]
    assert run.steps[0].output_path == folder / "steps" / "read.md"
    assert run.steps[1].output_path is None
    assert (run.steps[1].attempts, run.steps[1].cost_usd) == (3, 0.032)
    assert run.steps[2].model is None
    assert run.steps[2].attempts == 0
    assert (run.steps_ok, len(run.steps)) == (1, 3)
    assert (run.plan_path, run.result_path) == (folder / "plan.json", folder / "result.md")
    doc = orjson.loads(orjson.dumps(run.to_dict()))
    assert doc["steps_total"] == 3
    assert doc["steps"][0]["output_path"].endswith("read.md")


def test_missing_and_null_optional_keys_are_tolerated(tmp_path: Path) -> None:
    make_run(tmp_path, "r-min")
    make_run(
        tmp_path,
        "r-nulls",
        goal=None,
        budget_usd=None,
        spent_usd="lots",
        created="not a date",
        finished=None,
        steps=[{"id": "a", "attempts": None, "cost_usd": None}, {"no": "id"}, "junk"],
    )
    minimal = load_run(tmp_path, "r-min")
    assert (minimal.goal, minimal.status, minimal.budget_usd, minimal.steps) == ("", "", None, ())
    nulls = load_run(tmp_path, "r-nulls")
    assert (nulls.spent_usd, nulls.created) == (0.0, None)
    assert [s.id for s in nulls.steps] == ["a"]


def test_naive_created_is_local_time(tmp_path: Path) -> None:
    make_run(tmp_path, "r", created="2025-05-01T10:00:00")
    run = load_run(tmp_path, "r")
    assert run.created is not None
    assert run.created.timestamp() == datetime(2025, 5, 1, 10).timestamp()


def test_list_runs_newest_first_with_limit(tmp_path: Path) -> None:
    make_run(tmp_path, "20250101-000000-aaaa", created="2025-01-01T00:00:00+00:00")
    make_run(tmp_path, "20250301-000000-cccc", created="2025-03-01T00:00:00+00:00")
    make_run(tmp_path, "20250201-000000-bbbb", created="2025-02-01T00:00:00+00:00")
    make_run(tmp_path, "20250401-000000-dddd")  # no created: sorts last
    ids = [r.run_id for r in list_runs(tmp_path)]
    assert ids == [
        "20250301-000000-cccc",
        "20250201-000000-bbbb",
        "20250101-000000-aaaa",
        "20250401-000000-dddd",
    ]
    assert [r.run_id for r in list_runs(tmp_path, limit=2)] == ids[:2]


def test_list_runs_skips_broken_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_run(tmp_path, "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    (tmp_path / "in-progress").mkdir()  # no run.json yet: silently not a run
    (tmp_path / "stray-file.txt").write_text("x")
    with caplog.at_level(logging.WARNING, logger="tokenplan.ledger.runs"):
        assert [r.run_id for r in list_runs(tmp_path)] == ["good"]
    assert "broken" in caplog.text
    assert "in-progress" not in caplog.text


def test_no_runs_folder_means_no_runs(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "missing") == []


def test_unique_prefix_resolves(tmp_path: Path) -> None:
    make_run(tmp_path, "20250101-000000-aaaa")
    make_run(tmp_path, "20250102-000000-bbbb")
    assert load_run(tmp_path, "20250102").run_id == "20250102-000000-bbbb"


def test_unknown_run_suggests_close_matches(tmp_path: Path) -> None:
    make_run(tmp_path, "20250101-000000-aaaa")
    make_run(tmp_path, "20250102-000000-bbbb")
    with pytest.raises(UnknownRunError) as ambiguous:
        load_run(tmp_path, "202501")
    assert set(ambiguous.value.suggestions) == {"20250101-000000-aaaa", "20250102-000000-bbbb"}
    assert ambiguous.value.candidates == 2
    assert str(ambiguous.value) == (
        "run id prefix '202501' matches 2 runs (20250101-000000-aaaa, 20250102-000000-bbbb); "
        "give more of the id"
    )
    with pytest.raises(UnknownRunError) as typo:
        load_run(tmp_path, "20250101-000000-aaab")
    assert typo.value.suggestions[0] == "20250101-000000-aaaa"  # closest first
    assert typo.value.run_id == "20250101-000000-aaab"
    assert "did you mean 20250101-000000-aaaa" in str(typo.value)
    assert typo.value.candidates == 0
    with pytest.raises(UnknownRunError):
        load_run(tmp_path, "../etc")
    with pytest.raises(UnknownRunError):
        load_run(tmp_path / "missing", "x")


def test_unreadable_run_json_is_a_ledger_error(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("[1, 2]")
    with pytest.raises(LedgerError, match="JSON object"):
        load_run(tmp_path, "bad")
