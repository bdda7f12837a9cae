"""Streaming a text answer: chunking, absolute-deadline pacing, faults, and the journal's ticks.

`stream_events()` yields a stream's events in batches, as they fall due; `encode_stream()` encodes them for a
streamed HTTP response (SSE or a JSON array), and the WebSocket replay sends each event as a frame.
Content chunk `i` is due at `base + i * latency` where `base` is the stream's start (moved only by a
slowFirstToken or stall wait), so late wake-ups never accumulate into drift. Events are coalesced into one
write while nothing has to wait (latency 0 sends a whole answer in a few writes); every write goes through
the server's flow control, so a slow reader holds the generator back instead of growing a buffer.

Faults take effect at chunk boundaries: a fault with `after_chunks=k` fires once `k` content chunks are out
(clamped to the number of chunks, default `DEFAULT_AFTER_CHUNKS`). A time-based disconnect (`after_s`) fires
at `start + after_s` wherever the stream is, holding back the terminator if the text ran out first.

What a fault does is one handler in `FAULT_HANDLERS` (fault kind -> handler): a new fault kind is its
`dsl.catalogue` entry plus its handler here (and in `server.json_faults` if it applies to JSON answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from dotmock.dsl.catalogue import REWRITING_FAULTS
from dotmock.dsl.model import Fault, TextOutcome
from dotmock.server.apis.base import Renderer
from dotmock.server.events import Event
from dotmock.server.jitter import Jitter
from dotmock.server.journal import HttpExchange, add_fault

DEFAULT_AFTER_CHUNKS = 1
COALESCE_BYTES = 16 * 1024
DEFAULT_MAX_STALL_S = 300.0  # a stall without a duration lasts until the client leaves, but not forever
_FRAME_OVERHEAD = 16  # what an encoder adds around an event's payload, near enough for coalescing


@runtime_checkable
class AgentPieces(Protocol):
    """A renderer of an agent answer (`server.agent_streams`): its pieces stand for the content chunks."""

    def chunk_texts(self) -> tuple[str, ...]: ...

    def chunk_gaps(self) -> tuple[float | None, ...]: ...

    def piece(self, i: int) -> list[Event]: ...

    def call_of(self, i: int) -> int | None: ...


class StreamAborted(Exception):
    """Raised out of a response body to drop the connection: the client sees an incomplete body."""


class ClientLink:
    """Set by the ASGI layer when the client's connection is gone (`http.disconnect`). Writes to a closed
    connection do not fail, so a stream that never waits would otherwise run to its end unaware."""

    __slots__ = ("gone",)

    def __init__(self) -> None:
        self.gone = False


class _ClientGone(Exception):
    pass


class _Disconnect(Exception):
    """The time-based disconnect fault's moment has come."""


class ServerState:
    """Shared by a server's request handlers. On shutdown `stop_streams()` cancels the handlers still
    running (a stream in a stall, a request whose body never finishes): the ASGI layer does not cancel its
    handler tasks, so they would outlive the server, and hypercorn's own forced cancellation after its
    graceful timeout is noisy on Python 3.11. Streams cut this way are journaled as cut by the shutdown,
    not as client disconnects."""

    __slots__ = ("stopping", "tasks")

    def __init__(self) -> None:
        self.stopping = False
        self.tasks: set[asyncio.Task[object]] = set()

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Mark the current task as one to cancel on shutdown, for the duration of the block."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self.tasks.add(task)
        try:
            yield
        finally:
            self.tasks.discard(task)

    def stop_streams(self) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()


@dataclass(frozen=True, slots=True)
class StreamLimits:
    max_stall_s: float = DEFAULT_MAX_STALL_S
    coalesce_bytes: int = COALESCE_BYTES
    state: ServerState = field(default_factory=ServerState)


