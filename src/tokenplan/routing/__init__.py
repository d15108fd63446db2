"""Routing: classify a prompt, pick a model under a strategy and a budget, explain why.

* :func:`~tokenplan.routing.classifier.classify` - capability and complexity of a prompt;
* :class:`~tokenplan.routing.router.Router` - the decision (:class:`RouteDecision`), with its
  ladder of alternatives and, lazily, why every other model was dropped;
* :mod:`tokenplan.routing.strategies` - what ``cheapest``, ``balanced`` and ``best_quality``
  maximize.

Import from the submodules (this package does not import them, to keep start-up lean).
"""
