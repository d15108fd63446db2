"""``GET /v1/models`` and ``GET /v1/models/{id}``: OpenAI ``Model`` objects.

The ``auto*`` aliases first (owned by ``tokenplan``, with what each optimizes), then every
catalog model (owned by its provider) with ``available`` (its endpoint is usable and it is not
cooling down), ``tier``, prices per million tokens, ``context_window`` and
``max_output_tokens``. A single model may be asked for by catalog id, alias or API name; the
object names its catalog id. An unknown id is a 404 ``model_not_found``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenplan.proxy.errors import ApiError
from tokenplan.proxy.routes import AUTO_MODELS

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model
    from tokenplan.runtime import Runtime

__all__ = ["model_object", "model_objects"]


def model_objects(runtime: Runtime) -> list[dict[str, Any]]:
    """Every model the proxy serves, aliases first."""
    data = [_alias(name) for name in AUTO_MODELS]
    data.extend(_catalog_model(runtime, m) for m in runtime.catalog)
    return data


def model_object(runtime: Runtime, name: str) -> dict[str, Any]:
    """The object for ``name``, or :class:`ApiError` 404."""
    if name in AUTO_MODELS:
        return _alias(name)
    model = runtime.catalog.find(name)
    if model is None:
        raise ApiError(
            404,
            f"The model '{name}' does not exist",
            code="model_not_found",
            param="model",
        )
    return _catalog_model(runtime, model)


def _alias(name: str) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "tokenplan",
        "available": True,
        "description": AUTO_MODELS[name],
    }


def _catalog_model(runtime: Runtime, m: Model) -> dict[str, Any]:
    return {
        "id": m.id,
        "object": "model",
        "created": 0,
        "owned_by": m.provider,
        "available": runtime.available(m),
        "tier": m.tier,
        "input_per_mtok": m.input_per_mtok,
        "output_per_mtok": m.output_per_mtok,
        "context_window": m.context_window,
        "max_output_tokens": m.max_output_tokens,
    }
