"""Hostile input for the drills (tests/test_drill.py, fast; bench/drill.py, long): mutated shipped scenarios
and token soup for the parser, and a corpus of hostile HTTP requests and WebSocket frames for a running
`dotmock serve`. Everything is drawn from a `random.Random`, so a failing input is reproduced by its seed."""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from dotmock.dsl import DslError, load_text
from dotmock.dsl.fmt import format_text

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"


def shipped_texts() -> list[tuple[str, str]]:
    """(path, text) of every shipped `.mock` file."""
    return [(str(p), p.read_text(encoding="utf-8")) for p in sorted(SCENARIOS.rglob("*.mock"))]


TOKENS = [
    "scenario", "fixture", "match", "POST", "GET", "websocket", "*", "/v1/chat/completions", "/v1/responses",
    "/v1/chat", "response", "streaming", "chunkSize", "latencyMs", "truncateAfterChunks", "error", "status",
    "body", "header", "events", "fault", "disconnect", "truncate", "malformedChunk", "closeCode", "closeAfter",
    "disconnectAfterMs", "expect", "client", "exits", "stdout", "contains", "finding", "no", "params", "include",
    "tags", "dialect", "attempt", "json", "model", "message", "==", "!=", ">=", "|", "{", "}", "[", "]", ",",
    ":", '"x"', '"""a\nb"""', "${p}", "1", "-1.5e3", "1e999", "80ms", "2s", "true", "null", "#c\n", "\n", " ",
    '"\\u0000"', '"\\ud800"', "\x00", "\ud800", "\r", "\t", "é", "\u202e", '"', "\\",
]  # fmt: skip


def token_soup(rng: random.Random, n: int | None = None) -> str:
    count = rng.randint(0, 400) if n is None else n
    return " ".join(rng.choice(TOKENS) for _ in range(count))


def _span(rng: random.Random, text: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    a = rng.randrange(len(text))
    return a, min(len(text), a + rng.randint(1, 200))


def mutate(text: str, rng: random.Random) -> str:
    """1-4 random edits of `text`: deletions, duplications, inserted tokens and odd characters, deep nesting,
    long lines and numbers, repeated lines, truncation, odd include paths."""
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(12)
        a, b = _span(rng, text)
        if op == 0:
            text = text[:a] + text[b:]
        elif op == 1:
            text = text[:b] + text[a:b] * rng.randint(1, 50) + text[b:]
        elif op == 2:
            text = text[:a] + " " + rng.choice(TOKENS) + " " + text[a:]
        elif op == 3:
            text = text[:a] + rng.choice('\x00\ud800\udfff\r\x1b\u2028\ufeff"{}[]#|$\\') + text[a + 1 :]
        elif op == 4:
            k = rng.choice((10, 70, 1000, 20_000))
            opener = rng.choice(("[", "{", '{ match POST * { json "k" == [', "[\n"))
            text = text[:a] + opener * k + text[a:]
        elif op == 5:
            text = text[:a] + rng.choice(("9", "1e", "0.")) * rng.choice((50, 400, 5000)) + text[a:]
        elif op == 6:
            text = text[:a] + "x" * rng.choice((100, 33_000)) + text[a:]
        elif op == 7:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines[i:i] = [lines[i]] * rng.choice((2, 100, 3000))
            text = "\n".join(lines)
        elif op == 8:
            text = text[:a]
        elif op == 9:
            target = rng.choice(("a\x00.mock", "a\\u0000.mock", "\\udc80.mock", "../../etc/passwd", "/dev/zero",
                                 "x" * 2000 + ".mock", "shared", "shared/../shared/ws_drop.mock", ""))  # fmt: skip
            text = text[:a] + f'\ninclude "{target}"\n' + text[a:]
        elif op == 10:
            text = text[:a] + token_soup(rng, rng.randint(1, 60)) + text[a:]
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    return text


@dataclass
class ParseOutcome:
    error: str | None  # type and message of an exception other than DslError, or None
    seconds: float  # load and format together
    cpu_seconds: float = 0.0  # the same in this process's CPU time (what machine load does not stretch)


def parse_outcome(text: str, path: str) -> ParseOutcome:
    """Load and format `text` as the file `path` (includes resolve beside it). Only DslError is expected."""
    start, cpu = time.perf_counter(), time.process_time()
    error = None
    for parse in (load_text, format_text):
        try:
            parse(text, path)
        except DslError:
            pass
        except Exception as err:  # the drill counts these: each is a defect
            error = f"{parse.__name__}: {type(err).__name__}: {str(err)[:200]}"
    return ParseOutcome(error, time.perf_counter() - start, time.process_time() - cpu)


# ------------------------------------------------------------------------------------------ HTTP and WebSocket

CHAT = "/v1/chat/completions"
GOOD = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}


