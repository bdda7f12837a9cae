"""The ASGI layer in front of the Quart app.

A `POST` to a path an API of the registry (`server.apis`) owns is answered here, straight from ASGI: the same
endpoint code as the Quart routes (`app._HttpEndpoints.handle`), without Quart's request and response objects,
routing and contexts, which cost about as much as the rest of the request. The handling mirrors Quart's
own: one task receives (body parts, then the client's disconnect), another handles and sends; whichever
ends first cancels the other, so a client that leaves cancels its stream as it would under Quart. Every
other request (other methods and paths, the control endpoints, WebSocket) goes to Quart.

For the requests Quart serves, two things Quart does not do for a streamed body:
- let the body generator raise `StreamAborted` to drop the connection: the app returns with the body
  unfinished, and hypercorn closes the socket without the chunked terminator, so the client reads an
  incomplete body (httpx: RemoteProtocolError) instead of a clean end;
- tell the generator when the client has gone (`ClientLink` in the scope's extensions).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope, WebsocketScope

from dotmock.server.answers import Answer
from dotmock.server.apis import api_for
from dotmock.server.apis.base import Api
from dotmock.server.asgi import lower_headers
from dotmock.server.streaming import ClientLink, StreamAborted

CLIENT_LINK_KEY = "dotmock.client"  # the scope extension under which a routed request's `ClientLink` travels
log = logging.getLogger("dotmock.server")


@dataclass(slots=True)
class Incoming:
    """A request as the endpoints see it, whichever layer received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; the last of repeated headers
    content_length: int | None
    body: AsyncIterable[bytes]
    client: ClientLink | None
    query: str = ""  # the query string as sent (it may hold a key: journal it only through server.redact)


class Endpoints(Protocol):
    async def handle(self, api: Api, incoming: Incoming) -> Answer: ...

    def refuse_answer(self, incoming: Incoming, status: int, message: str, code: str | None) -> Answer: ...


def _content_length(headers: dict[str, str]) -> int | None:
    try:
        value = int(headers["content-length"])
    except (KeyError, ValueError):
        return None
    return value if value >= 0 else None


class _Body:
    """The request body as the receiving task gets it, iterated by the handling task. A future made only when
    the handler has to wait, rather than an `asyncio.Event` per request (its deque is most of its size)."""

    __slots__ = ("complete", "parts", "waiter")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.complete = False
        self.waiter: asyncio.Future[None] | None = None

    def append(self, data: bytes, more: bool) -> None:
        self.parts.append(data)
        self.complete = not more
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        i = 0
        while True:
            while i < len(self.parts):
                yield self.parts[i]
                i += 1
            if self.complete:
                return
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None


async def _receive(receive: ASGIReceiveCallable, body: _Body, link: ClientLink) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "http.request":
            body.append(message.get("body", b""), message.get("more_body", False))
        elif message["type"] == "http.disconnect":
            link.gone = True
            return


async def _respond(endpoints: Endpoints, api: Api, incoming: Incoming, send: ASGISendCallable) -> None:
    try:
        answer = await endpoints.handle(api, incoming)
    except Exception as err:  # what Quart's error handler does for the routes
        log.exception("dotmock: error while answering %s %s", incoming.method, incoming.path)
        answer = endpoints.refuse_answer(
            incoming, 500, f"dotmock internal error: {type(err).__name__}: {err}", "internal_error"
        )
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.raw_headers()})
    body = answer.body
    if isinstance(body, bytes):
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    try:
        async for data in body:
            await send({"type": "http.response.body", "body": data, "more_body": True})
    except StreamAborted:
        return
    finally:
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()  # now, not whenever the generator is collected: it journals how the stream ended
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _serve_fast(
    endpoints: Endpoints, api: Api, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    link = ClientLink()
    headers = lower_headers(scope["headers"])
    body = _Body()
    query = scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
    incoming = Incoming(scope["method"], scope["path"], headers, _content_length(headers), body, link, query)
    receiver = asyncio.ensure_future(_receive(receive, body, link))
    handler = asyncio.ensure_future(_respond(endpoints, api, incoming, send))
    done, pending = await asyncio.wait((handler, receiver), return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in done:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error


def client_link(scope: HTTPScope | WebsocketScope) -> ClientLink | None:
    """The `ClientLink` `asgi_wrapper` put in a request's scope, if any."""
    link = (scope.get("extensions") or {}).get(CLIENT_LINK_KEY, {}).get("link")
    return link if isinstance(link, ClientLink) else None


def asgi_wrapper(asgi_app: ASGIFramework, endpoints: Endpoints) -> ASGIFramework:
    async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await asgi_app(scope, receive, send)
            return
        api = api_for(scope["path"]) if scope["method"] == "POST" and not scope.get("root_path") else None
        if api is not None:
            await _serve_fast(endpoints, api, scope, receive, send)
            return
        link = ClientLink()

        async def watched_receive() -> Any:
            message = await receive()
            if message["type"] == "http.disconnect":
                link.gone = True
            return message

        scope = scope.copy()
        scope["extensions"] = {**(scope.get("extensions") or {}), CLIENT_LINK_KEY: {"link": link}}
        try:
            await asgi_app(scope, watched_receive, send)
        except StreamAborted:
            pass

    return app
