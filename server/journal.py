"""The journal: every HTTP exchange and WebSocket connection the server saw, with monotonic timestamps.

The runner judges a client from this (attempts, faults applied, timing) together with the client's own
outcome. Timestamps are `time.monotonic()` seconds, the same clock the runner uses for the client process,
so gaps can be compared directly. `to_json()` reports them relative to the journal's start (`t0`).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar, overload

from dotmock.server.redact import Secrets
from dotmock.server.response_chain import ResponseChains


@dataclass(slots=True)
class Tick:
    """Something that happened inside an exchange, for timelines: a chunk/frame sent, a fault, a stall."""

    t: float
    what: str  # "chunk", "event", "fault:<kind>", "terminator", "headers", "frame_in", "frame_out", ...
    detail: str | None = None


class Ticks(Sequence[Tick]):
    """An exchange's ticks, read as a sequence of `Tick`. Stored compactly: a stream records one tick per
    content chunk, and a `Tick` object each (with its float) would be most of a busy server's memory. The
    times go into one array; only the ticks other than a plain "chunk" keep their name and detail."""

    __slots__ = ("_marks", "_times")

    def __init__(self, ticks: Iterable[Tick] = ()) -> None:
        self._times = array("d")
        self._marks: dict[int, tuple[str, str | None]] | None = None
        self.extend(ticks)

    def add(self, t: float, what: str = "chunk", detail: str | None = None) -> None:
        if what != "chunk" or detail is not None:
            if self._marks is None:
                self._marks = {}
            self._marks[len(self._times)] = (what, detail)
        self._times.append(t)

    def append(self, tick: Tick) -> None:
        self.add(tick.t, tick.what, tick.detail)

    def extend(self, ticks: Iterable[Tick]) -> None:
        for tick in ticks:
            self.add(tick.t, tick.what, tick.detail)

    def __len__(self) -> int:
        return len(self._times)

    def _tick(self, i: int) -> Tick:
        mark = self._marks.get(i) if self._marks is not None else None
        return Tick(self._times[i], "chunk") if mark is None else Tick(self._times[i], *mark)

    @overload
    def __getitem__(self, index: int) -> Tick: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tick]: ...

    def __getitem__(self, index: int | slice) -> Tick | list[Tick]:
        if isinstance(index, slice):
            return [self._tick(i) for i in range(*index.indices(len(self._times)))]
        if index < 0:
            index += len(self._times)
        if not 0 <= index < len(self._times):
            raise IndexError("tick index out of range")
        return self._tick(index)

    def __iter__(self) -> Iterator[Tick]:
        return (self._tick(i) for i in range(len(self._times)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ticks | list):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Ticks({list(self)!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> Ticks:
        return Ticks(self)

    def to_json(self, t0: float) -> list[dict[str, Any]]:
        marks = self._marks or {}
        out = []
        for i, t in enumerate(self._times):
            what, detail = marks.get(i, ("chunk", None))
            out.append({"t": round(t - t0, 6), "what": what, "detail": detail})
        return out


@dataclass(slots=True)
class SentCall:
    """A tool call the server answered with: its id and name, the arguments' full text, whether that text
    is a JSON object, and how many of its characters went out (fewer when the stream was cut inside it)."""

    id: str
    name: str
    arguments: str
    valid_json: bool = True
    sent_chars: int = 0

    @property
    def arguments_whole(self) -> bool:
        return self.sent_chars >= len(self.arguments)


@dataclass(slots=True)
class HttpExchange:
    id: int
    method: str
    path: str
    started_at: float
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    query: str = ""  # the query string, secrets redacted (`?key=` ...)
    api: str | None = None  # the API of the registry that owns the path (`server.apis`), None for no API
    body: Any = None  # the parsed JSON body, or None (also when it was beyond the journal's byte budget)
    body_bytes: int = 0
    # A body beyond the journal's byte budget is not kept: its first HEAD_CHARS characters and its SHA-256.
    body_truncated: bool = False
    body_head: str | None = None
    body_sha256: str | None = None
    call_key: str = ""  # method + path + canonical body: equal keys are attempts of one logical call
    attempt: int = 1
    stream: bool = False
    fixture: str | None = None
    status: int | None = None
    ended_at: float | None = None
    chunks_sent: int = 0  # content chunks (text deltas) sent
    bytes_sent: int = 0
    faults: list[str] = field(default_factory=list)  # kinds applied, in order (dsl.catalogue.FAULT_KINDS)
    completed: bool = False  # JSON body sent in full, or the stream's terminator ([DONE] / response.completed)
    client_disconnected: bool = False  # the client went away before the server finished
    retry_after_s: float | None = None  # the wait the server asked for (retry-after-ms / Retry-After)
    error: str | None = None  # why a request was refused (bad JSON, no fixture matched, ...)
    tool_calls: list[SentCall] = field(default_factory=list)  # the answer's tool calls, in order
    stop_reason: str | None = None  # the answer's finish reason in Chat words: stop, length, tool_calls, refusal
    # With `jitterMs`: the waits the answer was paced by, in ms, after the seeded jitter (server.jitter).
    gaps_ms: list[float] | None = None
    ticks: Ticks = field(default_factory=Ticks)

    kind: Literal["http"] = "http"


@dataclass(slots=True)
class WsFrame:
    t: float
    direction: Literal["in", "out"]
    text: str | None  # None for binary frames; its first HEAD_CHARS characters when `truncated`
    size: int  # bytes on the wire (UTF-8), whether or not the text was kept whole
    type: str | None = None  # the JSON "type" of the frame, if any (read from the whole text)
    truncated: bool = False  # beyond the journal's byte budget: `text` is a head, `sha256` the whole text's
    sha256: str | None = None


@dataclass(slots=True)
class WsExchange:
    """One client message on a connection and the fixture's answer to it."""

    started_at: float
    request: Any = None  # the message's request data (the envelope's "data", or the response.create body)
    request_truncated: bool = False  # its frame was beyond the journal's byte budget: `request` not kept
    fixture: str | None = None
    attempt: int = 1
    ended_at: float | None = None
    events_sent: int = 0
    faults: list[str] = field(default_factory=list)  # "disconnectAfterMs", "closeCode1006", a text's stream faults
    completed: bool = False  # every event sent (a streamed text: its terminator sent)
    error: str | None = None  # why the message got an error event (bad frame, no fixture, error fixture)
    form: str | None = None  # "envelope" or "response.create"; None for a frame that was not understood
    call_key: str = ""  # equal keys are attempts of one logical call (across connections)
    chunks_sent: int = 0  # a streamed text's content chunks
    gaps_ms: list[float] | None = None  # with `jitterMs`: the waits used, in ms (see HttpExchange)
    tool_calls: list[SentCall] = field(default_factory=list)  # the answer's tool calls (see HttpExchange)
    stop_reason: str | None = None  # an agent answer's stop, in Chat words (see HttpExchange)
    ticks: Ticks = field(default_factory=Ticks)


