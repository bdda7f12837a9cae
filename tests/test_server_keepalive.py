"""A request refused before its body was read keeps its connection (server/keepalive.py): a 405 to a PATCH or
DELETE carrying megabytes, a 404, a guard's 403, each answered in full and followed by a normal answer on
the same socket; a body announced beyond what the server reads is answered with `Connection: close`. Raw
sockets, because an HTTP client library would hide a silently closed connection by opening another."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator

import pytest

from dotmock.dsl import load_text
from dotmock.server.keepalive import DRAIN_LIMIT_BYTES
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

GOOD = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    text = 'scenario "k"\nfixture "a" { match POST /v1/chat/completions response "ok" }\n'
    async with running_server(load_text(text, "k.mock").cases[0]) as server:
        yield server


def request(method: str, path: str, body: bytes, extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise ConnectionError(f"closed before a whole answer: {data[:200]!r}")
        data += part
    head, rest = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        part = sock.recv(65536)
        if not part:
            raise ConnectionError("closed mid-body")
        rest += part
    return int(status_line.split()[1]), headers, rest[:length]


def exchange_then_reuse(port: int, first: bytes) -> tuple[int, dict[str, str], int]:
    """Send `first` (from a thread, as a client uploading while the answer comes), read its answer, then
    send a good request on the same connection: (first status, its headers, the second's status)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        upload = threading.Thread(target=sock.sendall, args=(first,), daemon=True)
        upload.start()
        status, headers, _ = read_response(sock)
        upload.join(20)
        sock.sendall(request("POST", "/v1/chat/completions", GOOD))
        second, _, body = read_response(sock)
        assert b"ok" in body
        return status, headers, second


@pytest.mark.parametrize(
    ("method", "path", "size", "status"),
    [
        ("PATCH", "/v1/chat/completions", 100, 405),
        ("DELETE", "/v1/chat/completions", 3_000_000, 405),
        ("PATCH", "/v1/responses", 12_000_000, 405),
        ("PUT", "/v1/messages", 2_000_000, 405),
        ("PATCH", "/no/such/path", 3_000_000, 404),
        ("DELETE", "/_dotmock/scenario", 2_000_000, 403),  # the guard: control writes need the token
        ("POST", "/v1/chat/completions", 12_000_000, 413),
    ],
)
async def test_a_refused_request_with_a_body_keeps_the_connection(
    srv: RunningServer, method: str, path: str, size: int, status: int
) -> None:
    body = b'{"a": "' + b"x" * size + b'"}'
    first, headers, second = await asyncio.to_thread(exchange_then_reuse, srv.port, request(method, path, body))
    assert (first, second) == (status, 200)
    assert headers.get("connection", "").lower() != "close"


def refuse_announced(port: int, announced: int) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            request("PATCH", "/v1/chat/completions", b"", "X-Pad: 1\r\n").replace(
                b"Content-Length: 0", f"Content-Length: {announced}".encode()
            )
            + b"x" * 1000
        )
        status, headers, _ = read_response(sock)
        sock.settimeout(10)
        rest = b""
        try:
            while part := sock.recv(65536):
                rest += part
        except ConnectionResetError:
            pass
        return status, headers, rest


async def test_a_body_announced_beyond_the_drain_limit_is_answered_with_connection_close(srv: RunningServer) -> None:
    status, headers, after = await asyncio.to_thread(refuse_announced, srv.port, DRAIN_LIMIT_BYTES + 10_000_000)
    assert status == 405
    assert headers.get("connection", "").lower() == "close"
    assert after == b""  # the server ended the connection, as it said it would
