"""`dotmock record`'s proxy: a loopback ASGI app that forwards every request (HTTP, SSE, WebSocket) to the
upstream and passes each piece of the answer back as it arrives, unchanged, while it notes what came when.

Each exchange with a `.mock` form (a POST to an endpoint dotmock answers, with a JSON body; a request message
on a WebSocket endpoint) is handed to `on_record` as a `dsl.recording.RecordedHttp` / `RecordedWs` when it
ends. Times are taken when bytes reach the proxy: a chunk's gap is the time between two content events as the
upstream delivered them, the first chunk's is from the moment the request went upstream.

Request headers are forwarded as the client sent them (the credentials must reach the upstream), except the
hop-by-hop ones and `accept-encoding`, which is narrowed to the encodings the recorder can read (gzip,
deflate): the client gets the upstream's bytes unchanged either way. The values of credential headers are
collected in `secrets`, so the writer can scrub them from anything it writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

import httpx
from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, aconnect_ws
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Sockets
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope, WebsocketScope
from hypercorn.utils import wrap_app
from wsproto.events import BytesMessage, TextMessage

from dotmock.dsl.catalogue import WS_ENDPOINTS, is_http_endpoint
from dotmock.dsl.recording import SECRET_HEADERS, Recorded, RecordedEvent, RecordedHttp, RecordedWs
from dotmock.server.app import DEFAULT_MAX_BODY_BYTES
from dotmock.server.guard import Guard, new_token
from dotmock.server.record_read import (
    Decoder,
    JsonArraySplitter,
    SseSplitter,
    is_gemini_stream,
    read_json,
    read_stream,
    ws_event,
    ws_request,
)
from dotmock.server.redact import secrets_of
from dotmock.server.running import bind_socket, hypercorn_config
from dotmock.server.ws_transport import TransportLink, link_for, transport_middleware

log = logging.getLogger("dotmock.record")
_Send = Callable[[Any], Awaitable[None]]  # hypercorn's ASGISendCallable, taking the plain dicts built here
# How a recorded WebSocket exchange ended: a close code, "drop" (no close frame), or "open" (the next message came).
_End = int | Literal["drop", "open"] | None
# A close code a client may put in a close frame (1005 / 1006 / 1015 never are on the wire).
_SENDABLE = range(1000, 5000)
_UNSENDABLE = (1004, 1005, 1006, 1015)

# Not forwarded: hop-by-hop headers, and Proxy-Authorization (credentials for a proxy, never the upstream's)
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
_READABLE_ENCODINGS = ("gzip", "deflate", "identity")


def _headers(scope: HTTPScope | WebsocketScope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]


def upstream_target(raw_path: bytes) -> bool:
    """May a request path (as sent, percent-encoded) be put after the upstream's? Only an origin-form path: it
    starts with `/` (not `@evil.example/`, which would make the upstream URL's host the attacker's, nor an
    absolute URL or `*`) and has no `.` or `..` segment, raw or encoded (which would climb out of the
    upstream's own path)."""
    if not raw_path.startswith(b"/"):
        return False
    return not any(seg in (".", "..") for seg in unquote(raw_path.decode("latin-1")).split("/"))


def _accept_encoding(value: str) -> str:
    kept = [part.strip() for part in value.split(",") if part.split(";")[0].strip().lower() in _READABLE_ENCODINGS]
    return ", ".join(kept) or "identity"


class RecordingProxy:
    """The ASGI app. `upstream` is a base URL (`http://host:port`, optionally with a path put before every
    request path); `redact` names more headers whose values are secrets."""

    def __init__(
        self, upstream: str, on_record: Callable[[Recorded], None], *, redact: frozenset[str] = frozenset()
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.base = httpx.URL(self.upstream)
        self.on_record = on_record
        self.secret_names = SECRET_HEADERS | {n.lower() for n in redact}
        self.secrets: set[str] = set()
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=30.0, read=None, write=60.0, pool=None), trust_env=False
        )
        self.passed: list[str] = []  # requests forwarded without a fixture form, for the summary

    async def aclose(self) -> None:
        await self.client.aclose()

    def url(self, scope: HTTPScope | WebsocketScope, websocket: bool = False) -> httpx.URL | None:
        """The upstream URL for this request: the upstream's origin and path, then the request's path and query
        as the client sent them (still percent-encoded). None for a target that could leave the upstream or
        its path (`upstream_target`): the client's credentials go to the upstream and nowhere else."""
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        if not upstream_target(raw):
            return None
        query = scope["query_string"]
        try:
            url = self.base.copy_with(raw_path=self.base.raw_path.rstrip(b"/") + raw + (b"?" + query if query else b""))
        except httpx.InvalidURL:
            return None
        if websocket:
            url = url.copy_with(scheme="wss" if url.scheme == "https" else "ws")
        return url if url.host == self.base.host and url.port == self.base.port else None

    def forwarded(self, scope: HTTPScope | WebsocketScope, *, websocket: bool = False) -> list[tuple[str, str]]:
        out = []
        for name, value in _headers(scope):
            if name in _HOP_BY_HOP or name == "content-length" or (websocket and name.startswith("sec-websocket")):
                continue
            if name in self.secret_names:
                self.secrets.add(value)
            if name == "accept-encoding":
                value = _accept_encoding(value)
            out.append((name, value))
        return out

    def note_secrets(self, scope: HTTPScope | WebsocketScope) -> None:
        """The request's credentials the file must never hold, beyond the secret headers' whole values
        (`forwarded`): keys in secret query parameters (Gemini's `?key=`), in a browser WebSocket client's
        subprotocols (`openai-insecure-api-key.KEY`), in any header whose name says it holds one."""
        self.secrets.update(secrets_of(dict(_headers(scope)), scope["query_string"].decode("latin-1")))

    def record(self, exchange: Recorded) -> None:
        try:
            self.on_record(exchange)
        except Exception:  # writing the file must never break the client's traffic
            log.exception("dotmock record: could not write the recording")

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message: Any = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # ---------------------------------------------------------------------------------------------- HTTP

    async def http(self, scope: HTTPScope, receive: ASGIReceiveCallable, send: _Send) -> None:
        # The body is held (to record it) up to RECORDED_BODY_BYTES; a bigger one (an upload, or a body that
        # never ends) is streamed on to the upstream as it comes and not recorded: memory stays bounded.
        body = bytearray()
        more = True
        while more and len(body) <= RECORDED_BODY_BYTES:
            message: Any = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
        url = self.url(scope)
        if url is None:
            await _answer(send, 400, BAD_TARGET)
            return
        self.note_secrets(scope)
        headers = self.forwarded(scope)
        content: bytes | AsyncIterator[bytes] = bytes(body)
        if more:
            content = _rest_of_body(bytes(body), receive)
            headers += [(k, v) for k, v in _headers(scope) if k == "content-length"]
        request = self.client.build_request(scope["method"], url, headers=headers, content=content)
        t0 = time.monotonic()
        try:
            response = await self.client.send(request, stream=True)
            first_byte = time.monotonic() - t0  # the status and headers are in
        except (httpx.HTTPError, _ClientLeft) as err:
            await _answer(send, 502, f"dotmock record: upstream unreachable: {err}")
            return
        recordable = not more and scope["method"] == "POST" and is_http_endpoint(scope["path"])
        try:
            parsed = json.loads(body) if recordable else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            too_big = f" (a body over {RECORDED_BODY_BYTES // 2**20} MiB)" if more else ""
            self.passed.append(f"{scope['method']} {scope['path']}{too_big}")
        await self.relay(scope, response, send, parsed, t0, first_byte)

    async def relay(
        self, scope: HTTPScope, response: httpx.Response, send: _Send, parsed: Any, t0: float, first_byte: float
    ) -> None:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        sse = response.headers.get("content-type", "").startswith("text/event-stream")
        decoder = Decoder(response.headers.get("content-encoding"))
        # Gemini's stream without `alt=sse` is one JSON array, its elements written as they come
        array = not sse and response.status_code < 400 and is_gemini_stream(scope["path"])
        splitter: SseSplitter | JsonArraySplitter = JsonArraySplitter() if array else SseSplitter()
        events = []
        text_parts: list[str] = []
        complete = True
        try:
            async for raw in response.aiter_raw():
                t = time.monotonic()
                await send({"type": "http.response.body", "body": raw, "more_body": True})
                if parsed is not None:
                    text = decoder.feed(raw)
                    if sse or array:
                        events += splitter.feed(text, t)
                    else:
                        text_parts.append(text)
        except httpx.HTTPError:
            complete = False  # the upstream cut the body: so does the proxy (no final chunk)
        finally:
            await response.aclose()
        if complete:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        if parsed is not None:
            text = "".join(text_parts)
            streamed = sse or array
            self.record(self.recorded_http(scope["path"], parsed, response, streamed, events, text, t0, first_byte))

    def recorded_http(
        self,
        path: str,
        body: Any,
        response: httpx.Response,
        sse: bool,
        events: list[Any],
        text: str,
        t0: float,
        first_byte: float = 0.0,
    ) -> RecordedHttp:
        status = response.status_code
        headers = tuple(response.headers.multi_items())
        elapsed = (events[-1].t if events else time.monotonic()) - t0
        if status >= 400:
            try:
                error_body: Any = json.loads(text)
            except ValueError:
                error_body = text or None
            return RecordedHttp(
                path, body, status, headers, error_body=error_body, elapsed_s=elapsed, first_byte_s=first_byte
            )
        if sse:
            reading = read_stream(path, events, t0)
            return RecordedHttp(
                path,
                body,
                status,
                headers,
                stream=True,
                chunks=tuple(reading.chunks),
                end_gap_s=reading.end_gap_s,
                completed=reading.completed,
                finish_reason=reading.finish_reason,
                dialect="seed" if reading.dialect == "seed" else None,
                elapsed_s=elapsed,
                unreadable=reading.unreadable,
                tool_calls=tuple(reading.calls),
                refusal=reading.refusal,
                error_event=reading.error,
                reasoning=reading.reasoning,
                lost=tuple(reading.lost),
            )
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        answer = read_json(path, value)
        return RecordedHttp(
            path,
            body,
            status,
            headers,
            text=answer.text,
            finish_reason=answer.finish_reason,
            elapsed_s=elapsed,
            first_byte_s=first_byte,
            unreadable=answer.unreadable,
            tool_calls=tuple(answer.calls),
            refusal=answer.refusal,
            reasoning=answer.reasoning,
            lost=tuple(answer.lost),
        )

    # ---------------------------------------------------------------------------------------------- WebSocket

    async def websocket(self, scope: WebsocketScope, receive: ASGIReceiveCallable, send: _Send) -> None:
        first: Any = await receive()
        if first["type"] != "websocket.connect":
            return
        url = self.url(scope, websocket=True)
        if url is None:  # refused before the handshake is accepted: the client gets a 403
            await send({"type": "websocket.close", "code": 1008})
            return
        self.note_secrets(scope)
        connecting: Any = aconnect_ws(  # httpx-ws's context manager (generic in its session class)
            str(url),
            self.client,
            headers=httpx.Headers(self.forwarded(scope, websocket=True)),
            subprotocols=list(scope.get("subprotocols") or []) or None,
            keepalive_ping_interval_seconds=None,
            max_message_size_bytes=16 * 1024 * 1024,
        )
        link = link_for(scope)
        session: _WsSession | None = None
        try:
            async with connecting as upstream:
                await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
                session = _WsSession(self, scope["path"], upstream, receive, send, link)
                await session.run()
        except* (httpx.HTTPError, WebSocketNetworkError, OSError) as group:
            log.info("dotmock record: WebSocket %s: %s", scope["path"], group.exceptions[0])
            session = None
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1011})
        if session is not None and session.dropped:  # the upstream ended without a close frame: so does the proxy
            await _drop(link, send)


