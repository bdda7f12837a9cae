"""The scenario model: what a `.mock` file means, as frozen dataclasses.

This module is the contract between the language (`dotmock.dsl`), the server (`dotmock.server`) and the
runner (`dotmock.runner`). Everything here is immutable and pure data. Times are in seconds (float) unless a
field name says otherwise; the seed's knobs keep their names and units (`latency_ms` is milliseconds).

Source locations (`Location`) are carried for error messages and reports but never take part in equality,
so `parse(fmt(text)) == parse(text)` holds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from dotmock.dsl.catalogue import FaultName

JsonValue: TypeAlias = Any  # a value json.loads can return

# Defaults from the seed ("Chunk Size ... Default: 20", "Latency ... Default: 0").
DEFAULT_CHUNK_SIZE = 20
DEFAULT_LATENCY_MS = 0
DEFAULT_JITTER_MS = 0  # ours, not the seed's: no jitter unless asked
MAX_JITTER_MS = 60_000
DEFAULT_CLIENT_TIMEOUT_S = 60.0
# The longest silence a client may sit through on an open stream before it should have hung up (its read
# timeout); a longer one is `no_read_timeout`. A scenario sets its own with `readTimeout` in `client { }`.
DEFAULT_READ_TIMEOUT_S = 5.0
# An agent that runs the same tool call with the same arguments this many times is looping (`tool_loop`);
# a scenario sets its own with `loopLimit` in `client { }`.
DEFAULT_LOOP_LIMIT = 5

# Responses API SSE dialects: "openai" is what the official SDKs parse (response.output_text.delta, ...);
# "seed" is the original description's literal seven-event sequence (response.text.delta, ...).
Dialect = Literal["openai", "seed"]
DIALECTS: tuple[Dialect, ...] = ("openai", "seed")

CompareOp = Literal["==", "!=", ">=", "<=", ">", "<"]


def compare(observed: float, op: CompareOp, expected: float) -> bool:
    """Apply a comparison operator from the language."""
    if op == "==":
        return math.isclose(observed, expected) if isinstance(observed, float) else observed == expected
    if op == "!=":
        return observed != expected
    if op == ">=":
        return observed >= expected
    if op == "<=":
        return observed <= expected
    if op == ">":
        return observed > expected
    return observed < expected


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: file path, 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


def _loc() -> Any:
    return field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class AttemptRange:
    """Which attempt of a logical call a fixture answers: `1`, `2..` (last=None), `3..5` (inclusive).

    The attempt number of a request is 1 + the number of earlier requests to the same endpoint with the
    same JSON body (for WebSocket: the same message data on the same path, across connections), so a
    retry of the same call is attempt 2, while a new conversation turn starts again at 1.
    """

    first: int
    last: int | None = None  # None: open-ended

    def contains(self, attempt: int) -> bool:
        return attempt >= self.first and (self.last is None or attempt <= self.last)

    def overlaps(self, other: AttemptRange) -> bool:
        lo = max(self.first, other.first)
        his = [h for h in (self.last, other.last) if h is not None]
        return not his or lo <= min(his)

    def __str__(self) -> str:
        if self.last is None:
            return f"{self.first}.."
        if self.last == self.first:
            return str(self.first)
        return f"{self.first}..{self.last}"


@dataclass(frozen=True, slots=True)
class TextRule:
    """`message contains "x"` / `message matches "re"`: the last user message's text."""

    kind: Literal["contains", "matches"]
    value: str
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """`header "X-Tenant" == "acme"` / `contains` / `matches` / `present`."""

    name: str  # compared case-insensitively
    kind: Literal["==", "contains", "matches", "present"]
    value: str | None = None
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class JsonRule:
    """`json "stream_options.include_usage" == true`: a field of the request body by dotted path
    (integers index arrays: `messages.0.role`). `kind` "present"/"absent" ignore `value`."""

    path: str
    kind: Literal["==", "!=", "contains", "matches", "present", "absent"]
    value: JsonValue = None
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class ToolResultRule:
    """`toolResult "get_weather" id "call_1" contains "21"`: the request carries a tool result for a call to
    that tool (`name` None: any tool, written `*`), with that call id and content, if given."""

    name: str | None
    call_id: str | None = None
    kind: Literal["contains", "matches"] | None = None
    value: str | None = None
    location: Location | None = _loc()

    def same_as(self, other: ToolResultRule) -> bool:
        return (self.name, self.call_id, self.kind, self.value) == (other.name, other.call_id, other.kind, other.value)