@dataclass(slots=True)
class WsConnection:
    id: int
    path: str
    opened_at: float
    headers: dict[str, str] = field(default_factory=dict)
    closed_at: float | None = None
    frames: list[WsFrame] = field(default_factory=list)
    exchanges: list[WsExchange] = field(default_factory=list)
    close_code_sent: int | None = None  # by the server
    # The code of the client's close frame when the client closed first (1005: a close frame without a code);
    # None when the server closed or dropped first, or the client vanished without a close frame.
    close_code_received: int | None = None
    closed_by: Literal["server", "client", "drop"] | None = None  # who ended it first
    dropped: bool = False  # the server dropped the connection without a close frame
    faults: list[str] = field(default_factory=list)  # "disconnectAfterMs", "closeCode1006", "dropUnavailable"
    error: str | None = None  # why the server ended it otherwise: "server_shutdown", "internal_error: ..."
    # A capped journal (dotmock serve) keeps a connection's newest `limit` frames and exchanges: these count
    # the older ones it dropped (`messages_dropped`: the client's frames among them).
    frames_dropped: int = 0
    messages_dropped: int = 0
    exchanges_dropped: int = 0

    kind: Literal["websocket"] = "websocket"

    @property
    def messages_received(self) -> int:
        return self.messages_dropped + sum(1 for f in self.frames if f.direction == "in")


