"""``tokenplan plan [--execute]`` run as the user runs it: a subprocess, on the offline
simulator, and once against the loopback fake providers over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from _subprocess_support import finish
from tokenplan.ledger import Ledger

GOAL = (
    "Research three note-taking apps, then compare them and write a short recommendation. "
    "Also write a Python script that exports notes to CSV."
)
FAST = {
    "TOKENPLAN_SIM_LATENCY_SCALE": "0",
    "TOKENPLAN_SIM_FAILURE_RATE": "0",
    "TOKENPLAN_SIM_ERROR_RATE": "0",
    "COLUMNS": "200",
}


def cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        env={**os.environ, **FAST, **(env or {})},
    )


def ledger(home: Path) -> list[Any]:
    return list(Ledger(home / "ledger.jsonl").read())


def assert_usage_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: "), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_plan_shows_the_plan_and_saves_a_planned_run(isolated_env: Path) -> None:
    proc = cli("plan", GOAL, "--budget", "0.05", "--tree")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    err = proc.stderr
    assert "offline simulator" in err  # the notice
    assert "goal: Research three note-taking apps" in err  # the tree
    assert "python-script-exports" in err
    assert "reserve" in err
    assert "planner" in err
    run_id = err.split("tokenplan plan --resume ")[1].split()[0]
    doc = json.loads((isolated_env / "runs" / run_id / "run.json").read_text())
    assert doc["status"] == "planned"
    assert [a.kind for a in ledger(isolated_env)] == ["plan"]  # the planner call, billed


def test_plan_json_mermaid_out_and_from(isolated_env: Path, tmp_path: Path) -> None:
    proc = cli("plan", GOAL, "--json", "--budget", "0.05", "--strategy", "cheapest")
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)
    assert doc["goal"] == GOAL
    assert doc["run_id"]
    assert doc["planner"]["simulated"] is True
    assert doc["allocation"]["strategy"] == "cheapest"
    assert {s["id"] for s in doc["steps"]} == {s["step_id"] for s in doc["allocation"]["steps"]}

    mermaid = cli("plan", GOAL, "--mermaid")
    assert mermaid.returncode == 0, mermaid.stderr
    assert mermaid.stdout.startswith("graph TD\n")
    assert "-->" in mermaid.stdout

    out = tmp_path / "plan.json"
    saved = cli("plan", GOAL, "--out", str(out), "--budget", "0.05")
    assert saved.returncode == 0, saved.stderr
    edited = json.loads(out.read_text())
    edited["steps"][0]["model"] = "openai/gpt-5-mini"  # pin a model by hand
    out.write_text(json.dumps(edited))
    again = cli("plan", "--from", str(out), "--json", "--budget", "0.05")
    assert again.returncode == 0, again.stderr
    redone = orjson.loads(again.stdout)
    first = redone["allocation"]["steps"][0]
    assert (first["model"], first["pinned"]) == ("openai/gpt-5-mini", True)
    assert "run_id" not in redone  # nothing was spent: no run


def test_execute_end_to_end_on_the_simulator(isolated_env: Path) -> None:
    proc = cli("plan", GOAL, "--budget", "0.05", "--execute")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "succeeded · 5/5 steps succeeded" in err
    assert "result: " in err
    # The result (sink outputs, marked simulated) is the data on stdout.
    assert proc.stdout.startswith(f"# {GOAL}")
    assert "**Simulated.**" in proc.stdout
    run_id = err.split("details: tokenplan runs ")[1].split()[0]
    folder = isolated_env / "runs" / run_id
    assert sorted(p.name for p in folder.iterdir()) == [
        ".lock", "plan.json", "result.md", "run.json", "steps",
    ]  # fmt: skip
    assert len(list((folder / "steps").iterdir())) == 5
    assert (folder / "result.md").read_text() == proc.stdout
    lines = ledger(isolated_env)
    assert lines[0].kind == "plan"
    assert {a.kind for a in lines[1:]} == {"step"}
    assert {a.run_id for a in lines} == {run_id}
    shown = cli("runs", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    run = orjson.loads(shown.stdout)
    assert run["run"]["status"] == "succeeded"
    assert run["run"]["steps_ok"] == 5
    assert run["run"]["simulated"] is True
    assert len(run["attempts"]) == len(lines)
    assert run["ledger_spent_usd"] == pytest.approx(run["run"]["spent_usd"])


def test_money_is_never_written_with_an_exponent(isolated_env: Path) -> None:
    # Cheap models: steps cost a few hundredths of a cent ($0.0000584, not $5.8e-05).
    proc = cli("plan", GOAL, "--budget", "0.05", "--strategy", "cheapest", "--execute")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\$[0-9.]+e", proc.stderr + proc.stdout) is None, proc.stderr
    done = [line for line in proc.stderr.splitlines() if "] done " in line]
    assert len(done) == 5
    costs = [m.group(1) for line in done if (m := re.search(r" · (\$0\.[0-9]+) · \d+ call", line))]
    assert len(costs) == 5, done
    assert any(c.startswith("$0.0000") for c in costs), costs
    assert re.search(r"\$0\.[0-9]+ spent of \$0\.05\.\*$", proc.stdout.rstrip()), proc.stdout


def test_execute_json_streams_events(isolated_env: Path) -> None:
    proc = cli("plan", GOAL, "--execute", "--json", "-c", "2")
    assert proc.returncode == 0, proc.stderr
    events = [orjson.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_planned"
    assert kinds[-2:] == ["run_finished", "run_summary"]
    assert kinds.count("step_finished") == len(events[0]["plan"]["steps"])
    assert "step_attempt" in kinds
    assert "spend" in kinds
    summary = events[-1]
    assert summary["status"] == "succeeded"
    assert summary["exit_code"] == 0
    assert summary["spent_usd"] <= summary["budget_usd"]


def test_failed_steps_exit_1_and_runs_shows_why(isolated_env: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert cli("plan", GOAL, "--max-steps", "2", "--out", str(plan)).returncode == 0
    doc = json.loads(plan.read_text())
    doc["steps"][0]["acceptance"] = "contains:XYZZY"  # no model will ever write that
    plan.write_text(json.dumps(doc))
    proc = cli("plan", "--from", str(plan), "--execute", "--budget", "0.2")
    assert proc.returncode == 1, proc.stderr
    assert "escalate " in proc.stderr
    assert "FAILED " in proc.stderr
    assert "resume (succeeded steps are kept): tokenplan plan --resume " in proc.stderr
    assert "Not produced" in proc.stdout
    run_id = proc.stderr.split("details: tokenplan runs ")[1].split()[0]
    shown = cli("runs", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "escalated " in shown.stderr
    assert "does not contain 'XYZZY'" in shown.stderr
    # Fix the run's plan by hand and resume it: the failed steps run again.
    saved = isolated_env / "runs" / run_id / "plan.json"
    fixed = json.loads(saved.read_text())
    fixed["steps"][0]["acceptance"] = None
    saved.write_text(json.dumps(fixed))
    again = cli("plan", "--resume", run_id)
    assert again.returncode == 0, again.stderr


def test_an_infeasible_budget_exits_3_naming_the_minimum(isolated_env: Path) -> None:
    proc = cli("plan", GOAL, "--budget", "0.002", "--execute")
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: a budget of $0.002 cannot cover this plan")
    assert "the minimum budget is $" in last
    assert "--resume" in last
    assert [a.kind for a in ledger(isolated_env)] == ["plan"]  # no step spent anything
    run_id = last.split("--resume ")[1].split()[0]
    minimum = last.split("--budget ")[1].split("'")[0]
    resumed = cli("plan", "--resume", run_id, "--budget", minimum)
    assert resumed.returncode == 0, resumed.stderr


def test_budget_too_small_for_the_planner_exits_3(isolated_env: Path) -> None:
    proc = cli("plan", GOAL, "--budget", "0.00001")
    assert proc.returncode == 3
    assert "cannot cover planning" in proc.stderr
    assert ledger(isolated_env) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["plan", "   "], "the goal is empty"),
        (["plan", GOAL, "--budget", "0"], "budget must be greater than $0"),
        (["plan", GOAL, "--budget", "-1"], "budget must be greater than $0"),
        (["plan", GOAL, "--budget", "lots"], "budget must be an amount of USD"),
        (["plan", GOAL, "--strategy", "fastest"], "unknown strategy"),
        (["plan", GOAL, "--max-steps", "0"], "max steps must be between 1"),
        (["plan"], "give one of"),
        (["plan", GOAL, "--from", "x.json"], "give one of"),
        (["plan", GOAL, "--json", "--mermaid"], "cannot be combined"),
        (["plan", "--resume", "20990101-000000-zzzz", "--strategy", "cheapest"], "do not apply"),
        (["plan", "--from", "missing.json"], "does not exist"),
        (["plan", "--resume", "20990101-000000-zzzz"], "unknown run"),
        (["plan", GOAL, "--concurrency", "0"], "positive integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    assert_usage_error(cli(*args), fragment)


def test_a_malformed_plan_file_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"goal": "g", "steps": [{"id": "a", "depends_on": ["a"]}]}')
    assert_usage_error(cli("plan", "--from", str(bad)), "plan.json")
    bad.write_text("{not json")
    assert_usage_error(cli("plan", "--from", str(bad)), "is not valid JSON")


def test_unknown_run_suggests_close_matches(isolated_env: Path) -> None:
    planned = orjson.loads(cli("plan", GOAL, "--json").stdout)
    run_id = planned["run_id"]
    proc = cli("plan", "--resume", run_id[:-1] + ("x" if run_id[-1] != "x" else "y"))
    assert_usage_error(proc, f"did you mean {run_id}")


def _resume_in_background() -> tuple[str, subprocess.Popen[str]]:
    """A planned run resumed by a child process at the simulator's real latencies, emitting
    JSON events on its stdout pipe."""
    planned = cli("plan", GOAL, "--json", "--budget", "0.05")
    run_id = orjson.loads(planned.stdout)["run_id"]
    env = {**os.environ, **FAST, "TOKENPLAN_SIM_LATENCY_SCALE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenplan", "plan", "--resume", run_id, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return run_id, proc


def test_sigint_cancels_within_a_second_and_resume_finishes(isolated_env: Path) -> None:
    run_id, proc = _resume_in_background()
    assert proc.stdout is not None
    finished: set[str] = set()
    try:
        # Wait until the first step has succeeded and others are in flight.
        for line in proc.stdout:
            event = orjson.loads(line)
            if event["event"] == "step_finished" and event["status"] == "succeeded":
                finished.add(event["step_id"])
            if finished and event["event"] == "step_attempt":
                break
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rest, err = finish(proc, timeout_s=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert took < 1.5
    events = [orjson.loads(line) for line in rest.splitlines()]
    assert events[-1]["event"] == "run_summary"
    assert events[-1]["status"] == "cancelled"
    cancelled = [a for a in ledger(isolated_env) if a.outcome == "cancelled"]
    assert cancelled
    assert {a.step_id for a in cancelled}.isdisjoint(finished)
    doc = json.loads((isolated_env / "runs" / run_id / "run.json").read_text())
    assert doc["status"] == "cancelled"
    ok_before = {s["id"] for s in doc["steps"] if s["status"] == "succeeded"}
    assert finished <= ok_before
    lines_before = len(ledger(isolated_env))

    resumed = cli("plan", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    new_lines = ledger(isolated_env)[lines_before:]
    assert new_lines
    assert {a.step_id for a in new_lines}.isdisjoint(ok_before)  # never re-run
    assert f"reused   {sorted(ok_before)[0]}" in resumed.stderr


def test_execute_against_the_loopback_fake_providers(isolated_env: Path) -> None:
    from tokenplan.testing import FakeProviders, serve_fake

    plan = {
        "steps": [
            {"id": "gather", "title": "Gather facts", "instructions": "List three facts.",
             "capability": "general", "depends_on": [], "est_input_tokens": 200,
             "est_output_tokens": 120, "acceptance": None},
            {"id": "write", "title": "Write it up", "instructions": "Write one paragraph.",
             "capability": "general", "depends_on": ["gather"], "est_input_tokens": 300,
             "est_output_tokens": 150, "acceptance": "min_words:3"},
        ]
    }  # fmt: skip

    def reply(dialect: str, model: str, body: dict[str, Any]) -> str:
        if "tokenplan_plan" in json.dumps(body) or "<goal>" in json.dumps(body):
            return json.dumps(plan)
        return f"A real-looking answer from {model} over {dialect}."

    fake = FakeProviders(reply=reply)
    with serve_fake(fake) as server:
        proc = cli("plan", "Explain tides", "--execute", "--json", env=server.env())
    assert proc.returncode == 0, proc.stderr
    assert "offline simulator" not in proc.stderr
    events = [orjson.loads(line) for line in proc.stdout.splitlines()]
    summary = events[-1]
    assert summary["status"] == "succeeded"
    assert summary["simulated"] is False
    lines = ledger(isolated_env)
    assert [a.kind for a in lines] == ["plan", "step", "step"]
    assert len(fake.requests) == len(lines)  # exactly one ledger line per HTTP call
    assert all(not a.simulated for a in lines)
    assert all(a.provider != "sim" for a in lines)
    result = Path(summary["result_path"]).read_text()
    assert "A real-looking answer from" in result
    assert "Simulated" not in result


def test_json_events_into_a_closed_pipe_cancel_the_run_quietly(isolated_env: Path) -> None:
    # `tokenplan plan --execute --json | head -1`: once nobody reads the events, the run stops
    # spending and is recorded as cancelled; no traceback, exit 0 (as for any closed pipe).
    run_id, proc = _resume_in_background()
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    try:
        _, err = finish(proc, timeout_s=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert orjson.loads(first)["event"] == "run_planned"
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "event sink failed" not in err
    assert f"tokenplan plan --resume {run_id}" in err  # how to finish it
    doc = json.loads((isolated_env / "runs" / run_id / "run.json").read_text())
    assert doc["status"] == "cancelled"
    assert any(s["status"] != "succeeded" for s in doc["steps"])


def test_from_uses_the_strategy_saved_in_the_plan_file(isolated_env: Path) -> None:
    out = isolated_env / "plan.json"
    saved = cli("plan", GOAL, "--budget", "0.05", "--strategy", "cheapest", "--out", str(out))
    assert saved.returncode == 0, saved.stderr
    assert orjson.loads(out.read_bytes())["allocation"]["strategy"] == "cheapest"

    shown = cli("plan", "--from", str(out), "--budget", "0.05", "--json")
    assert orjson.loads(shown.stdout)["allocation"]["strategy"] == "cheapest"
    ran = cli("plan", "--from", str(out), "--budget", "0.05", "--execute")
    assert ran.returncode == 0, ran.stderr
    assert "strategy cheapest (saved in the plan file; --strategy overrides it)" in ran.stderr
    run_id = ran.stderr.split("details: tokenplan runs ")[1].split()[0]
    doc = json.loads((isolated_env / "runs" / run_id / "run.json").read_text())
    assert doc["strategy"] == "cheapest"

    override = cli(
        "plan", "--from", str(out), "--budget", "0.05", "--strategy", "quality", "--json"
    )
    assert orjson.loads(override.stdout)["allocation"]["strategy"] == "best_quality"
