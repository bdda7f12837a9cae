"""Semantic checks of one file, run while it is built: a value read fine but not allowed (a range, a reserved
close code, a regex that does not compile), what one fixture may hold together, what a file declares once.

Where a new check goes: here when it needs one statement or one fixture (with the location of the word at
fault); `dsl/validate.py` when it needs the whole scenario (names, reachability, endpoints, expectations against
each other). `dsl/build.py` only reports what it cannot read (an unknown parameter, a bad number or duration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lark import Token

from dotmock.dsl import catalogue, user_regex
from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError, did_you_mean

Located = tuple[Any, m.Location]
Placed = tuple[Any, m.Location | None]

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OUTCOMES = ("response", "cadence", "structured", "refusal", "error", "events")
_WHAT_TWICE = {
    "match": "a match",
    "response": "a response",
    "error": "an error",
    "events": "events",
    "streaming": "a streaming block",
}
CLOSE_KNOBS = {"close_after": "closeAfter", "close_code": "closeCode", "disconnect_after_ms": "disconnectAfterMs"}
KNOB_WORDS = {
    "chunk_size": "chunkSize",
    "latency_ms": "latencyMs",
    "truncate_after_chunks": "truncateAfterChunks",
    "jitter_ms": "jitterMs",
}


@dataclass
class Checks:
    """The mistakes of one file for one parameter row, collected rather than raised."""

    text: str
    path: str
    errors: list[DslError] = field(default_factory=list)

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

    # ------------------------------------------------------------------ single values
    def in_range(self, value: Located, low: int, high: int, message: str) -> None:
        if not low <= value[0] <= high:
            self.error(message.format(value=value[0]), value[1])

    def not_negative(self, value: Located, word: str) -> None:
        if value[0] < 0:
            self.error(f"{word} cannot be negative", value[1])

    def regex(self, value: Located | None) -> None:
        if value is None:
            return
        found = user_regex.problem(str(value[0]))
        if found is not None:
            self.error(found[0], value[1], hint=found[1])

    def attempt(self, n: Located) -> None:
        if n[0] < 1:
            self.error("attempts count from 1", n[1])

    def attempt_range(self, a: Located, b: Located) -> None:
        self.attempt(a)
        if b[0] < a[0]:
            self.error(f"the attempt range {a[0]}..{b[0]} is empty", a[1], hint=f"write {b[0]}..{a[0]}")

    def dialect(self, name: Token) -> bool:
        value = str(name)
        if value in m.DIALECTS:
            return True
        self.error(
            f"unknown dialect '{value}'",
            _at(name, self.path),
            width=len(value),
            hint=did_you_mean(value, m.DIALECTS),
            expected=m.DIALECTS,
        )
        return False

    def finding_name(self, name: str, token: Token) -> None:
        if name not in catalogue.FINDING_NAMES:
            self.error(
                f"unknown finding '{name}'",
                _at(token, self.path),
                width=len(token),
                hint=did_you_mean(name, catalogue.FINDING_NAMES) or "see docs/language.md#findings",
            )

    def header(self, name: Located, value: Located) -> None:
        if not _HEADER_NAME.fullmatch(name[0]):
            self.error(f"{name[0]!r} is not a valid HTTP header name", name[1])
        if "\n" in value[0] or "\r" in value[0]:
            self.error("a header value cannot hold a line break", value[1])

    def close_code(self, code: Located) -> None:
        value, where = code
        if not 1000 <= value <= 4999:
            self.error(f"a close code is between 1000 and 4999, got {value}", where)
        elif value in (1004, 1005, 1015) or 1016 <= value <= 2999:
            self.error(
                f"close code {value} is reserved and cannot be sent",
                where,
                hint="use 1000-1003, 1007-1014, 3000-4999, or 1006 for an abrupt drop",
            )

    def positive_timeout(self, value: Located, whose: str) -> None:
        if value[0] <= 0:
            self.error(f"{whose} must be more than 0", value[1])

    def event_type(self, kind: Located) -> None:
        if not kind[0]:
            self.error("an event type cannot be empty", kind[1])

    def error_event(self, body: dict[str, Any], where: m.Location) -> None:
        if "headers" in body or "body" in body:
            self.error("an error event has a message, type, code and param only", where)

    def request_index(self, index: Located) -> None:
        if index[0] < 1:
            self.error("requests are counted from 1", index[1])

    def request_field_protocol(self, protocol: str, where: m.Location) -> None:
        if protocol != "http":
            self.error("request fields are checked on HTTP requests; for WebSocket use `ws messages`", where)

    def twice(self, word: str, where: m.Location | None, within: str = "") -> None:
        self.error(f"'{word}' is given twice{within}", where)

    # ------------------------------------------------------------------ one statement
    def client(self, argv: tuple[str, ...], shell: bool, is_array: bool, where: m.Location) -> None:
        if shell and is_array:
            self.error("'shell' runs one command string; give the command as a string, not a list", where)
        if not argv or not any(a.strip() for a in argv):
            self.error("the client command is empty", where, hint='e.g. client "python client.py"')

    def streaming_knob(self, key: str, value: Located) -> None:
        if key == "chunk_size":
            self.in_range(value, 1, 1_000_000, "chunkSize must be between 1 and 1000000 characters, got {value}")
        elif key == "latency_ms":
            self.in_range(value, 0, 600_000, "latencyMs must be between 0 and 600000, got {value}")
        elif key == "jitter_ms":
            self.in_range(value, 0, m.MAX_JITTER_MS, f"jitterMs must be between 0 and {m.MAX_JITTER_MS}, got {{value}}")
        else:
            self.not_negative(value, KNOB_WORDS[key])

    def faults(self, faults: list[m.Fault]) -> None:
        seen: set[str] = set()
        for fault in faults:
            if fault.kind in seen:
                self.error(f"fault {fault.kind} is given twice in one fixture", fault.location)
            seen.add(fault.kind)
        ending = [f for f in faults if f.kind in catalogue.ENDING_FAULTS]
        if len(ending) > 1:
            self.error("a stream can end only once: choose disconnect or errorEvent", ending[1].location)

    def fixture(
        self,
        name: str,
        single: dict[str, Placed],
        faults: list[m.Fault],
        is_ws: bool,
        where: m.Location,
        *,
        answers_with_calls: bool = False,
    ) -> None:
        """What a fixture may hold together. `single` maps each item given once to (value, where it was written;
        None for a block, which is pointed at through its fixture or its error). The agent items are checked
        by `dsl/agent_checks.py`; `answers_with_calls` says the fixture has `toolCall` lines (an outcome)."""
        if "match" not in single:
            self.error(
                f"fixture {name!r} has no match",
                where,
                hint="add e.g. `match POST /v1/chat/completions` (or `match POST *` for every endpoint)",
            )
        outcomes = [k for k in _OUTCOMES if k in single]
        if outcomes == ["cadence", "refusal"]:  # the cadence gives the refusal's chunks (dsl/build.py)
            outcomes = ["refusal"]
        if len(outcomes) > 1:
            self.error(f"fixture {name!r} has {' and '.join(outcomes)}: a fixture has one outcome", where)
        close = [k for k in CLOSE_KNOBS if k in single]
        if close and not is_ws:
            self.error(
                f"'{CLOSE_KNOBS[close[0]]}' applies to WebSocket fixtures; this one matches HTTP", single[close[0]][1]
            )
        if "events" in single:
            if not is_ws:
                self.error(
                    "events are sent over WebSocket; this fixture matches HTTP",
                    where,
                    hint='use `match websocket /v1/chat`, or `response "..."` for HTTP',
                )
            text_only = ("streaming", "cadence", "dialect", "finish_reason", "schema", "reasoning", "latency")
            extra = next((k for k in text_only if k in single), None)
            if extra:
                self.error(
                    "streaming knobs, cadence, dialect, finishReason, schema, reasoning and latency apply to a "
                    "`response` text, not events (give the first event its `after` wait)",
                    single[extra][1] or where,
                )
            if faults:
                self.error(
                    "faults apply to a streamed `response` text; for events use disconnectAfterMs / closeCode",
                    faults[0].location,
                )
        elif "error" in single:
            for extra in ("streaming", "cadence", "finish_reason", "schema", "reasoning"):
                if extra in single:
                    self.error(
                        "an error fixture sends no text: drop the streaming block / cadence / finishReason / schema "
                        "/ reasoning (`latency D` applies: the wait before its status)",
                        single[extra][1] or single["error"][1],
                    )
            if faults:
                self.error("faults apply to a streamed `response` text, not to an error", faults[0].location)
        else:
            streaming = single.get("streaming", (m.Streaming(), None))[0]
            paced = (streaming.chunk_size, streaming.latency_ms) != (m.DEFAULT_CHUNK_SIZE, m.DEFAULT_LATENCY_MS)
            if "cadence" in single and paced:
                self.error(
                    "a cadence gives the chunk boundaries and gaps: chunkSize / latencyMs cannot be used with it",
                    single["cadence"][1],
                    hint="drop chunkSize / latencyMs (truncateAfterChunks, jitterMs, faults still apply to its chunks)",
                )
            if not answers_with_calls and not {"response", "cadence", "structured", "refusal"} & single.keys():
                self.error(
                    f"fixture {name!r} has no outcome",
                    where,
                    hint='add `response "text"`, `toolCall "name" {...}`, `error 429`, or `events { ... }` (WebSocket)',
                )
            self.faults(faults)
            match = single["match"][0] if "match" in single else None
            self.fault_forms(match, faults, streaming, where)

    def answer_headers(
        self, headers: list[tuple[tuple[str, str], m.Location]], single: dict[str, Placed], is_ws: bool
    ) -> None:
        """`header NAME VALUE` in a fixture: response headers of an HTTP text answer."""
        if not headers:
            return
        at = headers[0][1]
        if is_ws:
            self.error("a WebSocket answer has no response headers; `header` applies to HTTP fixtures", at)
        elif "error" in single:
            self.error('an error fixture\'s headers go in its block: error 429 { header "Retry-After" "2" }', at)
        elif "events" in single:
            self.error("events are sent over WebSocket, which has no response headers", at)

    def fault_forms(
        self, match: m.Match | None, faults: list[m.Fault], streaming: m.Streaming, where: m.Location
    ) -> None:
        """A fault (or truncateAfterChunks) that can take effect on none of the forms the fixture answers in
        (`answer_forms`) is an error, rather than a line ignored at run time. The forms each fault kind acts on
        are the catalogue's `FaultKind.applies`."""
        forms = answer_forms(match)
        if not forms:  # the match contradicts itself: it answers nothing
            return
        marks: list[tuple[str, str, m.Location]] = [(f.kind, f.kind, f.location or where) for f in faults]
        if streaming.truncate_after_chunks is not None:
            marks.append(("truncate", "truncateAfterChunks", where))
        for kind_name, word, at in marks:
            kind = catalogue.FAULTS.get(kind_name)
            if kind is None or kind.applies & forms:
                continue
            self.error(
                f"{word} cannot take effect here: it acts on {_forms_words(kind.applies)}, and this fixture "
                f"answers only {_forms_words(forms)}",
                at,
                hint='drop it, or let the fixture answer streams too (remove the `json "stream"` rule)',
            )

    def twice_in_fixture(self, name: str, key: str, where: m.Location) -> None:
        what = _WHAT_TWICE.get(key, f"'{key}'")
        self.error(f"fixture {name!r} has {what} twice", where)

    def file(self, scenarios: list[m.Location], clients: list[m.Client]) -> None:
        """What a file declares once: its scenario name and its client."""
        for where in scenarios[1:]:
            self.error("a file names one scenario; this is a second `scenario` line", where)
        if len(clients) > 1:
            self.error("a scenario runs one client; this is a second `client`", clients[1].location)


def _at(token: Token, path: str) -> m.Location:
    return m.Location(path, token.line or 1, token.column or 1)


_FORM_WORDS = {"stream": "SSE streams", "websocket": "WebSocket streams", "json": "`stream: false` JSON answers"}


def _forms_words(forms: frozenset[str] | set[str]) -> str:
    return " and ".join(_FORM_WORDS[f] for f in ("stream", "websocket", "json") if f in forms)


def answer_forms(match: m.Match | None) -> frozenset[str]:
    """The forms a text fixture can answer in: a WebSocket fixture streams over WebSocket; an HTTP one answers a
    `stream: true` request with SSE and any other with one JSON body, unless its match pins one of them
    (`json "stream" == true`; `== false`, `!= true` or `absent`)."""
    if match is not None and match.protocol == "websocket":
        return frozenset({"websocket"})
    forms = {"stream", "json"}
    for rule in match.json if match is not None else ():
        if rule.path != "stream":
            continue
        if rule.kind == "==" and rule.value is True:
            forms &= {"stream"}
        elif (rule.kind, rule.value) in (("==", False), ("!=", True)) or rule.kind == "absent":
            forms &= {"json"}
    return frozenset(forms)
