"""Parse tree -> model, one parameter row at a time. This module converts; what a value or fixture may be is
checked by `dsl/checks.py` (one statement) and `dsl/validate.py` (the whole scenario). Mistakes are collected,
not raised, so that `dotmock check` can report all of them.

A rule with nothing to convert has no method here: it stays a `Tree` named after the rule, and the block that
holds it reads its children (as lark's own examples do), so no method exists only to tag a value."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar, get_args

from lark import Token, Tree, v_args
from lark.exceptions import VisitError
from lark.tree import Meta

from dotmock.dsl import agent_checks, catalogue
from dotmock.dsl import model as m
from dotmock.dsl.build_agents import AgentItems, agent_fields, agent_item
from dotmock.dsl.checks import CLOSE_KNOBS, KNOB_WORDS, Checks
from dotmock.dsl.errors import DslError, did_you_mean
from dotmock.dsl.values import decode_string, parse_duration, substitute

T = TypeVar("T")
L = TypeVar("L", bound=str)
Located: TypeAlias = tuple[T, m.Location]  # a value and where it was written
Endpoint: TypeAlias = tuple[Literal["http", "websocket"], str | None, str | None]  # protocol, method, path
JsonKind: TypeAlias = Literal["==", "!=", "contains", "matches", "present", "absent"]

_COMPARE_OPS: tuple[m.CompareOp, ...] = get_args(m.CompareOp)
_TEXT_OPS: tuple[Literal["contains", "matches"], ...] = ("contains", "matches")
_HEADER_OPS: tuple[Literal["==", "contains", "matches", "present"], ...] = ("==", "contains", "matches", "present")
_JSON_OPS: tuple[JsonKind, ...] = get_args(JsonKind)
_STREAMS: tuple[Literal["stdout", "stderr"], ...] = ("stdout", "stderr")
_FAULT_NAMES: tuple[catalogue.FaultName, ...] = get_args(catalogue.FaultName)
# grammar.lark aliases each `fault` alternative fault_<kind in snake case>: malformedChunk -> fault_malformed_chunk.
_FAULT_RULES = {
    "fault_" + re.sub(r"(?<!^)([A-Z])", r"_\1", k.name).lower(): k for k in catalogue.FAULT_KINDS if k.written
}
_FAULT_PARTS = {"after_chunks": "after_chunks", "after_time": "after_s", "stall_for": "duration_s"}


def _literal(word: Token | str, allowed: tuple[L, ...]) -> L:
    """A word the grammar already restricts to `allowed`, as that Literal type."""
    for option in allowed:
        if option == word:
            return option
    raise ValueError(f"{str(word)!r} is not one of {', '.join(allowed)}")


@dataclass
class Parts:
    """What one file declares, before includes are merged and the model is assembled."""

    name: str | None = None
    name_loc: m.Location | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    dialect: m.Dialect | None = None
    dialect_loc: m.Location | None = None
    includes: list[Located[str]] = field(default_factory=list)
    clients: list[m.Client] = field(default_factory=list)
    fixtures: list[m.Fixture] = field(default_factory=list)
    # Fixtures and includes in file order (an include's fixtures take its place in first-match order).
    sequence: list[m.Fixture | Located[str]] = field(default_factory=list)
    has_params: bool = False
    expectations: list[m.Expectation] = field(default_factory=list)
    expect_blocks: int = 0


def _subtrees(tree: Tree[Token] | None) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree)] if tree is not None else []


def _bind_wrappers(obj: object) -> None:
    """Give `obj` its `v_args`-wrapped methods as bound once. Lark's wrapper binds anew, through
    functools.update_wrapper, on every attribute access: that was a third of building a scenario (one
    access per tree node, one per helper call)."""
    for klass in type(obj).__mro__:
        for name, attr in vars(klass).items():
            if hasattr(attr, "visit_wrapper") and name not in vars(obj):
                setattr(obj, name, getattr(obj, name))


@v_args(inline=True)
class _Builder(AgentItems):
    def __init__(self, text: str, path: str, params: dict[str, str]) -> None:
        super().__init__(visit_tokens=False)  # no callbacks for tokens: each is read by its rule
        _bind_wrappers(self)
        self.path = path
        self.row = params
        self.check = Checks(text, path)

    # ------------------------------------------------------------------ helpers
    def loc(self, item: Token | Meta | Tree[Token]) -> m.Location:
        if isinstance(item, Tree):
            item = item.meta
        line = getattr(item, "line", 1) or 1
        column = getattr(item, "column", 1) or 1
        return m.Location(self.path, line, column)

    def param(self, token: Token) -> str:
        name = str(token)[2:-1]
        if name not in self.row:
            known = ", ".join(sorted(self.row)) or "none: add a params table"
            self.check.error(
                f"unknown parameter '{name}'",
                self.loc(token),
                width=len(token),
                hint=did_you_mean(name, self.row) or f"parameters here: {known}",
            )
            return "0"
        return self.row[name]

    def raw(self, token: Token) -> str:
        return self.param(token) if token.type == "PARAM" else str(token)

    def dialect_of(self, tree: Tree[Token]) -> Located[m.Dialect | None]:
        token = tree.children[0]
        assert isinstance(token, Token)
        known = self.check.dialect(token)
        return (_literal(str(token), m.DIALECTS) if known else None), self.loc(token)

    # ------------------------------------------------------------------ values
    def string(self, token: Token) -> Located[str]:
        value = decode_string(str(token))
        value, missing = substitute(value, self.row)
        for name in missing:
            self.check.error(
                f"unknown parameter '{name}' in string",
                self.loc(token),
                width=len(token),
                hint=did_you_mean(name, self.row),
            )
        return value, self.loc(token)

    def read(self, token: Token, parse: Callable[[str], T], wanted: str, default: T, width: int = 0) -> Located[T]:
        """The token's value (a parameter's, for `${name}`) read by `parse`; else the error "`wanted`, got ..."."""
        where = self.loc(token)
        raw = self.raw(token)
        try:
            return parse(raw), where
        except ValueError:
            self.check.error(f"{wanted}, got {raw!r}", where, width=width)
            return default, where

    def whole(self, token: Token) -> Located[int]:
        return self.read(token, int, "this value must be a whole number", 0)

    def number(self, token: Token) -> str:
        return self.raw(token)

    def duration(self, token: Token) -> Located[float]:
        return self.read(token, parse_duration, "expected a duration like 80ms or 2s", 0.0, width=len(token))

    def millis(self, token: Token) -> Located[int]:
        where = self.loc(token)
        raw = self.raw(token)
        if raw.isdigit():
            return int(raw), where
        try:
            seconds = parse_duration(raw)
        except ValueError:
            self.check.error(f"expected milliseconds (a whole number, or a duration like 80ms), got {raw!r}", where)
            return 0, where
        return round(seconds * 1000), where

    def boolean(self, token: Token) -> bool:
        raw = self.raw(token)
        if raw not in ("true", "false"):
            self.check.error(f"expected true or false, got {raw!r}", self.loc(token))
        return raw == "true"

    def json_value(self, item: Any) -> Any:
        if isinstance(item, Token):
            if item.type == "TRUE":
                return True
            if item.type == "FALSE":
                return False
            if item.type == "NULL":
                return None
            if item.type == "PARAM":
                return _number_or_text(self.param(item))
            return _number(str(item))
        if isinstance(item, tuple):  # a string
            return item[0]
        return item

    def json_object(self, *pairs: tuple[str, Any]) -> dict[str, Any]:
        return dict(pairs)

    def json_pair(self, key: Located[str], value: Any) -> tuple[str, Any]:
        return key[0], value

    def json_array(self, *items: Any) -> list[Any]:
        return list(items)

    # ------------------------------------------------------------------ client
    @v_args(meta=True, inline=True)
    def client(
        self, meta: Meta, command: tuple[tuple[str, ...], bool, str], block: Tree[Token] | None = None
    ) -> m.Client:
        argv, is_array, raw = command
        settings: dict[str, Any] = {}
        env: list[tuple[str, str]] = []
        for item in _subtrees(block):
            values = item.children
            if item.data == "client_env":
                env.append((str(values[0]), _located(item, 1)[0]))  # NAME, then a string
            elif item.data == "client_shell":
                settings["shell"] = True
            else:
                located = _located(item)
                if item.data == "client_timeout":
                    self.check.positive_timeout(located, "the client timeout")
                elif item.data == "client_read_timeout":
                    self.check.positive_timeout(located, "the client's readTimeout")
                elif item.data == "client_loop_limit":
                    agent_checks.loop_limit(self.check, located)
                settings[item.data] = located[0]
        shell = settings.get("shell", False)
        if shell and not is_array:
            argv = (raw,)  # the whole line, for /bin/sh -c
        self.check.client(argv, shell, is_array, self.loc(meta))
        return m.Client(
            argv=argv,
            shell=shell,
            cwd=settings.get("client_cwd"),
            env=tuple(env),
            timeout_s=settings.get("client_timeout"),
            read_timeout_s=settings.get("client_read_timeout"),
            loop_limit=settings.get("client_loop_limit"),
            location=self.loc(meta),
        )

    def command(self, item: Any) -> tuple[tuple[str, ...], bool, str]:
        if isinstance(item, tuple):
            text, where = item
            try:
                return tuple(shlex.split(text)), False, text
            except ValueError as err:
                self.check.error(
                    f"cannot split the command into words: {err}", where, hint="check the quotes inside the command"
                )
                return (text,), False, text
        if not all(isinstance(a, str) for a in item):
            self.check.error("a client command list holds strings only", None)
        return tuple(str(a) for a in item), True, ""

    # ------------------------------------------------------------------ match
    def endpoint_path(self, token: Token) -> str | None:
        return None if token.type == "ANY" else str(token)

    def http_endpoint(self, method: Token, path: str | None) -> Endpoint:
        return "http", str(method), path

    def ws_endpoint(self, path: str | None) -> Endpoint:
        return "websocket", None, path

    @v_args(meta=True, inline=True)
    def match(self, meta: Meta, endpoint: Endpoint, block: Tree[Token] | None = None) -> m.Match:
        protocol, method, path = endpoint
        once: dict[str, Any] = {}  # model, attempt, turn, last_role
        rules: list[Any] = list(block.children) if block is not None else []
        for rule in rules:
            if isinstance(rule, Tree):  # match_model, match_attempt, match_turn, match_last_role: one Located value
                key = rule.data.removeprefix("match_")
                value = rule.children[0]
                assert isinstance(value, tuple)
                if key in once:
                    self.check.twice(key.replace("last_role", "lastRole"), value[1], " in one match")
                if key == "last_role":
                    agent_checks.last_role(self.check, value)
                once[key] = value[0]
        return m.Match(
            protocol=protocol,
            method=method,
            path=path,
            model=once.get("model"),
            text=tuple(r for r in rules if isinstance(r, m.TextRule)),
            headers=tuple(r for r in rules if isinstance(r, m.HeaderRule)),
            json=tuple(r for r in rules if isinstance(r, m.JsonRule)),
            attempt=once.get("attempt"),
            turn=once.get("turn"),
            last_role=once.get("last_role"),
            tool_results=tuple(r for r in rules if isinstance(r, m.ToolResultRule)),
            location=self.loc(meta),
        )

    def match_message(self, op: Token, value: Located[str]) -> m.TextRule:
        if op.type == "MATCHES":
            self.check.regex(value)
        return m.TextRule(_literal(op, _TEXT_OPS), value[0], location=value[1])

    def match_header(self, name: Located[str], op: Token, value: Any = None) -> m.HeaderRule:
        if op not in _HEADER_OPS:
            self.check.error(f"a header is compared with ==, contains, matches or present, not '{op}'", self.loc(op))
        kind = _literal(op, _HEADER_OPS) if op in _HEADER_OPS else "=="
        if kind == "matches":
            self.check.regex(value)
        return m.HeaderRule(name[0], kind, value[0] if value else None, location=name[1])

    def match_json(self, path: Located[str], op: Token, value: Any = None) -> m.JsonRule:
        return m.JsonRule(path[0], self.json_kind(op, value), value, location=path[1])

    def json_kind(self, op: Token, value: Any = None) -> JsonKind:
        """The comparison `op` names; a `matches` value is checked as a regular expression."""
        if op == "matches":
            self.check.regex((str(value), self.loc(op)))
        if op not in _JSON_OPS:
            self.check.error(
                f"a JSON field is compared with ==, !=, contains, matches, present or absent, not '{op}'",
                self.loc(op),
            )
            return "=="
        return _literal(op, _JSON_OPS)

    def attempt_one(self, n: Located[int]) -> Located[m.AttemptRange]:
        self.check.attempt(n)
        return m.AttemptRange(n[0], n[0]), n[1]

    def attempt_from(self, n: Located[int]) -> Located[m.AttemptRange]:
        self.check.attempt(n)
        return m.AttemptRange(n[0], None), n[1]

    def attempt_between(self, a: Located[int], b: Located[int]) -> Located[m.AttemptRange]:
        self.check.attempt_range(a, b)
        return m.AttemptRange(a[0], max(a[0], b[0])), a[1]

    # ------------------------------------------------------------------ outcomes
    def streaming(self, *knobs: Tree[Token]) -> m.Streaming:
        values: dict[str, Any] = {}
        for knob in knobs:
            value, where = _located(knob)
            self.check.streaming_knob(knob.data, (value, where))
            if knob.data in values:
                self.check.twice(KNOB_WORDS[knob.data], where)
            values[knob.data] = value
        return m.Streaming(
            chunk_size=values.get("chunk_size", m.DEFAULT_CHUNK_SIZE),
            latency_ms=values.get("latency_ms", m.DEFAULT_LATENCY_MS),
            truncate_after_chunks=values.get("truncate_after_chunks"),
            jitter_ms=values.get("jitter_ms", m.DEFAULT_JITTER_MS),
        )

    def after_chunks_count(self, n: Located[int], _unit: Token) -> Located[int]:
        return n

    def __default__(self, data: Any, children: list[Any], meta: Meta) -> Any:
        """A `fault_<kind>` rule (grammar.lark) becomes a Fault of that catalogued kind; other rules with no
        method stay Trees, read by the block that holds them."""
        kind = _FAULT_RULES.get(str(data))
        if kind is None:
            return Tree(data, children, meta)  # what lark's Transformer does
        return self.fault(kind, children, self.loc(meta))

    def fault(self, kind: catalogue.FaultKind, parts: list[Any], where: m.Location) -> m.Fault:
        """Any fault from its parts: `after N chunks` (left out: before the first chunk, when optional),
        `after DURATION`, `for DURATION` or a bare duration, a string of data, an error block."""
        fields: dict[str, Any] = {"after_chunks": 0 if kind.takes.startswith("(after N chunks)?") else None}
        for part in parts:
            if isinstance(part, Tree) and part.data == "error_block":
                body = self.error_fields(part)
                self.check.error_event(body, where)
                fields.update(message=body.get("message"), error_type=body.get("type"), code=body.get("code"))
            elif isinstance(part, Tree) and part.data == "violation_how":  # schemaViolation missing / wrongType
                fields["violation"] = str(part.children[0])
            elif isinstance(part, Tree):  # after_chunks, after_time, stall_for: one located value
                fields[_FAULT_PARTS[part.data]] = _located(part)[0]
            elif isinstance(part[0], str):
                fields["data"] = part[0]
            elif isinstance(part[0], float):
                fields["duration_s"] = part[0]
            else:  # disconnect after N chunks
                fields["after_chunks"] = part[0]
        return m.Fault(_literal(kind.name, _FAULT_NAMES), location=where, **fields)

    def error_fields(self, block: Tree[Token] | None) -> dict[str, Any]:
        """An `error { ... }` block: message, type, code, param and body (last one wins), headers in order."""
        fields: dict[str, Any] = {}
        headers: list[tuple[str, str]] = []
        for item in _subtrees(block):
            if item.data == "error_header":
                name, value = item.children
                assert isinstance(name, tuple) and isinstance(value, tuple)
                self.check.header(name, value)
                headers.append((name[0], value[0]))
            elif item.data == "error_body":
                fields["body"] = item.children[0]
            else:  # error_message, error_type, error_code, error_param: one Located string
                located = item.children[0]
                assert isinstance(located, tuple)
                fields[item.data.removeprefix("error_")] = located[0]
        if headers:
            fields["headers"] = headers
        return fields

    @v_args(meta=True, inline=True)
    def event(self, meta: Meta, kind: Located[str], data: Any, delay: Tree[Token] | None = None) -> m.WsEvent:
        self.check.event_type(kind)
        seconds = _located(delay)[0] if delay is not None else 0.0
        return m.WsEvent(kind[0], data, seconds or 0.0, location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def binary_event(self, meta: Meta, data: Located[str], delay: Tree[Token] | None = None) -> m.WsEvent:
        try:
            raw = base64.b64decode(data[0], validate=True)
        except ValueError:
            self.check.error("a binary frame's bytes are written in base64", data[1], hint='e.g. binary "AAEC/w=="')
            raw = b""
        seconds = _located(delay)[0] if delay is not None else 0.0
        return m.WsEvent("", None, seconds or 0.0, location=self.loc(meta), binary=raw)

    @v_args(meta=True, inline=True)
    def cadence_chunk(self, meta: Meta, text: Located[str], delay: Tree[Token] | None = None) -> m.Chunk:
        seconds = _located(delay)[0] if delay is not None else 0.0
        return m.Chunk(text[0], seconds or 0.0, location=self.loc(meta))

    # ------------------------------------------------------------------ fixture
    def fixture_item(self, item: Any) -> tuple[str, Any, m.Location | None]:
        """One fixture item as (key, value, where it was written: None for a block)."""
        if isinstance(item, m.Match):
            return "match", item, item.location
        if isinstance(item, m.Fault):
            return "fault", item, item.location
        if isinstance(item, m.ToolCall):
            return "tool_call", item, item.location
        if isinstance(item, m.Streaming):
            return "streaming", item, None
        assert isinstance(item, Tree)
        if item.data == "dialect":
            return ("dialect", *self.dialect_of(item))
        if item.data == "events":
            return "events", tuple(item.children), None
        if item.data == "cadence":
            chunks = tuple(c for c in item.children if isinstance(c, m.Chunk))
            end = next((_located(_subtrees(e)[0])[0] for e in _subtrees(item) if e.data == "cadence_end"), 0.0)
            return "cadence", (chunks, end), self.loc(item)
        if item.data == "error_response":
            return "error", self.error_outcome(item), self.loc(item)
        if item.data == "answer_header":
            header, value = item.children
            assert isinstance(header, tuple) and isinstance(value, tuple)
            self.check.header(header, value)
            return "answer_header", (header[0], value[0]), self.loc(item)
        agent = agent_item(self.check, item, self.loc(item))
        if agent is not None:  # structured, schema
            return agent
        if item.data == "close_after":
            flag = item.children[0] if item.children else True
            return "close_after", flag, self.loc(item)
        value, where = _located(item)  # response, finish_reason, refusal, reasoning, close_code, disconnect_after_ms
        if item.data == "close_code":
            self.check.close_code((value, where))
        elif item.data == "disconnect_after_ms":
            self.check.not_negative((value, where), "disconnectAfterMs")
        return item.data, value, where

    def cadence_head(
        self,
        chunks: tuple[m.Chunk, ...],
        calls: list[m.ToolCall],
        refusal: str | None,
        where: m.Location,
        reasoning: str | None = None,
    ) -> str:
        """The text (or the refusal) a cadence spells: its chunks are the answer's pieces in the order they
        are streamed, the reasoning's (with `reasoning`), the text's or the refusal's, then each tool call's
        arguments, no chunk across two."""
        joined = "".join(c.text for c in chunks)
        lead = reasoning or ""
        if not joined.startswith(lead):
            self.check.error(
                "a cadence given with reasoning spells the reasoning first, then the text: its first chunks do not "
                "spell the reasoning",
                where,
                hint="start the cadence with the reasoning's chunks (what `dotmock record` writes)",
            )
            return joined
        tail = "".join(c.arguments_text() for c in calls)
        if not joined.endswith(tail) or len(joined) - len(tail) < len(lead):
            self.check.error(
                "a cadence with tool calls ends with their arguments, piece by piece: its last chunks do not spell "
                "the toolCall lines' arguments",
                where,
                hint='write the arguments exactly as the chunks spell them (`raw "..."`), or drop the cadence',
            )
            return joined[len(lead) :]
        head = joined[len(lead) : len(joined) - len(tail)]
        cuts = {0, *itertools.accumulate(len(c.text) for c in chunks)}
        ends = itertools.accumulate([len(lead), len(head), *(len(c.arguments_text()) for c in calls)])
        if (calls or lead) and any(end not in cuts for end in ends):
            self.check.error(
                "a cadence chunk runs across the end of the reasoning, of the text or of a tool call's arguments: "
                "cut it there",
                where,
            )
        if refusal is not None and head != refusal:
            self.check.error(
                "a cadence given with a refusal spells the refusal: its chunks joined differ from it", where
            )
        return head

    def error_outcome(self, tree: Tree[Token]) -> m.ErrorOutcome:
        status = tree.children[0]
        assert isinstance(status, tuple)
        self.check.in_range(status, 400, 599, "an error status is between 400 and 599, got {value}")
        block = self.error_fields(_subtrees(tree)[0] if _subtrees(tree) else None)
        return m.ErrorOutcome(
            status=status[0],
            message=block.get("message"),
            error_type=block.get("type"),
            code=block.get("code"),
            param=block.get("param"),
            headers=tuple(block.get("headers", ())),
            body=block.get("body"),
        )

    @v_args(meta=True, inline=True)
    def fixture(self, meta: Meta, name: Located[str], *items: Any) -> m.Fixture:
        where = self.loc(meta)
        single: dict[str, tuple[Any, m.Location | None]] = {}
        faults: list[m.Fault] = []
        calls: list[m.ToolCall] = []
        headers: list[tuple[tuple[str, str], m.Location]] = []
        for key, value, at in map(self.fixture_item, items):
            if key == "fault":
                faults.append(value)
            elif key == "tool_call":
                calls.append(value)
            elif key == "answer_header":
                headers.append((value, at or where))
            elif key in single:
                self.check.twice_in_fixture(name[0], key, at or where)
            else:
                single[key] = value, at
        match = single["match"][0] if "match" in single else m.Match("http", "POST", None)
        is_ws = match.protocol == "websocket"
        self.check.fixture(name[0], single, faults, is_ws, where, answers_with_calls=bool(calls))
        self.check.answer_headers(headers, single, is_ws)
        agent_checks.fixture(self.check, name[0], single, calls, is_ws, where)
        agent_checks.schema_violation(self.check, single, faults, match)
        value = {key: v for key, (v, _at) in single.items()}
        close = {k: value[k] for k in CLOSE_KNOBS if k in value}
        ws = (
            m.WsOutcome(
                close_after=close.get("close_after", False),
                close_code=close.get("close_code"),
                disconnect_after_ms=close.get("disconnect_after_ms"),
            )
            if is_ws and close
            else None
        )
        if "events" in value:
            events = m.WsOutcome(
                events=value["events"],
                close_after=close.get("close_after", False),
                close_code=close.get("close_code"),
                disconnect_after_ms=close.get("disconnect_after_ms"),
            )
            return m.Fixture(name[0], match, events, ws=None, location=where)
        if "error" in value:
            error = value["error"]
            if "latency" in value:
                error = dataclasses.replace(error, latency_s=value["latency"])
            return m.Fixture(name[0], match, error, ws=ws, location=where)
        streaming = value.get("streaming", m.Streaming())
        text = value.get("response", "")
        if "cadence" in value:
            chunks, end_gap = value["cadence"]
            at = single["cadence"][1] or where
            text = self.cadence_head(chunks, calls, value.get("refusal"), at, value.get("reasoning"))
            streaming = m.Streaming(
                truncate_after_chunks=streaming.truncate_after_chunks,
                chunks=chunks,
                end_gap_s=end_gap,
                jitter_ms=streaming.jitter_ms,
            )
        fields: dict[str, Any] = {
            "text": text,
            "streaming": streaming,
            "faults": tuple(faults),
            "dialect": value.get("dialect"),
            "finish_reason": value.get("finish_reason", "stop"),
            "headers": tuple(h for h, _at in headers),
            "latency_s": value.get("latency", 0.0),
        }
        outcome = m.TextOutcome(**(fields | agent_fields(value, calls)))
        return m.Fixture(name[0], match, outcome, ws=ws, location=where)

    # ------------------------------------------------------------------ expectations
    @v_args(meta=True, inline=True)
    def expect_exit(self, meta: Meta, code: Any) -> m.ExitExpect:
        if isinstance(code, Token):
            return m.ExitExpect("!=", 0, location=self.loc(meta))
        self.check.in_range(code, 0, 255, "an exit status is between 0 and 255, got {value}")
        return m.ExitExpect("==", code[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_output(self, meta: Meta, stream: Token, *rest: Any) -> m.OutputExpect:
        negated = isinstance(rest[0], Token) and rest[0].type == "NOT"
        op, value = rest[-2], rest[-1]
        if op.type == "MATCHES":
            self.check.regex(value)
        kind = _literal(op, _TEXT_OPS)
        return m.OutputExpect(_literal(stream, _STREAMS), kind, value[0], negated, location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_duration(self, meta: Meta, d: Located[float]) -> m.DurationExpect:
        return m.DurationExpect(d[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_requests(self, meta: Meta, endpoint: Endpoint, op: Token, n: Located[int]) -> m.RequestCountExpect:
        protocol, method, path = endpoint
        return m.RequestCountExpect(protocol, method, path, _literal(op, _COMPARE_OPS), n[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_request_field(self, meta: Meta, *parts: Any) -> m.RequestFieldExpect:
        index = None
        rest = list(parts)
        if isinstance(rest[0], tuple) and isinstance(rest[0][0], int):
            located_index = rest.pop(0)
            self.check.request_index(located_index)
            index = located_index[0]
        (protocol, method, path), field_path, op = rest[0], rest[1], rest[2]
        value = rest[3] if len(rest) > 3 else None
        self.check.request_field_protocol(protocol, self.loc(meta))
        return m.RequestFieldExpect(
            method or "POST",
            path,
            index,
            field_path[0],
            self.json_kind(op, value),
            value,
            location=self.loc(meta),
        )

    @v_args(meta=True, inline=True)
    def expect_wait(self, meta: Meta, op: Token, value: Any) -> m.WaitExpect:
        seconds = None if isinstance(value, Token) else value[0]
        return m.WaitExpect(_literal(op, _COMPARE_OPS), seconds, location=self.loc(meta))

    def _ws_expect(self, what: Literal["messages", "reconnects"], meta: Meta, parts: tuple[Any, ...]) -> m.WsExpect:
        path = str(parts[0]) if len(parts) == 3 else None
        op, n = parts[-2], parts[-1]
        return m.WsExpect(what, path, _literal(op, _COMPARE_OPS), n[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_ws_messages(self, meta: Meta, *parts: Any) -> m.WsExpect:
        return self._ws_expect("messages", meta, parts)

    @v_args(meta=True, inline=True)
    def expect_ws_reconnects(self, meta: Meta, *parts: Any) -> m.WsExpect:
        return self._ws_expect("reconnects", meta, parts)

    @v_args(meta=True, inline=True)
    def expect_ws_close_code(self, meta: Meta, op: Token, n: Located[int]) -> m.WsExpect:
        return m.WsExpect("close_code", None, _literal(op, _COMPARE_OPS), n[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_no_findings(self, meta: Meta) -> m.FindingsExpect:
        return m.FindingsExpect("none", location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_finding(self, meta: Meta, name: str) -> m.FindingsExpect:
        return m.FindingsExpect("present", name, location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_no_finding(self, meta: Meta, name: str) -> m.FindingsExpect:
        return m.FindingsExpect("absent", name, location=self.loc(meta))

    def finding_name(self, token: Token) -> str:
        name = self.raw(token)
        self.check.finding_name(name, token)
        return name

    # ------------------------------------------------------------------ the file
    def start(self, *statements: Any) -> Parts:
        parts = Parts()
        scenarios: list[m.Location] = []
        for item in statements:
            if isinstance(item, m.Client):
                parts.clients.append(item)
                continue
            if isinstance(item, m.Fixture):
                parts.fixtures.append(item)
                parts.sequence.append(item)
                continue
            assert isinstance(item, Tree)
            values: list[Any] = list(item.children)
            if item.data == "scenario_name":
                scenarios.append(self.loc(item))
                parts.name, parts.name_loc = values[0][0], self.loc(item)
            elif item.data == "description":
                parts.description = values[0][0]
            elif item.data == "tags":
                parts.tags.extend(_tag(t.children[0]) for t in values)
            elif item.data == "dialect":
                parts.dialect, parts.dialect_loc = self.dialect_of(item)
            elif item.data == "include":
                parts.includes.append(values[0])
                parts.sequence.append(values[0])
            elif item.data == "params":  # the table is read from the tree before building (dsl/param_table.py)
                parts.has_params = True
            elif item.data == "expect":
                parts.expectations.extend(values)
                parts.expect_blocks += 1
        self.check.file(scenarios, parts.clients)
        return parts


def _located(tree: Tree[Token], index: int = 0) -> Located[Any]:
    """The (value, location) a rule such as `client_cwd` or `chunk_size` holds as its `index`-th child."""
    value = tree.children[index]
    assert isinstance(value, tuple)
    return value


def _tag(item: Any) -> str:
    return item[0] if isinstance(item, tuple) else str(item)


def _number(raw: str) -> int | float:
    return float(raw) if any(c in raw for c in ".eE") else int(raw)


def _number_or_text(raw: str) -> Any:
    try:
        return _number(raw)
    except ValueError:
        return {"true": True, "false": False, "null": None}.get(raw, raw)


def build(tree: Tree[Token], text: str, path: str, params: dict[str, str]) -> tuple[Parts, list[DslError]]:
    """Build the parts of one file for one parameter row (`params` empty when there is no table)."""
    builder = _Builder(text, path, params)
    try:
        parts = builder.transform(tree)
    except VisitError as err:  # a bug of ours, but still reported at the user's line, never as a traceback
        if isinstance(err.orig_exc, DslError):
            raise err.orig_exc from None
        meta = getattr(err.obj, "meta", None)
        raise DslError.at(
            f"cannot read this {err.rule}: {err.orig_exc}",
            text,
            path,
            getattr(meta, "line", None) or 1,
            getattr(meta, "column", None) or 1,
        ) from None
    return parts, builder.check.errors
