"""Streaming reads: filters, the raw-bytes pre-filter, backwards tails and unreadable lines."""

from __future__ import annotations

import dataclasses
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenplan.errors import LedgerError, UsageError
from tokenplan.ledger import Attempt, Ledger, LedgerFilter, parse_since
from tokenplan.ledger.parallel import map_ranges
from tokenplan.ledger.reader import LedgerReader, Record

T0 = 1_750_000_000.0


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "run_id": "r1",
        "kind": "step",
        "model": "openai/gpt-5-mini",
        "provider": "openai",
        "outcome": "ok",
        "ts": T0,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


def write(path: Path, attempts: list[Attempt]) -> Path:
    with Ledger(path) as ledger:
        ledger.append_many(attempts)
    return path


MIXED = [
    attempt(run_id="r1", kind="plan", model="openai/gpt-5", ts=T0 + 0),
    attempt(run_id="r1", step_id="a", model="openai/gpt-5-mini", ts=T0 + 10),
    attempt(run_id="r1", step_id="b", model="openrouter/openai/gpt-5", provider="openrouter",
            outcome="error", ts=T0 + 20),
    attempt(run_id="r2", kind="route", model="anthropic/claude-haiku-4-5", provider="anthropic",
            ts=T0 + 30),
    attempt(run_id="r2", kind="proxy", model="openai/gpt-5", outcome="invalid", ts=T0 + 40),
]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [0, 1, 2, 3, 4]),
        ({"run": "r2"}, [3, 4]),
        ({"kind": "plan"}, [0]),
        ({"model": "openai/gpt-5"}, [0, 4]),
        ({"model": "gpt-5"}, [0, 2, 4]),  # a bare name matches any provider's id
        ({"model": "gpt-5-mini"}, [1]),
        ({"provider": "openrouter"}, [2]),
        ({"outcome": "error"}, [2]),
        ({"step": "a"}, [1]),
        ({"since": T0 + 20}, [2, 3, 4]),
        ({"until": T0 + 20}, [0, 1]),
        ({"since": T0 + 10, "until": T0 + 40, "run": "r1"}, [1, 2]),
        ({"run": "nope"}, []),
    ],
)
def test_filters(tmp_path: Path, filters: dict[str, object], expected: list[int]) -> None:
    path = write(tmp_path / "l.jsonl", MIXED)
    got = list(Ledger(path).read(**filters))  # type: ignore[arg-type]
    assert got == [MIXED[i] for i in expected]


def test_since_accepts_durations_and_datetimes(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc).timestamp()
    path = write(
        tmp_path / "l.jsonl",
        [attempt(ts=now - 3 * 86400, run_id="old"), attempt(ts=now - 60, run_id="new")],
    )
    ledger = Ledger(path)
    assert [a.run_id for a in ledger.read(since="1d")] == ["new"]
    assert [a.run_id for a in ledger.read(since="1h", until="30s")] == ["new"]
    assert [a.run_id for a in ledger.read(since="7d")] == ["old", "new"]
    two_days = datetime.now(timezone.utc) - timedelta(days=2)
    assert [a.run_id for a in ledger.read(since=two_days)] == ["new"]
    assert [a.run_id for a in ledger.read(until=two_days.date())] == ["old"]


def test_parse_since_forms() -> None:
    now = 1_000_000.0
    assert parse_since("7d", now=now) == now - 7 * 86400
    assert parse_since("12h", now=now) == now - 12 * 3600
    assert parse_since("30m", now=now) == now - 1800
    assert parse_since("90s", now=now) == now - 90
    assert parse_since("2w", now=now) == now - 14 * 86400
    assert parse_since("1.5h", now=now) == now - 5400
    assert parse_since("2025-06-01") == datetime(2025, 6, 1).timestamp()  # local midnight
    assert parse_since("2025-06-01T09:30") == datetime(2025, 6, 1, 9, 30).timestamp()
    utc = datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc).timestamp()
    assert parse_since("2025-06-01T09:30:00Z") == utc
    assert parse_since("2025-06-01T11:30:00+02:00") == utc


