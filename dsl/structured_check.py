"""`dotmock check`'s warnings about structured answers: a fixture's `structured` JSON that does not satisfy
the JSON Schema it is matched with (its own `schema {...}`, or a schema its match rules pin, e.g.
`json "response_format.json_schema.schema" == {...}`). A warning, not an error: sending an answer that breaks
the schema can be the point of a test, and the client is then expected to reject it."""

from __future__ import annotations

import json
from typing import Any

from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError


class DslWarning(DslError):
    """A `.mock` problem that does not stop the file from running, rendered as `path:line:col: warning: ...`."""

    @property
    def headline(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: warning: {self.message}"


def matched_schemas(fixture: m.Fixture) -> list[tuple[str, Any]]:
    """The schemas a structured fixture answers against: (where it was written, in words, schema)."""
    found: list[tuple[str, Any]] = []
    outcome = fixture.outcome
    if isinstance(outcome, m.TextOutcome) and isinstance(outcome.schema, dict):
        found.append(("its schema", outcome.schema))
    for rule in fixture.match.json:
        if rule.kind == "==" and rule.path.split(".")[-1] == "schema" and isinstance(rule.value, dict):
            found.append((f"the schema its match pins at {rule.path!r}", rule.value))
    return found


def schema_violations(value: Any, schema: Any, limit: int = 3) -> list[str]:
    """What in `value` breaks `schema` (JSON Schema draft 2020-12), in words, at most `limit`."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    out = []
    for err in errors[:limit]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path) or "the answer"
        out.append(f"{where.lstrip('.')}: {err.message}")
    return out


def structured_warnings(scenario: m.Scenario, text_of: dict[str, str]) -> list[DslError]:
    """One warning per structured fixture whose JSON does not satisfy a schema it is matched with."""
    warnings: list[DslError] = []
    for fixture in scenario.fixtures:
        outcome = fixture.outcome
        if not isinstance(outcome, m.TextOutcome) or not outcome.structured:
            continue
        value = json.loads(outcome.text)
        for words, schema in matched_schemas(fixture):
            problems = schema_violations(value, schema)
            if not problems:
                continue
            where = fixture.location
            message = (
                f"the structured answer of fixture {fixture.name!r} does not satisfy {words}: {'; '.join(problems)}"
            )
            hint = "a client that validates it will reject it: fine if that is what the scenario tests"
            if where is None:
                warnings.append(DslWarning(message, path=scenario.path, hint=hint))
            else:
                warnings.append(
                    DslWarning.at(message, text_of.get(where.path, ""), where.path, where.line, where.column, hint=hint)
                )
    return warnings
