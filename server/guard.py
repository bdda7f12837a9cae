"""Who may talk to the server: the ASGI layer in front of everything else (fast path, Quart, WebSocket).

dotmock listens on loopback for programs on the same machine. A web page in the user's browser is on the same
machine too, so every request and WebSocket handshake passes three rules first (docs/security.md):

1. Host: the `Host` header names a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`, any port) or a name
   the server was told to answer for (its `--host`, `--allow-host`). A DNS-rebinding page sends its own domain.
2. Origin: a request a browser made for a page of another origin (`Origin` other than this server's own, or
   `Origin: null` from a `file://` page; `Sec-Fetch-Site` other than `same-origin`) is refused, on every
   endpoint: dotmock never sends CORS headers, and a foreign page must not drive the mock or read its state.
   Navigating to the panel page (`GET /_dotmock/`) is the exception; `Sec-Fetch-Site: none` (typed in the
   address bar) is accepted for reads.
3. Control writes (any method but GET/HEAD under `/_dotmock/`): `Content-Type: application/json` and the
   server's secret in `X-Dotmock-Token` (the panel page carries it; `dotmock serve` prints it;
   `running_server(...).token`).

A refused request is answered 403 with an OpenAI-shaped JSON body naming the rule, and never reaches the app
(it is not journaled). Accepted requests pass through with `receive` untouched; every answer under
`/_dotmock/` gets `CONTROL_HEADERS` (not cached, not sniffed, not loadable by another origin's `<script>` or
`<img>`, no opener for a page that opened it), the API paths' answers go out untouched.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
    WebsocketResponseBodyEvent,
    WebsocketResponseStartEvent,
    WebsocketScope,
)

CONTROL_PREFIX = "/_dotmock/"
PANEL_PAGE = "/_dotmock/"
TOKEN_HEADER = "X-Dotmock-Token"
TOKEN_KEY = "DOTMOCK_TOKEN"  # app.config: the server's token (server.app sets it)
_TOKEN_HEADER = TOKEN_HEADER.lower().encode("latin-1")
READ_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_NAMES = frozenset({"localhost"})
_HOST_CACHE_SIZE = 256
# On every answer under /_dotmock/ (the journal, the source, the panel and its files, errors): never cached,
# never sniffed as another type, not embeddable by another origin (even in a browser without Sec-Fetch-*)
CONTROL_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def new_token() -> str:
    """A fresh per-server secret (URL-safe, 192 bits)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str

    def body(self) -> bytes:
        return json.dumps(
            {"error": {"message": self.message, "type": "permission_error", "param": None, "code": self.code}}
        ).encode("utf-8")


def split_host(value: str) -> tuple[str, str] | None:
    """`Host` header -> (host name lower-cased, port text or ""); None when it is not a host[:port]."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        name, _, port = value.partition(":")
        if not name or ":" in port:
            return None
    if port and not (port.isdigit() and len(port) <= 5):
        return None
    return name, port


def is_loopback_name(name: str) -> bool:
    """`localhost`, or an IP address on the loopback interface (127.0.0.0/8, ::1)."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _normal_name(name: str) -> str:
    name = name.strip().lower()
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


