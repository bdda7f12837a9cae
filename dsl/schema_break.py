"""Breaking a structured answer against its JSON Schema, on purpose (`fault schemaViolation`).

Pure: `dotmock check` uses it to tell whether a fixture's answer can be broken against its own schema, the
server (`server.schema_violation`) to break it against the schema the request sends. A value of another
type is never one a lax parser would coerce back (a number's string is a word, not digits), and every
change is checked with the schema itself.
"""

from __future__ import annotations

import copy
import json
from typing import Any


def breaks(value: Any, schema: dict[str, Any]) -> bool:
    """Whether `value` does not satisfy `schema` (JSON Schema draft 2020-12)."""
    from jsonschema import Draft202012Validator

    try:
        return next(Draft202012Validator(schema).iter_errors(value), None) is not None
    except Exception:  # a schema the validator cannot use (a bad $ref): nothing can be shown broken
        return False


_JSON_TYPES: tuple[tuple[str, Any], ...] = (
    ("string", "not-a-valid-value"),
    ("number", 0.5),
    ("array", ["not", "valid"]),
    ("object", {"not": "valid"}),
    ("null", None),
    ("boolean", False),
)


def _declared(schema: Any) -> set[str]:
    kind = schema.get("type") if isinstance(schema, dict) else None
    listed = kind if isinstance(kind, list) else [kind]
    kinds = {k for k in listed if isinstance(k, str)}
    if "integer" in kinds:
        kinds.add("number")
    return kinds


def _wrong_values(schema: Any) -> list[tuple[str, Any]]:
    declared = _declared(schema)
    return [(name, value) for name, value in _JSON_TYPES if name not in declared]


def break_value(
    value: Any, schema: dict[str, Any], how: str | None = None, prop: str | None = None
) -> tuple[Any, str] | None:
    """`value` changed so that it no longer satisfies `schema`, and what was changed in words; None when no
    change of the kind asked for breaks it (a schema that accepts anything)."""
    hows = ("missing", "wrongType") if how is None else (how,)
    given = schema.get("properties")
    properties: dict[str, Any] = given if isinstance(given, dict) else {}
    listed = schema.get("required")
    required = [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []
    if isinstance(value, dict):
        names = [prop] if prop is not None else [*required, *(p for p in properties if p not in required)]
        for way in hows:
            for name in names:
                broken = copy.deepcopy(value)
                if way == "missing":
                    if name not in required or name not in broken:
                        continue
                    del broken[name]
                    if breaks(broken, schema):
                        return broken, f"dropped the required property {name!r}"
                    continue
                for type_name, wrong in _wrong_values(properties.get(name)):
                    broken[name] = wrong
                    if breaks(broken, schema):
                        return broken, f"gave {name!r} a {type_name} ({json.dumps(wrong)})"
    if prop is None and "wrongType" in hows:
        for type_name, wrong in _wrong_values(schema):
            if breaks(wrong, schema):
                return wrong, f"sent a {type_name} ({json.dumps(wrong)}) instead of the answer"
    return None