def add_fault(faults: list[str], name: str) -> None:
    """Record that fault `name` was applied to a journal record (once, in the order they happened)."""
    if name not in faults:
        faults.append(name)


# 2: faults are lists of kinds (`faults`), no longer one comma-joined string (`fault`).
JOURNAL_VERSION = 2
# Written only for a payload beyond the byte budget, so a journal within it reads as it always did.
_HTTP_TRUNCATION_FIELDS = ("body_truncated", "body_head", "body_sha256")
_HTTP_FIELDS_BUT_TICKS = tuple(
    f.name for f in fields(HttpExchange) if f.name not in ("ticks", "tool_calls", "gaps_ms", *_HTTP_TRUNCATION_FIELDS)
)

# Payloads (HTTP bodies, WebSocket frame texts) are kept whole while their bytes fit the journal's budget;
# beyond it each is kept as its first HEAD_CHARS characters, its size and its SHA-256.
DEFAULT_JOURNAL_BYTES = 32 * 1024 * 1024
HEAD_CHARS = 1024


def payload_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_Entry = TypeVar("_Entry", HttpExchange, WsConnection)


def _kept_bytes_http(e: HttpExchange) -> int:
    return 0 if e.body_truncated else e.body_bytes


def _frame_cost(direction: str, size: int) -> int:
    """A client frame kept whole costs twice its size: its text and the request parsed from it."""
    return 2 * size if direction == "in" else size


def _kept_bytes_ws(c: WsConnection) -> int:
    return sum(_frame_cost(f.direction, f.size) for f in c.frames if f.text is not None and not f.truncated)