def deep(n: int) -> bytes:
    return b'{"model": "m", "messages": [], "x": ' + b"[" * n + b"]" * n + b"}"


def http_corpus(token: str) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(method, path, headers, body) requests no server should answer with a 5xx."""
    json_type = {"content-type": "application/json"}
    control = {**json_type, "x-dotmock-token": token}
    bodies = [
        b"", b"{", b"null", b"[]", b'"s"', b"1e999", b"NaN", b"\xff\xfe", b"\x00" * 100, deep(50), deep(100_000),
        b"[" * 300_000, b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": "m", "messages": [], "temperature": Infinity}', b'{"model": 1e400, "messages": []}',
        b'{"model": "m", "messages": "x"}', b'{"model": "m", "messages": [1, null, {"role": []}]}',
        b'{"model": "m", "stream": "yes", "messages": []}', b'{"model": "m", "input": {"a": 1}}',
        json.dumps({**GOOD, "pad": "x" * 200_000}).encode(), b'{"model": "m", "messages": [], "n": ' +
        b"9" * 5000 + b"}", b'{"a": 1, "a": 2, "model": "m", "messages": []}',
    ]  # fmt: skip
    out: list[tuple[str, str, dict[str, str], bytes]] = []
    for body in bodies:
        out.append(("POST", CHAT, json_type, body))
        out.append(("POST", "/v1/responses", json_type, body))
    for path in ("/_dotmock/validate", "/_dotmock/source"):
        for body in [
            *bodies[:12],
            json.dumps({"text": 'scenario "x"\n' + "[" * 100_000}).encode(),
            json.dumps({"text": 'scenario "x"\ninclude "a\\u0000.mock"\n'}).encode(),
            json.dumps({"text": 'scenario "x"\ninclude "\\udc80.mock"\n'}).encode(),
            b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            json.dumps({"text": "foo\n" * 100_000}).encode(),
        ]:
            out.append(("POST", path, control, body))
    weird_paths = [
        "/_dotmock/static/panel.js%00.css", "/_dotmock/static/..%2f..%2fserver%2fapp.py", "/_dotmock/static/%ff",
        "/%00", "/v1/chat/completions%00", "/" + "a" * 8000, "/_dotmock/journal?x=" + "%" * 100, "/v1/../etc/passwd",
        "/_dotmock/static/" + "x" * 5000,
    ]  # fmt: skip
    for path in weird_paths:
        out.append(("GET", path, {}, b""))
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"):
        out.append((method, CHAT, json_type, b"{}"))
    out.append(("POST", CHAT, {"content-type": "text/plain", "x-api-key": "k" * 10_000}, json.dumps(GOOD).encode()))
    out.append(("POST", CHAT, {"authorization": "Bearer \x7f\x01"}, json.dumps(GOOD).encode()))
    return out


WS_FRAMES: list[str | bytes] = [
    "", "{", "null", "[]", "NaN", '{"type": "message"}', '{"type": "message", "data": 1}',
    '{"type": "response.create"}', '{"type": "response.create", "model": "m", "input": "x", "top_p": NaN}',
    '{"type": "message", "data": ' + "[" * 100_000 + "]" * 100_000 + "}", "[" * 300_000,
    '{"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}}',
    '{"type": "x' + "y" * 100_000 + '"}', b"\x00\x01", b"", '{"type": "message", "data": {"model": 1e999}}',
]  # fmt: skip


def raw_ws_frames() -> list[bytes]:
    """Frames no client library sends: announced sizes over any limit, non-UTF-8 text, bad opcodes."""

    def frame(first: int, payload: bytes, announced: int | None = None) -> bytes:
        mask = os.urandom(4)
        length = len(payload) if announced is None else announced
        if length < 126:
            head = bytes([first, 0x80 | length])
        elif length < 1 << 16:
            head = bytes([first, 0x80 | 126]) + struct.pack("!H", length)
        else:
            head = bytes([first, 0x80 | 127]) + struct.pack("!Q", length)
        return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))

    return [
        frame(0x81, b"{", announced=1 << 62),
        frame(0x81, b"", announced=(1 << 63) - 1),
        frame(0x81, b'"\xed\xa0\x80"'),
        frame(0x8F, b"x"),  # reserved opcode
        frame(0xC1, b"{}"),  # RSV1 without an extension
        frame(0x89, b"p" * 125),  # the largest ping
        frame(0x01, b"{") + frame(0x81, b"}"),  # a continuation missing
    ]


def raw_ws(port: int, frame: bytes, timeout: float = 5.0) -> bytes:
    """Open a WebSocket on /v1/chat with a raw socket, send `frame`, return what came back until close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /v1/chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
        sock.sendall(frame)
        head, _, rest = data.partition(b"\r\n\r\n")
        out = rest
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except OSError:
            pass
        return head + b"\r\n\r\n" + out


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (Linux /proc), 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class ServerDrill:
    requests: int = 0
    server_errors: list[str] | None = None  # "METHOD path -> status" of every 5xx
    ws_frames: int = 0
    ws_unanswered: list[str] | None = None  # frames that got neither an event nor a close
    raw_frames: int = 0
    raw_unclosed: list[str] | None = None  # raw frames that did not end in a close frame
    disconnects: list[str] = field(default_factory=list)  # requests that met a closed keep-alive connection