@dataclass(frozen=True, slots=True)
class Match:
    """What requests a fixture answers.

    `protocol` "http": `method` is the HTTP method (upper case), `path` the URL path or None for every HTTP
    endpoint (`match POST *`). `protocol` "websocket": `method` is None and `path` is the WebSocket path or
    None for every WebSocket endpoint (`match websocket *`). Every rule present must hold.
    """

    protocol: Literal["http", "websocket"]
    method: str | None
    path: str | None
    model: str | None = None
    text: tuple[TextRule, ...] = ()
    headers: tuple[HeaderRule, ...] = ()
    json: tuple[JsonRule, ...] = ()
    attempt: AttemptRange | None = None
    # Conversation-aware rules (an agent run): `turn 2..`, `lastRole "tool"`, `toolResult "name" ...`.
    turn: AttemptRange | None = None
    last_role: str | None = None
    tool_results: tuple[ToolResultRule, ...] = ()
    location: Location | None = _loc()

    @property
    def is_catch_all(self) -> bool:
        """True when nothing but method/path constrains the match."""
        return (
            self.model is None
            and not self.text
            and not self.headers
            and not self.json
            and self.attempt is None
            and self.turn is None
            and self.last_role is None
            and not self.tool_results
        )

    def same_criteria_except_attempt(self, other: Match) -> bool:
        return (
            self.protocol == other.protocol
            and self.method == other.method
            and self.path == other.path
            and self.model == other.model
            and self.text == other.text
            and self.headers == other.headers
            and self.json == other.json
            and self.turn == other.turn
            and self.last_role == other.last_role
            and self.tool_results == other.tool_results
        )


# ---------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Chunk:
    """One content chunk of a recorded stream (`chunks { "Hel" after 312ms }`): its text, sent `gap_s` seconds
    after the chunk before it (the first chunk: after the stream opened)."""

    text: str
    gap_s: float = 0.0
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class Streaming:
    """The seed's streaming knobs. `truncate_after_chunks`: stop after N content chunks, no terminator.

    `chunks`, when given (a `chunks { }` fixture, as `dotmock record` writes them), are the stream's content
    chunks and their gaps, instead of `chunk_size` / `latency_ms`; `end_gap_s` is the wait between the last
    chunk and the terminator.

    `jitter_ms`: each wait of the answer (before each chunk and the terminator) is moved by a uniform amount in
    [-jitter_ms, +jitter_ms] ms (never below 0), drawn from the run's seed (`server.jitter`): the same seed
    gives the same waits."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    latency_ms: int = DEFAULT_LATENCY_MS
    truncate_after_chunks: int | None = None
    chunks: tuple[Chunk, ...] = ()
    end_gap_s: float = 0.0
    jitter_ms: int = DEFAULT_JITTER_MS


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault applied to a streamed (SSE or WebSocket-streamed) text response.

    - disconnect: drop the TCP connection (no terminator, no close frame) after `after_chunks` content
      chunks or `after_s` seconds from the start of the stream.
    - stall: after `after_chunks` content chunks stop sending but keep the connection open, for
      `duration_s` seconds (None: until the client gives up), then carry on.
    - malformedChunk: after `after_chunks` content chunks send one event whose data is not JSON
      (`data` if given, else a JSON object cut in half), then carry on.
    - slowFirstToken: wait `duration_s` seconds before the first content chunk (headers and the role chunk
      go out at once, so the client sees a connection that is open but silent).
    - errorEvent: after `after_chunks` content chunks send an error event in the provider's shape
      (`message`, `error_type`, `code`) and end the stream.
    - schemaViolation: a structured answer is sent broken against the request's JSON Schema (or the
      fixture's `schema`): `violation` "missing" drops a required property, "wrongType" gives one a value of
      another type (None: the first of the two that breaks it); `data` names the property (None: the first
      that can be broken). It changes the answer, not its delivery (server/schema_violation.py).
    """

    kind: FaultName
    after_chunks: int | None = None
    after_s: float | None = None
    duration_s: float | None = None
    data: str | None = None
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    violation: str | None = None
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool (function) call the model answers with: `toolCall "name" id "call_1" {...}`.

    `arguments` is the JSON object of the call; `raw`, when given, is the arguments' text sent verbatim (so a
    test can send invalid JSON on purpose) and `arguments` is then None. `id` None: the server makes one up
    per answer (`call_...` / `toolu_...`)."""

    name: str
    arguments: JsonValue = None
    raw: str | None = None
    id: str | None = None
    location: Location | None = _loc()

    def arguments_text(self) -> str:
        """The arguments as the wire carries them (Chat Completions / Responses send a JSON string)."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.arguments if self.arguments is not None else {}, ensure_ascii=False)

    @property
    def valid_json(self) -> bool:
        """True when the arguments' text is a JSON object (always, unless `raw` says otherwise)."""
        if self.raw is None:
            return True
        try:
            return isinstance(json.loads(self.raw), dict)
        except ValueError:
            return False


