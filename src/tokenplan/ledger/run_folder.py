"""Writing a run's folder: ``run.json`` (:func:`run_document`), step outputs, ``result.md``,
and the lock that keeps two processes from executing one run (:class:`RunFolder`).

The format is fixed in ``docs/architecture.md`` ("Run folders"); :mod:`tokenplan.ledger.runs`
reads it. Every file is written atomically (a temporary file renamed over the old one) and is
readable by its owner only (they hold prompts and outputs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are not locked against each other
    fcntl = None  # type: ignore[assignment]

__all__ = ["RUN_FILE", "STEPS_DIR", "RunFolder", "run_document"]

RUN_FILE = "run.json"
STEPS_DIR = "steps"

_STEP_FILE_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def run_document(
    *,
    run_id: str,
    goal: str,
    status: str,
    budget_usd: float | None,
    spent_usd: float,
    created: datetime,
    finished: datetime | None = None,
    strategy: str = "",
    steps: Sequence[Mapping[str, Any]] = (),
    **extra: Any,
) -> dict[str, Any]:
    """The ``run.json`` document in its canonical shape (times as ISO 8601 UTC).

    ``steps`` are dicts with the :class:`~tokenplan.ledger.runs.RunStep` keys (``id``,
    ``title``, ``capability``, ``status``, ``model``, ``tier``, ``attempts``, ``cost_usd``,
    ``output_path`` relative to the run's folder, ``error``, ``blocked_by``, ``duration_s``,
    ``simulated``, ``escalations``, ``trimmed``, ``notes``); more keys may follow (the reader
    ignores what it does not know). ``extra`` adds top-level keys (``simulated``, ``planner``,
    ...).
    """
    return {
        "version": 1,
        "run_id": run_id,
        "goal": goal,
        "status": status,
        "budget_usd": budget_usd,
        "spent_usd": spent_usd,
        "created": _iso(created),
        "finished": None if finished is None else _iso(finished),
        "strategy": strategy,
        **extra,
        "steps": list(steps),
    }


class RunFolder:
    """Writes one run's folder: ``run.json``, ``plan.json``'s place, step outputs, ``result.md``.

    Every file is written atomically (a temporary file renamed over the old one) with mode
    0600; the folder itself is 0700.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir: str | Path, run_id: str) -> RunFolder:
        """Make the folder of a new run (``FileExistsError`` if the run id is taken)."""
        folder = Path(runs_dir) / run_id
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)
        (folder / STEPS_DIR).mkdir(mode=0o700)
        return cls(folder)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def plan_file(self) -> Path:
        return self.path / "plan.json"

    @property
    def result_file(self) -> Path:
        return self.path / "result.md"

    def step_output_relpath(self, step_id: str) -> str:
        """``steps/<step_id>.md`` (what ``run.json`` records as ``output_path``)."""
        if not _STEP_FILE_RE.match(step_id):
            raise ValueError(f"not a step id: {step_id!r}")
        return f"{STEPS_DIR}/{step_id}.md"

    def step_output_file(self, step_id: str) -> Path:
        return self.path / self.step_output_relpath(step_id)

    def write_document(self, doc: Mapping[str, Any]) -> None:
        """Replace ``run.json`` (see :func:`run_document`)."""
        import orjson

        self._write(self.run_file, orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")

    def write_step_output(self, step_id: str, text: str) -> Path:
        """Write a step's output (once, before ``run.json`` says the step succeeded: a torn
        file from a crash is never taken for a finished output, so no rename is needed)."""
        path = self.step_output_file(step_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8", "surrogatepass"))
        return path

    def read_step_output(self, step_id: str) -> str | None:
        """A step's saved output, or ``None`` when it has none (or it cannot be read)."""
        try:
            return self.step_output_file(step_id).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            return None

    def write_result(self, text: str) -> Path:
        self._write(self.result_file, text.encode("utf-8", "surrogatepass"))
        return self.result_file

    def _write(self, path: Path, data: bytes) -> None:
        import tempfile

        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:  # mkstemp creates the file with mode 0600
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the run's lock for the block: one process executes a run at a time.

        :class:`~tokenplan.errors.UsageError` when another process holds it.
        """
        from tokenplan.errors import UsageError

        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise UsageError(
                        f"run {self.run_id} is being executed by another tokenplan process"
                    ) from None
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
