"""tokenplan: plan and run LLM work under a hard USD budget.

The public API is re-exported here lazily (attribute access imports the defining module), so
``import tokenplan`` stays cheap for the CLI's start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> defining module. Keep sorted by module; ``__all__`` is derived from it and locked by
# tests/test_public_api.py.
_EXPORTS: dict[str, str] = {
    "Catalog": "tokenplan.catalog.catalog",
    "Model": "tokenplan.catalog.model",
    "Attempt": "tokenplan.ledger.attempt",
    "cost_usd": "tokenplan.pricing",
    "usage_cost": "tokenplan.pricing",
    "ChatModel": "tokenplan.providers.base",
    "Classification": "tokenplan.routing.classifier",
    "classify": "tokenplan.routing.classifier",
    "RouteDecision": "tokenplan.routing.decision",
    "Router": "tokenplan.routing.router",
    "Settings": "tokenplan.settings",
    "estimate_tokens": "tokenplan.tokens",
    "ChatRequest": "tokenplan.types",
    "ChatResponse": "tokenplan.types",
    "JsonSchemaFormat": "tokenplan.types",
    "Message": "tokenplan.types",
    "StreamChunk": "tokenplan.types",
    "Usage": "tokenplan.types",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenplan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover
    from tokenplan.catalog.catalog import Catalog as Catalog
    from tokenplan.catalog.model import Model as Model
    from tokenplan.ledger.attempt import Attempt as Attempt
    from tokenplan.pricing import cost_usd as cost_usd
    from tokenplan.pricing import usage_cost as usage_cost
    from tokenplan.providers.base import ChatModel as ChatModel
    from tokenplan.routing.classifier import Classification as Classification
    from tokenplan.routing.classifier import classify as classify
    from tokenplan.routing.decision import RouteDecision as RouteDecision
    from tokenplan.routing.router import Router as Router
    from tokenplan.settings import Settings as Settings
    from tokenplan.tokens import estimate_tokens as estimate_tokens
    from tokenplan.types import ChatRequest as ChatRequest
    from tokenplan.types import ChatResponse as ChatResponse
    from tokenplan.types import JsonSchemaFormat as JsonSchemaFormat
    from tokenplan.types import Message as Message
    from tokenplan.types import StreamChunk as StreamChunk
    from tokenplan.types import Usage as Usage