@functools.lru_cache(maxsize=256)
def split_text(text: str, size: int) -> tuple[str, ...]:
    """The text in `size`-character chunks (the seed's chunkSize counts characters). Cached: every stream of
    a fixture shares one tuple of chunks instead of holding its own copy."""
    size = max(1, size)
    return tuple(text[i : i + size] for i in range(0, len(text), size))


def _fault_positions(faults: tuple[Fault, ...], n_chunks: int) -> dict[int, list[Fault]]:
    positions: dict[int, list[Fault]] = {}
    for fault in faults:
        if fault.kind in REWRITING_FAULTS:
            continue  # it changed the answer before the stream began (server.schema_violation)
        if fault.kind == "disconnect" and fault.after_chunks is None and fault.after_s is not None:
            continue  # time-based
        if fault.kind == "slowFirstToken":
            at = 0
        else:
            wanted = DEFAULT_AFTER_CHUNKS if fault.after_chunks is None else max(0, fault.after_chunks)
            at = min(wanted, n_chunks)
        positions.setdefault(at, []).append(fault)
    return positions


class _Stream:
    def __init__(
        self,
        renderer: Renderer,
        outcome: TextOutcome,
        exchange: HttpExchange,
        limits: StreamLimits,
        client: ClientLink | None,
        jitter: Jitter | None = None,
    ) -> None:
        self.renderer = renderer
        self.client = client
        self.exchange = exchange
        self.limits = limits
        streaming = outcome.streaming
        self.latency = max(0, streaming.latency_ms) / 1000.0
        # Recorded chunks (`cadence { }`): their own boundaries, and chunk i due `offsets[i + 1]` after the start
        # (`offsets[n + 1]`: the terminator); else chunkSize pieces every latencyMs.
        self.offsets: tuple[float, ...] | None = None
        # An agent answer (tool calls, refusal, reasoning: `server.agent_streams`) streams its own pieces.
        self.agent: AgentPieces | None = renderer if isinstance(renderer, AgentPieces) else None
        if self.agent is not None:
            self.chunks = self.agent.chunk_texts()
            recorded = self.agent.chunk_gaps()
            if any(g is not None for g in recorded):  # a cadence's pieces: their own waits, then the end's
                gaps = [(0.0 if i == 0 else self.latency) if g is None else g for i, g in enumerate(recorded)]
                gaps.append(streaming.end_gap_s)
                self.offsets = tuple(itertools.accumulate((max(0.0, g) for g in gaps), initial=0.0))
        elif streaming.chunks:
            self.chunks = tuple(c.text for c in streaming.chunks)
            gaps = [*(c.gap_s for c in streaming.chunks), streaming.end_gap_s]
            self.offsets = tuple(itertools.accumulate((max(0.0, g) for g in gaps), initial=0.0))
        else:
            self.chunks = split_text(outcome.text, streaming.chunk_size)
        if jitter is not None or outcome.latency_s > 0:
            # `latency` delays the first chunk; every wait moved by its seeded draw: a cadence of their own
            if self.offsets is None:
                waits = [0.0, *(self.latency for _ in self.chunks)]
            else:
                waits = [b - a for a, b in itertools.pairwise(self.offsets)]
            waits[0] += max(0.0, outcome.latency_s)
            if jitter is not None:
                waits = jitter.apply(waits)
                exchange.gaps_ms = [round(w * 1000, 3) for w in waits]
            self.offsets = tuple(itertools.accumulate(waits, initial=0.0))
        truncate = streaming.truncate_after_chunks
        # The seed: "stop streaming after N chunks without sending [DONE]". With fewer than N chunks of text,
        # all of it goes out, and still no terminator.
        self.truncate = None if truncate is None else min(max(0, truncate), len(self.chunks))
        self.faults = _fault_positions(outcome.faults, len(self.chunks))
        self.disconnect_at: float | None = None
        self._timed_disconnect = next(
            (
                f.after_s
                for f in outcome.faults
                if f.kind == "disconnect" and f.after_chunks is None and f.after_s is not None
            ),
            None,
        )
        self.buffer: list[Event] = []
        self.buffered = 0
        self.pending_chunks = 0
        self.terminated = False
        self.base, self.base_index = 0.0, 0  # content chunk i is due at base + (i - base_index) * latency

    # -- bookkeeping

    def add(self, event: Event, *, content: bool = False) -> None:
        self.buffer.append(event)
        self.buffered += len(event.data) + _FRAME_OVERHEAD
        if content:
            self.pending_chunks += 1

    def add_content(self, i: int) -> None:
        """Content chunk `i`: a text delta, or an agent answer's piece (opening its part if it is the first)."""
        if self.agent is None:
            self.add(self.renderer.delta(self.chunks[i]), content=True)
            return
        *before, last = self.agent.piece(i)
        for event in before:
            self.add(event)
        self.add(last, content=True)
        call = self.agent.call_of(i)
        if call is not None and call < len(self.exchange.tool_calls):
            self.exchange.tool_calls[call].sent_chars += len(self.chunks[i])

    def take(self) -> list[Event]:
        events = self.buffer
        self.buffer = []
        self.buffered = 0
        return events

    def sent(self) -> None:
        self.exchange.chunks_sent += self.pending_chunks
        self.pending_chunks = 0

    def tick(self, what: str, detail: str | None = None) -> None:
        self.exchange.ticks.add(time.monotonic(), what, detail)

    def mark_fault(self, name: str) -> None:
        add_fault(self.exchange.faults, name)
        self.tick(f"fault:{name}")

    async def wait_until(self, deadline: float) -> None:
        if self.disconnect_at is not None and self.disconnect_at <= deadline:
            delay = self.disconnect_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            raise _Disconnect
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- the stream

    async def run(self) -> AsyncGenerator[list[Event]]:
        try:
            with self.limits.state.tracking():
                async for events in self._events():
                    yield events
                    self.sent()
                    if self.client is not None:
                        await asyncio.sleep(0)  # let a pending disconnect notice reach the link
                        if self.client.gone:
                            raise _ClientGone
            self.exchange.completed = self.terminated
        except _ClientGone:
            self.exchange.client_disconnected = True
            self.tick("client_disconnected")
            raise StreamAborted from None
        except _Disconnect:
            self.mark_fault("disconnect")
            raise StreamAborted from None
        except (asyncio.CancelledError, GeneratorExit):
            if self.limits.state.stopping:
                self.tick("server_shutdown")
            else:
                self.exchange.client_disconnected = True
                self.tick("client_disconnected")
            raise
        finally:
            self.exchange.ended_at = time.monotonic()

    async def _events(self) -> AsyncIterator[list[Event]]:
        start = time.monotonic()
        self.exchange.ticks.add(start, "headers")
        if self._timed_disconnect is not None:
            self.disconnect_at = start + self._timed_disconnect
        for event in self.renderer.opening():
            self.add(event)
        self.base, self.base_index = start, 0
        n = len(self.chunks)
        i = 0
        while True:
            for fault in self.faults.get(i, ()):
                handler = FAULT_HANDLERS[fault.kind]
                if handler.flush and self.buffer:
                    yield self.take()
                await handler.act(self, fault, i)
                if handler.ends:
                    yield self.take()
                    return
            if self.offsets is None:
                due = self.base + (i - self.base_index) * self.latency
            else:  # after a slowFirstToken or stall at `base_index`, the recorded gaps carry on from there
                due = self.base + self.offsets[i + 1] - self.offsets[self.base_index]
            # A chunk due after a timed drop never goes out, even when the loop wakes up late (a loaded machine):
            # wait_until raises at the drop instead of the chunk being sent first.
            dropped_first = self.disconnect_at is not None and self.disconnect_at <= due
            if due > time.monotonic() or dropped_first:
                if self.buffer:
                    yield self.take()
                await self.wait_until(due)
            if i == self.truncate:
                self.mark_fault("truncate")
                break
            if i == n:
                if self.disconnect_at is not None:  # hold the terminator back until the drop
                    if self.buffer:
                        yield self.take()
                    await self.wait_until(math.inf)
                for event in self.renderer.closing():
                    self.add(event)
                self.terminated = True
                self.tick("terminator")
                break
            self.add_content(i)
            self.tick("chunk")
            i += 1
            if self.buffered >= self.limits.coalesce_bytes:
                yield self.take()
        if self.buffer:
            yield self.take()


