"""Checks of the agent language, one statement or one fixture at a time (the rest is `dsl/checks.py`):
tool names and ids, JSON Schemas, roles, `loopLimit`, and what a fixture's tool calls, structured answer,
refusal and reasoning may come with."""

from __future__ import annotations

import re
from typing import Any

from lark import Tree

from dotmock.dsl import catalogue
from dotmock.dsl import model as m
from dotmock.dsl.checks import Checks
from dotmock.dsl.errors import did_you_mean
from dotmock.dsl.schema_break import break_value

Located = tuple[Any, m.Location]
Placed = tuple[Any, m.Location | None]

# The roles a request's last message can have; tool results count as "tool" on every API.
ROLES = ("user", "assistant", "tool", "system", "developer")
# OpenAI's rule for function names (Anthropic's is the same set): letters, digits, _ and -, 1 to 64.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_LOOP_LIMIT = 2


def tool_call(check: Checks, name: Located, parts: tuple[Any, ...]) -> None:
    if not _TOOL_NAME.fullmatch(name[0]):
        check.error(
            f"{name[0]!r} is not a tool name the APIs accept",
            name[1],
            hint="letters, digits, _ and -, at most 64 characters",
        )
    for part in parts:
        if isinstance(part, Tree) and part.data == "tool_call_id":
            value = part.children[0]
            assert isinstance(value, tuple)
            if not value[0]:
                check.error("a tool call id cannot be empty", value[1], hint="leave `id` out to get one made up")


def tool_result_filters(check: Checks, filters: tuple[Tree[Any], ...]) -> None:
    seen: set[str] = set()
    for item in filters:
        if item.data in seen:
            what = "an id" if item.data == "tool_result_id" else "a content rule"
            where = next((c[1] for c in item.children if isinstance(c, tuple)), None)
            check.error(f"a toolResult rule has {what} once", where)
        seen.add(item.data)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema (draft 2020-12), or None."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = ".".join(str(p) for p in err.path)
        return f"{where}: {err.message}" if where else str(err.message)
    return None


def schema(check: Checks, value: Any, where: m.Location) -> None:
    problem = schema_problem(value)
    if problem is not None:
        check.error(
            f"this is not a valid JSON Schema: {problem}",
            where,
            hint='e.g. schema {"type": "object", "properties": {"temp": {"type": "number"}}, "required": ["temp"]}',
        )


def last_role(check: Checks, role: Located) -> None:
    if role[0] not in ROLES:
        check.error(
            f"unknown role {role[0]!r}",
            role[1],
            hint=did_you_mean(role[0], ROLES) or 'tool results count as role "tool" on every API',
            expected=tuple(f'"{r}"' for r in ROLES),
        )


def loop_limit(check: Checks, n: Located) -> None:
    if n[0] < MIN_LOOP_LIMIT:
        check.error(
            f"loopLimit is at least {MIN_LOOP_LIMIT} (the same tool call run that many times is a loop), got {n[0]}",
            n[1],
        )


def fixture(
    check: Checks, name: str, single: dict[str, Placed], calls: list[m.ToolCall], is_ws: bool, where: m.Location
) -> None:
    """What a fixture's agent items may come with (`single`: the items given once, as in `Checks.fixture`)."""
    ids: set[str] = set()
    for call in calls:
        if call.id is not None and call.id in ids:
            check.error(f"two tool calls of fixture {name!r} have the id {call.id!r}", call.location)
        if call.id is not None:
            ids.add(call.id)
    first = calls[0].location if calls else None
    if calls and "error" in single:
        check.error("an error fixture answers no tool calls: drop the toolCall lines", first)
    elif calls and "events" in single:
        check.error(
            "tool calls are sent by dotmock in the protocol's own events: drop the `events` block, or write the "
            "function-call events in it yourself",
            first,
        )
    elif calls and "structured" in single:
        check.error(
            "a structured answer is the whole answer: it cannot come with tool calls",
            first,
            hint="answer the tool calls in one fixture and the structured JSON in the next turn's",
        )
    elif calls and "refusal" in single:
        check.error("a refusal is the whole answer: it cannot come with tool calls", first)
    if "schema" in single and "structured" not in single:
        check.error(
            "`schema` describes a structured answer: add `structured {...}`, or drop the schema", single["schema"][1]
        )
    if "refusal" in single and not single["refusal"][0]:
        check.error("a refusal needs its text", single["refusal"][1], hint='e.g. refusal "I can\'t help with that."')


def schema_violation(check: Checks, single: dict[str, Placed], faults: list[m.Fault], match: m.Match) -> None:
    """`fault schemaViolation` needs a structured answer and a schema to break it against: its own `schema`,
    or one its match says the request sends (a rule on a field of `catalogue.SCHEMA_FIELDS`)."""
    fault = next((f for f in faults if f.kind == "schemaViolation"), None)
    if fault is None:
        return
    if "structured" not in single:
        check.error(
            "fault schemaViolation breaks a structured answer against its schema: this fixture has no "
            "`structured {...}` answer",
            fault.location,
            hint="add structured {...} (and its schema {...}), or drop the fault",
        )
        return
    fields = tuple(f for fs in catalogue.SCHEMA_FIELDS.values() for f in fs)
    asks = any(rule.path == f or rule.path.startswith(f + ".") for rule in match.json for f in fields)
    own = single.get("schema", (None, None))[0]
    if not isinstance(own, dict):
        if not asks:
            check.error(
                "fault schemaViolation has no schema to violate: the fixture gives none, and its match does not "
                "ask for requests that send one",
                fault.location,
                hint='add schema {...}, or match e.g. json "response_format.type" == "json_schema" '
                '(Responses: "text.format.type", Messages: "output_config.format.type")',
            )
        return
    if break_value(single["structured"][0], own, fault.violation, fault.data) is None:
        prop = repr(fault.data) if fault.data else "a property"
        what = {"missing": f"without {prop}", "wrongType": f"with another type for {prop}"}.get(
            fault.violation or "", f"without {prop} or with another type for it"
        )
        check.error(
            f"fault schemaViolation cannot break this answer against its schema: {what}, it still satisfies it",
            fault.location,
            hint="name a property the schema requires (missing) or types (wrongType)",
        )
