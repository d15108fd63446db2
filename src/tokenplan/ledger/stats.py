"""Per-model statistics read from the ledger, for routing decisions.

``auto:latency`` ranks models by their observed median latency; this module computes it from
the attempts that succeeded recently. Simulated calls are ignored: their latency says nothing
about the real model.
"""

from __future__ import annotations

import os
from collections import defaultdict
from statistics import median

__all__ = ["MIN_SAMPLES", "latency_p50"]

#: A model needs at least this many successful calls before its median is trusted.
MIN_SAMPLES = 3


def latency_p50(
    path: str | os.PathLike[str], *, since: str = "7d", min_samples: int = MIN_SAMPLES
) -> dict[str, float]:
    """Median latency in ms per model over successful, non-simulated calls since ``since``.

    Models with fewer than ``min_samples`` such calls are left out. A missing ledger gives an
    empty mapping.
    """
    from tokenplan.ledger.store import Ledger

    samples: dict[str, list[float]] = defaultdict(list)
    with Ledger(path) as ledger:
        for attempt in ledger.read(since=since, outcome="ok"):
            if not attempt.simulated and attempt.latency_ms > 0:
                samples[attempt.model].append(attempt.latency_ms)
    return {m: median(v) for m, v in samples.items() if len(v) >= min_samples}
