"""Build an instance of a JSON schema: what a model in structured-output mode would return.

Covers what planners and users commonly send: ``type`` (also lists, i.e. nullable types),
``properties`` / ``required`` / ``additionalProperties``, ``items`` / ``prefixItems`` (and
draft-7 tuple ``items``), ``minItems`` / ``maxItems`` / ``uniqueItems`` / ``contains``, ``enum``,
``const``, ``minLength`` / ``maxLength`` / ``pattern`` / ``format``, ``minimum`` / ``maximum``
(exclusive too, draft-4 booleans included) / ``multipleOf``, ``minProperties`` /
``maxProperties``, ``$ref`` into ``$defs`` / ``definitions`` (recursion is cut off by depth),
``allOf`` (merged), ``anyOf`` / ``oneOf`` (one branch). String values are built from the
prompt's words and the property names, so they read like an answer to the request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokenplan.providers.sim import regex
from tokenplan.providers.sim.rng import Rng

__all__ = ["SchemaContext", "instance"]

#: Below this depth optional properties are filled in and arrays get a few items; past it the
#: generator builds the smallest valid value (this is what ends recursive schemas).
_MAX_DEPTH = 6
_DEFAULT_ITEMS = 2
#: A schema that still nests past this depth has no finite instance (a required property that
#: refers to itself): give up with ``None`` instead of recursing forever.
_HARD_DEPTH = 40
#: Caps on sizes a schema may demand (a schema asking for more gets a smaller, invalid value
#: rather than a simulator that runs out of memory).
_MAX_ITEMS = 1_000
_MAX_LENGTH = 100_000


@dataclass(frozen=True, slots=True)
class SchemaContext:
    """Words to draw string values from (the prompt's keywords and first sentence)."""

    words: tuple[str, ...] = ("result",)
    sentence: str = "A simulated value"


def instance(schema: Mapping[str, Any] | bool, *, context: SchemaContext, rng: Rng) -> Any:
    """A value valid against ``schema`` (best effort for the rare constructs we do not cover)."""
    root = schema if isinstance(schema, Mapping) else {}
    return _Gen(root, context).value(schema, rng, depth=0, name="")


class _Gen:
    def __init__(self, root: Mapping[str, Any], context: SchemaContext) -> None:
        self.root = root
        self.ctx = context

    # -- dispatch ---------------------------------------------------------------------------

    def value(self, schema: Mapping[str, Any] | bool, rng: Rng, *, depth: int, name: str) -> Any:
        if depth > _HARD_DEPTH:
            return None
        if not isinstance(schema, Mapping):  # true, false, or a malformed subschema
            return self.string({}, rng, name=name)
        schema = self.resolve(schema, depth=depth)
        # A const or enum value JSON cannot hold (infinity) is no constraint we can meet.
        if "const" in schema and _is_json(schema["const"]):
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum and all(_is_json(v) for v in enum):
            return rng.choice(enum)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                branch = self.pick_branch(schema[key], rng, depth=depth)
                base = {k: v for k, v in schema.items() if k != key}
                # A branch may lead back to the same schema (``{"$ref": "#"}``): count it
                # as nesting so the hard depth limit ends the recursion.
                return self.value(
                    _merge(base, self.resolve(branch, depth=depth)), rng, depth=depth + 1, name=name
                )
        kind = self.pick_type(schema, depth=depth)
        if kind == "object":
            return self.object(schema, rng, depth=depth)
        if kind == "array":
            return self.array(schema, rng, depth=depth, name=name)
        if kind == "integer":
            return self.integer(schema, rng)
        if kind == "number":
            return self.number(schema, rng)
        if kind == "boolean":
            return rng.chance(0.5)
        if kind == "null":
            return None
        return self.string(schema, rng, name=name)

    def resolve(self, schema: Mapping[str, Any], *, depth: int) -> Mapping[str, Any]:
        """Follow ``$ref`` (keeping sibling keywords) and merge ``allOf``."""
        for _ in range(32):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            target = self.lookup(ref)
            schema = _merge({k: v for k, v in schema.items() if k != "$ref"}, target)
        if isinstance(schema.get("allOf"), list) and depth <= _HARD_DEPTH:
            merged: Mapping[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, Mapping) and part is not schema:
                    merged = _merge(merged, self.resolve(part, depth=depth + 1))
            schema = merged
        return schema

    def lookup(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            return {}  # remote references: nothing to follow offline
        node: Any = self.root
        for raw in ref[1:].split("/"):
            if not raw:
                continue
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node if isinstance(node, Mapping) else {}

    def pick_branch(self, branches: Sequence[Any], rng: Rng, *, depth: int) -> Mapping[str, Any]:
        usable = [b for b in branches if isinstance(b, Mapping)]
        if not usable:
            return {}
        if depth >= _MAX_DEPTH:
            # Prefer a branch that ends the recursion: null, a scalar, anything without $ref.
            flat = [b for b in usable if "$ref" not in json.dumps(b)]
            return (flat or usable)[0]
        return rng.choice(usable)

    def pick_type(self, schema: Mapping[str, Any], *, depth: int) -> str:
        kind = schema.get("type")
        if isinstance(kind, list) and kind:
            options = [str(k) for k in kind]
            if depth >= _MAX_DEPTH and "null" in options:
                return "null"
            non_null = [k for k in options if k != "null"]
            return non_null[0] if non_null else "null"
        if isinstance(kind, str):
            return kind
        if any(k in schema for k in ("properties", "required", "additionalProperties")):
            return "object"
        if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
            return "number"
        return "string"

    # -- containers ---------------------------------------------------------------------------

    def object(self, schema: Mapping[str, Any], rng: Rng, *, depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        if not isinstance(props, Mapping):
            props = {}
        raw_required = schema.get("required")
        required = [str(r) for r in raw_required] if isinstance(raw_required, list) else []
        extra_schema = schema.get("additionalProperties", True)
        names = list(props) if depth < _MAX_DEPTH else [n for n in props if n in required]
        names += [r for r in required if r not in names]
        max_props = schema.get("maxProperties")
        if isinstance(max_props, int) and len(names) > max_props:
            optional = [n for n in names if n not in required]
            while len(names) > max_props and optional:
                names.remove(optional.pop())
        out: dict[str, Any] = {}
        for key in names:
            sub = props.get(key, extra_schema if isinstance(extra_schema, Mapping) else {})
            out[key] = self.value(sub, rng.child("prop", key), depth=depth + 1, name=key)
        min_props = min(_int(schema, "minProperties", 0), _MAX_ITEMS)
        if min_props and extra_schema is not False:
            sub = extra_schema if isinstance(extra_schema, Mapping) else {}
            i = 1
            while len(out) < min_props:
                key = f"{self.ctx.words[(i - 1) % len(self.ctx.words)]}_{i}"
                out[key] = self.value(sub, rng.child("extra", i), depth=depth + 1, name=key)
                i += 1
        return out

    def array(self, schema: Mapping[str, Any], rng: Rng, *, depth: int, name: str) -> list[Any]:
        prefix = schema.get("prefixItems")
        items = schema.get("items", True)
        if isinstance(items, list):  # draft-7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        prefix = list(prefix) if isinstance(prefix, list) else []
        low = min(_int(schema, "minItems", 0), _MAX_ITEMS)
        high = schema.get("maxItems")
        target = max(low, len(prefix) if depth >= _MAX_DEPTH else len(prefix) + _DEFAULT_ITEMS)
        if depth >= _MAX_DEPTH:
            target = max(low, len(prefix) if prefix else 0)
        if isinstance(high, int):
            target = min(target, high)
        if items is False:
            target = min(target, len(prefix))
        unique = bool(schema.get("uniqueItems"))
        contains = schema.get("contains")
        out: list[Any] = []
        seen: set[str] = set()
        singular = name[:-1] if name.endswith("s") else name
        for i in range(target * 6 + 6):
            if len(out) >= target:
                break
            pos = len(out)
            if pos < len(prefix):
                sub: Any = prefix[pos]
            elif pos == 0 and isinstance(contains, Mapping):
                sub = _merge(items, contains) if isinstance(items, Mapping) else contains
            else:
                sub = items
            value = self.value(sub, rng.child("item", i), depth=depth + 1, name=singular)
            key = json.dumps(value, sort_keys=True)
            if unique and key in seen:
                continue
            seen.add(key)
            out.append(value)
        return out

    # -- scalars ------------------------------------------------------------------------------

    def integer(self, schema: Mapping[str, Any], rng: Rng) -> int:
        low, high = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0 and float(step).is_integer():
            m = int(step)
            first = math.ceil(low / m) if low is not None else 0
            last = math.floor(high / m) if high is not None else first + 10
            if low is None and high is not None:
                first = last - 10
            return m * rng.randint(first, max(first, last))
        lo = math.ceil(low) if low is not None else None
        hi = math.floor(high) if high is not None else None
        if lo is None and hi is None:
            lo, hi = 1, 100
        elif lo is None:
            assert hi is not None
            lo = hi - 100
        elif hi is None:
            hi = lo + 100
        return rng.randint(lo, max(lo, hi))

    def number(self, schema: Mapping[str, Any], rng: Rng) -> float | int:
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            low, high = _bounds(schema, integer=False)
            first = math.ceil(low / step) if low is not None else 1
            last = math.floor(high / step) if high is not None else first + 10
            start = rng.randint(first, max(first, last))
            # Float steps (0.1) make most multiples inexact; validators divide and check for an
            # integer quotient, so pick a multiple that survives the round trip.
            for k in (*range(start, max(first, last) + 1), *range(first, start)):
                value = round(step * k, 10)
                if (value / step).is_integer():
                    return int(value) if float(value).is_integer() else value
            return round(step * start, 10)
        low, high = _bounds(schema, integer=False)
        if low is None and high is None:
            low, high = 0.0, 100.0
        elif low is None:
            assert high is not None
            low = high - 100.0
        elif high is None:
            high = low + 100.0
        candidate = round(rng.uniform(low, high), 2)
        if not low <= candidate <= high or _excluded(schema, candidate):
            candidate = (low + high) / 2.0
        return candidate

    def string(self, schema: Mapping[str, Any], rng: Rng, *, name: str) -> str:
        low = min(_int(schema, "minLength", 0), _MAX_LENGTH)
        max_length = _int(schema, "maxLength", -1)
        high = None if max_length < 0 else max_length
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            found = regex.sample(pattern, rng, min_len=low, max_len=high)
            if found is not None:
                return found
        text = _formatted(str(fmt), rng) if isinstance(fmt, str) else None
        if text is None:
            text = self.prose_for(name, rng)
        if len(text) < low:
            filler = " " + (" ".join(self.ctx.words) or "value")
            text = (text + filler * ((low - len(text)) // len(filler) + 1)).strip()
        if high is not None and len(text) > high:
            text = text[:high].rstrip() if high > 0 else ""
            text = text if len(text) >= low else text.ljust(low, "x")
        return text

    def prose_for(self, name: str, rng: Rng) -> str:
        """A string that fits a property called ``name``."""
        key = name.lower()
        words = self.ctx.words
        if "email" in key:
            return f"{rng.choice(words)}@example.com"
        if key in ("url", "uri", "link", "href", "website", "homepage") or key.endswith("_url"):
            return f"https://example.com/{rng.choice(words)}"
        if key in ("id", "slug", "key", "code") or key.endswith("_id"):
            return f"{rng.choice(words)}-{rng.randint(1, 999)}"
        if "date" in key or key.endswith("_at"):
            return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if key in ("language", "lang", "locale"):
            return "en"
        if key in ("name", "title", "label", "heading", "topic", "tag", "category", ""):
            return " ".join(w.capitalize() for w in _sample_words(words, rng, 2))
        if key in (
            "description",
            "summary",
            "text",
            "content",
            "answer",
            "explanation",
            "reasoning",
            "rationale",
            "body",
            "message",
            "details",
            "result",
        ):
            return f"{self.ctx.sentence} ({', '.join(_sample_words(words, rng, 3))})."
        return " ".join(_sample_words(words, rng, 3))


def _int(schema: Mapping[str, Any], key: str, default: int) -> int:
    value = schema.get(key, default)
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )


def _sample_words(words: Sequence[str], rng: Rng, n: int) -> list[str]:
    start = rng.randint(0, max(0, len(words) - 1))
    return [words[(start + i) % len(words)] for i in range(min(n, len(words)))]


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float | None, float | None]:
    low, high = _finite(schema.get("minimum")), _finite(schema.get("maximum"))
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    eps = 1 if integer else 0.01
    # Draft 4: booleans modify minimum / maximum. Draft 6+: numbers are bounds themselves.
    if ex_low is True and low is not None:
        low += eps
    elif (bound := _finite(ex_low)) is not None:
        low = max(low, bound + eps) if low is not None else bound + eps
    if ex_high is True and high is not None:
        high -= eps
    elif (bound := _finite(ex_high)) is not None:
        high = min(high, bound - eps) if high is not None else bound - eps
    if low is not None and high is not None and high < low:
        # An open interval narrower than our step: its midpoint is still inside.
        mid = (low - eps + high + eps) / 2.0
        return mid, mid
    return low, high


def _finite(value: Any) -> float | None:
    """A usable bound: a finite number (an infinite or NaN one is no bound at all)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _excluded(schema: Mapping[str, Any], value: float) -> bool:
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool) and value <= ex_low:
        return True
    return isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool) and value >= ex_high


def _formatted(fmt: str, rng: Rng) -> str | None:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    hour, minute = rng.randint(0, 23), rng.randint(0, 59)
    if fmt == "date-time":
        return f"2025-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z"
    if fmt == "date":
        return f"2025-{month:02d}-{day:02d}"
    if fmt == "time":
        return f"{hour:02d}:{minute:02d}:00Z"
    if fmt == "duration":
        return f"PT{hour + 1}H{minute}M"
    if fmt in ("email", "idn-email"):
        return f"user{rng.randint(1, 99)}@example.com"
    if fmt in ("uri", "iri", "url"):
        return f"https://example.com/item/{rng.randint(1, 999)}"
    if fmt in ("uri-reference", "iri-reference"):
        return f"/item/{rng.randint(1, 999)}"
    if fmt in ("hostname", "idn-hostname"):
        return "api.example.com"
    if fmt == "ipv4":
        return f"192.0.2.{rng.randint(1, 254)}"
    if fmt == "ipv6":
        return f"2001:db8::{rng.randint(1, 4095):x}"
    if fmt == "uuid":
        h = "".join(f"{rng.randint(0, 15):x}" for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
    return None


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Combine two schemas that must both hold (properties and required are unioned)."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if key == "properties" and isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = {**old, **value}
        elif key == "required" and isinstance(old, list) and isinstance(value, list):
            out[key] = list(dict.fromkeys([*old, *value]))
        elif _number(old) and _number(value) and key in _LOWER_BOUNDS:
            out[key] = max(old, value)
        elif _number(old) and _number(value) and key in _UPPER_BOUNDS:
            out[key] = min(old, value)
        else:  # malformed bounds (null, strings) are the generator's problem, not the merge's
            out[key] = value
    return out


_LOWER_BOUNDS = frozenset({"minimum", "minLength", "minItems", "exclusiveMinimum"})
_UPPER_BOUNDS = frozenset({"maximum", "maxLength", "maxItems", "exclusiveMaximum"})


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_json(value: Any) -> bool:
    """Whether ``value`` is JSON (no infinite or NaN number anywhere in it)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, Mapping):
        return all(_is_json(v) for v in value.values())
    return True