class _WsSession:
    """One proxied WebSocket: frames both ways; each client request message opens an exchange that the
    upstream's frames answer until the next one."""

    def __init__(
        self,
        proxy: RecordingProxy,
        path: str,
        upstream: Any,
        receive: ASGIReceiveCallable,
        send: _Send,
        link: TransportLink | None = None,
    ) -> None:
        self.proxy = proxy
        self.link = link
        self.opened_at = time.monotonic()
        self.exchanges = 0  # recorded so far on this connection
        self.dropped = False
        self.path = path
        self.upstream: Any = upstream
        self.receive = receive
        self.send = send
        self.recordable = path in WS_ENDPOINTS
        self.request: Any = None
        self.envelope = True
        self.events: list[RecordedEvent] = []
        self.last_t = 0.0
        self.unreadable: str | None = None

    def finish(self, end: _End) -> None:
        if self.request is None:
            return
        now = time.monotonic()
        self.proxy.record(
            RecordedWs(
                self.path,
                self.request,
                tuple(self.events),
                None if end == "open" else end,
                self.unreadable,
                first_on_connection=self.exchanges == 0,
                since_open_s=now - self.opened_at,
                end_gap_s=now - self.last_t,
            )
        )
        self.exchanges += 1
        self.request = None

    async def run(self) -> None:
        to_upstream = asyncio.ensure_future(self.client_to_upstream())
        to_client = asyncio.ensure_future(self.upstream_to_client())
        done, pending = await asyncio.wait((to_upstream, to_client), return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            end = task.result()
            self.finish(end)

    async def client_to_upstream(self) -> _End:
        while True:
            message: Any = await self.receive()
            if message["type"] == "websocket.disconnect":
                with contextlib.suppress(Exception):
                    await self.upstream.close(self.client_code(message.get("code")))
                return "open"
            text = message.get("text")
            if text is not None:
                request = ws_request(text) if self.recordable else None
                if request is not None:
                    self.finish("open")
                    self.request, self.events, self.unreadable = request, [], None
                    self.envelope = json.loads(text).get("type") == "message"
                    self.last_t = time.monotonic()
                await self.upstream.send_text(text)
            elif message.get("bytes") is not None:
                await self.upstream.send_bytes(message["bytes"])

    async def upstream_to_client(self) -> _End:
        while True:
            try:
                event = await self.upstream.receive()
            except WebSocketDisconnect as err:
                code = err.code or 1000
                if code == 1006:  # no close frame after all
                    self.dropped = True
                    return "drop"
                with contextlib.suppress(Exception):
                    await self.send({"type": "websocket.close", "code": code})
                return code
            except WebSocketNetworkError:  # the upstream's connection ended without a close frame
                self.dropped = True
                return "drop"
            t = time.monotonic()
            if isinstance(event, TextMessage):
                await self.send({"type": "websocket.send", "text": event.data})
                if self.request is not None:
                    recorded = ws_event(event.data, t - self.last_t, self.envelope)
                    if recorded is None:
                        self.unreadable = "a frame that is not a JSON event"
                    else:
                        self.events.append(recorded)
                    self.last_t = t
            elif isinstance(event, BytesMessage):
                await self.send({"type": "websocket.send", "bytes": bytes(event.data)})
                if self.request is not None:
                    self.events.append(RecordedEvent("", None, t - self.last_t, bytes(event.data)))
                    self.last_t = t

    def client_code(self, reported: Any) -> int:
        """The code of the client's close frame, to pass upstream: the one the link saw on the wire (hypercorn
        reports 1000 or 1006 whatever the client sent), else the reported one, else 1000."""
        seen = self.link.close_code_received if self.link is not None and self.link.observes_close_codes else None
        for code in (seen, reported):
            if isinstance(code, int) and code in _SENDABLE and code not in _UNSENDABLE:
                return code
        return 1000


# The largest request body the proxy holds to record: what `dotmock serve` takes (a bigger one could not be
# replayed); beyond it the body is streamed to the upstream and the exchange is passed on, not recorded.
RECORDED_BODY_BYTES = DEFAULT_MAX_BODY_BYTES


class _ClientLeft(Exception):
    """The client went away before its request body was all sent."""


async def _rest_of_body(head: bytes, receive: ASGIReceiveCallable) -> AsyncIterator[bytes]:
    """`head`, then the rest of the request body as the client sends it."""
    yield head
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientLeft("the client left before sending all of its body")
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


BAD_TARGET = (
    "dotmock record forwards origin-form paths only (starting with '/', no '.' or '..' segment): the request "
    "goes to the --upstream and nowhere else. Point the client's base URL at the proxy; it is not an HTTP_PROXY."
)


async def _answer(send: _Send, status: int, message: str) -> None:
    """A JSON error answer of the proxy's own (400 for a target it does not forward, 502 when the upstream is
    unreachable)."""
    body = json.dumps({"error": {"message": message, "type": "proxy_error"}}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drop(link: TransportLink | None, send: _Send) -> None:
    """End the client's connection without a close frame, as the upstream did; where the server gives no way
    to (not hypercorn over HTTP/1.1), close it with 1011 and say so."""
    if link is not None and await link.drop():
        return
    log.warning("dotmock record: cannot drop the client's WebSocket without a close frame; closing with 1011")
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": 1011})


@dataclass(frozen=True, slots=True)
class RunningProxy:
    proxy: RecordingProxy
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@asynccontextmanager
async def running_proxy(
    upstream: str,
    on_record: Callable[[Recorded], None],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    redact: frozenset[str] = frozenset(),
) -> AsyncIterator[RunningProxy]:
    """Serve a `RecordingProxy` to `upstream` on host:port for the duration of the block."""
    proxy = RecordingProxy(upstream, on_record, redact=redact)
    sock = bind_socket(host, port)
    actual = sock.getsockname()[1]
    config = hypercorn_config(host, actual, graceful_timeout=1.0, quiet=True)
    stop = asyncio.Event()
    sockets = Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])
    # transport_middleware: a WebSocket the upstream dropped is dropped for the client too (no close frame).
    # The guard's Host and Origin rules (docs/security.md): a foreign page must not drive the upstream through
    # the proxy, nor read its answers by DNS rebinding. The proxy has no control writes; the token is unused.
    guarded = Guard(transport_middleware(proxy), new_token(), (host,))
    app = wrap_app(guarded, config.wsgi_max_body_size, "asgi")
    task = asyncio.ensure_future(worker_serve(app, config, sockets=sockets, shutdown_trigger=stop.wait))
    try:
        await asyncio.sleep(0)
        if task.done():
            task.result()
        yield RunningProxy(proxy, host, actual)
    finally:
        stop.set()
        await asyncio.wait({task}, timeout=5)
        if not task.done():
            task.cancel()
        await proxy.aclose()
        sock.close()
