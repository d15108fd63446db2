"""The ledger writer: one whole line per call, whatever happens to other writers."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
import pytest

from tokenplan.errors import LedgerError
from tokenplan.ledger import SCHEMA_VERSION, Attempt, Ledger
from tokenplan.ledger.reader import LedgerReader

FIELDS = {f.name for f in dataclasses.fields(Attempt)}


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "run_id": "r1",
        "kind": "step",
        "model": "openai/gpt-5-mini",
        "provider": "openai",
        "outcome": "ok",
        "ts": 1_750_000_000.25,
        "input_tokens": 1200,
        "output_tokens": 300,
        "cost_usd": 0.00093,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


def lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def test_each_append_is_one_versioned_json_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    with Ledger(path) as ledger:
        for i in range(3):
            ledger.append(attempt(attempt=i + 1))
    rows = [orjson.loads(line) for line in lines(path)]
    assert [r["attempt"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert set(r) == FIELDS  # the Attempt schema, nothing else (no prompts, no headers)
        assert r["v"] == SCHEMA_VERSION


def test_attempts_round_trip_exactly(tmp_path: Path) -> None:
    originals = [
        attempt(),
        attempt(
            outcome="error",
            error="UpstreamServerError: 503",
            escalated_from="openai/gpt-5-nano",
            capability="code",
            tier="mid",
            cached_tokens=100,
            reasoning_tokens=50,
            est_cost_usd=0.0021,
            latency_ms=812.5,
            simulated=True,
            step_id="draft",
        ),
    ]
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.append_many(originals)
    ledger.close()
    assert list(ledger.read()) == originals


def test_file_and_folder_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "ledger.jsonl"
    old = os.umask(0)  # even with a permissive umask
    try:
        with Ledger(path) as ledger:
            ledger.append(attempt())
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600


def test_error_text_is_redacted_and_clipped(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    key = "sk-proj-" + "A1b2C3d4" * 4
    with Ledger(path) as ledger:
        ledger.append(attempt(outcome="error", error=f"AuthenticationError: bad key {key} " * 40))
    raw = path.read_bytes()
    assert key.encode() not in raw
    (row,) = [orjson.loads(line) for line in lines(path)]
    assert row["error"].startswith("AuthenticationError: bad key ***")
    assert len(row["error"]) <= 300


def test_non_finite_numbers_are_written_as_zero(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "l.jsonl"
    with caplog.at_level(logging.WARNING, logger="tokenplan.ledger.store"), Ledger(path) as ledger:
        ledger.append(attempt(latency_ms=float("nan"), est_cost_usd=float("inf")))
    (a,) = list(Ledger(path).read())
    assert (a.latency_ms, a.est_cost_usd, a.cost_usd) == (0.0, 0.0, 0.00093)
    assert "non-finite" in caplog.text


def test_unwritable_path_raises_ledger_error(tmp_path: Path) -> None:
    folder = tmp_path / "is-a-dir"
    folder.mkdir()
    with pytest.raises(LedgerError) as info:
        Ledger(folder).append(attempt())
    assert info.value.path == str(folder)


def test_close_then_append_reopens(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.append(attempt(attempt=1))
    ledger.close()
    ledger.close()  # idempotent
    ledger.append(attempt(attempt=2))
    ledger.close()
    assert [a.attempt for a in ledger.read()] == [1, 2]


def test_a_deleted_file_is_recreated_not_written_into_the_void(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.append(attempt(attempt=1))
    path.unlink()  # e.g. a user clearing the ledger while the proxy runs
    ledger.append(attempt(attempt=2))
    ledger.close()
    assert [a.attempt for a in ledger.read()] == [2]
    assert path.stat().st_mode & 0o777 == 0o600


def test_many_threads_share_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    n_threads, per_thread = 8, 500

    def work(t: int) -> None:
        for i in range(per_thread):
            ledger.append(attempt(run_id=f"t{t}", attempt=i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ledger.close()
    seen = {(r["run_id"], r["attempt"]) for r in map(orjson.loads, lines(path))}
    assert len(lines(path)) == n_threads * per_thread
    assert seen == {(f"t{t}", i) for t in range(n_threads) for i in range(per_thread)}


_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from tokenplan.ledger import Attempt, Ledger

    path, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    while not os.path.exists(go):
        time.sleep(0.001)
    ledger = Ledger(path)
    for i in range(count):
        ledger.append(Attempt(run_id=name, kind="bench", model="openai/gpt-5-nano",
                              provider="openai", outcome="ok", attempt=i, cost_usd=1e-6))
    """
)