class HostRule:
    """Which `Host` header values the server answers for."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        self.extra = frozenset(_normal_name(n) for n in extra_names if n.strip())
        self._seen: dict[bytes, bool] = {}

    def allows(self, raw: bytes) -> bool:
        known = self._seen.get(raw)
        if known is not None:
            return known
        parts = split_host(raw.decode("latin-1"))
        verdict = parts is not None and (parts[0] in self.extra or is_loopback_name(parts[0]))
        if len(self._seen) < _HOST_CACHE_SIZE:
            self._seen[raw] = verdict
        return verdict


def _same_origin(origin: str, host: str | None) -> bool:
    """Is `origin` (the browser's `Origin` header) this server as addressed by `host` (its `Host` header)?"""
    if host is None:
        return False
    scheme, sep, rest = origin.strip().lower().partition("://")
    if not sep or scheme not in ("http", "https") or "/" in rest:
        return False
    ours, theirs = split_host(host), split_host(rest)
    if ours is None or theirs is None:
        return False
    default = "443" if scheme == "https" else "80"
    return ours[0] == theirs[0] and (ours[1] or "80") == (theirs[1] or default)


def _media_type(value: str | None) -> str:
    return (value or "").partition(";")[0].strip().lower()


class _Request:
    """The headers the rules read, from one pass over the scope's header list."""

    __slots__ = ("content_type", "fetch_mode", "fetch_site", "hosts", "origin", "token")

    def __init__(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.hosts: list[bytes] = []
        self.origin: str | None = None
        self.fetch_site: str | None = None
        self.fetch_mode: str | None = None
        self.content_type: str | None = None
        self.token: bytes | None = None
        for name, value in headers:
            name = name.lower()  # hypercorn lower-cases them already; other servers and tests may not
            if name == b"host":
                self.hosts.append(value)
            elif name == b"origin":
                self.origin = value.decode("latin-1")
            elif name == b"sec-fetch-site":
                self.fetch_site = value.decode("latin-1").strip().lower()
            elif name == b"sec-fetch-mode":
                self.fetch_mode = value.decode("latin-1").strip().lower()
            elif name == b"content-type":
                self.content_type = value.decode("latin-1")
            elif name == _TOKEN_HEADER:
                self.token = value


class Guard:
    """The three rules, as an ASGI middleware around `app`."""

    def __init__(self, app: ASGIFramework, token: str, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.token = token.encode("latin-1")
        self.hosts = HostRule(allowed_hosts)

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http":
            refusal = self.check(scope["headers"], scope["path"], scope["method"])
            if refusal is not None:
                await _refuse_http(send, refusal)
                return
            if scope["path"].startswith(CONTROL_PREFIX):
                send = _with_control_headers(send)
        elif scope["type"] == "websocket":
            refusal = self.check(scope["headers"], scope["path"], "GET", websocket=True)
            if refusal is not None:
                await _refuse_websocket(scope, send, refusal)
                return
        await self.app(scope, receive, send)

    def check(
        self, headers: Iterable[tuple[bytes, bytes]], path: str, method: str, *, websocket: bool = False
    ) -> Refusal | None:
        """Why this request (a WebSocket handshake: method GET, `websocket`) is refused, or None to let it
        through."""
        req = _Request(headers)
        for raw in req.hosts:
            if not self.hosts.allows(raw):
                shown = raw.decode("latin-1")[:100]
                return Refusal(
                    "host_not_allowed",
                    f"dotmock answers only for loopback host names (127.0.0.1, localhost, [::1]), not Host {shown!r}: "
                    "a page on another domain (DNS rebinding) must not reach it. Start `dotmock serve "
                    "--allow-host NAME` to answer for another name.",
                )
        host = req.hosts[-1].decode("latin-1") if req.hosts else None
        refusal = self._check_origin(req, method, path, host, websocket)
        if refusal is not None:
            return refusal
        if path.startswith(CONTROL_PREFIX) and method not in READ_METHODS:
            return self._check_control_write(req, method, path)
        return None

    @staticmethod
    def _check_origin(req: _Request, method: str, path: str, host: str | None, websocket: bool) -> Refusal | None:
        if not websocket and method in READ_METHODS and path == PANEL_PAGE and req.fetch_mode in (None, "navigate"):
            return None  # opening the panel (its CSP forbids framing it; a foreign page cannot read it)
        if req.origin is not None and not _same_origin(req.origin, host):
            return Refusal(
                "cross_origin_refused",
                f"dotmock refuses requests from pages of other origins (Origin {req.origin[:100]!r}); only its "
                "own test panel may call it from a browser, and it sends no CORS headers.",
            )
        site = req.fetch_site
        if site is not None and site != "same-origin" and not (site == "none" and method in READ_METHODS):
            return Refusal(
                "cross_origin_refused",
                f"dotmock refuses requests a browser made for another site (Sec-Fetch-Site {site[:40]!r}); only "
                "its own test panel may call it from a browser.",
            )
        return None

    def _check_control_write(self, req: _Request, method: str, path: str) -> Refusal | None:
        if req.token is None:
            return Refusal(
                "token_required",
                f"{method} {path} needs the server's token in the {TOKEN_HEADER} header (`dotmock serve` prints "
                "it; the test panel sends it).",
            )
        if not hmac.compare_digest(req.token, self.token):
            return Refusal("token_invalid", f"The {TOKEN_HEADER} header does not hold this server's token.")
        if _media_type(req.content_type) != "application/json":
            shown = (req.content_type or "none")[:100]
            return Refusal(
                "json_required",
                f"{method} {path} takes Content-Type: application/json, not {shown!r}.",
            )
        return None


def _with_control_headers(send: ASGISendCallable) -> ASGISendCallable:
    """`send`, adding `CONTROL_HEADERS` the app did not set to the answer's start."""

    async def sending(message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or ())
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in CONTROL_HEADERS if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _refusal_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]


async def _refuse_http(send: ASGISendCallable, refusal: Refusal) -> None:
    body = refusal.body()
    await send({"type": "http.response.start", "status": 403, "headers": _refusal_headers(body)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _refuse_websocket(scope: WebsocketScope, send: ASGISendCallable, refusal: Refusal) -> None:
    """Refuse the handshake with an HTTP 403 answer (the ASGI denial-response extension where the server has
    it, as hypercorn does; else a close before accepting, which servers answer 403 too)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = refusal.body()
        start: WebsocketResponseStartEvent = {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": _refusal_headers(body),
        }
        await send(start)
        end: WebsocketResponseBodyEvent = {"type": "websocket.http.response.body", "body": body, "more_body": False}
        await send(end)
        return
    await send({"type": "websocket.close", "code": 1008, "reason": None})