@dataclass(frozen=True, slots=True)
class TextOutcome:
    """Answer as the model does: assistant text, tool calls (after the text, in order), a structured JSON
    answer, or a refusal. One JSON body, or streamed when the request asks for `stream: true` (and as events
    over WebSocket).

    - `text`: the assistant text ("" when the answer is only tool calls); for a structured answer, the JSON
      text of it (`structured` True), which `schema` (when given) describes.
    - `tool_calls`: the calls, in order; several are parallel calls of one answer.
    - `refusal`: the model declines; sent in each API's refusal form (`refusal` field, refusal content part,
      `stop_reason: "refusal"`), `text` is then "".
    - `reasoning`: a reasoning summary / thinking text sent before the answer where the API has one.
    - `finish_reason` is "tool_calls" for an answer with tool calls unless the fixture says otherwise.
    """

    text: str
    streaming: Streaming = Streaming()
    faults: tuple[Fault, ...] = ()
    dialect: Dialect | None = None  # None: the scenario's dialect
    finish_reason: str = "stop"
    tool_calls: tuple[ToolCall, ...] = ()
    structured: bool = False
    schema: JsonValue = None
    refusal: str | None = None
    reasoning: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers (`header "x-ratelimit-..." "..."`)
    # `latency 57ms`: the wait before the answer: a JSON answer's status, headers and body all come after it
    # (a provider answers once the whole text is made), a stream's first content chunk comes that much later.
    latency_s: float = 0.0

    @property
    def is_plain_text(self) -> bool:
        """Only text: what every API has always served."""
        return not self.tool_calls and self.refusal is None and self.reasoning is None


@dataclass(frozen=True, slots=True)
class ErrorOutcome:
    """Answer with an HTTP error: `status`, OpenAI-style body `{"error": {message, type, param, code}}`
    unless `body` gives the whole body verbatim, and extra response `headers` (e.g. Retry-After)."""

    status: int
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: JsonValue = None
    # `latency 480ms`: the wait before the status (nothing, not even the headers, before it): a provider's slow
    # 429 / 500, so a client's timeout and retry timing meet it as they would the real one.
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True)
class WsEvent:
    """One WebSocket event of a fixture's sequence, sent as `{"type": type, "data": data}` after waiting
    `delay_s` seconds (measured from the previous event)."""

    type: str
    data: JsonValue = None
    delay_s: float = 0.0
    location: Location | None = _loc()
    binary: bytes | None = None  # `binary "base64"`: a binary frame of these bytes instead (type "", no data)


@dataclass(frozen=True, slots=True)
class WsOutcome:
    """Answer a WebSocket message with an event sequence.

    `close_after`: close the connection once every event is sent, with `close_code` (default 1000).
    `close_code` 1006 cannot be sent on the wire: it means drop the connection without a close frame.
    `disconnect_after_ms`: drop the TCP connection that many ms after the connection opened, no close frame,
    mid-sequence if need be.
    """

    events: tuple[WsEvent, ...] = ()
    close_after: bool = False
    close_code: int | None = None
    disconnect_after_ms: int | None = None


Outcome: TypeAlias = TextOutcome | ErrorOutcome | WsOutcome


@dataclass(frozen=True, slots=True)
class Fixture:
    """A named match and the one outcome it answers with. A WebSocket fixture may also carry a text outcome
    (streamed as events) together with the WebSocket close knobs: then `outcome` is the TextOutcome and
    `ws` holds closeAfter / closeCode / disconnectAfterMs."""

    name: str
    match: Match
    outcome: Outcome
    ws: WsOutcome | None = None
    location: Location | None = _loc()


