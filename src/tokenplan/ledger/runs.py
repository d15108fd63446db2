"""Run folders: ``<data>/runs/<run_id>/run.json`` and friends, read here.

The format is fixed in ``docs/architecture.md`` ("Run folders"). Reading is tolerant: optional
keys may be missing or null, and a folder whose ``run.json`` is missing or unreadable is left out
of :func:`list_runs` with a warning (the executor may be writing it right now). The writer is
:mod:`tokenplan.ledger.run_folder` (:class:`RunFolder`, :func:`run_document`, also importable
from here).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tokenplan.errors import LedgerError, UnknownRunError
from tokenplan.ledger.run_folder import RUN_FILE, RunFolder, run_document

__all__ = [
    "RunFolder",
    "RunInfo",
    "RunStep",
    "find_run_folder",
    "list_runs",
    "load_run",
    "read_run",
    "run_document",
    "step_dict",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunStep:
    """One step of a run as ``run.json`` summarizes it.

    ``output_path`` is absolute (a relative path in ``run.json`` is resolved against the run's
    folder), or ``None`` when the step has no output. ``escalations`` and ``trimmed`` hold the
    dicts the executor wrote (see ``docs/executor.md``).
    """

    id: str
    title: str = ""
    capability: str | None = None
    status: str = ""
    model: str | None = None
    attempts: int = 0
    cost_usd: float = 0.0
    output_path: Path | None = None
    #: Why the step did not succeed (failed, blocked, cancelled), when known.
    error: str | None = None
    #: One line per escalation or trimmed input, in order.
    notes: tuple[str, ...] = ()
    #: The tier of ``model`` (``budget``, ``mid``, ``flagship``), when known.
    tier: str | None = None
    #: The step that did not succeed and so kept this one from running.
    blocked_by: str | None = None
    #: Seconds the step took, when it ran.
    duration_s: float | None = None
    #: True when the step's output came from the offline simulator.
    simulated: bool = False
    escalations: tuple[Mapping[str, Any], ...] = ()
    trimmed: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return step_dict(self)


#: The fields of a step in ``run.json``, in the order they are written.
STEP_FIELDS = (
    "id", "title", "capability", "status", "model", "tier", "attempts", "cost_usd",
    "output_path", "error", "blocked_by", "duration_s", "simulated", "escalations", "trimmed",
    "notes",
)  # fmt: skip


def step_dict(step: Any) -> dict[str, Any]:
    """A step as ``run.json`` holds it, from the executor's record or the reader's
    :class:`RunStep` (anything with the :data:`STEP_FIELDS` attributes)."""
    d = {name: getattr(step, name) for name in STEP_FIELDS}
    if d["output_path"] is not None:
        d["output_path"] = str(d["output_path"])
    d["escalations"] = [dict(e) for e in d["escalations"]]
    d["trimmed"] = [dict(t) for t in d["trimmed"]]
    d["notes"] = list(d["notes"])
    return d


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run folder's ``run.json``, typed. ``folder`` is the run's folder."""

    run_id: str
    folder: Path
    goal: str = ""
    status: str = ""
    budget_usd: float | None = None
    spent_usd: float = 0.0
    created: datetime | None = None
    finished: datetime | None = None
    strategy: str = ""
    steps: tuple[RunStep, ...] = field(default=())
    #: True when any model output of the run came from the offline simulator.
    simulated: bool = False

    @property
    def steps_ok(self) -> int:
        return sum(1 for s in self.steps if s.status in ("ok", "succeeded", "done"))

    @property
    def plan_path(self) -> Path | None:
        p = self.folder / "plan.json"
        return p if p.is_file() else None

    @property
    def result_path(self) -> Path | None:
        p = self.folder / "result.md"
        return p if p.is_file() else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "goal": self.goal,
            "status": self.status,
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "created": None if self.created is None else self.created.isoformat(),
            "finished": None if self.finished is None else self.finished.isoformat(),
            "strategy": self.strategy,
            "simulated": self.simulated,
            "steps_ok": self.steps_ok,
            "steps_total": len(self.steps),
            "steps": [s.to_dict() for s in self.steps],
            "folder": str(self.folder),
            "plan_path": _str_or_none(self.plan_path),
            "result_path": _str_or_none(self.result_path),
        }


