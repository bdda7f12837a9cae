"""`fault schemaViolation`: a structured answer sent broken against the JSON Schema the request asked for.

The schema is read from the request where each API carries it (`REQUEST_SCHEMAS`, at the fields
`catalogue.SCHEMA_FIELDS` names), else the fixture's own `schema {...}`. The fixture's `structured` JSON is
then changed so that it no longer satisfies it (`dsl.schema_break`): a required property dropped
(`missing`), or a property given a value of another JSON type (`wrongType`); without either word, the first
of the two that breaks it. The fault is journaled only when the answer really breaks the schema (`faults`,
and a `fault:schemaViolation` tick saying what was broken): that is what the runner's
`schema_violation_accepted` reads.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from dotmock.dsl.catalogue import REWRITING_FAULTS
from dotmock.dsl.model import Fault, TextOutcome
from dotmock.dsl.schema_break import break_value
from dotmock.server.journal import HttpExchange, WsExchange, add_fault

NAME = "schemaViolation"
assert NAME in REWRITING_FAULTS


def _at(body: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _json_schema_format(fmt: Any, *path: str) -> Any:
    """The schema of a `{"type": "json_schema", ...}` format object (`path`: where in it the schema is)."""
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    return _at(fmt, *path)


def _gemini(body: Any) -> Any:
    config = _at(body, "generationConfig")
    if not isinstance(config, dict):
        config = _at(body, "generation_config")
    if not isinstance(config, dict):
        return None
    for key in ("responseJsonSchema", "response_json_schema"):
        if isinstance(config.get(key), dict):
            return config[key]
    for key in ("responseSchema", "response_schema"):  # an OpenAPI subset: upper-case type names
        if isinstance(config.get(key), dict):
            return _lower_types(config[key])
    return None


def _lower_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v))
            for k, v in schema.items()
            if k not in ("propertyOrdering", "nullable")
        }
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


# Where each API's request carries the schema of the structured answer it asks for.
REQUEST_SCHEMAS: dict[str, Callable[[Any], Any]] = {
    "chat_completions": lambda b: _json_schema_format(_at(b, "response_format"), "json_schema", "schema"),
    "responses": lambda b: _json_schema_format(_at(b, "text", "format"), "schema"),
    "messages": lambda b: (
        _json_schema_format(_at(b, "output_config", "format"), "schema")
        or _json_schema_format(_at(b, "output_format"), "schema")
    ),
    "gemini": _gemini,
}


def request_schema(api: str, body: Any) -> dict[str, Any] | None:
    """The JSON Schema a request of `api` asks its structured answer to satisfy, or None."""
    read = REQUEST_SCHEMAS.get(api)
    schema = read(body) if read is not None else None
    return schema if isinstance(schema, dict) else None


def _fault(outcome: TextOutcome) -> Fault | None:
    return next((f for f in outcome.faults if f.kind == NAME), None)


def rewrite(outcome: TextOutcome, api: str, body: Any, exchange: HttpExchange | WsExchange) -> TextOutcome:
    """`outcome` as sent to a request of `api` with `body`: its structured answer broken when it has a
    schemaViolation fault and a schema is known (journaled then), unchanged otherwise."""
    fault = _fault(outcome)
    if fault is None or not outcome.structured:
        return outcome
    schema = request_schema(api, body)
    if schema is None and isinstance(outcome.schema, dict):
        schema = outcome.schema
    if schema is None:
        return outcome
    broken = break_value(json.loads(outcome.text), schema, fault.violation, fault.data)
    if broken is None:
        return outcome
    value, words = broken
    add_fault(exchange.faults, NAME)
    exchange.ticks.add(time.monotonic(), f"fault:{NAME}", words)
    return dataclasses.replace(outcome, text=json.dumps(value, ensure_ascii=False))
