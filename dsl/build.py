"""Parse tree -> model, one parameter row at a time. Mistakes are collected, not raised, so that
`dotmock check` can report all of them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar, get_args

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import VisitError
from lark.tree import Meta

from dotmock.dsl import catalogue
from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError, did_you_mean
from dotmock.dsl.values import decode_string, parse_duration, substitute

_CLOSE_KNOBS = ("close_after", "close_code", "disconnect_after_ms")

T = TypeVar("T")
L = TypeVar("L", bound=str)
Located: TypeAlias = tuple[T, m.Location]  # a value and where it was written
Endpoint: TypeAlias = tuple[Literal["http", "websocket"], str | None, str | None]  # protocol, method, path

_COMPARE_OPS: tuple[m.CompareOp, ...] = get_args(m.CompareOp)
_TEXT_OPS: tuple[Literal["contains", "matches"], ...] = ("contains", "matches")
_HEADER_OPS: tuple[Literal["==", "contains", "matches", "present"], ...] = ("==", "contains", "matches", "present")
_JSON_OPS: tuple[Literal["==", "!=", "contains", "matches", "present", "absent"], ...] = (
    "==",
    "!=",
    "contains",
    "matches",
    "present",
    "absent",
)
_STREAMS: tuple[Literal["stdout", "stderr"], ...] = ("stdout", "stderr")


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


@v_args(inline=True)
class _Builder(Transformer[Token, Any]):
    def __init__(self, text: str, path: str, params: dict[str, str]) -> None:
        super().__init__(visit_tokens=True)
        self.text = text
        self.path = path
        self.row = params
        self.errors: list[DslError] = []

    # ------------------------------------------------------------------ helpers
    def loc(self, item: Token | Meta | Tree[Token]) -> m.Location:
        if isinstance(item, Tree):
            item = item.meta
        line = getattr(item, "line", 1) or 1
        column = getattr(item, "column", 1) or 1
        return m.Location(self.path, line, column)

    def error(
        self,
        message: str,
        where: m.Location | None,
        *,
        width: int = 0,
        hint: str | None = None,
        expected: tuple[str, ...] = (),
    ) -> None:
        line, column = (where.line, where.column) if where else (1, 1)
        self.errors.append(
            DslError.at(message, self.text, self.path, line, column, width=width, hint=hint, expected=expected)
        )

    def param(self, token: Token) -> str:
        name = str(token)[2:-1]
        if name not in self.row:
            known = ", ".join(sorted(self.row)) or "none: add a params table"
            self.error(
                f"unknown parameter '{name}'",
                self.loc(token),
                width=len(token),
                hint=did_you_mean(name, self.row) or f"parameters here: {known}",
            )
            return "0"
        return self.row[name]

    def as_int(self, raw: str, where: m.Location, what: str) -> int:
        try:
            return int(raw)
        except ValueError:
            self.error(f"{what} must be a whole number, got {raw!r}", where)
            return 0

    # ------------------------------------------------------------------ values
    def string(self, token: Token) -> Located[str]:
        value = decode_string(str(token))
        value, missing = substitute(value, self.row)
        for name in missing:
            self.error(
                f"unknown parameter '{name}' in string",
                self.loc(token),
                width=len(token),
                hint=did_you_mean(name, self.row),
            )
        return value, self.loc(token)

    def whole(self, token: Token) -> Located[int]:
        where = self.loc(token)
        raw = self.param(token) if token.type == "PARAM" else str(token)
        return self.as_int(raw, where, "this value"), where

    def number(self, token: Token) -> str:
        return self.param(token) if token.type == "PARAM" else str(token)

    def duration(self, token: Token) -> Located[float]:
        where = self.loc(token)
        raw = self.param(token) if token.type == "PARAM" else str(token)
        try:
            return parse_duration(raw), where
        except ValueError:
            self.error(f"expected a duration like 80ms or 2s, got {raw!r}", where, width=len(token))
            return 0.0, where

    def millis(self, token: Token) -> Located[int]:
        where = self.loc(token)
        raw = self.param(token) if token.type == "PARAM" else str(token)
        if raw.isdigit():
            return int(raw), where
        try:
            seconds = parse_duration(raw)
        except ValueError:
            self.error(f"expected milliseconds (a whole number, or a duration like 80ms), got {raw!r}", where)
            return 0, where
        return round(seconds * 1000), where

    def boolean(self, token: Token) -> bool:
        raw = self.param(token) if token.type == "PARAM" else str(token)
        if raw not in ("true", "false"):
            self.error(f"expected true or false, got {raw!r}", self.loc(token))
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
                raw = self.param(item)
                return _number_or_text(raw)
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

    # ------------------------------------------------------------------ header statements
    @v_args(meta=True, inline=True)
    def scenario_name(self, meta: Meta, name: Located[str]) -> tuple[str, Any]:
        return "scenario", (name[0], self.loc(meta))

    def description(self, text: Located[str]) -> tuple[str, Any]:
        return "description", text[0]

    def tag(self, item: Token | Located[str]) -> str:
        return item[0] if isinstance(item, tuple) else str(item)

    def tags(self, *tags: str) -> tuple[str, Any]:
        return "tags", list(tags)

    def dialect(self, name: Token) -> tuple[str, Any]:
        value = str(name)
        if value not in m.DIALECTS:
            self.error(
                f"unknown dialect '{value}'",
                self.loc(name),
                width=len(value),
                hint=did_you_mean(value, m.DIALECTS),
                expected=m.DIALECTS,
            )
            return "dialect", (None, self.loc(name))
        return "dialect", (_literal(value, m.DIALECTS), self.loc(name))

    def include(self, target: Located[str]) -> tuple[str, Any]:
        return "include", target

    def params(self, *rows: Any) -> tuple[str, Any]:
        return "params", None  # the table is read from the tree before building (see `param_rows`)

    def param_row(self, *cells: Any) -> None:
        return None

    # ------------------------------------------------------------------ client
    @v_args(meta=True, inline=True)
    def client(
        self, meta: Meta, command: tuple[tuple[str, ...], bool, str], block: list[Any] | None = None
    ) -> tuple[str, Any]:
        argv, is_array, raw = command
        settings = dict(block or [])
        env = tuple(settings.get("env", []))
        shell = settings.get("shell", False)
        if shell and is_array:
            self.error("'shell' runs one command string; give the command as a string, not a list", self.loc(meta))
        elif shell:
            argv = (raw,)  # the whole line, for /bin/sh -c
        if not argv or not any(a.strip() for a in argv):
            self.error("the client command is empty", self.loc(meta), hint='e.g. client "python client.py"')
        return "client", m.Client(
            argv=argv,
            shell=shell,
            cwd=settings.get("cwd"),
            env=env,
            timeout_s=settings.get("timeout"),
            read_timeout_s=settings.get("readTimeout"),
            location=self.loc(meta),
        )

    def command(self, item: Any) -> tuple[tuple[str, ...], bool, str]:
        import shlex

        if isinstance(item, tuple):
            text, where = item
            try:
                return tuple(shlex.split(text)), False, text
            except ValueError as err:
                self.error(
                    f"cannot split the command into words: {err}", where, hint="check the quotes inside the command"
                )
                return (text,), False, text
        if not all(isinstance(a, str) for a in item):
            self.error("a client command list holds strings only", None)
        return tuple(str(a) for a in item), True, ""

    def client_block(self, *items: tuple[str, Any]) -> list[tuple[str, Any]]:
        merged: dict[str, Any] = {"env": []}
        for key, value in items:
            if key == "env":
                merged["env"].append(value)
            else:
                merged[key] = value
        return list(merged.items())

    def client_cwd(self, path: Located[str]) -> tuple[str, Any]:
        return "cwd", path[0]

    def client_env(self, name: Token, value: Located[str]) -> tuple[str, Any]:
        return "env", (str(name), value[0])

    def client_timeout(self, value: Located[float]) -> tuple[str, Any]:
        if value[0] <= 0:
            self.error("the client timeout must be more than 0", value[1])
        return "timeout", value[0]

    def client_read_timeout(self, value: Located[float]) -> tuple[str, Any]:
        if value[0] <= 0:
            self.error("the client's readTimeout must be more than 0", value[1])
        return "readTimeout", value[0]

    def client_shell(self) -> tuple[str, Any]:
        return "shell", True

    # ------------------------------------------------------------------ match
    def endpoint_path(self, token: Token) -> str | None:
        return None if token.type == "ANY" else str(token)

    def http_endpoint(self, method: Token, path: str | None) -> Endpoint:
        return "http", str(method), path

    def ws_endpoint(self, path: str | None) -> Endpoint:
        return "websocket", None, path

    @v_args(meta=True, inline=True)
    def match(self, meta: Meta, endpoint: Endpoint, rules: list[tuple[str, Any]] | None = None) -> tuple[str, Any]:
        protocol, method, path = endpoint
        fields: dict[str, Any] = {"text": [], "headers": [], "json": []}
        for key, value in rules or []:
            if key in ("model", "attempt"):
                if fields.get(key) is not None:
                    self.error(f"'{key}' is given twice in one match", value[1])
                fields[key] = value
            else:
                fields[key].append(value)
        return "match", m.Match(
            protocol=protocol,
            method=method,
            path=path,
            model=fields["model"][0] if fields.get("model") else None,
            text=tuple(fields["text"]),
            headers=tuple(fields["headers"]),
            json=tuple(fields["json"]),
            attempt=fields["attempt"][0] if fields.get("attempt") else None,
            location=self.loc(meta),
        )

    def match_block(self, *rules: tuple[str, Any]) -> list[tuple[str, Any]]:
        return list(rules)

    def match_model(self, name: Located[str]) -> tuple[str, Any]:
        return "model", name

    def match_message(self, op: Token, value: Located[str]) -> tuple[str, Any]:
        if op.type == "MATCHES":
            self.check_regex(value)
        return "text", m.TextRule(_literal(op, _TEXT_OPS), value[0], location=value[1])

    def match_header(self, name: Located[str], op: Token, value: Any = None) -> tuple[str, Any]:
        if op not in _HEADER_OPS:
            self.error(f"a header is compared with ==, contains, matches or present, not '{op}'", self.loc(op))
        kind = _literal(op, _HEADER_OPS) if op in _HEADER_OPS else "=="
        if kind == "matches":
            self.check_regex(value)
        return "headers", m.HeaderRule(name[0], kind, value[0] if value else None, location=name[1])

    def match_json(self, path: Located[str], op: Token, value: Any = None) -> tuple[str, Any]:
        return "json", m.JsonRule(path[0], self.json_kind(op), value, location=path[1])

    def json_kind(self, op: Token) -> Literal["==", "!=", "contains", "matches", "present", "absent"]:
        if op not in _JSON_OPS:
            self.error(
                f"a JSON field is compared with ==, !=, contains, matches, present or absent, not '{op}'",
                self.loc(op),
            )
            return "=="
        return _literal(op, _JSON_OPS)

    def match_attempt(self, attempts: tuple[m.AttemptRange, m.Location]) -> tuple[str, Any]:
        return "attempt", attempts

    def attempt_one(self, n: Located[int]) -> tuple[m.AttemptRange, m.Location]:
        self.check_attempt(n)
        return m.AttemptRange(n[0], n[0]), n[1]

    def attempt_from(self, n: Located[int]) -> tuple[m.AttemptRange, m.Location]:
        self.check_attempt(n)
        return m.AttemptRange(n[0], None), n[1]

    def attempt_between(self, a: Located[int], b: Located[int]) -> Located[m.AttemptRange]:
        self.check_attempt(a)
        if b[0] < a[0]:
            self.error(f"the attempt range {a[0]}..{b[0]} is empty", a[1], hint=f"write {b[0]}..{a[0]}")
        return m.AttemptRange(a[0], max(a[0], b[0])), a[1]

    def check_attempt(self, n: Located[int]) -> None:
        if n[0] < 1:
            self.error("attempts count from 1", n[1])

    def check_regex(self, value: Located[str] | None) -> None:
        if value is None:
            return
        try:
            re.compile(value[0])
        except re.error as err:
            self.error(f"invalid regular expression: {err}", value[1])

    # ------------------------------------------------------------------ outcomes
    def response(self, text: Located[str]) -> tuple[str, Any]:
        return "response", text

    def finish_reason(self, value: Located[str]) -> tuple[str, Any]:
        return "finish_reason", value

    def streaming(self, *knobs: tuple[str, Any]) -> tuple[str, Any]:
        values: dict[str, Any] = {}
        for key, (value, where) in knobs:
            if key in values:
                self.error(f"'{_KNOB_WORDS[key]}' is given twice", where)
            values[key] = value
        return "streaming", m.Streaming(
            chunk_size=values.get("chunk_size", m.DEFAULT_CHUNK_SIZE),
            latency_ms=values.get("latency_ms", m.DEFAULT_LATENCY_MS),
            truncate_after_chunks=values.get("truncate_after_chunks"),
        )

    def chunk_size(self, n: Located[int]) -> tuple[str, Any]:
        if not 1 <= n[0] <= 1_000_000:
            self.error(f"chunkSize must be between 1 and 1000000 characters, got {n[0]}", n[1])
        return "chunk_size", n

    def latency_ms(self, n: Located[int]) -> tuple[str, Any]:
        if not 0 <= n[0] <= 600_000:
            self.error(f"latencyMs must be between 0 and 600000, got {n[0]}", n[1])
        return "latency_ms", n

    def truncate_after_chunks(self, n: Located[int]) -> tuple[str, Any]:
        if n[0] < 0:
            self.error("truncateAfterChunks cannot be negative", n[1])
        return "truncate_after_chunks", n

    def after_chunks_count(self, n: Located[int], _unit: Token) -> Located[int]:
        return n

    def after_chunks(self, n: Located[int]) -> tuple[str, Any]:
        return "after_chunks", n[0]

    def stall_for(self, d: Located[float]) -> tuple[str, Any]:
        return "duration", d[0]

    @v_args(meta=True, inline=True)
    def fault_disconnect(self, meta: Meta, point: tuple[Any, m.Location]) -> tuple[str, Any]:
        value, _where = point
        if isinstance(value, float):
            return "fault", m.Fault("disconnect", after_s=value, location=self.loc(meta))
        return "fault", m.Fault("disconnect", after_chunks=value, location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def fault_stall(self, meta: Meta, *parts: tuple[str, Any]) -> tuple[str, Any]:
        d = dict(parts)
        return "fault", m.Fault(
            "stall", after_chunks=d.get("after_chunks", 0), duration_s=d.get("duration"), location=self.loc(meta)
        )

    @v_args(meta=True, inline=True)
    def fault_malformed(self, meta: Meta, *parts: Any) -> tuple[str, Any]:
        after, data = 0, None
        for part in parts:
            if isinstance(part, tuple) and part[0] == "after_chunks":
                after = part[1]
            elif isinstance(part, tuple):
                data = part[0]
        return "fault", m.Fault("malformedChunk", after_chunks=after, data=data, location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def fault_slow_first_token(self, meta: Meta, d: Located[float]) -> tuple[str, Any]:
        return "fault", m.Fault("slowFirstToken", duration_s=d[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def fault_error_event(self, meta: Meta, *parts: Any) -> tuple[str, Any]:
        after, body = 0, {}
        for part in parts:
            if isinstance(part, tuple) and part[0] == "after_chunks":
                after = part[1]
            elif isinstance(part, dict):
                body = part
        if "headers" in body or "body" in body:
            self.error("an error event has a message, type, code and param only", self.loc(meta))
        return "fault", m.Fault(
            "errorEvent",
            after_chunks=after,
            message=body.get("message"),
            error_type=body.get("type"),
            code=body.get("code"),
            location=self.loc(meta),
        )

    @v_args(meta=True, inline=True)
    def error_response(self, meta: Meta, status: Located[int], block: dict[str, Any] | None = None) -> tuple[str, Any]:
        if not 400 <= status[0] <= 599:
            self.error(f"an error status is between 400 and 599, got {status[0]}", status[1])
        block = block or {}
        return "error", (
            m.ErrorOutcome(
                status=status[0],
                message=block.get("message"),
                error_type=block.get("type"),
                code=block.get("code"),
                param=block.get("param"),
                headers=tuple(block.get("headers", ())),
                body=block.get("body"),
            ),
            self.loc(meta),
        )

    def error_block(self, *items: tuple[str, Any]) -> dict[str, Any]:
        block: dict[str, Any] = {"headers": []}
        for key, value in items:
            if key == "headers":
                block["headers"].append(value)
            else:
                block[key] = value
        if not block["headers"]:
            del block["headers"]
        return block

    def error_message(self, v: Located[str]) -> tuple[str, Any]:
        return "message", v[0]

    def error_type(self, v: Located[str]) -> tuple[str, Any]:
        return "type", v[0]

    def error_code(self, v: Located[str]) -> tuple[str, Any]:
        return "code", v[0]

    def error_param(self, v: Located[str]) -> tuple[str, Any]:
        return "param", v[0]

    def error_header(self, name: Located[str], value: Located[str]) -> tuple[str, Any]:
        if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name[0]):
            self.error(f"{name[0]!r} is not a valid HTTP header name", name[1])
        if "\n" in value[0] or "\r" in value[0]:
            self.error("a header value cannot hold a line break", value[1])
        return "headers", (name[0], value[0])

    def error_body(self, value: Any) -> tuple[str, Any]:
        return "body", value

    def events(self, *events: m.WsEvent) -> tuple[str, Any]:
        return "events", events

    @v_args(meta=True, inline=True)
    def event(self, meta: Meta, kind: Located[str], data: Any, delay: float | None = None) -> m.WsEvent:
        if not kind[0]:
            self.error("an event type cannot be empty", kind[1])
        return m.WsEvent(kind[0], data, delay or 0.0, location=self.loc(meta))

    def event_delay(self, d: Located[float]) -> float:
        return d[0]

    @v_args(meta=True, inline=True)
    def close_after(self, meta: Meta, flag: bool = True) -> tuple[str, Any]:
        return "close_after", (flag, self.loc(meta))

    def close_code(self, code: Located[int]) -> tuple[str, Any]:
        value, where = code
        if not 1000 <= value <= 4999:
            self.error(f"a close code is between 1000 and 4999, got {value}", where)
        elif value in (1004, 1005, 1015) or 1016 <= value <= 2999:
            self.error(
                f"close code {value} is reserved and cannot be sent",
                where,
                hint="use 1000-1003, 1007-1014, 3000-4999, or 1006 for an abrupt drop",
            )
        return "close_code", code

    def disconnect_after_ms(self, ms: Located[int]) -> tuple[str, Any]:
        if ms[0] < 0:
            self.error("disconnectAfterMs cannot be negative", ms[1])
        return "disconnect_after_ms", ms

    @v_args(meta=True, inline=True)
    def fixture(self, meta: Meta, name: Located[str], *items: tuple[str, Any]) -> tuple[str, Any]:
        return "fixture", self.assemble_fixture(name, items, self.loc(meta))

    def assemble_fixture(self, name: Located[str], items: tuple[tuple[str, Any], ...], where: m.Location) -> m.Fixture:
        single: dict[str, Any] = {}
        faults: list[m.Fault] = []
        for key, value in items:
            if key == "fault":
                faults.append(value)
                continue
            if key in single:
                what = {
                    "match": "a match",
                    "response": "a response",
                    "error": "an error",
                    "events": "events",
                    "streaming": "a streaming block",
                }.get(key, f"'{key}'")
                self.error(f"fixture {name[0]!r} has {what} twice", _where(value) or where)
                continue
            single[key] = value
        match = single.get("match")
        if match is None:
            self.error(
                f"fixture {name[0]!r} has no match",
                where,
                hint="add e.g. `match POST /v1/chat/completions` (or `match POST *` for every endpoint)",
            )
            match = m.Match("http", "POST", None)
        outcomes = [k for k in ("response", "error", "events") if k in single]
        if len(outcomes) > 1:
            self.error(f"fixture {name[0]!r} has {' and '.join(outcomes)}: a fixture has one outcome", where)
        is_ws = match.protocol == "websocket"
        close = {k: single[k][0] for k in _CLOSE_KNOBS if k in single}
        if close and not is_ws:
            word = {"close_after": "closeAfter", "close_code": "closeCode", "disconnect_after_ms": "disconnectAfterMs"}[
                next(iter(close))
            ]
            first_knob = single[next(iter(close))]
            self.error(f"'{word}' applies to WebSocket fixtures; this one matches HTTP", _where(first_knob))
        ws = m.WsOutcome(
            close_after=close.get("close_after", False),
            close_code=close.get("close_code"),
            disconnect_after_ms=close.get("disconnect_after_ms"),
        )
        outcome: m.Outcome
        if "events" in single:
            if not is_ws:
                self.error(
                    "events are sent over WebSocket; this fixture matches HTTP",
                    where,
                    hint='use `match websocket /v1/chat`, or `response "..."` for HTTP',
                )
            for extra in ("streaming", "dialect", "finish_reason"):
                if extra in single:
                    self.error(
                        "streaming knobs, dialect and finishReason apply to a `response` text, not events",
                        _where(single[extra]) or where,
                    )
                    break
            if faults:
                self.error(
                    "faults apply to a streamed `response` text; for events use disconnectAfterMs / closeCode",
                    faults[0].location,
                )
            outcome = m.WsOutcome(
                events=tuple(single["events"]),
                close_after=ws.close_after,
                close_code=ws.close_code,
                disconnect_after_ms=ws.disconnect_after_ms,
            )
            return m.Fixture(name[0], match, outcome, ws=None, location=where)
        if "error" in single:
            err, err_where = single["error"]
            for extra in ("streaming", "finish_reason"):
                if extra in single:
                    self.error(
                        "an error fixture sends no text: drop the streaming block / finishReason",
                        _where(single[extra]) or err_where,
                    )
            if faults:
                self.error("faults apply to a streamed `response` text, not to an error", faults[0].location)
            return m.Fixture(name[0], match, err, ws=ws if is_ws and close else None, location=where)
        if "response" not in single:
            self.error(
                f"fixture {name[0]!r} has no outcome",
                where,
                hint='add `response "text"`, `error 429`, or `events { ... }` (WebSocket)',
            )
            text = ""
        else:
            text = single["response"][0]
        dialect = single["dialect"][0] if "dialect" in single else None
        streaming = single.get("streaming", m.Streaming())
        self.check_faults(faults)
        outcome = m.TextOutcome(
            text=text,
            streaming=streaming,
            faults=tuple(faults),
            dialect=dialect,
            finish_reason=single["finish_reason"][0] if "finish_reason" in single else "stop",
        )
        return m.Fixture(name[0], match, outcome, ws=ws if is_ws and close else None, location=where)

    def check_faults(self, faults: list[m.Fault]) -> None:
        seen: dict[str, m.Fault] = {}
        for fault in faults:
            if fault.kind in seen:
                self.error(f"fault {fault.kind} is given twice in one fixture", fault.location)
            seen[fault.kind] = fault
        ending = [f for f in faults if f.kind in catalogue.ENDING_FAULTS]
        if len(ending) > 1:
            self.error("a stream can end only once: choose disconnect or errorEvent", ending[1].location)

    # ------------------------------------------------------------------ expectations
    @v_args(meta=True, inline=True)
    def expect_exit(self, meta: Meta, code: Any) -> m.ExitExpect:
        if isinstance(code, Token):
            return m.ExitExpect("!=", 0, location=self.loc(meta))
        if not 0 <= code[0] <= 255:
            self.error(f"an exit status is between 0 and 255, got {code[0]}", code[1])
        return m.ExitExpect("==", code[0], location=self.loc(meta))

    @v_args(meta=True, inline=True)
    def expect_output(self, meta: Meta, stream: Token, *rest: Any) -> m.OutputExpect:
        negated = isinstance(rest[0], Token) and rest[0].type == "NOT"
        op, value = rest[-2], rest[-1]
        if op.type == "MATCHES":
            self.check_regex(value)
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
            index = rest.pop(0)
            if index[0] < 1:
                self.error("requests are counted from 1", index[1])
            index = index[0]
        (protocol, method, path), field_path, op = rest[0], rest[1], rest[2]
        value = rest[3] if len(rest) > 3 else None
        if protocol != "http":
            self.error("request fields are checked on HTTP requests; for WebSocket use `ws messages`", self.loc(meta))
        return m.RequestFieldExpect(
            method or "POST",
            path,
            index,
            field_path[0],
            self.json_kind(op),
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
        name = self.param(token) if token.type == "PARAM" else str(token)
        if name not in catalogue.FINDING_NAMES:
            self.error(
                f"unknown finding '{name}'",
                self.loc(token),
                width=len(token),
                hint=did_you_mean(name, catalogue.FINDING_NAMES) or "see docs/language.md#findings",
            )
        return name

    def expect(self, *expectations: m.Expectation) -> tuple[str, Any]:
        return "expect", list(expectations)

    def start(self, *statements: tuple[str, Any]) -> Parts:
        parts = Parts()
        for key, value in statements:
            if key == "scenario":
                if parts.name is not None:
                    self.error("a file names one scenario; this is a second `scenario` line", value[1])
                parts.name, parts.name_loc = value
            elif key == "description":
                parts.description = value
            elif key == "tags":
                parts.tags.extend(value)
            elif key == "dialect":
                parts.dialect, parts.dialect_loc = value
            elif key == "include":
                parts.includes.append(value)
                parts.sequence.append(value)
            elif key == "params":
                parts.has_params = True
            elif key == "client":
                parts.clients.append(value)
            elif key == "fixture":
                parts.fixtures.append(value)
                parts.sequence.append(value)
            elif key == "expect":
                parts.expectations.extend(value)
                parts.expect_blocks += 1
        if len(parts.clients) > 1:
            self.error("a scenario runs one client; this is a second `client`", parts.clients[1].location)
        return parts


_KNOB_WORDS = {"chunk_size": "chunkSize", "latency_ms": "latencyMs", "truncate_after_chunks": "truncateAfterChunks"}


def _where(value: Any) -> m.Location | None:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], m.Location):
        return value[1]
    return getattr(value, "location", None)


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
    return parts, builder.errors


@dataclass
class ParamTable:
    names: list[str]
    rows: list[dict[str, str]]
    location: m.Location | None


def param_table(tree: Tree[Token], text: str, path: str) -> tuple[ParamTable | None, list[DslError]]:
    """Read the `params` table straight from the tree: header row of names, then rows of values."""
    errors: list[DslError] = []
    tables = [t for t in tree.children if isinstance(t, Tree) and t.data == "params"]
    if not tables:
        return None, errors
    for extra in tables[1:]:
        errors.append(
            DslError.at(
                "a file has one params table; merge the rows into the first",
                text,
                path,
                extra.meta.line,
                extra.meta.column,
            )
        )
    table = tables[0]
    rows = [r for r in table.children if isinstance(r, Tree) and r.data == "param_row"]
    header = rows[0]
    names: list[str] = []
    for cell in header.children:
        token = cell if isinstance(cell, Token) else None
        if token is None or token.type != "NAME":
            where = cell.meta if isinstance(cell, Tree) else cell
            errors.append(
                DslError.at(
                    "the first row of params names the columns: write plain names",
                    text,
                    path,
                    where.line or 1,
                    where.column or 1,
                    hint="e.g. | client | cut |",
                )
            )
            continue
        if str(token) in names:
            errors.append(
                DslError.at(
                    f"column '{token}' is named twice", text, path, token.line or 1, token.column or 1, width=len(token)
                )
            )
        names.append(str(token))
    values: list[dict[str, str]] = []
    if len(rows) == 1:
        errors.append(
            DslError.at("the params table has no rows under its header", text, path, table.meta.line, table.meta.column)
        )
    for row in rows[1:]:
        cells = [_cell_text(c) for c in row.children]
        if len(cells) != len(names):
            plural = "" if len(cells) == 1 else "s"
            errors.append(
                DslError.at(
                    f"this row has {len(cells)} value{plural} for {len(names)} columns",
                    text,
                    path,
                    row.meta.line,
                    row.meta.column,
                )
            )
            continue
        values.append(dict(zip(names, cells, strict=True)))
    return ParamTable(names, values, m.Location(path, table.meta.line, table.meta.column)), errors


def _cell_text(cell: Token | Tree[Token]) -> str:
    if isinstance(cell, Tree):  # string or number
        token = cell.children[0]
        if cell.data == "string":
            return decode_string(str(token))
        return str(token)
    return str(cell)