# ---------------------------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class FaultHandler:
    """What a fault does when it falls due (before content chunk `i`): `flush` sends what is buffered first
    (before a wait or a drop), `act` does the fault (adds events, waits, or raises `_Disconnect`), and `ends`
    ends the stream right after it (no terminator)."""

    act: Callable[[_Stream, Fault, int], Awaitable[None]]
    flush: bool = False
    ends: bool = False


async def _pause(stream: _Stream, fault: Fault, i: int) -> None:
    """slowFirstToken, stall: nothing for the duration (or until the client leaves, bounded by the server's
    limit); the cadence restarts from the resume."""
    stream.mark_fault(fault.kind)
    wait = stream.limits.max_stall_s if fault.duration_s is None else fault.duration_s
    await stream.wait_until(time.monotonic() + min(wait, stream.limits.max_stall_s))
    stream.tick("resume")
    stream.base, stream.base_index = time.monotonic(), i


async def _malformed(stream: _Stream, fault: Fault, i: int) -> None:
    """malformedChunk: one event that is not valid JSON (the fault's text, or a chunk cut in half)."""
    stream.add(stream.renderer.malformed(fault.data))
    stream.mark_fault(fault.kind)


async def _error_event(stream: _Stream, fault: Fault, i: int) -> None:
    """errorEvent: the API's error event."""
    events = stream.renderer.error_event(
        fault.message or "The server had an error while processing your request.",
        fault.error_type or "server_error",
        fault.code,
    )
    for event in events if isinstance(events, list) else [events]:
        stream.add(event)
    stream.mark_fault(fault.kind)