async def drill_server(base_url: str, token: str, *, rounds: int = 1) -> ServerDrill:
    """Send the HTTP corpus, the WebSocket frames and the raw frames to a running server `rounds` times."""
    import httpx
    from httpx_ws import aconnect_ws

    figures = ServerDrill(server_errors=[], ws_unanswered=[], raw_unclosed=[])
    port = int(base_url.rsplit(":", 1)[1])
    corpus = http_corpus(token)
    previous = "nothing"
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(rounds):
            for method, path, headers, body in corpus:
                try:
                    r = await http.request(method, base_url + path, headers=headers, content=body)
                except httpx.RemoteProtocolError as err:  # the connection closed under a reused keep-alive
                    figures.disconnects.append(f"{method} {path[:60]} after {previous}: {err}")
                    r = await http.request(method, base_url + path, headers=headers, content=body)
                previous = f"{method} {path[:60]} {body[:30]!r}"
                figures.requests += 1
                if r.status_code >= 500:
                    figures.server_errors.append(f"{method} {path[:60]} -> {r.status_code} {r.text[:120]}")
            for frame in WS_FRAMES:  # each on its own connection: a frame a fixture answers streams events
                figures.ws_frames += 1
                ws_url = base_url.replace("http", "ws", 1) + "/v1/chat"
                try:
                    async with aconnect_ws(ws_url, http, max_message_size_bytes=1 << 24) as ws:
                        if isinstance(frame, bytes):
                            await ws.send_bytes(frame)
                        else:
                            await ws.send_text(frame)
                        json.loads(await ws.receive_text(timeout=5))
                except Exception as err:
                    figures.ws_unanswered.append(f"{frame[:40]!r}: {type(err).__name__}: {err}")
            for raw in raw_ws_frames():
                figures.raw_frames += 1
                is_ping = raw[0] == 0x89
                answer = raw_ws(port, raw, timeout=1.0 if is_ping else 5.0)
                body = answer.partition(b"\r\n\r\n")[2]
                if is_ping:
                    if not body.startswith(b"\x8a"):  # a pong
                        figures.raw_unclosed.append("ping: no pong")
                elif b"\x88" not in body[:2]:
                    figures.raw_unclosed.append(f"{raw[:12].hex()}: {body[:20]!r}")
        health = await http.post(base_url + CHAT, json=GOOD)
        if health.status_code >= 500:
            figures.server_errors.append(f"health check -> {health.status_code}")
    return figures
