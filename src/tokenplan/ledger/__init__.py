"""The spend ledger: one JSONL line per model call, readers, summaries and run folders.

::

    from tokenplan.ledger import Attempt, Ledger, summarize

    with Ledger(settings.ledger_file) as ledger:
        ledger.append(Attempt(run_id="r1", kind="route", model="openai/gpt-5-mini",
                              provider="openai", outcome="ok", cost_usd=0.0004))
        print(summarize(ledger.read(since="7d"), by="model").totals.cost_usd)

Names are imported lazily: the writer path (``Attempt``, ``Ledger``) stays cheap to import, and
the reader's decoder is loaded only when something is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenplan._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ATTEMPT_KINDS": "tokenplan.ledger.attempt",
    "OUTCOMES": "tokenplan.ledger.attempt",
    "SCHEMA_VERSION": "tokenplan.ledger.attempt",
    "Attempt": "tokenplan.ledger.attempt",
    "LedgerFilter": "tokenplan.ledger.filters",
    "parse_since": "tokenplan.ledger.filters",
    "LedgerReader": "tokenplan.ledger.reader",
    "RunInfo": "tokenplan.ledger.runs",
    "RunStep": "tokenplan.ledger.runs",
    "list_runs": "tokenplan.ledger.runs",
    "load_run": "tokenplan.ledger.runs",
    "Ledger": "tokenplan.ledger.store",
    "GROUP_KEYS": "tokenplan.ledger.summary",
    "Summary": "tokenplan.ledger.summary",
    "SummaryRow": "tokenplan.ledger.summary",
    "summarize": "tokenplan.ledger.summary",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from tokenplan.ledger.attempt import ATTEMPT_KINDS as ATTEMPT_KINDS
    from tokenplan.ledger.attempt import OUTCOMES as OUTCOMES
    from tokenplan.ledger.attempt import SCHEMA_VERSION as SCHEMA_VERSION
    from tokenplan.ledger.attempt import Attempt as Attempt
    from tokenplan.ledger.filters import LedgerFilter as LedgerFilter
    from tokenplan.ledger.filters import parse_since as parse_since
    from tokenplan.ledger.reader import LedgerReader as LedgerReader
    from tokenplan.ledger.runs import RunInfo as RunInfo
    from tokenplan.ledger.runs import RunStep as RunStep
    from tokenplan.ledger.runs import list_runs as list_runs
    from tokenplan.ledger.runs import load_run as load_run
    from tokenplan.ledger.store import Ledger as Ledger
    from tokenplan.ledger.summary import GROUP_KEYS as GROUP_KEYS
    from tokenplan.ledger.summary import Summary as Summary
    from tokenplan.ledger.summary import SummaryRow as SummaryRow
    from tokenplan.ledger.summary import summarize as summarize