async def _disconnect(stream: _Stream, fault: Fault, i: int) -> None:
    """disconnect (after N chunks): drop the connection."""
    raise _Disconnect


FAULT_HANDLERS: dict[str, FaultHandler] = {
    "slowFirstToken": FaultHandler(_pause, flush=True),
    "stall": FaultHandler(_pause, flush=True),
    "malformedChunk": FaultHandler(_malformed),
    "errorEvent": FaultHandler(_error_event, ends=True),
    "disconnect": FaultHandler(_disconnect, flush=True),
}


def stream_events(
    renderer: Renderer,
    outcome: TextOutcome,
    exchange: HttpExchange,
    limits: StreamLimits | None = None,
    client: ClientLink | None = None,
    jitter: Jitter | None = None,
) -> AsyncGenerator[list[Event]]:
    """The events of a streamed answer in batches (a batch: what goes out in one write), paced and faulted
    as `outcome` says, recorded in `exchange`. `client`, when given, lets the stream stop as soon as the
    client has gone; `jitter` moves each wait (`server.jitter`)."""
    return _Stream(renderer, outcome, exchange, limits or StreamLimits(), client, jitter).run()


async def encode_stream(
    events: AsyncGenerator[list[Event]],
    exchange: HttpExchange,
    encode: Callable[[Sequence[Event]], bytes],
    close: Callable[[], bytes] | None = None,
) -> AsyncGenerator[bytes]:
    """The bytes of a streamed answer: each batch of `stream_events` through `encode` (SSE, a JSON array's
    elements), counted in `exchange`; `close()` is written after the terminator (a JSON array's `]`), never
    after a cut."""
    try:
        async for batch in events:
            data = encode(batch)
            yield data
            exchange.bytes_sent += len(data)
        if close is not None and exchange.completed:
            data = close()
            yield data
            exchange.bytes_sent += len(data)
    finally:
        await events.aclose()
