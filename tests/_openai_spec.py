"""Validation against the official OpenAI OpenAPI spec (``../shared/specs/openai-openapi.json``).

Tests call :func:`validate_openai` with a schema name from ``components.schemas``; without the
spec (a checkout without the shared folder) they are skipped with the reason.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "specs" / "openai-openapi.json"


@cache
def _openai_validator(name: str) -> Any:
    if not SPEC.exists():
        pytest.skip(
            f"OpenAI spec not found at {SPEC} (the shared folder sits beside the repo in CI)"
        )
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = _nullable_to_json_schema(json.loads(SPEC.read_text()))
    registry = Registry().with_resource("urn:openai", Resource(spec, specification=DRAFT202012))
    schema = {"$ref": f"urn:openai#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _nullable_to_json_schema(node: Any) -> Any:
    """The spec still marks some fields with OpenAPI 3.0's ``nullable: true`` (e.g. a stream
    chunk's ``finish_reason``), which JSON Schema ignores: turn each into ``anyOf [..., null]``."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_json_schema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def validate_openai(name: str, instance: Any) -> None:
    """Assert ``instance`` matches ``components.schemas[name]`` of the OpenAI spec."""
    errors = sorted(_openai_validator(name).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(
        f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]
    )
