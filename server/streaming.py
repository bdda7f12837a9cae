"""Streaming a text answer: chunking, absolute-deadline pacing, faults, and the journal's ticks.

`stream_body()` is the async generator a streamed HTTP response iterates. Content chunk `i` is due at
`base + i * latency` where `base` is the stream's start (moved only by a slowFirstToken or stall wait), so
late wake-ups never accumulate into drift. Frames are coalesced into one write while nothing has to wait
(latency 0 sends a whole answer in a few writes); every write goes through the server's flow control, so a
slow reader holds the generator back instead of growing a buffer.

Faults take effect at chunk boundaries: a fault with `after_chunks=k` fires once `k` content chunks are out
(clamped to the number of chunks, default `DEFAULT_AFTER_CHUNKS`). A time-based disconnect (`after_s`) fires
at `start + after_s` wherever the stream is, holding back the terminator if the text ran out first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field

from dotmock.dsl.model import Fault, TextOutcome
from dotmock.server.journal import HttpExchange, add_fault
from dotmock.server.sse import Renderer

DEFAULT_AFTER_CHUNKS = 1
COALESCE_BYTES = 16 * 1024
DEFAULT_MAX_STALL_S = 300.0  # a stall without a duration lasts until the client leaves, but not forever


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
    ) -> None:
        self.renderer = renderer
        self.client = client
        self.exchange = exchange
        self.limits = limits
        streaming = outcome.streaming
        self.chunks = split_text(outcome.text, streaming.chunk_size)
        self.latency = max(0, streaming.latency_ms) / 1000.0
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
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.pending_chunks = 0
        self.terminated = False

    # -- bookkeeping

    def add(self, frame: bytes, *, content: bool = False) -> None:
        self.buffer.append(frame)
        self.buffered += len(frame)
        if content:
            self.pending_chunks += 1

    def take(self) -> bytes:
        data = b"".join(self.buffer)
        self.buffer.clear()
        self.buffered = 0
        return data

    def sent(self, size: int) -> None:
        self.exchange.bytes_sent += size
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

    async def run(self) -> AsyncGenerator[bytes]:
        try:
            with self.limits.state.tracking():
                async for data in self._frames():
                    yield data
                    self.sent(len(data))
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

    async def _frames(self) -> AsyncIterator[bytes]:
        start = time.monotonic()
        self.exchange.ticks.add(start, "headers")
        if self._timed_disconnect is not None:
            self.disconnect_at = start + self._timed_disconnect
        for frame in self.renderer.opening():
            self.add(frame)
        base, base_index = start, 0
        n = len(self.chunks)
        i = 0
        while True:
            for fault in self.faults.get(i, ()):
                if fault.kind in ("slowFirstToken", "stall"):
                    if self.buffer:
                        yield self.take()
                    self.mark_fault(fault.kind)
                    wait = self.limits.max_stall_s if fault.duration_s is None else fault.duration_s
                    await self.wait_until(time.monotonic() + min(wait, self.limits.max_stall_s))
                    self.tick("resume")
                    base, base_index = time.monotonic(), i
                elif fault.kind == "malformedChunk":
                    self.add(self.renderer.malformed(fault.data))
                    self.mark_fault(fault.kind)
                elif fault.kind == "errorEvent":
                    self.add(
                        self.renderer.error_event(
                            fault.message or "The server had an error while processing your request.",
                            fault.error_type or "server_error",
                            fault.code,
                        )
                    )
                    self.mark_fault(fault.kind)
                    yield self.take()
                    return
                elif fault.kind == "disconnect":
                    if self.buffer:
                        yield self.take()
                    raise _Disconnect
            due = base + (i - base_index) * self.latency
            if due > time.monotonic():
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
                for frame in self.renderer.closing():
                    self.add(frame)
                self.terminated = True
                self.tick("terminator")
                break
            self.add(self.renderer.delta(self.chunks[i]), content=True)
            self.tick("chunk")
            i += 1
            if self.buffered >= self.limits.coalesce_bytes:
                yield self.take()
        if self.buffer:
            yield self.take()


def stream_body(
    renderer: Renderer,
    outcome: TextOutcome,
    exchange: HttpExchange,
    limits: StreamLimits | None = None,
    client: ClientLink | None = None,
) -> AsyncGenerator[bytes]:
    """The bytes of a streamed answer, paced and faulted as `outcome` says, recorded in `exchange`.
    `client`, when given, lets the stream stop as soon as the client has gone."""
    return _Stream(renderer, outcome, exchange, limits or StreamLimits(), client).run()
