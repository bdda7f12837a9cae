"""Keep-alive for requests answered before their body was read: a 405, 404 or 403 to a PATCH or DELETE
carrying a body, a guard refusal, any answer that does not need the body.

hypercorn reuses a connection only once it has read the whole request; an answer sent while the client is
still uploading ends the connection (the client may even see a reset instead of the answer). So
`keep_alive_middleware`, the outermost ASGI layer, reads what is left of the body (and discards it) before the
answer's last part goes out: up to `DRAIN_LIMIT_BYTES`, for at most `DRAIN_TIMEOUT_S`. A body announced
larger than that is not read: the answer says `Connection: close`, so the client knows the connection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPScope,
    Scope,
)

DRAIN_LIMIT_BYTES = 40 * 1024 * 1024  # what a refused 413 body is read up to as well (4 x the body limit)
DRAIN_TIMEOUT_S = 10.0


def _declared_length(scope: HTTPScope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


class _Request:
    """The request body as it passes to the app: how much arrived, whether all of it did."""

    def __init__(self, receive: ASGIReceiveCallable, declared: int | None) -> None:
        self._receive = receive
        self.declared = declared
        self.received = 0
        self.complete = declared == 0
        self.closing = False  # too big to read: the answer says Connection: close
        self._ended = asyncio.Event()
        if self.complete:
            self._ended.set()

    async def receive(self) -> ASGIReceiveEvent:
        message = await self._receive()
        self._note(message)
        return message

    def _note(self, message: Any) -> None:
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
        elif message["type"] == "http.disconnect":
            self.complete = True  # nothing more will come
        if self.complete:
            self._ended.set()

    async def drain(self) -> None:
        """Read the rest of the body (the app's own reader may be reading at the same time: whoever takes a
        part, it is counted, and the drain ends when the last part arrived)."""
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                while not self.complete and self.received <= DRAIN_LIMIT_BYTES:
                    part = asyncio.ensure_future(self._receive())
                    await asyncio.wait((part, ended), return_when=asyncio.FIRST_COMPLETED)
                    if part.done():
                        self._note(part.result())
                    else:
                        part.cancel()  # the app's reader took the last part; a cancelled queue get loses nothing
                        with contextlib.suppress(asyncio.CancelledError):
                            await part
        except TimeoutError:
            pass
        finally:
            ended.cancel()


def keep_alive_middleware(app: ASGIFramework) -> ASGIFramework:
    async def wrapped(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request = _Request(receive, _declared_length(scope))

        async def finishing_send(message: ASGISendEvent) -> None:
            if not request.complete:
                if message["type"] == "http.response.start":
                    declared = request.declared
                    if declared is not None and declared - request.received > DRAIN_LIMIT_BYTES:
                        request.closing = True
                        headers = [*message.get("headers", ()), (b"connection", b"close")]
                        message = {**message, "headers": headers}
                elif message["type"] == "http.response.body" and not message.get("more_body", False):
                    if not request.closing:
                        await request.drain()
            await send(message)

        await app(scope, request.receive, finishing_send)

    return wrapped