# ---------------------------------------------------------------------------------------------- client


@dataclass(frozen=True, slots=True)
class Client:
    """The program under test. `argv` is run without a shell unless `shell` (then argv is one string run by
    /bin/sh -c). `cwd` is relative to the scenario file's folder (None: that folder)."""

    argv: tuple[str, ...]
    shell: bool = False
    cwd: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    timeout_s: float | None = None  # None: the runner's --timeout
    read_timeout_s: float | None = None  # the silence budget; None: DEFAULT_READ_TIMEOUT_S
    loop_limit: int | None = None  # the same tool call run this many times is a loop; None: DEFAULT_LOOP_LIMIT
    location: Location | None = _loc()


# ---------------------------------------------------------------------------------------------- expectations


@dataclass(frozen=True, slots=True)
class ExitExpect:
    """`client exits 0` (op ==), `client exits nonzero` (op !=, code 0)."""

    op: CompareOp
    code: int
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class OutputExpect:
    """`client stdout contains "x"`, `client stderr matches "re"`, with `not` before the verb."""

    stream: Literal["stdout", "stderr"]
    kind: Literal["contains", "matches"]
    value: str
    negated: bool = False
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class DurationExpect:
    """`client finishes within 5s`."""

    within_s: float
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class RequestCountExpect:
    """`requests POST /v1/chat/completions == 2`; `requests websocket /v1/chat >= 2` counts connections;
    a None path counts every endpoint of that protocol."""

    protocol: Literal["http", "websocket"]
    method: str | None
    path: str | None
    op: CompareOp
    count: int
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class RequestFieldExpect:
    """`request 1 POST /v1/chat/completions json "stream" == true`: a JSON field of the n-th (1-based) request
    to that endpoint; `index` None means every request to it. `kind` present/absent ignore `value`."""

    method: str
    path: str | None
    index: int | None
    field_path: str
    kind: Literal["==", "!=", "contains", "matches", "present", "absent"]
    value: JsonValue = None
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class WaitExpect:
    """`wait between attempts >= 1s` or `>= retry-after` (`seconds` None: the Retry-After the server sent
    with the failed attempt). Checked for every retry gap (end of a failed attempt to start of the next)."""

    op: CompareOp
    seconds: float | None
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class WsExpect:
    """WebSocket behaviour: `ws messages /v1/chat >= 2` (messages the client sent), `ws reconnects >= 1`
    (connections after the first), `ws close code == 1000` (the code the client closed with)."""

    what: Literal["messages", "reconnects", "close_code"]
    path: str | None
    op: CompareOp
    value: int
    location: Location | None = _loc()


@dataclass(frozen=True, slots=True)
class FindingsExpect:
    """`no findings` (kind "none"), `finding X` (kind "present": a documented known weakness),
    `no finding X` (kind "absent")."""

    kind: Literal["none", "present", "absent"]
    name: str | None = None
    location: Location | None = _loc()


Expectation: TypeAlias = (
    ExitExpect
    | OutputExpect
    | DurationExpect
    | RequestCountExpect
    | RequestFieldExpect
    | WaitExpect
    | WsExpect
    | FindingsExpect
)


# ---------------------------------------------------------------------------------------------- scenario


@dataclass(frozen=True, slots=True)
class Scenario:
    """One runnable case: a scenario file, or one row of its parameter table, fully resolved.

    `name` is the scenario's name; for a parameterised file it ends with the row, e.g.
    `retry works [client=naive, cut=3]`. `params` holds that row. `path` is the `.mock` file,
    `base_dir` its folder (the client's default working directory)."""

    name: str
    path: str
    base_dir: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    dialect: Dialect = "openai"
    client: Client | None = None
    fixtures: tuple[Fixture, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    location: Location | None = _loc()

    @property
    def case_id(self) -> str:
        """Stable identity of the case across runs and shards: file path + name."""
        return f"{self.path}::{self.name}"

    def fixtures_for(self, protocol: Literal["http", "websocket"]) -> tuple[Fixture, ...]:
        return tuple(f for f in self.fixtures if f.match.protocol == protocol)


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    """A parsed `.mock` file: one case, or one per parameter row."""

    path: str
    cases: tuple[Scenario, ...]
