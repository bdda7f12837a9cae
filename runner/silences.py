"""Silences on open streams, read from the journal: how long nothing arrived, and how each one ended.

A stall or a slow first token leaves a `fault:<kind>` tick where the server went quiet, and the next tick
says how the silence ended: `resume` (the server carried on: the client sat through it), `client_disconnected`
(the client hung up), `server_shutdown` (the case was over). A silence with no later tick lasted until the
exchange ended. This is the evidence for `no_read_timeout`: a client that sat through a silence longer than
its read-timeout budget has no (useful) read timeout, whether or not the stall ended before the case did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from dotmock.dsl.catalogue import SILENT_FAULTS, fault_words
from dotmock.server.journal import Journal, Tick

Ending = Literal["resumed", "hung_up", "open"]  # open: still silent when the exchange (or the case) ended


@dataclass(frozen=True, slots=True)
class Silence:
    where: str  # "exchange #3 POST /v1/chat/completions", "connection #2 /v1/chat"
    kind: str  # the silent fault: "stall", "slowFirstToken"
    chunks_before: int  # content chunks the client had received when the silence began
    start: float  # monotonic
    end: float | None  # when it ended (None: never, as far as the journal knows)
    ending: Ending

    def length(self, until: float) -> float:
        """How long the silence lasted, counting an open one up to `until`."""
        return (self.end if self.end is not None else until) - self.start

    def words(self) -> str:
        """`a stalled stream after 2 chunks`."""
        return f"{fault_words(self.kind)} after {self.chunks_before} chunk{'' if self.chunks_before == 1 else 's'}"


_ENDINGS: dict[str, Ending] = {"resume": "resumed", "client_disconnected": "hung_up"}


def _silences_in(ticks: Iterable[Tick], where: str, ended_at: float | None) -> list[Silence]:
    out: list[Silence] = []
    chunks = 0
    open_kind: str | None = None
    open_at = 0.0
    open_chunks = 0
    for tick in ticks:
        if open_kind is not None:
            ending = _ENDINGS.get(tick.what, "open")
            out.append(Silence(where, open_kind, open_chunks, open_at, tick.t, ending))
            open_kind = None
        if tick.what == "chunk":
            chunks += 1
        elif tick.what.startswith("fault:") and tick.what[6:] in SILENT_FAULTS:
            open_kind, open_at, open_chunks = tick.what[6:], tick.t, chunks
    if open_kind is not None:
        out.append(Silence(where, open_kind, open_chunks, open_at, ended_at, "open"))
    return out


def silences(journal: Journal) -> list[Silence]:
    """Every silence a stall or slow-first-token fault made, over HTTP and WebSocket, in order."""
    out: list[Silence] = []
    for ex in journal.http:
        out += _silences_in(ex.ticks, f"exchange #{ex.id} {ex.method} {ex.path}", ex.ended_at)
    for conn in journal.websocket:
        for x in conn.exchanges:
            ended = x.ended_at if x.ended_at is not None else conn.closed_at
            silent = _silences_in(x.ticks, f"connection #{conn.id} {conn.path}", ended)
            if conn.closed_by == "client":  # the client closed the socket during the silence: it hung up
                silent = [
                    Silence(s.where, s.kind, s.chunks_before, s.start, s.end, "hung_up")
                    if s.ending == "open" and conn.closed_at is not None and s.end is not None
                    else s
                    for s in silent
                ]
            out += silent
    out.sort(key=lambda s: s.start)
    return out