def test_four_processes_append_to_one_file(tmp_path: Path) -> None:
    path, go = tmp_path / "l.jsonl", tmp_path / "go"
    count = 10_000
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"p{k}", str(count), str(go)])
        for k in range(4)
    ]
    go.touch()  # all four start appending at once
    for p in procs:
        assert p.wait(timeout=50) == 0
    rows = [orjson.loads(line) for line in lines(path)]  # every line parses
    assert len(rows) == 4 * count
    assert {(r["run_id"], r["attempt"]) for r in rows} == {
        (f"p{k}", i) for k in range(4) for i in range(count)
    }


_ENDLESS = textwrap.dedent(
    """
    import sys
    from tokenplan.ledger import Attempt, Ledger

    ledger = Ledger(sys.argv[1])
    i = 0
    while True:
        i += 1
        a = Attempt(run_id="killed", kind="step", model="openai/gpt-5-nano",
                    provider="openai", outcome="ok", attempt=i, error="x" * (i % 200))
        if i % 7:
            ledger.append(a)
        else:
            ledger.append_many([a] * 50)
    """
)


def test_writer_killed_mid_stream_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _ENDLESS, str(path)])
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 2_000_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    reader = Ledger(path).read()
    before = sum(1 for _ in reader.records())
    assert before > 1000
    assert reader.skipped <= 1  # at worst one torn final line

    with Ledger(path) as ledger:
        ledger.append(attempt(run_id="after-kill"))
    after = list(Ledger(path).read())
    assert len(after) == before + 1
    assert after[-1].run_id == "after-kill"
    assert path.read_bytes().endswith(b"\n")


def test_torn_final_line_is_skipped_and_never_glued_onto(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "l.jsonl"
    good = orjson.dumps(attempt(), option=orjson.OPT_APPEND_NEWLINE)
    path.write_bytes(good + good + good[:40])  # a writer died 40 bytes into its line

    with caplog.at_level(logging.WARNING, logger="tokenplan.ledger.reader"):
        reader = Ledger(path).read()
        assert len(list(reader)) == 2
    assert reader.skipped == 1
    assert "unreadable ledger line" in caplog.text

    with Ledger(path) as ledger:
        ledger.append(attempt(run_id="next"))
    data = path.read_bytes()
    assert data.endswith(b"\n")
    assert data.split(b"\n")[2] == good[:40]  # the torn line kept on its own line
    reader = Ledger(path).read()
    assert [a.run_id for a in reader] == ["r1", "r1", "next"]
    assert reader.skipped == 1


def test_line_torn_by_another_writer_after_we_opened(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.append(attempt(attempt=1))  # our descriptor is open and knows where the end was
    with path.open("ab") as other:  # another process crashed mid-line
        other.write(b'{"run_id": "tor')
    ledger.append(attempt(attempt=2))
    ledger.close()
    reader = LedgerReader(path)
    assert [a.attempt for a in reader] == [1, 2]
    assert reader.skipped == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.append(attempt(run_id="parent", attempt=0))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            for i in range(2000):
                ledger.append(attempt(run_id="child", attempt=i))
            code = 0
        finally:
            os._exit(code)
    for i in range(1, 2001):
        ledger.append(attempt(run_id="parent", attempt=i))
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
    assert os.WEXITSTATUS(status) == 0
    ledger.close()
    reader = LedgerReader(path)
    got = [(a.run_id, a.attempt) for a in reader]
    assert reader.skipped == 0
    assert sorted(got) == sorted(
        [("parent", i) for i in range(2001)] + [("child", i) for i in range(2000)]
    )
