"""The load side of `bench/perf.py`: a cheap asyncio stream client (one connection per stream; it only records
the arrival time of each read, and parses HTTP, chunked framing and SSE afterwards, so its own work does not
disturb the cadence it measures), and `wrk` for request rates.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

WRK = shutil.which("wrk")


@dataclass
class Stream:
    sent_at: float = 0.0
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    error: str | None = None

    def parse(self) -> Parsed:
        return parse_response(self)


@dataclass
class Parsed:
    status: int
    ttfb_s: float  # request written -> first response byte
    content_times: list[float]  # arrival of each SSE event carrying a non-empty content delta
    done: bool  # the stream's terminator ([DONE]) arrived


class _Proto(asyncio.Protocol):
    def __init__(self, request: bytes, stream: Stream, finished: asyncio.Future[None]) -> None:
        self.request = request
        self.stream = stream
        self.finished = finished

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.stream.sent_at = time.monotonic()
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.stream.reads.append((time.monotonic(), data))

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.stream.error = repr(exc)
        if not self.finished.done():
            self.finished.set_result(None)


CHAT_PATH = "/v1/chat/completions"


def http_request(port: int, body: bytes, path: str = CHAT_PATH) -> bytes:
    return (
        b"POST " + path.encode() + b" HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer bench\r\nx-api-key: bench\r\nanthropic-version: 2023-06-01\r\n"
        b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


async def one_stream(port: int, body: bytes, timeout_s: float, path: str = CHAT_PATH) -> Stream:
    """One request on its own connection (`connection: close`), read until the server closes it."""
    loop = asyncio.get_running_loop()
    stream = Stream()
    finished: asyncio.Future[None] = loop.create_future()
    try:
        async with asyncio.timeout(timeout_s):
            transport, _ = await loop.create_connection(
                lambda: _Proto(http_request(port, body, path), stream, finished), "127.0.0.1", port
            )
            try:
                await finished
            finally:
                transport.close()
    except (OSError, TimeoutError) as err:
        stream.error = repr(err)
    return stream


async def many_streams(port: int, body: bytes, count: int, timeout_s: float) -> list[Stream]:
    """`count` streams opened at once."""
    return list(await asyncio.gather(*(one_stream(port, body, timeout_s) for _ in range(count))))


def _dechunk(raw: bytes, start: int) -> list[tuple[int, bytes]]:
    """The chunked body from `raw[start:]` as (offset in raw of the piece, piece)."""
    pieces: list[tuple[int, bytes]] = []
    pos = start
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            return pieces
        size = int(raw[pos:eol].split(b";")[0] or b"0", 16)
        if size == 0:
            return pieces
        pieces.append((eol + 2, raw[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


def _is_content(payload: bytes) -> bool:
    try:
        event = json.loads(payload)
    except ValueError:
        return False
    if isinstance(event, dict) and event.get("type") == "content_block_delta":  # Anthropic Messages
        return bool((event.get("delta") or {}).get("text"))
    choices = event.get("choices") if isinstance(event, dict) else None
    if not choices:
        return False
    content = (choices[0].get("delta") or {}).get("content")
    return isinstance(content, str) and content != ""


def parse_response(stream: Stream) -> Parsed:
    raw = b"".join(data for _, data in stream.reads)
    ends: list[int] = []  # raw offset just past each read
    total = 0
    for _, data in stream.reads:
        total += len(data)
        ends.append(total)
    head_end = raw.find(b"\r\n\r\n")
    if not stream.reads or head_end < 0:
        return Parsed(0, float("nan"), [], False)
    head = raw[:head_end].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    chunked = re.search(r"^transfer-encoding:\s*chunked", head, re.I | re.M) is not None
    pieces = _dechunk(raw, head_end + 4) if chunked else [(head_end + 4, raw[head_end + 4 :])]

    def arrival(offset: int) -> float:
        i = bisect.bisect_right(ends, offset)
        return stream.reads[min(i, len(ends) - 1)][0]

    # SSE events, each timed by the read that brought its last byte.
    body = b"".join(piece for _, piece in pieces)
    starts = list(itertools.accumulate((len(piece) for _, piece in pieces), initial=0))[:-1]

    def raw_offset(body_offset: int) -> int:
        i = max(0, bisect.bisect_right(starts, body_offset) - 1)
        return pieces[i][0] + body_offset - starts[i]

    times: list[float] = []
    done = False
    pos = 0
    while (end := body.find(b"\n\n", pos)) >= 0:
        for line in body[pos:end].split(b"\n"):
            if line.startswith(b"data:"):
                payload = line[5:].strip()
                if payload == b"[DONE]" or payload == b'{"type":"message_stop"}':
                    done = True
                elif _is_content(payload):
                    times.append(arrival(raw_offset(end + 1)))
        pos = end + 2
    return Parsed(status, stream.reads[0][0] - stream.sent_at, times, done)


# ------------------------------------------------------------------------------------------------ wrk

_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["x-api-key"] = "bench"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.body = {body}
"""


@dataclass
class Rate:
    per_s: float
    requests: int
    errors: int
    tool: str


def wrk_rate(port: int, body: bytes, seconds: int, connections: int = 50, path: str = CHAT_PATH) -> Rate:
    assert WRK is not None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_LUA.format(body=json.dumps(body.decode())))
        out = subprocess.run(
            [
                WRK,
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        ).stdout
    rate = re.search(r"Requests/sec:\s*([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    return Rate(float(rate.group(1)) if rate else 0.0, int(count.group(1)) if count else 0, errors, "wrk")


async def asyncio_rate(port: int, body: bytes, seconds: float, connections: int = 50, path: str = CHAT_PATH) -> Rate:
    """The fallback without wrk: `connections` workers, one connection per request."""
    done = errors = 0
    deadline = time.monotonic() + seconds
    streamed = json.loads(body).get("stream") is True

    async def worker() -> None:
        nonlocal done, errors
        while time.monotonic() < deadline:
            parsed = (await one_stream(port, body, 30.0, path)).parse()
            if parsed.status == 200 and (parsed.done or not streamed):  # a stream counts with its terminator
                done += 1
            else:
                errors += 1

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return Rate(done / (time.monotonic() - start), done, errors, "asyncio")
