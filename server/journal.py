"""The journal: every HTTP exchange and WebSocket connection the server saw, with monotonic timestamps.

The runner judges a client from this (attempts, faults applied, timing) together with the client's own
outcome. Timestamps are `time.monotonic()` seconds, the same clock the runner uses for the client process,
so gaps can be compared directly. `to_json()` reports them relative to the journal's start (`t0`).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class Tick:
    """Something that happened inside an exchange, for timelines: a chunk/frame sent, a fault, a stall."""

    t: float
    what: str  # "chunk", "event", "fault:<kind>", "terminator", "headers", "frame_in", "frame_out", ...
    detail: str | None = None


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
    fault: str | None = None  # "truncate", "disconnect", "stall", "malformedChunk", "slowFirstToken", "errorEvent"
    completed: bool = False  # JSON body sent in full, or the stream's terminator ([DONE] / response.completed)
    client_disconnected: bool = False  # the client went away before the server finished
    retry_after_s: float | None = None  # the wait the server asked for (retry-after-ms / Retry-After)
    error: str | None = None  # why a request was refused (bad JSON, no fixture matched, ...)
    ticks: list[Tick] = field(default_factory=list)

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
    fault: str | None = None  # "disconnectAfterMs", "closeCode1006", or a text fixture's stream faults
    completed: bool = False  # every event sent (a streamed text: its terminator sent)
    error: str | None = None  # why the message got an error event (bad frame, no fixture, error fixture)
    form: str | None = None  # "envelope" or "response.create"; None for a frame that was not understood
    call_key: str = ""  # equal keys are attempts of one logical call (across connections)
    chunks_sent: int = 0  # a streamed text's content chunks
    ticks: list[Tick] = field(default_factory=list)


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
    fault: str | None = None  # "disconnectAfterMs", "closeCode1006", ...

    kind: Literal["websocket"] = "websocket"

    @property
    def messages_received(self) -> int:
        return sum(1 for f in self.frames if f.direction == "in")


class Journal:
    """An append-only record of one server's traffic. Not thread-safe: one event loop owns it."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.http: list[HttpExchange] = []
        self.websocket: list[WsConnection] = []
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
        return exchange

    def add_ws(self, connection: WsConnection) -> WsConnection:
        self.websocket.append(connection)
        return connection

    def reset(self) -> None:
        self.http.clear()
        self.websocket.clear()
        self._calls.clear()

    def to_json(self) -> dict[str, Any]:
        """The journal as JSON-ready data, times in seconds relative to `t0`."""
        t0 = self.t0

        def rel(value: float | None) -> float | None:
            return None if value is None else round(value - t0, 6)

        def http(e: HttpExchange) -> dict[str, Any]:
            d = asdict(e)
            d["started_at"], d["ended_at"] = rel(e.started_at), rel(e.ended_at)
            d["ticks"] = [{**asdict(t), "t": rel(t.t)} for t in e.ticks]
            return d

        def ws(c: WsConnection) -> dict[str, Any]:
            d = asdict(c)
            d["opened_at"], d["closed_at"] = rel(c.opened_at), rel(c.closed_at)
            d["frames"] = [{**asdict(f), "t": rel(f.t)} for f in c.frames]
            d["exchanges"] = [
                {**asdict(x), "started_at": rel(x.started_at), "ended_at": rel(x.ended_at),
                 "ticks": [{**asdict(t), "t": rel(t.t)} for t in x.ticks]}
                for x in c.exchanges
            ]
            d["messages_received"] = c.messages_received
            return d

        return {
            "version": 1,
            "http": [http(e) for e in self.http],
            "websocket": [ws(c) for c in self.websocket],
        }
