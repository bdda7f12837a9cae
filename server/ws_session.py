"""One WebSocket connection as the handlers see it: journaled sends and receives, the drop deadline, and the
three ways the server ends a connection (close frame, drop without one, the client leaving).

Every frame in both directions is recorded in the connection's `WsConnection` with its monotonic time.
The drop deadline (disconnectAfterMs: N ms after the connection opened) is honoured by every wait of the
session, so a drop happens on time whether the server is between events, streaming, or idle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from quart.wrappers import Websocket

from dotmock.server.journal import Journal, WsConnection, add_fault
from dotmock.server.ws_protocol import frame_type
from dotmock.server.ws_transport import TransportLink, message_weight

log = logging.getLogger(__name__)

# Stands in for a drop when the transport cannot be reached (not hypercorn): the nearest thing on the wire.
FALLBACK_DROP_CODE = 1011
QUEUE_FRAMES = 16  # client frames read ahead of the handler, at most


class ConnectionEnded(Exception):
    """The server closed or dropped the connection: the handler stops."""


@dataclass(frozen=True, slots=True)
class Received:
    """A client frame as the handler reads it: its whole text (None for a binary frame), whatever part of it
    the journal keeps (`kept`: all of it)."""

    t: float
    text: str | None
    weight: int  # server.ws_transport.message_weight
    kept: bool


class WsSession:
    def __init__(
        self, websocket: Websocket, link: TransportLink | None, connection: WsConnection, journal: Journal
    ) -> None:
        self.websocket = websocket
        self.link = link
        self.connection = connection
        self.journal = journal
        self.drop_at: float | None = None
        self.drop_fault: str | None = None
        self.ended = False
        # Frames read but not yet handled. Bounded: while the handler is busy (a paced answer), the reader
        # stops at QUEUE_FRAMES and the link stops taking frames from the socket past its byte bound
        # (server.ws_transport.QUEUE_BYTES), so a client that keeps sending is held back by TCP.
        self._incoming: asyncio.Queue[Received] = asyncio.Queue(QUEUE_FRAMES)
        self._reader: asyncio.Task[None] | None = None
        if link is not None:
            link.on_client_close = self._client_closed
            link.on_refused_frame = self._refused_frame

    # -- receiving

    async def start(self) -> None:
        await self.websocket.accept()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            text = message if isinstance(message, str) else None
            # Quart hands an empty binary frame over as None: binary too
            frame = self.journal.record_frame(self.connection, time.monotonic(), "in", message, frame_type(text))
            await self._incoming.put(Received(frame.t, text, message_weight(message), not frame.truncated))

    async def receive(self) -> Received:
        """The next client frame, in arrival order (its text None for a binary frame)."""
        if self.drop_at is None:
            received = await self._incoming.get()
        else:
            try:
                received = await asyncio.wait_for(self._incoming.get(), max(0.0, self.drop_at - time.monotonic()))
            except TimeoutError:
                await self.drop(self.drop_fault or "disconnectAfterMs")
                raise ConnectionEnded from None
        if self.link is not None:
            self.link.consumed(received.weight)
        return received

    # -- sending

    async def send(self, text: str, kind: str | None = None) -> None:
        """Send one text frame now (the drop deadline is checked first)."""
        if self.drop_at is not None and time.monotonic() >= self.drop_at:
            await self.drop(self.drop_fault or "disconnectAfterMs")
            raise ConnectionEnded
        await self.websocket.send(text)
        self.journal.record_frame(self.connection, time.monotonic(), "out", text, kind if kind else frame_type(text))

    async def send_bytes(self, data: bytes) -> None:
        """Send one binary frame now (the drop deadline is checked first)."""
        if self.drop_at is not None and time.monotonic() >= self.drop_at:
            await self.drop(self.drop_fault or "disconnectAfterMs")
            raise ConnectionEnded
        await self.websocket.send(data)
        self.journal.record_frame(self.connection, time.monotonic(), "out", data, None)

    async def wait_until(self, deadline: float) -> None:
        """Sleep until `deadline`, dropping the connection instead if the drop deadline comes first."""
        if self.drop_at is not None and self.drop_at <= deadline:
            await asyncio.sleep(max(0.0, self.drop_at - time.monotonic()))
            await self.drop(self.drop_fault or "disconnectAfterMs")
            raise ConnectionEnded
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def seconds_to_drop(self) -> float | None:
        return None if self.drop_at is None else max(0.0, self.drop_at - time.monotonic())

    def arm_drop(self, after_ms: int, fault: str = "disconnectAfterMs") -> None:
        """Drop the connection `after_ms` after it opened (at once if that moment has passed)."""
        at = self.connection.opened_at + max(0, after_ms) / 1000.0
        if self.drop_at is None or at < self.drop_at:
            self.drop_at, self.drop_fault = at, fault

    # -- ending

    def _mark_closed(self, by: Literal["server", "client", "drop"], t: float) -> None:
        if self.connection.closed_by is None:
            self.connection.closed_by = by
            self.connection.closed_at = t
        self.ended = True

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a close frame carrying `code` (the client answers with its own close frame)."""
        if self.ended:
            return
        self.connection.close_code_sent = code
        self._mark_closed("server", time.monotonic())
        await self.websocket.close(code, reason)

    async def drop(self, fault: str) -> None:
        """End the connection without a close frame (the client sees an abnormal closure, 1006)."""
        if self.ended:
            return
        add_fault(self.connection.faults, fault)
        self.connection.dropped = True
        self._mark_closed("drop", time.monotonic())
        if self.link is not None and await self.link.drop():
            return
        log.warning(
            "cannot drop a WebSocket without a close frame on this server; closing with %s instead", FALLBACK_DROP_CODE
        )
        add_fault(self.connection.faults, "dropUnavailable")
        self.connection.dropped = False
        self.connection.close_code_sent = FALLBACK_DROP_CODE
        await self.websocket.close(FALLBACK_DROP_CODE, "dotmock: drop unavailable")

    def _refused_frame(self, code: int, reason: str, t: float) -> None:
        # A frame the protocol layer refused (larger than the message limit, not UTF-8, ...): the server
        # closes with `code` (1009, 1007, 1002) at once.
        if self.connection.closed_by is not None:
            return
        self.connection.close_code_sent = code
        self.connection.error = f"frame_refused: {code} {reason}".rstrip()
        self._mark_closed("server", t)

    def _client_closed(self, code: int | None, t: float) -> None:
        # The client's answer to a server close or a drop is not the client closing: ignored, so
        # `close_code_received` is always the code the client chose to close with.
        if self.connection.closed_by is not None:
            return
        self.connection.close_code_received = code
        self._mark_closed("client", t)

    def client_left(self) -> None:
        """The handler was cancelled because the client went away (or the server is shutting down)."""
        gone = self.link.client_gone if self.link is not None else True
        self._mark_closed("client" if gone else "server", time.monotonic())

    async def finish(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.connection.closed_at is None:
            self.connection.closed_at = time.monotonic()


INTERNAL_ERROR_CODE = 1011


@asynccontextmanager
async def connection_ends(session: WsSession, stopping: Callable[[], bool]) -> AsyncIterator[None]:
    """How every WebSocket endpoint's connection ends, around its receive loop: a close or drop of ours ends it
    quietly; cancellation (the client left, or the server is stopping: `stopping()`) is journaled and passed
    on; any other error is journaled and closes with 1011, never a crash; the session is always finished."""
    try:
        yield
    except ConnectionEnded:
        pass
    except asyncio.CancelledError:
        if stopping() and not (session.link and session.link.client_gone):
            session.connection.error = session.connection.error or "server_shutdown"
        session.client_left()
        raise
    except Exception as err:
        log.exception("dotmock: error on WebSocket %s", session.connection.path)
        session.connection.error = f"internal_error: {type(err).__name__}: {err}"
        if not session.ended:
            await session.close(INTERNAL_ERROR_CODE, "dotmock internal error")
    finally:
        await session.finish()
