"""How WebSocket connections end: closeAfter, every closeCode path (1006 = a drop without a close frame),
disconnectAfterMs, faults, the client closing or vanishing, and an SDK reconnecting after a drop; each as the
client observes it (httpx-ws and `websockets`) and as the journal records it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import openai
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, WebSocketNetworkError, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from dotmock.dsl.loader import load_text
from dotmock.dsl.model import (
    AttemptRange,
    ErrorOutcome,
    Fault,
    Fixture,
    Match,
    Scenario,
    Streaming,
    TextOutcome,
    WsEvent,
    WsOutcome,
)
from dotmock.server.app import create_app
from dotmock.server.journal import Journal, WsConnection
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

EVENTS = (WsEvent("response.created", {"id": "resp_1"}), WsEvent("response.text.delta", {"delta": "Hel"}))
MESSAGE = json.dumps({"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}})
ANY = Match("websocket", None, None)


def make_scenario(*fixtures: Fixture) -> Scenario:
    return Scenario(name="ws-close", path="ws.mock", base_dir=".", fixtures=fixtures)


def events_fixture(**knobs: Any) -> Fixture:
    return Fixture("seq", ANY, WsOutcome(events=knobs.pop("events", EVENTS), **knobs))


@asynccontextmanager
async def served(*fixtures: Fixture) -> AsyncIterator[RunningServer]:
    async with running_server(make_scenario(*fixtures)) as srv:
        yield srv


async def ended(srv: RunningServer, index: int = 0) -> WsConnection:
    """Connection `index` once the server has recorded its end."""
    for _ in range(300):
        conns = srv.journal.websocket
        if len(conns) > index and conns[index].closed_by is not None and conns[index].closed_at is not None:
            return conns[index]
        await asyncio.sleep(0.01)
    raise AssertionError("the connection never ended")


async def drain(ws: ClientConnection, timeout: float = 3.0) -> tuple[list[str], ConnectionClosed]:
    """Every frame until the connection ends, and how it ended (`websockets`)."""
    frames = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                frames.append(str(await ws.recv()))
    except ConnectionClosed as closed:
        return frames, closed


async def drain_httpx(ws: AsyncWebSocketSession) -> tuple[list[str], Exception]:
    frames = []
    while True:
        try:
            frames.append(await ws.receive_text(timeout=3))
        except (WebSocketDisconnect, WebSocketNetworkError) as end:
            return frames, end


async def run_websockets(srv: RunningServer, path: str = "/v1/chat") -> tuple[list[str], ConnectionClosed, float]:
    start = time.monotonic()
    async with ws_connect(srv.ws_url + path) as ws:
        await ws.send(MESSAGE)
        frames, closed = await drain(ws)
        return frames, closed, time.monotonic() - start


async def run_httpx(srv: RunningServer, path: str = "/v1/chat") -> tuple[list[str], Exception]:
    async with httpx.AsyncClient() as http, aconnect_ws(srv.base_url + path, http) as ws:
        await ws.send_text(MESSAGE)
        return await drain_httpx(ws)


def seq_frames() -> list[str]:
    return [json.dumps({"type": e.type, "data": e.data}, separators=(",", ":")) for e in EVENTS]


def assert_abnormal(closed: ConnectionClosed) -> None:
    """No close frame came: `websockets` reports 1006, the code of an abnormal closure."""
    assert isinstance(closed, ConnectionClosedError)
    assert closed.rcvd is None and closed.sent is None
    assert "no close frame received" in str(closed)


# -------------------------------------------------------------------------------- closeAfter / closeCode


async def test_close_after_sends_every_event_then_closes_with_1000() -> None:
    async with served(events_fixture(close_after=True)) as srv:
        frames, end = await run_httpx(srv)
        conn = await ended(srv)
    assert frames == seq_frames()
    assert isinstance(end, WebSocketDisconnect) and end.code == 1000
    assert (conn.closed_by, conn.close_code_sent, conn.dropped, conn.faults) == ("server", 1000, False, [])
    assert conn.close_code_received is None  # the server closed first
    assert conn.exchanges[0].completed and conn.exchanges[0].events_sent == 2


@pytest.mark.parametrize(
    ("code", "close_after"),
    [
        (1000, True),
        (1001, True),
        (1008, True),
        (1011, True),
        (3000, True),
        (4000, True),
        (4999, True),
        (4321, False),  # a closeCode alone also closes once the events are sent
    ],
)
async def test_close_code_reaches_the_client(code: int, close_after: bool) -> None:
    async with served(events_fixture(close_after=close_after, close_code=code)) as srv:
        frames, closed, _ = await run_websockets(srv)
        conn = await ended(srv)
    assert frames == seq_frames()
    assert closed.rcvd is not None and closed.rcvd.code == code
    assert (conn.closed_by, conn.close_code_sent, conn.dropped) == ("server", code, False)


@pytest.mark.parametrize("close_after", [True, False])
async def test_close_code_1006_is_a_drop_without_a_close_frame(close_after: bool) -> None:
    async with served(events_fixture(close_after=close_after, close_code=1006)) as srv:
        frames, closed, _ = await run_websockets(srv)
        conn = await ended(srv)
        httpx_frames, httpx_end = await run_httpx(srv)
    assert frames == seq_frames() and httpx_frames == seq_frames()  # every event arrives before the drop
    assert_abnormal(closed)
    assert isinstance(httpx_end, WebSocketNetworkError)
    assert (conn.closed_by, conn.dropped, conn.close_code_sent, conn.faults) == ("drop", True, None, ["closeCode1006"])
    assert conn.exchanges[0].completed and conn.exchanges[0].faults == ["closeCode1006"]


async def test_without_close_knobs_the_connection_stays_open() -> None:
    async with served(events_fixture()) as srv, ws_connect(srv.ws_url + "/v1/responses") as ws:
        await ws.send(MESSAGE)
        assert [str(await ws.recv()) for _ in EVENTS] == seq_frames()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        await ws.send(MESSAGE)
        assert [str(await ws.recv()) for _ in EVENTS] == seq_frames()
        assert srv.journal.websocket[0].closed_by is None


async def test_error_fixture_with_close_code() -> None:
    fixture = Fixture("fail", ANY, ErrorOutcome(503), ws=WsOutcome(close_code=1011))
    async with served(fixture) as srv:
        frames, closed, _ = await run_websockets(srv)
        conn = await ended(srv)
    (error,) = frames
    assert json.loads(error)["data"]["error"]["code"] == "service_unavailable"
    assert closed.rcvd is not None and closed.rcvd.code == 1011
    assert conn.close_code_sent == 1011


async def test_text_fixture_with_close_after_and_code() -> None:
    fixture = Fixture(
        "text",
        ANY,
        TextOutcome("Hello world", Streaming(chunk_size=4)),
        ws=WsOutcome(close_after=True, close_code=4000),
    )
    async with served(fixture) as srv:
        frames, closed, _ = await run_websockets(srv, "/v1/responses")
    assert json.loads(frames[-1])["type"] == "response.completed"
    assert closed.rcvd is not None and closed.rcvd.code == 4000


# -------------------------------------------------------------------------------- disconnectAfterMs


async def test_disconnect_after_ms_drops_mid_sequence() -> None:
    events = (WsEvent("a"), WsEvent("b", delay_s=0.1), WsEvent("c", delay_s=0.3))  # due at 0, 100, 400 ms
    async with served(events_fixture(events=events, disconnect_after_ms=250)) as srv:
        frames, closed, elapsed = await run_websockets(srv)
        conn = await ended(srv)
        httpx_frames, httpx_end = await run_httpx(srv)
    assert [json.loads(f)["type"] for f in frames] == ["a", "b"]
    assert_abnormal(closed)
    assert 0.24 <= elapsed < 0.38, elapsed
    assert [json.loads(f)["type"] for f in httpx_frames] == ["a", "b"]
    assert isinstance(httpx_end, WebSocketNetworkError)
    assert (conn.closed_by, conn.dropped, conn.faults, conn.close_code_sent) == (
        "drop",
        True,
        ["disconnectAfterMs"],
        None,
    )
    assert 0.245 <= conn.closed_at - conn.opened_at < 0.3
    exchange = conn.exchanges[0]
    assert (exchange.events_sent, exchange.completed, exchange.faults) == (2, False, ["disconnectAfterMs"])


async def test_disconnect_after_ms_drops_an_idle_connection_on_time() -> None:
    async with served(events_fixture(disconnect_after_ms=200)) as srv:
        frames, closed, elapsed = await run_websockets(srv)
        conn = await ended(srv)
    assert frames == seq_frames()
    assert_abnormal(closed)
    assert 0.19 <= elapsed < 0.35
    assert conn.exchanges[0].completed and conn.exchanges[0].faults == [] and conn.faults == ["disconnectAfterMs"]


async def test_disconnect_after_ms_already_past_drops_at_once() -> None:
    async with served(events_fixture(disconnect_after_ms=50)) as srv, ws_connect(srv.ws_url + "/v1/chat") as ws:
        await asyncio.sleep(0.15)
        await ws.send(MESSAGE)
        frames, closed = await drain(ws)
        conn = await ended(srv)
    assert frames == []
    assert_abnormal(closed)
    assert conn.exchanges[0].events_sent == 0 and conn.exchanges[0].faults == ["disconnectAfterMs"]


async def test_disconnect_after_ms_cuts_a_streamed_text() -> None:
    text = "".join(f"<{i:02}>" for i in range(10))  # ten 4-character chunks, 50 ms apart
    fixture = Fixture(
        "text", ANY, TextOutcome(text, Streaming(chunk_size=4, latency_ms=50)), ws=WsOutcome(disconnect_after_ms=130)
    )
    async with served(fixture) as srv:
        frames, closed, _ = await run_websockets(srv, "/v1/responses")
        conn = await ended(srv)
    deltas = [json.loads(f)["data"]["delta"] for f in frames if '"response.output_text.delta"' in f]
    assert deltas == ["<00>", "<01>", "<02>"]  # due at 0, 50, 100 ms; the drop comes at 130 ms
    assert_abnormal(closed)
    exchange = conn.exchanges[0]
    assert (exchange.completed, exchange.chunks_sent, exchange.faults) == (False, 3, ["disconnectAfterMs"])


async def test_disconnect_fault_in_a_text_fixture_drops_the_connection() -> None:
    fixture = Fixture(
        "text", ANY, TextOutcome("abcdefghij", Streaming(chunk_size=2), faults=(Fault("disconnect", after_chunks=2),))
    )
    async with served(fixture) as srv:
        frames, closed, _ = await run_websockets(srv, "/v1/chat")
        conn = await ended(srv)
    contents = [json.loads(f)["data"]["choices"][0]["delta"].get("content") for f in frames]
    assert contents == [None, "ab", "cd"]
    assert_abnormal(closed)
    assert (conn.closed_by, conn.faults, conn.exchanges[0].faults) == ("drop", ["disconnect"], ["disconnect"])


# -------------------------------------------------------------------------------- the client's side


async def test_client_close_code_is_recorded() -> None:
    async with served(events_fixture()) as srv:
        async with ws_connect(srv.ws_url + "/v1/chat") as ws:
            await ws.send(MESSAGE)
            await ws.recv()
            await ws.close(4002, "done here")
        conn = await ended(srv)
    assert (conn.closed_by, conn.close_code_received, conn.close_code_sent, conn.dropped) == (
        "client",
        4002,
        None,
        False,
    )


async def test_client_vanishing_without_a_close_frame_is_recorded() -> None:
    async with served(events_fixture()) as srv:
        async with ws_connect(srv.ws_url + "/v1/chat") as ws:
            await ws.send(MESSAGE)
            await ws.recv()
            ws.transport.abort()
        conn = await ended(srv)
    assert (conn.closed_by, conn.close_code_received, conn.dropped) == ("client", None, False)


async def test_openai_sdk_reconnects_after_a_drop_and_retries() -> None:
    """The journal shows what the runner needs for reconnect findings: two connections, the retried
    message as attempt 2 of the same call."""
    fixtures = (
        Fixture(
            "drops",
            Match("websocket", None, None, attempt=AttemptRange(1, 1)),
            WsOutcome(events=(WsEvent("response.created", {"response": {"id": "r1"}}),), close_code=1006),
        ),
        Fixture("works", Match("websocket", None, None, attempt=AttemptRange(2)), TextOutcome("Recovered.")),
    )
    async with served(*fixtures) as srv, openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x") as client:
        codes: list[int] = []
        resent: list[asyncio.Task[None]] = []

        def on_reconnecting(event: Any) -> None:
            codes.append(event.close_code)
            resent.append(asyncio.get_running_loop().create_task(connection.response.create(model="m", input="Hi")))

        async with client.responses.connect(on_reconnecting=on_reconnecting, initial_delay=0.02) as connection:
            await connection.response.create(model="m", input="Hi")
            async with asyncio.timeout(5):
                async for event in connection:
                    if event.type == "response.completed":
                        final = event.response.output_text
                        break
        await asyncio.gather(*resent)
        first = await ended(srv, 0)
    assert final == "Recovered." and codes == [1006]
    assert len(srv.journal.websocket) == 2 and first.closed_by == "drop"
    (dropped,), (retried,) = first.exchanges, srv.journal.websocket[1].exchanges
    assert (dropped.fixture, dropped.attempt, retried.fixture, retried.attempt) == ("drops", 1, "works", 2)
    assert dropped.call_key == retried.call_key


async def test_without_hypercorn_a_drop_falls_back_to_1011() -> None:
    """In-process (no socket to drop) the nearest thing is sent, and the journal says so."""
    app = create_app(make_scenario(events_fixture(close_code=1006)), journal := Journal())

    async def asgi_2_3(scope: Any, receive: Any, send: Any) -> None:
        # httpx-ws's scope names no ASGI spec version, so Quart would send a close without the `reason`
        # that httpx-ws itself then requires.
        await app({**scope, "asgi": {"version": "3.0", "spec_version": "2.3"}}, receive, send)

    async with (
        httpx.AsyncClient(transport=ASGIWebSocketTransport(asgi_2_3)) as http,
        aconnect_ws("ws://localhost/v1/chat", http) as ws,
    ):
        await ws.send_text(MESSAGE)
        frames, end = await drain_httpx(ws)
    assert frames == seq_frames()
    assert isinstance(end, WebSocketDisconnect) and end.code == 1011
    conn = journal.websocket[0]
    assert (conn.dropped, conn.close_code_sent, conn.faults) == (False, 1011, ["closeCode1006", "dropUnavailable"])


async def test_the_product_sketch_fixture_from_mock_text() -> None:
    """The `.mock` example of PRODUCT.md, parsed and served: two events 50 ms apart, then a drop at 200 ms."""
    (case,) = load_text(
        """
        scenario "typing, then the server dies"
        fixture "typing, then the server dies" {
          match websocket /v1/chat
          events {
            "response.created"    {"id": "resp_1"}
            "response.text.delta" {"delta": "Hel"}  after 50ms
          }
          disconnectAfterMs 200
        }
    """,
        "sketch.mock",
    ).cases
    async with running_server(case) as srv:
        start = time.monotonic()
        async with ws_connect(srv.ws_url + "/v1/chat") as ws:
            await ws.send(MESSAGE)
            first = str(await ws.recv())
            gap_start = time.monotonic()
            second = str(await ws.recv())
            gap = time.monotonic() - gap_start
            frames, closed = await drain(ws)
        elapsed = time.monotonic() - start
    assert [first, second] == seq_frames() and frames == []
    assert 0.045 <= gap < 0.15
    assert_abnormal(closed)
    assert 0.19 <= elapsed < 0.4
