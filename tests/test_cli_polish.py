"""The CLI as a newcomer meets it, run as a subprocess: narrow terminals, NO_COLOR, streams,
warnings about unusable answers, help and errors that teach."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tokenplan.cli._app import COMMAND_ORDER
from tokenplan.cli._route_view import answer_warning
from tokenplan.ledger import Attempt, Ledger
from tokenplan.types import ChatResponse, Usage

ANSI_COLOUR = re.compile(r"\x1b\[(?:3[0-9]|9[0-7]|38;)")
LONG_ID = "openrouter/meta-llama/llama-4-maverick"


def cli(*args: str, columns: int = 80, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": str(columns), "TOKENPLAN_SIM_LATENCY_SCALE": "0", **env},
    )


@pytest.fixture
def ledger(isolated_env: Path) -> Path:
    path = isolated_env / "ledger.jsonl"
    now = time.time()
    with Ledger(path) as led:
        led.append_many(
            [
                Attempt(run_id="20250501-100000-abcd", kind="step", step_id="draft-intro",
                        model=LONG_ID, provider="openrouter", outcome="invalid",
                        input_tokens=128_000, output_tokens=900, cost_usd=0.000414,
                        latency_ms=812.0, ts=now - 120, error="AcceptanceError: empty output"),
                Attempt(run_id="20250501-100000-abcd", kind="step", step_id="draft-intro",
                        attempt=2, model="openai/gpt-5-mini", provider="openai", outcome="ok",
                        escalated_from=LONG_ID, input_tokens=1500, output_tokens=400,
                        cost_usd=1.25, latency_ms=2400.0, ts=now - 60),
            ]
        )  # fmt: skip
    return path


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
@pytest.mark.parametrize(
    "args",
    [
        ("ledger",),
        ("ledger", "--summary", "--by", "model"),
        ("models", "--tier", "mid"),
        ("route", "Compare PostgreSQL and SQLite", "--explain"),
    ],
)
def test_listings_fit_the_terminal(ledger: Path, columns: int, args: tuple[str, ...]) -> None:
    proc = cli(*args, columns=columns)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # tables are for people: stderr
    lines = proc.stderr.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines), proc.stderr
    assert proc.stderr.count("columns hidden") + proc.stderr.count("column hidden") <= 1
    if args[0] == "ledger":  # ids are never wrapped or cut
        assert any(LONG_ID in line for line in lines), proc.stderr


def test_narrow_ledger_says_what_it_left_out(ledger: Path) -> None:
    proc = cli("ledger", columns=60)
    note = [line for line in proc.stderr.splitlines() if "hidden" in line]
    assert note, proc.stderr
    assert "widen the terminal or use --json" in proc.stderr.replace("\n", " ")
    assert "$1.25" in proc.stderr
    assert "$0.000414" in proc.stderr
    wide = cli("ledger", columns=200)
    assert "hidden" not in wide.stderr
    assert "AcceptanceError: empty output" in wide.stderr
    assert "128k" in wide.stderr
    assert "2m ago" in wide.stderr


def test_no_color_is_honoured(ledger: Path) -> None:
    coloured = cli("ledger", FORCE_COLOR="1", NO_COLOR="")
    assert ANSI_COLOUR.search(coloured.stderr), "control: FORCE_COLOR should colour outcomes"
    plain = cli("ledger", FORCE_COLOR="1", NO_COLOR="1")
    assert plain.returncode == 0
    assert not ANSI_COLOUR.search(plain.stderr)


def test_send_warns_when_the_answer_is_unusable(isolated_env: Path) -> None:
    proc = cli("route", "Explain how tides work.", "--send", TOKENPLAN_SIM_FAILURE_RATE="1")
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert warning, proc.stderr
    assert "--max-tokens" in proc.stderr or "empty answer" in proc.stderr
    good = cli("route", "Explain how tides work.", "--send", TOKENPLAN_SIM_FAILURE_RATE="0")
    assert "warning:" not in good.stderr
    assert good.stdout.startswith("[simulated by tokenplan sim")


def test_answer_warning() -> None:
    def response(text: str, finish: str) -> ChatResponse:
        return ChatResponse(
            id="x", model="acme/m", provider="sim", text=text, finish_reason=finish,  # type: ignore[arg-type]
            usage=Usage(input_tokens=1, output_tokens=1),
        )  # fmt: skip

    assert answer_warning(response("fine", "stop"), max_tokens=100) is None
    cut = answer_warning(response("cut", "length"), max_tokens=16_000)
    assert cut is not None
    assert "16k tokens" in cut
    assert "--max-tokens" in cut
    empty = answer_warning(response("  ", "stop"), max_tokens=None)
    assert empty is not None
    assert "acme/m returned an empty answer" in empty


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (("route", ""), "pass the prompt as an argument"),
        (("route", "hi", "--stream"), "add --send"),
        (("keys", "remove", "openai"), "tokenplan keys list"),
        (("models", "--tier", "cheap"), "expected one of budget, mid, flagship, local"),
        (("ledger", "--json", "--csv"), "choose one"),
        (("rout", "hi"), "Did you mean 'route'?"),
    ],
)
def test_errors_are_one_line_that_says_how_to_fix(
    isolated_env: Path, args: tuple[str, ...], fix: str
) -> None:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert fix in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "x", "--concurrency", "0"), "--concurrency: expected a positive integer"),
        (("plan", "x", "--strategy", "bogus"), "--strategy: unknown strategy 'bogus'; expected "),
        (("route", "hi", "--strategy", "bogus"), "--strategy: unknown strategy 'bogus'; expected"),
        (("ledger", "--kind", "bogus"), "--kind: unknown kind 'bogus'; expected one of plan, "),
        (("ledger", "--provider", "zzz"), "--provider: unknown provider 'zzz'; expected one of "),
        (("ledger", "--provider", "opneai"), "--provider: unknown provider 'opneai' (did you mean"),
        (("ledger", "--model", "gpt-5-mni"), "--model: unknown model 'gpt-5-mni' (did you mean "),
        (("ledger", "--model", "nope/nothing"), "'tokenplan models' lists them"),
        (("models", "--provider", "zzz"), "--provider: unknown provider 'zzz'; expected one of "),
        (("models", "--tier", "cheap"), "--tier: unknown tier 'cheap'; expected one of budget, "),
        (("ledger", "--baseline", "nope/nothing"), "--baseline: unknown model 'nope/nothing'"),
    ],
)
def test_errors_name_the_flag(isolated_env: Path, args: tuple[str, ...], message: str) -> None:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {message}" if message.startswith("-") else "error: ")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr


def test_ledger_filters_accept_what_the_ledger_holds(ledger: Path) -> None:
    # Known to the catalog (a bare name too), or recorded in the ledger: never an error.
    for args in (
        ("--model", "gpt-5-mini"),
        ("--model", "openai/gpt-5-mini"),
        ("--provider", "openai"),
        ("--provider", "openrouter"),
    ):
        proc = cli("ledger", *args, "--json")
        assert proc.returncode == 0, (args, proc.stderr)
        assert orjson.loads(proc.stdout), args
    with Ledger(ledger) as led:
        led.append(
            Attempt(
                run_id="", kind="proxy", model="acme/house-model", provider="acme", outcome="ok"
            )
        )
    for args in (
        ("--provider", "acme"),
        ("--model", "acme/house-model"),
        ("--model", "house-model"),
    ):
        proc = cli("ledger", *args, "--json")
        assert proc.returncode == 0, (args, proc.stderr)
        assert [a["model"] for a in orjson.loads(proc.stdout)] == ["acme/house-model"]


def test_an_ambiguous_run_prefix_is_its_own_error(isolated_env: Path) -> None:
    for run_id in ("20250101-000000-aaaa", "20250102-000000-bbbb"):
        (isolated_env / "runs" / run_id).mkdir(parents=True)
        (isolated_env / "runs" / run_id / "run.json").write_text(f'{{"run_id": "{run_id}"}}')
    proc = cli("runs", "2025")
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: run id prefix '2025' matches 2 runs (20250101-000000-aaaa, "
        "20250102-000000-bbbb); give more of the id\n"
    )
    assert cli("runs", "20250102", "--json").returncode == 0


def test_top_level_help_lists_each_command_on_one_line() -> None:
    proc = cli("--help")
    assert proc.returncode == 0
    commands = proc.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = [line.split()[0] for line in commands]
    assert {"route", "models", "ledger", "runs", "keys"} <= set(names)
    known = [n for n in COMMAND_ORDER if n in names]
    assert names[: len(known)] == known  # a newcomer's order, then anything else
    assert 'tokenplan route "What is 17*23?" --send' in proc.stdout


def test_a_misconfigured_endpoint_is_one_config_error_not_a_list_of_failed_models(
    isolated_env: Path,
) -> None:
    secret = "hunter2-secret-pw"
    result = cli(
        "route",
        "hi",
        "--send",
        OPENAI_API_KEY="sk-test-0000000000000000",
        TOKENPLAN_OPENAI_BASE_URL=f"http://alice:{secret}@127.0.0.1:9/v1",
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "user:password" in errors[0]
    assert "candidate model(s) failed" not in result.stderr
    assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_bad_simulator_setting_stops_at_start_up(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text("[sim]\nfailure_rate = { budget = 1.5 }\n")
    result = cli("serve", "--port", "0")
    assert result.returncode == 2, result.stderr
    assert "sim.failure_rate.budget" in result.stderr
    assert "Traceback" not in result.stderr