def list_runs(runs_dir: str | Path, *, limit: int | None = None) -> list[RunInfo]:
    """Runs in ``runs_dir``, newest first (by ``created``, then by id, which sorts by time).

    Folders without a readable ``run.json`` are skipped with a warning. A missing ``runs_dir``
    means no runs yet.
    """
    root = Path(runs_dir)
    try:
        folders = [p for p in root.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LedgerError(
            f"cannot list runs in {root}: {exc.strerror or exc}", path=str(root)
        ) from exc
    runs: list[RunInfo] = []
    for folder in folders:
        try:
            runs.append(_load(folder))
        except LedgerError as exc:
            if (folder / RUN_FILE).exists():
                logger.warning(
                    "skipped run folder %s: %s", folder.name, exc, extra={"run": folder.name}
                )
    runs.sort(key=_created_then_id, reverse=True)
    return runs[:limit] if limit is not None else runs


def load_run(runs_dir: str | Path, run_id: str) -> RunInfo:
    """The run ``run_id`` (or the only run whose id starts with it).

    Raises :class:`~tokenplan.errors.UnknownRunError` (with close matches) when there is no
    such run, and :class:`~tokenplan.errors.LedgerError` when its ``run.json`` is unreadable.
    """
    return read_run(find_run_folder(runs_dir, run_id))


def find_run_folder(runs_dir: str | Path, run_id: str) -> Path:
    """The folder of run ``run_id`` (or of the only run whose id starts with it), without
    reading its ``run.json`` (take the run's lock first, then :func:`read_run`).

    Raises :class:`~tokenplan.errors.UnknownRunError`: no such run (close matches as
    ``suggestions``), or a prefix several runs share (them as ``candidates``).
    """
    root = Path(runs_dir)
    run_id = run_id.strip()
    if run_id and "/" not in run_id and run_id not in (".", ".."):
        folder = root / run_id
        if (folder / RUN_FILE).is_file():
            return folder
    try:
        ids = sorted(p.name for p in root.iterdir() if (p / RUN_FILE).is_file())
    except OSError:
        ids = []
    prefixed = [i for i in ids if run_id and i.startswith(run_id)]
    if len(prefixed) == 1:
        return root / prefixed[0]
    if prefixed:
        raise UnknownRunError(run_id, prefixed[:5], candidates=len(prefixed))
    import difflib

    raise UnknownRunError(run_id, difflib.get_close_matches(run_id, ids, n=3, cutoff=0.6))


def read_run(folder: str | Path) -> RunInfo:
    """The ``run.json`` of the run in ``folder``, typed (:class:`~tokenplan.errors.LedgerError`
    when it cannot be read)."""
    return _load(Path(folder))


def _load(folder: Path) -> RunInfo:
    path = folder / RUN_FILE
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc
    import orjson

    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise LedgerError(f"{path} is not valid JSON: {exc}", path=str(path)) from None
    if not isinstance(doc, Mapping):
        raise LedgerError(f"{path} does not hold a JSON object", path=str(path))
    steps = doc.get("steps")
    return RunInfo(
        run_id=_text(doc.get("run_id")) or folder.name,
        folder=folder,
        goal=_text(doc.get("goal")),
        status=_text(doc.get("status")),
        budget_usd=_number(doc.get("budget_usd")),
        spent_usd=_number(doc.get("spent_usd")) or 0.0,
        created=_datetime(doc.get("created")),
        finished=_datetime(doc.get("finished")),
        strategy=_text(doc.get("strategy")),
        simulated=doc.get("simulated") is True,
        steps=tuple(
            _step(s, folder) for s in (steps if isinstance(steps, list) else ()) if _is_step(s)
        ),
    )


def _is_step(s: Any) -> bool:
    return isinstance(s, Mapping) and isinstance(s.get("id"), str)


def _step(s: Mapping[str, Any], folder: Path) -> RunStep:
    out = s.get("output_path")
    output_path = None
    if isinstance(out, str) and out:
        p = Path(out).expanduser()
        output_path = p if p.is_absolute() else folder / p
    attempts = _number(s.get("attempts"))
    return RunStep(
        id=s["id"],
        title=_text(s.get("title")),
        capability=_text(s.get("capability")) or None,
        status=_text(s.get("status")),
        model=_text(s.get("model")) or None,
        attempts=int(attempts) if attempts is not None else 0,
        cost_usd=_number(s.get("cost_usd")) or 0.0,
        output_path=output_path,
        error=_text(s.get("error")) or None,
        notes=tuple(n for n in _list(s.get("notes")) if isinstance(n, str)),
        tier=_text(s.get("tier")) or None,
        blocked_by=_text(s.get("blocked_by")) or None,
        duration_s=_number(s.get("duration_s")),
        simulated=s.get("simulated") is True,
        escalations=tuple(e for e in _list(s.get("escalations")) if isinstance(e, Mapping)),
        trimmed=tuple(t for t in _list(s.get("trimmed")) if isinstance(t, Mapping)),
    )


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _datetime(v: Any) -> datetime | None:
    if not isinstance(v, str) or not v:
        return None
    text = v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.astimezone()


def _created_then_id(run: RunInfo) -> tuple[float, str]:
    return (run.created.timestamp() if run.created is not None else float("-inf"), run.run_id)


def _str_or_none(p: Path | None) -> str | None:
    return None if p is None else str(p)