@pytest.mark.parametrize("bad", ["yesterday", "7", "d7", "-3d", "2025-13-01", "", "7 days"])
def test_parse_since_rejects_nonsense(bad: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_since(bad)


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    reader = Ledger(tmp_path / "nope.jsonl").read()
    assert list(reader) == []
    assert reader.tail(5) == []
    assert reader.skipped == 0


def test_unreadable_file_raises_ledger_error(tmp_path: Path) -> None:
    reader = Ledger(tmp_path).read()  # a folder
    with pytest.raises(LedgerError):
        list(reader)
    with pytest.raises(LedgerError):
        reader.tail(1)


def test_tolerates_unknown_and_missing_optional_keys(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    newer = {**attempt().to_dict(), "v": 2, "cache_write_tokens": 12, "future": {"x": [1]}}
    older = {"run_id": "r0", "kind": "step", "model": "m/x", "provider": "m", "outcome": "ok",
             "ts": T0}  # fmt: skip
    path.write_bytes(orjson.dumps(newer) + b"\n" + orjson.dumps(older) + b"\n")
    reader = LedgerReader(path)
    got = list(reader)
    assert reader.skipped == 0
    assert got[0] == dataclasses.replace(attempt(), v=2)
    assert got[1] == Attempt(run_id="r0", kind="step", model="m/x", provider="m", outcome="ok",
                             ts=T0)  # fmt: skip


def test_bad_lines_are_skipped_and_counted_but_blank_lines_are_not(tmp_path: Path) -> None:
    good = orjson.dumps(attempt())
    bad = [
        b"not json",
        b"[1, 2, 3]",
        b'"a string"',
        orjson.dumps({k: v for k, v in attempt().to_dict().items() if k != "model"}),
        orjson.dumps({**attempt().to_dict(), "cost_usd": "free"}),
        orjson.dumps({**attempt().to_dict(), "ts": None}),
    ]
    path = tmp_path / "l.jsonl"
    path.write_bytes(b"\n".join([good, b"", *bad, b"   ", good]) + b"\n")
    for block_size in (16, 1 << 20):
        reader = LedgerReader(path, block_size=block_size)
        assert len(list(reader)) == 2
        assert reader.skipped == len(bad)
        assert len(reader.tail(10)) == 2
        assert reader.skipped == len(bad)


def test_record_mirrors_attempt() -> None:
    # Attempt may gain fields; the reader's struct must follow or it would drop them.
    assert [f.name for f in dataclasses.fields(Attempt)] == list(Record.__struct_fields__)


def test_tail_reads_backwards(tmp_path: Path) -> None:
    attempts = [
        attempt(attempt=i, run_id=f"r{i % 3}", error="e" * (i * 7 % 300)) for i in range(500)
    ]
    path = write(tmp_path / "l.jsonl", attempts)
    for block_size in (1, 7, 100, 4096, 1 << 16):
        reader = LedgerReader(path, block_size=block_size)
        assert reader.tail(5) == attempts[-5:]
        assert reader.tail(1000) == attempts
        assert reader.tail(0) == []
    reader = LedgerReader(path, LedgerFilter(run="r1"), block_size=64)
    assert reader.tail(4) == [a for a in attempts if a.run_id == "r1"][-4:]


def test_tail_skips_a_torn_final_line(tmp_path: Path) -> None:
    path = write(tmp_path / "l.jsonl", [attempt(attempt=i) for i in range(3)])
    with path.open("ab") as fh:
        fh.write(b'{"run_id":"r1","ki')
    reader = LedgerReader(path, block_size=10)
    assert [a.attempt for a in reader.tail(2)] == [1, 2]
    assert reader.skipped == 1


def test_a_complete_final_line_without_newline_is_read(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_bytes(orjson.dumps(attempt(attempt=1)) + b"\n" + orjson.dumps(attempt(attempt=2)))
    reader = LedgerReader(path, block_size=8)
    assert [a.attempt for a in reader] == [1, 2]
    assert [a.attempt for a in reader.tail(5)] == [1, 2]
    assert reader.skipped == 0


_ids = st.sampled_from(["r1", "r2", "run-3", "ünï", 'quo"te', "back\\slash", "a/b"])
_attempts = st.builds(
    attempt,
    run_id=_ids,
    kind=st.sampled_from(["plan", "step", "route"]),
    model=st.sampled_from(["openai/gpt-5", "openai/gpt-5-mini", "x/gpt-5", "ünï/m", 'q/"m']),
    provider=_ids,
    outcome=st.sampled_from(["ok", "error"]),
    step_id=st.none() | _ids,
    ts=st.floats(T0, T0 + 100, allow_nan=False),
    error=st.none() | st.text(max_size=60),
)
_filters = st.builds(
    LedgerFilter,
    since=st.none() | st.floats(T0, T0 + 100),
    run=st.none() | _ids,
    kind=st.none() | st.sampled_from(["plan", "step", "nope"]),
    model=st.none() | st.sampled_from(["gpt-5", "openai/gpt-5", "ünï/m", 'q/"m', "m"]),
    provider=st.none() | _ids,
    outcome=st.none() | st.sampled_from(["ok", "error"]),
    step=st.none() | _ids,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(attempts=st.lists(_attempts, max_size=40), flt=_filters, block_size=st.integers(1, 3000))
def test_reader_equals_filtering_in_python(
    tmp_path: Path, attempts: list[Attempt], flt: LedgerFilter, block_size: int
) -> None:
    """The raw-bytes pre-filter and block decoding never change what a read returns."""
    path = tmp_path / "prop.jsonl"
    path.unlink(missing_ok=True)
    write(path, attempts)
    expected = [a for a in attempts if flt.matches(a)]
    reader = LedgerReader(path, flt, block_size=block_size)
    assert list(reader) == expected
    assert reader.tail(3) == expected[-3:]
    assert reader.skipped == 0


def test_split_covers_every_line_once(tmp_path: Path) -> None:
    attempts = [attempt(attempt=i, error="x" * (i % 50)) for i in range(3000)]
    path = write(tmp_path / "l.jsonl", attempts)
    with path.open("ab") as fh:
        fh.write(b'{"kind":"step","to')
    reader = LedgerReader(path, LedgerFilter(kind="step"), block_size=512)
    for parts in (1, 2, 3, 7):
        pieces = reader.split(parts, min_part_bytes=1000)
        assert len(pieces) == parts
        got = [a for piece in pieces for a in piece]
        assert got == attempts
        assert sum(p.skipped for p in pieces) == 1


def test_map_ranges_matches_serial(tmp_path: Path) -> None:
    attempts = [attempt(attempt=i, run_id=f"r{i % 5}") for i in range(2000)]
    path = write(tmp_path / "l.jsonl", attempts)
    pieces = LedgerReader(path).split(3, min_part_bytes=1000)
    assert len(pieces) == 3
    counts = map_ranges(pieces, _count_attempts)
    assert counts == [_count_attempts(p) for p in pieces]
    assert sum(counts) == 2000


def _count_attempts(reader: LedgerReader) -> int:
    return sum(1 for _ in reader.records())


def test_streaming_memory_is_flat(tmp_path: Path) -> None:
    attempts = [attempt(attempt=i, error="e" * 100) for i in range(20_000)]
    path = write(tmp_path / "l.jsonl", attempts)
    size = path.stat().st_size
    assert size > 8_000_000
    tracemalloc.start()
    try:
        total = sum(len(batch) for batch in LedgerReader(path, block_size=1 << 18).batches())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 20_000
    assert peak < 3_000_000  # a few blocks' worth, not the file's 8+ MB


def test_decoder_rejects_what_attempt_cannot_hold() -> None:
    dec = msgspec.json.Decoder(Record)
    with pytest.raises(msgspec.ValidationError):
        dec.decode(b'{"run_id":"r","kind":"step","model":"m","provider":"p","outcome":"ok"}')
