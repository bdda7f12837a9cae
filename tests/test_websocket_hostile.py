"""Hostile WebSocket frames each get a documented answer at once (docs/websocket.md, "Bad frames"): an
`invalid_json` error event for deep JSON or a lone surrogate, after which the same connection still answers;
a close frame 1009 the moment a frame header announces more than the message limit (2^62 bytes); 1007 for a
text frame that is not UTF-8. Real server on 127.0.0.1, httpx-ws and a raw socket for what no client library
would send."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl.model import Fixture, Match, Scenario, TextOutcome
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

GOOD = {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}}


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    fixtures = (Fixture("ws", Match("websocket", None, None), TextOutcome("fine")),)
    async with running_server(Scenario(name="ws", path="ws.mock", base_dir=".", fixtures=fixtures)) as server:
        yield server


BAD_FRAMES = {
    "JSON nested 100,000 deep": '{"type": "message", "data": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "a bare deep array": "[" * 200_000,
    "a lone surrogate escape": '{"type": "message", "data": {"model": "m", "messages": [{"role": "user", '
    '"content": "\\ud800"}]}}',
    "a lone low surrogate in a key": '{"type": "message", "data": {"\\udfff": 1}}',
    "NaN": '{"type": "message", "data": {"model": "m", "messages": [], "temperature": NaN}}',
}


async def answered_normally(ws: object) -> None:
    await ws.send_text(json.dumps(GOOD))
    types: list[str] = []
    while not types or types[-1] != "done":
        types.append(json.loads(await ws.receive_text(timeout=5))["type"])
    assert "error" not in types


async def test_bad_json_frames_get_an_error_event_and_the_connection_stays_usable(srv: RunningServer) -> None:
    async with httpx.AsyncClient() as http, aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
        for name, frame in BAD_FRAMES.items():
            await ws.send_text(frame)
            event = json.loads(await ws.receive_text(timeout=5))
            assert event["type"] == "error", name
            assert event["data"]["error"]["code"] == "invalid_json", (name, event)
            await answered_normally(ws)
    connection = srv.journal.websocket[0]
    assert connection.error is None and connection.close_code_sent is None
    assert len(connection.exchanges) == 2 * len(BAD_FRAMES)


async def raw_websocket(srv: RunningServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /v1/chat HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


def masked_frame(opcode: int, payload: bytes, announced: int | None = None) -> bytes:
    mask = os.urandom(4)
    length = len(payload) if announced is None else announced
    if length < 126:
        header = bytes([0x80 | opcode, 0x80 | length])
    elif length < 1 << 16:
        header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", length)
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def close_frame(reader: asyncio.StreamReader) -> tuple[int, str]:
    """The server's close frame (code, reason): read at once, not after a timeout the server waited out."""
    first = await asyncio.wait_for(reader.readexactly(2), 5)
    assert first[0] == 0x88, first  # FIN + close
    body = await asyncio.wait_for(reader.readexactly(first[1] & 0x7F), 5)
    return struct.unpack("!H", body[:2])[0], body[2:].decode()


@pytest.mark.parametrize("announced", [1 << 62, (1 << 63) - 1, 16 * 1024 * 1024 + 1])
async def test_a_frame_announcing_more_than_the_limit_is_closed_with_1009_at_once(
    srv: RunningServer, announced: int
) -> None:
    reader, writer = await raw_websocket(srv)
    writer.write(masked_frame(0x1, b'{"type": ', announced=announced))
    await writer.drain()
    code, reason = await close_frame(reader)
    writer.close()
    assert code == 1009 and "too big" in reason
    for _ in range(100):
        if srv.journal.websocket and srv.journal.websocket[0].closed_at is not None:
            break
        await asyncio.sleep(0.02)
    connection = srv.journal.websocket[0]
    assert connection.close_code_sent == 1009 and connection.closed_by == "server"
    assert connection.error is not None and connection.error.startswith("frame_refused: 1009")


async def test_a_text_frame_that_is_not_utf8_is_closed_with_1007(srv: RunningServer) -> None:
    reader, writer = await raw_websocket(srv)
    writer.write(masked_frame(0x1, b'{"type": "\xed\xa0\x80"}'))  # a surrogate encoded in UTF-8: not UTF-8
    await writer.drain()
    code, _reason = await close_frame(reader)
    writer.close()
    assert code == 1007


async def test_the_server_is_healthy_after_refused_frames(srv: RunningServer) -> None:
    for _ in range(5):
        reader, writer = await raw_websocket(srv)
        writer.write(masked_frame(0x1, b"", announced=1 << 62))
        await writer.drain()
        assert (await close_frame(reader))[0] == 1009
        writer.close()
    async with httpx.AsyncClient() as http, aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
        await answered_normally(ws)
