"""The journal: every HTTP exchange and WebSocket connection the server saw, with monotonic timestamps.

The runner judges a client from this (attempts, faults applied, timing) together with the client's own
outcome. Timestamps are `time.monotonic()` seconds, the same clock the runner uses for the client process,
so gaps can be compared directly. `to_json()` reports them relative to the journal's start (`t0`).
"""

from __future__ import annotations

import copy
import itertools
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, overload


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
class HttpExchange:
    id: int
    method: str
    path: str
    started_at: float
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: Any = None  # the parsed JSON body, or None
    body_bytes: int = 0
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
    ticks: Ticks = field(default_factory=Ticks)

    kind: Literal["http"] = "http"


@dataclass(slots=True)
class WsFrame:
    t: float
    direction: Literal["in", "out"]
    text: str | None  # None for binary frames
    size: int
    type: str | None = None  # the JSON "type" of the frame, if any


@dataclass(slots=True)
class WsExchange:
    """One client message on a connection and the fixture's answer to it."""

    started_at: float
    request: Any = None  # the message's request data (the envelope's "data", or the response.create body)
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

    kind: Literal["websocket"] = "websocket"

    @property
    def messages_received(self) -> int:
        return sum(1 for f in self.frames if f.direction == "in")


def add_fault(faults: list[str], name: str) -> None:
    """Record that fault `name` was applied to a journal record (once, in the order they happened)."""
    if name not in faults:
        faults.append(name)


# 2: faults are lists of kinds (`faults`), no longer one comma-joined string (`fault`).
JOURNAL_VERSION = 2
_HTTP_FIELDS_BUT_TICKS = tuple(f.name for f in fields(HttpExchange) if f.name != "ticks")


class Journal:
    """An append-only record of one server's traffic. Not thread-safe: one event loop owns it."""

    def __init__(self, limit: int | None = None) -> None:
        self.t0 = time.monotonic()
        # At most `limit` HTTP exchanges and `limit` WebSocket connections are kept, the oldest dropped first
        # (and counted): a long-running `dotmock serve` must not grow without bound. None: keep everything.
        self.limit = limit
        self.http: list[HttpExchange] = []
        self.websocket: list[WsConnection] = []
        self.dropped_http = 0
        self.dropped_websocket = 0
        self._ids = itertools.count(1)
        self._calls: dict[str, int] = {}

    def next_id(self) -> int:
        return next(self._ids)

    def next_attempt(self, call_key: str) -> int:
        """Count one more attempt of the logical call `call_key` and return its number (1-based)."""
        n = self._calls.get(call_key, 0) + 1
        self._calls[call_key] = n
        return n

    def add_http(self, exchange: HttpExchange) -> HttpExchange:
        self.http.append(exchange)
        if self.limit is not None and len(self.http) > self.limit:
            self.dropped_http += len(self.http) - self.limit
            del self.http[: len(self.http) - self.limit]  # a memmove of the list: ~2 us at 10,000
        return exchange

    def add_ws(self, connection: WsConnection) -> WsConnection:
        self.websocket.append(connection)
        if self.limit is not None and len(self.websocket) > self.limit:
            self.dropped_websocket += len(self.websocket) - self.limit
            del self.websocket[: len(self.websocket) - self.limit]
        return connection

    def reset(self) -> None:
        self.http.clear()
        self.websocket.clear()
        self.dropped_http = self.dropped_websocket = 0
        self._calls.clear()

    def to_json(self) -> dict[str, Any]:
        """The journal as JSON-ready data, times in seconds relative to `t0`."""
        t0 = self.t0

        def rel(value: float | None) -> float | None:
            return None if value is None else round(value - t0, 6)

        def http(e: HttpExchange) -> dict[str, Any]:
            d = {name: copy.deepcopy(getattr(e, name)) for name in _HTTP_FIELDS_BUT_TICKS}
            d["started_at"], d["ended_at"] = rel(e.started_at), rel(e.ended_at)
            d["ticks"] = e.ticks.to_json(t0)
            d["kind"] = d.pop("kind")  # asdict's field order
            return d

        def ws(c: WsConnection) -> dict[str, Any]:
            d = asdict(c)
            d["opened_at"], d["closed_at"] = rel(c.opened_at), rel(c.closed_at)
            d["frames"] = [{**asdict(f), "t": rel(f.t)} for f in c.frames]
            d["exchanges"] = [
                {
                    **asdict(x),
                    "started_at": rel(x.started_at),
                    "ended_at": rel(x.ended_at),
                    "ticks": x.ticks.to_json(t0),
                }
                for x in c.exchanges
            ]
            d["messages_received"] = c.messages_received
            return d

        data: dict[str, Any] = {
            "version": JOURNAL_VERSION,
            "http": [http(e) for e in self.http],
            "websocket": [ws(c) for c in self.websocket],
        }
        if self.limit is not None:  # only a capped journal (dotmock serve) says so: the runner's are complete
            data["limit"] = self.limit
            data["dropped"] = {"http": self.dropped_http, "websocket": self.dropped_websocket}
        return data
