"""The offline simulator: every catalog model, served deterministically without a network.

It is never a real model: free-text answers start with a marker line naming the simulator, and
every response has ``simulated=True``. See ``docs/simulator.md``.

* :class:`SimulatorModel` - the ``ChatModel``; ``SimulatorModel.from_settings(catalog, settings)``
  reads the ``[sim]`` config table and ``TOKENPLAN_SIM_*``.
* :class:`SimConfig` - its validated knobs; :data:`DEFAULT_FAILURE_RATES`,
  :data:`DEFAULT_ERROR_RATES` per tier.
* :data:`MARKER_PREFIX` / :func:`marker` - the label that opens every free-text answer.
"""

from tokenplan.providers.sim.config import DEFAULT_ERROR_RATES, DEFAULT_FAILURE_RATES, SimConfig
from tokenplan.providers.sim.model import SimulatorModel
from tokenplan.providers.sim.writer import MARKER_PREFIX, marker

__all__ = [
    "DEFAULT_ERROR_RATES",
    "DEFAULT_FAILURE_RATES",
    "MARKER_PREFIX",
    "SimConfig",
    "SimulatorModel",
    "marker",
]