class Journal:
    """An append-only record of one server's traffic. Not thread-safe: one event loop owns it."""

    def __init__(
        self, limit: int | None = None, max_bytes: int | None = DEFAULT_JOURNAL_BYTES, seed: int | None = None
    ) -> None:
        self.t0 = time.monotonic()
        # The run's seed (`--seed`), from which `jitterMs` draws (server.jitter); None: 0, and not written.
        self.seed = seed
        # At most `limit` HTTP exchanges and `limit` WebSocket connections are kept, the oldest dropped first
        # (and counted): a long-running `dotmock serve` must not grow without bound. None: keep everything.
        self.limit = limit
        # Payload bytes kept whole (None: no budget); the ones beyond are kept as heads (`keep_payload`).
        self.max_bytes = max_bytes
        self.kept_bytes = 0
        self.truncated_payloads = 0
        self.http: list[HttpExchange] = []
        self.websocket: list[WsConnection] = []
        self.dropped_http = 0
        self.dropped_websocket = 0
        self._ids = itertools.count(1)
        self._calls: dict[str, int] = {}
        # The conversations of the Responses answers given, for requests chained by previous_response_id.
        self.chains = ResponseChains()
        # The credentials requests carried, unredacted and never written: the runner scrubs client output
        self.secrets = Secrets()

    def next_id(self) -> int:
        return next(self._ids)

    def next_attempt(self, call_key: str) -> int:
        """Count one more attempt of the logical call `call_key` and return its number (1-based)."""
        n = self._calls.get(call_key, 0) + 1
        self._calls[call_key] = n
        return n

    def _drop_oldest(self, entries: list[_Entry], kept_bytes: Callable[[_Entry], int]) -> int:
        """Drop the oldest of `entries` beyond `limit`, and their bytes from `kept_bytes`; how many went."""
        if self.limit is None or len(entries) <= self.limit:
            return 0
        n = len(entries) - self.limit
        self.kept_bytes -= sum(kept_bytes(e) for e in entries[:n])
        del entries[:n]  # a memmove of the list: ~2 us at 10,000
        return n

    def add_http(self, exchange: HttpExchange) -> HttpExchange:
        self.http.append(exchange)
        self.dropped_http += self._drop_oldest(self.http, _kept_bytes_http)
        return exchange

    def add_ws(self, connection: WsConnection) -> WsConnection:
        self.websocket.append(connection)
        self.dropped_websocket += self._drop_oldest(self.websocket, _kept_bytes_ws)
        return connection

    def keep_payload(self, size: int) -> bool:
        """Whether a payload of `size` bytes fits the byte budget (it is then counted): False means keep only
        its head, size and digest."""
        if self.max_bytes is not None and self.kept_bytes + size > self.max_bytes:
            self.truncated_payloads += 1
            return False
        self.kept_bytes += size
        return True

    def record_body(self, exchange: HttpExchange, raw: bytes, body: Any) -> None:
        """Journal an HTTP request's body (`raw`, parsed as `body`), whole or as a head within the budget."""
        exchange.body_bytes = len(raw)
        if self.keep_payload(len(raw)):
            exchange.body = body
            return
        exchange.body_truncated = True
        exchange.body_head = raw[: HEAD_CHARS * 4].decode("utf-8", "replace")[:HEAD_CHARS]
        exchange.body_sha256 = payload_digest(raw)

    def record_frame(
        self,
        connection: WsConnection,
        t: float,
        direction: Literal["in", "out"],
        message: str | bytes | None,
        kind: str | None,
    ) -> WsFrame:
        """Journal a WebSocket frame (`message`: its text, or the bytes of a binary frame), its text whole or
        as a head within the budget."""
        if isinstance(message, str):
            data = message.encode("utf-8", "surrogatepass")
            frame = WsFrame(t, direction, message, len(data), kind)
            if not self.keep_payload(_frame_cost(direction, len(data))):
                frame.text, frame.truncated, frame.sha256 = message[:HEAD_CHARS], True, payload_digest(data)
        else:
            frame = WsFrame(t, direction, None, len(message or b""), kind)
        connection.frames.append(frame)
        if self.limit is not None:
            self._trim(connection, self.limit)
        return frame

    def _trim(self, c: WsConnection, keep: int) -> None:
        """Keep the newest `keep` frames and exchanges of a connection, counting (and un-budgeting) the rest."""
        extra = len(c.frames) - keep
        if extra > 0:
            dropped = c.frames[:extra]
            del c.frames[:extra]
            c.frames_dropped += extra
            c.messages_dropped += sum(1 for f in dropped if f.direction == "in")
            self.kept_bytes -= sum(
                _frame_cost(f.direction, f.size) for f in dropped if f.text is not None and not f.truncated
            )
        extra = len(c.exchanges) - keep
        if extra > 0:
            del c.exchanges[:extra]
            c.exchanges_dropped += extra

    def reset(self) -> None:
        self.http.clear()
        self.websocket.clear()
        self.dropped_http = self.dropped_websocket = 0
        self.kept_bytes = self.truncated_payloads = 0
        self._calls.clear()

    def _http_json(self, e: HttpExchange, copied: bool) -> dict[str, Any]:
        t0 = self.t0
        names = _HTTP_FIELDS_BUT_TICKS + (_HTTP_TRUNCATION_FIELDS if e.body_truncated else ())
        d = {name: getattr(e, name) for name in names}
        if copied:
            d = copy.deepcopy(d)
        d["started_at"], d["ended_at"] = _rel(e.started_at, t0), _rel(e.ended_at, t0)
        d["ticks"] = e.ticks.to_json(t0)
        d["tool_calls"] = [asdict(c) for c in e.tool_calls]
        if e.gaps_ms is not None:  # written only with jitter, so a journal without reads as it always did
            d["gaps_ms"] = list(e.gaps_ms)
        d["kind"] = d.pop("kind")  # asdict's field order
        return d

    def _ws_fields(self, c: WsConnection) -> dict[str, Any]:
        """A connection's JSON fields, its frames and exchanges as iterators (one record at a time)."""
        t0 = self.t0
        d = {f.name: getattr(c, f.name) for f in fields(WsConnection)}
        for name in _WS_DROP_COUNTS:  # written only when something was dropped: a runner's journal never does
            if not d[name]:
                del d[name]
        d["opened_at"], d["closed_at"] = _rel(c.opened_at, t0), _rel(c.closed_at, t0)
        frames, exchanges = list(c.frames), list(c.exchanges)
        d["frames"] = (_frame_json(f, t0) for f in frames)
        d["exchanges"] = (self._ws_exchange_json(x) for x in exchanges)
        d["messages_received"] = c.messages_received
        return d

    def _ws_exchange_json(self, x: WsExchange) -> dict[str, Any]:
        t0 = self.t0
        d = {f.name: getattr(x, f.name) for f in fields(WsExchange)}
        if not x.request_truncated:
            del d["request_truncated"]
        if x.gaps_ms is None:
            del d["gaps_ms"]
        # Written for an agent answer only, so a journal of text answers reads as it always did.
        d["tool_calls"] = [asdict(c) for c in x.tool_calls]
        if not x.tool_calls:
            del d["tool_calls"]
        if x.stop_reason is None:
            del d["stop_reason"]
        d["started_at"], d["ended_at"] = _rel(x.started_at, t0), _rel(x.ended_at, t0)
        d["ticks"] = x.ticks.to_json(t0)
        return d

    def _ws_json(self, c: WsConnection) -> dict[str, Any]:
        d = self._ws_fields(c)
        return copy.deepcopy({k: list(v) if k in _WS_LISTS else v for k, v in d.items()})

    def _tail(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.seed is not None:
            data["seed"] = self.seed
        if self.limit is not None:  # only a capped journal (dotmock serve) says so: the runner's are complete
            data["limit"] = self.limit
            data["dropped"] = {"http": self.dropped_http, "websocket": self.dropped_websocket}
        if self.truncated_payloads:
            data["max_bytes"] = self.max_bytes
            data["truncated_payloads"] = self.truncated_payloads
        return data

    def to_json(self) -> dict[str, Any]:
        """The journal as JSON-ready data, times in seconds relative to `t0`."""
        return {
            "version": JOURNAL_VERSION,
            "http": [self._http_json(e, copied=True) for e in self.http],
            "websocket": [self._ws_json(c) for c in self.websocket],
            **self._tail(),
        }

    def iter_json(self, dumps: Callable[[Any], str]) -> Iterator[str]:
        """`dumps(self.to_json())` in pieces, one record at a time (`dumps` writes one JSON value): serving a
        big journal never holds more than one record's copy and text at once. The records are those present
        when the iteration starts."""
        http, websocket = list(self.http), list(self.websocket)
        yield '{"version": ' + str(JOURNAL_VERSION) + ', "http": ['
        for i, e in enumerate(http):
            yield ("" if i == 0 else ", ") + dumps(self._http_json(e, copied=False))
        yield '], "websocket": ['
        for i, c in enumerate(websocket):
            yield "" if i == 0 else ", "
            yield from _object_pieces(self._ws_fields(c), dumps)
        yield "]"
        for key, value in self._tail().items():
            yield f", {dumps(key)}: {dumps(value)}"
        yield "}"


def _rel(value: float | None, t0: float) -> float | None:
    return None if value is None else round(value - t0, 6)


_WS_LISTS = ("frames", "exchanges")
_WS_DROP_COUNTS = ("frames_dropped", "messages_dropped", "exchanges_dropped")


def _object_pieces(d: dict[str, Any], dumps: Callable[[Any], str]) -> Iterator[str]:
    """`dumps(d)` in pieces, the items of its `_WS_LISTS` iterators one at a time."""
    yield "{"
    for i, (key, value) in enumerate(d.items()):
        yield (", " if i else "") + dumps(key) + ": "
        if key in _WS_LISTS:
            yield "["
            for j, item in enumerate(value):
                yield (", " if j else "") + dumps(item)
            yield "]"
        else:
            yield dumps(value)
    yield "}"


def _frame_json(f: WsFrame, t0: float) -> dict[str, Any]:
    d: dict[str, Any] = {"t": _rel(f.t, t0), "direction": f.direction, "text": f.text, "size": f.size, "type": f.type}
    if f.truncated:
        d["truncated"], d["sha256"] = True, f.sha256
    return d
