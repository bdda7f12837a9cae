"""Reaching below ASGI to the server's connection: dropping a WebSocket without a close frame, and reading
the close code the client really sent.

ASGI cannot abort a connection: under hypercorn every way a WebSocket handler can end sends a close frame
(returning or raising gives 1011). And hypercorn reports a client's close to the app as 1000 or 1006,
whatever code the client sent. dotmock needs both (disconnectAfterMs and closeCode 1006 are drops without a
close frame; `ws close code` expectations need the client's code), so `install_transport_middleware` wraps
the app and, for each WebSocket, follows the ASGI `send` callable hypercorn hands the app to the objects
behind it:

    WSStream.app_send -> WSStream.send (H11Protocol.stream_send) -> H11Protocol.send
    (TCPServer.protocol_send) -> TCPServer.writer.transport

Where that chain is missing (another ASGI server, HTTP/2, an in-process test transport) `TransportLink`
says so (`can_drop` False, no close codes observed) and the caller falls back; nothing here raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPScope,
    Scope,
    WebsocketScope,
)

log = logging.getLogger(__name__)

EXTENSION_KEY = "dotmock.transport"
# The reason sent with the close frame when the protocol layer refuses a client frame (docs/websocket.md).
_REFUSAL_REASONS = {
    1002: "dotmock: protocol error",
    1007: "dotmock: text frame is not UTF-8",
    1009: "dotmock: message too big",
}
FLUSH_TIMEOUT_S = 1.0
# Client frames taken from the socket but not yet handled, in bytes: past this the link takes no more until
# the handler catches up, so the socket's receive buffer fills and TCP holds the client back. With hypercorn's
# own queue (`max_app_queue_size` messages) and one frame being read, this bounds a connection's backlog.
QUEUE_BYTES = 4 * 1024 * 1024
# After the handler ended, frames still arriving are read and discarded for at most this long (until the
# client's close or the connection's end), so hypercorn never waits forever to hand one over.
DRAIN_TIMEOUT_S = 10.0
_draining: set[asyncio.Task[None]] = set()


def message_weight(message: str | bytes | None) -> int:
    """What a client frame counts towards `QUEUE_BYTES` (characters of a text, bytes of a binary frame)."""
    return len(message or b"")


def _bound_owner(method: Any) -> Any:
    return getattr(method, "__self__", None)


def _find_transport(send: ASGISendCallable) -> Any:
    stream = _bound_owner(send)  # hypercorn WSStream
    protocol = _bound_owner(getattr(stream, "send", None))  # H11Protocol
    server = _bound_owner(getattr(protocol, "send", None))  # TCPServer
    writer = getattr(server, "writer", None)
    transport = getattr(writer, "transport", None)
    # Duck-typed (hence Any): uvloop's transports are not asyncio.Transport subclasses but offer the same calls.
    if callable(getattr(transport, "abort", None)) and callable(getattr(transport, "get_write_buffer_size", None)):
        return transport
    return None


class TransportLink:
    """One WebSocket's way to the socket under it, and what the client did at the end.

    `client_gone` turns True when the client's close frame arrives (also the answer to a server's close) or
    its connection is lost; `on_client_close(code, t)` is then called once with the code of that close
    frame (1005 for a close frame without a code), or None when the connection ended without one.
    """

    def __init__(self, send: ASGISendCallable) -> None:
        self._send = send
        self._transport = _find_transport(send)
        self._observing = False
        self.dropped = False
        self.client_gone = False
        self.close_code_received: int | None = None
        self.on_client_close: Callable[[int | None, float], None] | None = None
        # Called when the server refused a client frame at the protocol level and closes with `code`.
        self.on_refused_frame: Callable[[int, str, float], None] | None = None
        self._queued = 0  # weight of the frames handed to the app and not yet `consumed`
        self._room = asyncio.Event()
        self._room.set()

    # -- the bound on frames waiting for the handler

    async def wait_for_room(self) -> None:
        await self._room.wait()

    def queued(self, weight: int) -> None:
        self._queued += weight
        if self._queued >= QUEUE_BYTES:
            self._room.clear()

    def consumed(self, weight: int) -> None:
        """The handler took a frame of `weight` (`message_weight`) from its queue."""
        self._queued = max(0, self._queued - weight)
        if self._queued < QUEUE_BYTES:
            self._room.set()

    @property
    def can_drop(self) -> bool:
        return self._transport is not None

    @property
    def observes_close_codes(self) -> bool:
        return self._observing

    async def drop(self) -> bool:
        """Close the TCP connection with no WebSocket close frame; frames already sent are flushed first.

        The socket is closed (FIN), not reset: an RST can make the client's kernel discard data it has
        received but the client has not read yet, and the frames sent before the drop must arrive.
        Returns False when the transport cannot be reached (the caller must end the connection another way).
        """
        transport = self._transport
        if transport is None:
            return False
        self.dropped = True
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while transport.get_write_buffer_size() and not transport.is_closing() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        transport.abort()
        return True

    # -- ASGI plumbing

    async def send(self, message: ASGISendEvent) -> None:
        if self.dropped:
            return  # the socket is gone: a close frame (e.g. the framework's own 1000) must not be attempted
        await self._send(message)
        if message.get("type") == "websocket.accept":
            self._observe_close_frames()
            self._bound_frame_headers()

    def saw_disconnect(self, code: Any) -> None:
        # hypercorn's own code is 1000/1006 whatever the client sent: trust it only when no frames are observed.
        trusted = not self._observing and isinstance(code, int) and code != 1006
        self._client_closed(code if trusted else None)

    def _refused_frame(self, code: int, reason: str) -> None:
        self.client_gone = True  # the connection is ending; the client's answer to our close is not news
        if self.on_refused_frame is not None:
            self.on_refused_frame(code, reason, time.monotonic())

    def _client_closed(self, code: int | None) -> None:
        if self.client_gone:
            return
        self.client_gone = True
        self.close_code_received = code
        if self.on_client_close is not None:
            self.on_client_close(code, time.monotonic())

    def _observe_close_frames(self) -> None:
        """Wrap the wsproto connection's `events()` of this one stream to see the client's close frame."""
        stream = _bound_owner(self._send)
        connection = getattr(stream, "connection", None)
        events = getattr(connection, "events", None)
        if connection is None or events is None:
            return
        try:
            from wsproto.connection import ConnectionState
            from wsproto.events import CloseConnection
        except ImportError:  # pragma: no cover - hypercorn depends on wsproto
            return
        link = self

        def observed_events() -> Iterator[Any]:
            for event in events():
                if isinstance(event, CloseConnection) and connection.state is ConnectionState.OPEN:
                    # wsproto refused a frame (too large, bad UTF-8, bad opcode): this close is the server's.
                    # As REMOTE_CLOSING, hypercorn answers it with a close frame carrying the code, at once,
                    # instead of dropping the connection without one.
                    reason = _REFUSAL_REASONS.get(int(event.code), "dotmock: frame refused")
                    event = CloseConnection(code=event.code, reason=reason)
                    link._refused_frame(int(event.code), reason)
                    with contextlib.suppress(AttributeError):
                        connection._state = ConnectionState.REMOTE_CLOSING
                # wsproto reports a lost TCP connection as a CloseConnection(1006) it made up itself;
                # a code in a real close frame can never be 1006.
                elif isinstance(event, CloseConnection) and event.code != 1006:
                    link._client_closed(int(event.code))
                yield event

        try:
            connection.events = observed_events
        except AttributeError:
            return
        self._observing = True

    def _bound_frame_headers(self) -> None:
        """Refuse a frame whose header announces more than the server's message limit as soon as the header
        arrives (close 1009), instead of waiting for a payload that may never come (2^62 bytes announced).
        hypercorn itself only counts the bytes that did arrive."""
        stream = _bound_owner(self._send)
        connection = getattr(stream, "connection", None)
        decoder = getattr(getattr(connection, "_proto", None), "_frame_decoder", None)
        extensions = getattr(decoder, "extensions", None)
        limit = getattr(getattr(stream, "config", None), "websocket_max_message_size", None)
        if not isinstance(extensions, list) or not isinstance(limit, int):
            return
        extensions.append(_frame_size_guard(limit))


def _frame_size_guard(limit: int) -> Any:
    from wsproto.extensions import Extension
    from wsproto.frame_protocol import CloseReason, RsvBits

    class FrameSizeGuard(Extension):
        name = "dotmock-frame-size"  # never offered nor negotiated: only its inbound header check is used

        def offer(self) -> bool:
            return False

        def frame_inbound_header(self, proto: Any, opcode: Any, rsv: RsvBits, payload_length: int) -> Any:
            if payload_length > limit:
                return CloseReason.MESSAGE_TOO_BIG
            return RsvBits(False, False, False)

    return FrameSizeGuard()


def link_for(scope: HTTPScope | WebsocketScope) -> TransportLink | None:
    """The `TransportLink` the middleware put in a WebSocket scope, if any."""
    extensions = scope.get("extensions") or {}
    link = extensions.get(EXTENSION_KEY, {}).get("link")
    return link if isinstance(link, TransportLink) else None


def transport_middleware(app: ASGIFramework) -> ASGIFramework:
    """Wrap an ASGI app so every WebSocket scope carries a `TransportLink` (extension `EXTENSION_KEY`)."""

    async def wrapped(scope: Scope, receive: Callable[[], Any], send: ASGISendCallable) -> None:
        if scope["type"] != "websocket":
            await app(scope, receive, send)
            return
        link = TransportLink(send)
        scope = scope.copy()
        scope["extensions"] = {**(scope.get("extensions") or {}), EXTENSION_KEY: {"link": link}}

        async def linked_receive() -> ASGIReceiveEvent:
            await link.wait_for_room()
            message: ASGIReceiveEvent = await receive()
            if message["type"] == "websocket.disconnect":
                link.saw_disconnect(message.get("code"))
            elif message["type"] == "websocket.receive":  # narrows the union to hypercorn's WebsocketReceiveEvent
                link.queued(message_weight(message.get("bytes") or message.get("text")))
            return message

        try:
            await app(scope, linked_receive, link.send)
        finally:
            task = asyncio.create_task(_drain(receive))
            _draining.add(task)
            task.add_done_callback(_draining.discard)

    return wrapped


async def _drain(receive: Callable[[], Any]) -> None:
    """Read and discard what the client still sends after the handler ended, until it leaves."""
    with contextlib.suppress(Exception, TimeoutError):
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            while True:
                message = await receive()
                if not isinstance(message, dict) or message.get("type") != "websocket.receive":
                    return
