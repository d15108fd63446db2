"""Schema-valid JSON for the schemas planners and users commonly send (checked with jsonschema)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim_helpers import make_catalog
from tokenplan.providers.sim import SimulatorModel
from tokenplan.providers.sim.regex import sample
from tokenplan.providers.sim.rng import Rng
from tokenplan.providers.sim.schema import SchemaContext, instance
from tokenplan.types import ChatRequest, JsonSchemaFormat

CTX = SchemaContext(words=("harbor", "tides", "ships"), sentence="Harbor schedule")

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["label", "children"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "flat object": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "ok": {"type": "boolean"},
        },
        "required": ["name", "age", "ok"],
    },
    "openai strict": {
        "type": "object",
        "additionalProperties": False,
        "required": ["answer", "confidence", "sources"],
        "properties": {
            "answer": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "sources": {"type": "array", "items": {"type": "string", "format": "uri"}},
        },
    },
    "nested arrays of objects": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 3,
                "maxItems": 5,
                "items": {
                    "type": "object",
                    "required": ["sku", "qty", "price"],
                    "properties": {
                        "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 9},
                        "price": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.01},
                    },
                    "additionalProperties": False,
                },
            }
        },
    },
    "enums and const": {
        "type": "object",
        "required": ["kind", "version", "level"],
        "properties": {
            "kind": {"const": "report"},
            "version": {"enum": [1, 2, 3]},
            "level": {"type": "string", "enum": ["low", "medium", "high"]},
        },
    },
    "nullable types": {
        "type": "object",
        "required": ["note", "count", "tags"],
        "properties": {
            "note": {"type": ["string", "null"]},
            "count": {"type": ["integer", "null"], "minimum": 10},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        },
    },
    "defs and refs": {
        "$defs": {
            "address": {
                "type": "object",
                "required": ["city", "zip"],
                "properties": {
                    "city": {"type": "string", "minLength": 2},
                    "zip": {"type": "string", "pattern": "^\\d{5}$"},
                },
            }
        },
        "type": "object",
        "required": ["home", "work"],
        "properties": {"home": {"$ref": "#/$defs/address"}, "work": {"$ref": "#/$defs/address"}},
    },
    "recursive tree": TREE,
    "draft-7 definitions": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {
            "step": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
        },
        "type": "array",
        "items": {"$ref": "#/definitions/step"},
        "minItems": 1,
    },
    "oneOf discriminated union": {
        "type": "object",
        "required": ["shape"],
        "properties": {
            "shape": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "radius"],
                        "properties": {
                            "type": {"const": "circle"},
                            "radius": {"type": "number", "minimum": 0},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["type", "side"],
                        "properties": {
                            "type": {"const": "square"},
                            "side": {"type": "number", "minimum": 0},
                        },
                    },
                ]
            }
        },
    },
    "allOf merge": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {
                "properties": {"b": {"type": "integer", "minimum": 5, "maximum": 5}},
                "required": ["b"],
            },
        ]
    },
    "prefixItems tuple": {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}],
        "items": False,
    },
    "draft-7 tuple items": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "array",
        "items": [{"type": "number"}, {"type": "string", "format": "date"}],
        "additionalItems": False,
    },
    "unique enum items": {
        "type": "array",
        "uniqueItems": True,
        "minItems": 3,
        "items": {"enum": ["red", "green", "blue", "cyan"]},
    },
    "min properties with typed extras": {
        "type": "object",
        "minProperties": 3,
        "additionalProperties": {"type": "integer", "minimum": 0},
    },
    "max properties": {
        "type": "object",
        "maxProperties": 1,
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["a"],
    },
    "formats": {
        "type": "object",
        "required": ["when", "day", "email", "id", "ip", "at"],
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "ip": {"type": "string", "format": "ipv4"},
            "at": {"type": "string", "format": "time"},
        },
    },
    "string lengths": {
        "type": "object",
        "required": ["code", "essay"],
        "properties": {
            "code": {"type": "string", "minLength": 4, "maxLength": 4},
            "essay": {"type": "string", "minLength": 200},
        },
    },
    "numbers at the edges": {
        "type": "object",
        "required": ["p", "n", "m", "e"],
        "properties": {
            "p": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.05},
            "n": {"type": "integer", "maximum": -1000},
            "m": {"type": "integer", "multipleOf": 7, "minimum": 20, "maximum": 30},
            "e": {"type": "number", "multipleOf": 0.1, "minimum": 0.25, "maximum": 2},
        },
    },
    "draft-4 boolean exclusive bounds": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "integer",
        "minimum": 1,
        "exclusiveMinimum": True,
        "maximum": 3,
        "exclusiveMaximum": True,
    },
    "contains": {"type": "array", "items": {"type": "integer"}, "contains": {"const": 42}},
    "top-level array of strings": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    "top-level scalar": {"type": "string", "enum": ["yes", "no"]},
    "untyped properties": {
        "properties": {"x": {"minimum": 3}, "y": {"items": {"type": "integer"}}},
        "required": ["x", "y"],
    },
    "boolean subschemas": {"type": "object", "properties": {"any": True}, "required": ["any"]},
    "classifier": {
        "type": "object",
        "additionalProperties": False,
        "required": ["label", "scores", "reasoning"],
        "properties": {
            "label": {"type": "string", "enum": ["code", "math", "reasoning", "general"]},
            "scores": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "math"],
                "properties": {
                    "code": {"type": "number", "minimum": 0, "maximum": 1},
                    "math": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
            "reasoning": {"type": "string", "maxLength": 80},
        },
    },
}


def assert_plain_json(value: Any) -> None:
    """``value`` is finite, plain JSON: it survives a strict round trip unchanged."""
    assert json.loads(json.dumps(value, allow_nan=False)) == value


def assert_valid(schema: dict[str, Any], value: Any) -> None:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(value)


@pytest.mark.parametrize(
    ("fmt", "wrong"),
    [("date-time", "yesterday"), ("uri", "not a uri"), ("email", "nobody"), ("uuid", "123")],
)
def test_the_format_checks_are_really_active(fmt: str, wrong: str) -> None:
    # Guard: without rfc3339-validator / rfc3986-validator jsonschema skips these formats.
    with pytest.raises(jsonschema.ValidationError):
        assert_valid({"type": "string", "format": fmt}, wrong)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_instances_validate_for_many_seeds(name: str) -> None:
    schema = SCHEMAS[name]
    for seed in range(12):
        value = instance(schema, context=CTX, rng=Rng(name, seed))
        assert_valid(schema, value)


async def test_the_model_answers_a_json_schema_with_a_valid_instance() -> None:
    sim = SimulatorModel(make_catalog(), failure_rates=0.0, error_rates=0.0, latency_scale=0.0)
    for name, schema in SCHEMAS.items():
        request = ChatRequest.from_prompt(
            "Plan the harbor schedule for the tides and ships.",
            model="acme/medium",
            response_format=JsonSchemaFormat(name=re.sub(r"\W", "_", name), schema=schema),
        )
        response = await sim.complete(request)
        assert_valid(schema, json.loads(response.text))


def test_strings_reuse_the_prompts_words() -> None:
    value = instance(SCHEMAS["openai strict"], context=CTX, rng=Rng(1))
    assert any(word in value["answer"].lower() for word in CTX.words)


def test_recursion_is_cut_off() -> None:
    value = instance(TREE, context=CTX, rng=Rng(0))
    depth, node = 0, value
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert 1 <= depth <= 8


def test_a_schema_without_a_finite_instance_still_returns() -> None:
    infinite = {
        "$defs": {
            "a": {
                "type": "object",
                "required": ["next"],
                "properties": {"next": {"$ref": "#/$defs/a"}},
            }
        },
        "$ref": "#/$defs/a",
    }
    value = instance(infinite, context=CTX, rng=Rng(0))
    assert isinstance(value, dict)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[a-z][a-z0-9-]{0,31}$",
        r"^\d{3}-\d{3}-\d{4}$",
        r"^(GET|POST|PUT)\s/api/v[12]/\w+$",
        r"^[A-Z]{2}\d{2}[A-Z0-9]{4,8}$",
        r"^#[0-9a-fA-F]{6}$",
        r"^(?:[a-z]+\.)+com$",
        r"^[^\s@]+@[^\s@]+\.[a-z]{2,6}$",
        r"^(ab)\1$",
        r"v\d+",
    ],
)
def test_regex_samples_match(pattern: str) -> None:
    for seed in range(10):
        text = sample(pattern, Rng(seed))
        assert text is not None, pattern
        assert re.search(pattern, text), (pattern, text)


def test_regex_sampler_gives_up_cleanly() -> None:
    assert sample(r"^(?=x)y$", Rng(0)) is None  # unsatisfiable look-ahead
    assert sample(r"([", Rng(0)) is None  # not a pattern


@settings(max_examples=50, deadline=None)
@given(
    low=st.integers(min_value=-(10**6), max_value=10**6),
    width=st.integers(min_value=0, max_value=10**4),
    step=st.sampled_from([None, 1, 3, 0.5, 0.25, 0.1]),
    kind=st.sampled_from(["integer", "number"]),
)
def test_numeric_bounds_property(low: int, width: int, step: float | None, kind: str) -> None:
    schema: dict[str, Any] = {"type": kind, "minimum": low, "maximum": low + width}
    if step is not None and (kind == "number" or float(step).is_integer()):
        schema["multipleOf"] = step
        if width < 10:  # leave room for a multiple
            schema["maximum"] = low + 10
    assert_valid(schema, instance(schema, context=CTX, rng=Rng(low, width)))


# -- robustness -----------------------------------------------------------------------------------

KEYWORDS = st.sampled_from([
    "type", "properties", "required", "items", "prefixItems", "enum", "const", "anyOf", "oneOf",
    "allOf", "$ref", "$defs", "minItems", "maxItems", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "multipleOf", "additionalProperties", "format", "uniqueItems",
    "minProperties", "maxProperties", "exclusiveMinimum", "contains",
])  # fmt: skip
JUNK_LEAVES = st.none() | st.booleans() | st.integers(-5, 50) | st.floats(allow_nan=False, width=32)
JUNK_WORDS = st.sampled_from(["string", "object", "array", "null", "#/$defs/x", "#", "^a+$", "(["])


def junk_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = KEYWORDS | st.text(max_size=3)
    return st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4)


JUNK = st.recursive(JUNK_LEAVES | JUNK_WORDS, junk_containers, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(schema=st.dictionaries(KEYWORDS, JUNK, max_size=5))
@example(schema={"type": None, "anyOf": [{"minItems": None}], "minItems": None})
@example(schema={"allOf": [{"properties": 3, "required": "x"}], "properties": {}, "required": []})
def test_malformed_schemas_never_crash_the_generator(schema: dict[str, Any]) -> None:
    assert_plain_json(instance(schema, context=CTX, rng=Rng(0)))


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"$ref": "#"}]},
        {"oneOf": [{"$ref": "#"}, {"$ref": "#"}]},
        {"allOf": [{"$ref": "#"}]},
        {"allOf": [{"anyOf": [{"$ref": "#"}]}]},
    ],
)
def test_self_referencing_schemas_terminate(schema: dict[str, Any]) -> None:
    assert_plain_json(instance(schema, context=CTX, rng=Rng(0)))


SCALARS = st.one_of(
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(lambda lo, w: {"type": "integer", "minimum": lo, "maximum": lo + w},
              st.integers(-1000, 1000), st.integers(0, 50)),
    st.builds(lambda lo, w: {"type": "number", "minimum": lo, "maximum": lo + w},
              st.floats(-1e6, 1e6), st.floats(0.01, 1e3)),
    st.builds(lambda lo, extra: {"type": "string", "minLength": lo, "maxLength": lo + extra},
              st.integers(0, 30), st.integers(0, 30)),
    st.builds(lambda values: {"enum": values},
              st.lists(st.text(max_size=5) | st.integers(), min_size=1, max_size=4, unique=True)),
    st.builds(lambda value: {"const": value}, st.text(max_size=5) | st.integers() | st.booleans()),
)  # fmt: skip


@st.composite
def objects(draw: st.DrawFn, inner: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    names = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
    props = draw(st.dictionaries(names, inner, max_size=4))
    required = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
    extra = draw(st.booleans())
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": extra,
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        return {**schema, "type": [kind, "null"]}
    return schema


def composites(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    arrays = st.builds(
        lambda items, low: {"type": "array", "items": items, "minItems": low},
        inner,
        st.integers(0, 3),
    )
    unions = st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner)
    return objects(inner) | arrays | unions | st.builds(nullable, inner)


SUPPORTED = st.recursive(SCALARS, composites, max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(schema=SUPPORTED, seed=st.integers(0, 1000))
def test_supported_schemas_always_get_valid_instances(schema: dict[str, Any], seed: int) -> None:
    assert_valid(schema, instance(schema, context=CTX, rng=Rng(seed)))


def test_absurd_sizes_are_capped_not_obeyed() -> None:
    huge = {"type": "object", "required": ["a", "s", "p"], "properties": {
        "a": {"type": "array", "minItems": 10**9, "items": {"type": "integer"}},
        "s": {"type": "string", "minLength": 10**9},
        "p": {"type": "string", "pattern": "^a{1000000000}$"},
    }}  # fmt: skip
    value = instance(huge, context=CTX, rng=Rng(0))
    assert len(value["a"]) <= 1_000
    assert len(value["s"]) <= 200_000
    assert len(value["p"]) < 1_000


@pytest.mark.parametrize(
    "schema",
    [
        {"type": None, "exclusiveMinimum": float("inf"), "multipleOf": 1},
        {"type": "integer", "minimum": float("-inf"), "maximum": float("nan")},
        {"type": "number", "exclusiveMaximum": 10**400},
    ],
)
def test_infinite_and_huge_bounds_are_no_bounds(schema: dict[str, Any]) -> None:
    assert_plain_json(instance(schema, context=CTX, rng=Rng(0)))
