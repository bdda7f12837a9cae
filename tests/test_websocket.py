"""WebSocket `/v1/chat` and `/v1/responses`: the seed's envelope, event replay and timing, text fixtures
streamed as events, the openai SDK's `responses.connect()`, error events and bad frames. Real server on
127.0.0.1, real clients (httpx-ws, the openai SDK)."""

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
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from dotmock.dsl.model import (
    AttemptRange,
    ErrorOutcome,
    Fault,
    Fixture,
    Match,
    Scenario,
    Streaming,
    TextOutcome,
    TextRule,
    WsEvent,
    WsOutcome,
)
from dotmock.server.journal import WsConnection
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

TEXT = "WebSocket answers stream like SSE ones."  # 39 characters


def ws_match(contains: str | None = None, path: str | None = None, attempt: AttemptRange | None = None) -> Match:
    text = (TextRule("contains", contains),) if contains else ()
    return Match("websocket", None, path, text=text, attempt=attempt)


def make_scenario(*fixtures: Fixture) -> Scenario:
    return Scenario(name="ws", path="ws.mock", base_dir=".", fixtures=fixtures)


def envelope(content: str, model: str = "your-model") -> dict[str, Any]:
    return {"type": "message", "data": {"model": model, "messages": [{"role": "user", "content": content}]}}


@asynccontextmanager
async def ws_connect(srv: RunningServer, path: str) -> AsyncIterator[AsyncWebSocketSession]:
    async with httpx.AsyncClient() as http, aconnect_ws(srv.base_url + path, http) as ws:
        yield ws


async def receive_json(ws: AsyncWebSocketSession, timeout: float = 3.0) -> Any:
    return json.loads(await ws.receive_text(timeout=timeout))


async def receive_until(ws: AsyncWebSocketSession, last_type: str) -> list[dict[str, Any]]:
    events = []
    while True:
        event = await receive_json(ws)
        events.append(event)
        if event["type"] == last_type:
            return events


async def settled(srv: RunningServer, n_exchanges: int = 1) -> WsConnection:
    """The first connection, once its first `n_exchanges` answers are finished."""
    for _ in range(300):
        conns = srv.journal.websocket
        if (
            conns
            and len(conns[0].exchanges) >= n_exchanges
            and all(x.ended_at is not None for x in conns[0].exchanges[:n_exchanges])
        ):
            return conns[0]
        await asyncio.sleep(0.01)
    raise AssertionError("the exchanges never ended")


SEED_EVENTS = (
    WsEvent("response.created", {"id": "resp_1"}),
    WsEvent("response.text.delta", {"delta": "Hel"}, delay_s=0.05),
    WsEvent("response.text.delta", {"delta": "lo"}),
    WsEvent("response.completed", {"id": "resp_1"}),
)


async def test_seed_connection_example_envelope_in_events_out() -> None:
    fixture = Fixture("hello", ws_match("Hello", "/v1/chat"), WsOutcome(events=SEED_EVENTS))
    async with running_server(make_scenario(fixture)) as srv, ws_connect(srv, "/v1/chat") as ws:
        await ws.send_text(json.dumps(envelope("Hello")))
        events = await receive_until(ws, "response.completed")
        conn = await settled(srv)
    assert events == [{"type": e.type, "data": e.data} for e in SEED_EVENTS]
    assert conn.path == "/v1/chat"
    assert [(f.direction, f.type) for f in conn.frames] == [("in", "message")] + [("out", e.type) for e in SEED_EVENTS]
    (exchange,) = conn.exchanges
    assert exchange.fixture == "hello" and exchange.attempt == 1 and exchange.form == "envelope"
    assert exchange.request == envelope("Hello")["data"]
    assert (exchange.events_sent, exchange.completed, exchange.faults) == (4, True, [])


async def test_several_exchanges_on_one_connection_and_attempts_count_per_message() -> None:
    fixtures = (
        Fixture("first try", ws_match("retry me", attempt=AttemptRange(1, 1)), WsOutcome(events=(WsEvent("a", 1),))),
        Fixture("second try", ws_match("retry me", attempt=AttemptRange(2)), WsOutcome(events=(WsEvent("b", 2),))),
        Fixture("other", ws_match("other"), WsOutcome(events=(WsEvent("c", 3), WsEvent("d", 4)))),
    )
    async with running_server(make_scenario(*fixtures)) as srv, ws_connect(srv, "/v1/responses") as ws:
        got = []
        for content, n in (("retry me", 1), ("other", 2), ("retry me", 1), ("retry me", 1)):
            await ws.send_text(json.dumps(envelope(content)))
            got.append([await receive_json(ws) for _ in range(n)])
        conn = await settled(srv, 4)
    assert got == [
        [{"type": "a", "data": 1}],
        [{"type": "c", "data": 3}, {"type": "d", "data": 4}],
        [{"type": "b", "data": 2}],
        [{"type": "b", "data": 2}],
    ]
    assert [(x.fixture, x.attempt) for x in conn.exchanges] == [
        ("first try", 1),
        ("other", 1),
        ("second try", 2),
        ("second try", 3),
    ]
    assert conn.messages_received == 4
    assert (conn.closed_by, conn.close_code_received) == ("client", 1000)  # httpx-ws closes with 1000


async def test_event_delays_are_honoured_as_measured_by_the_client() -> None:
    delays = (0.0, 0.15, 0.05, 0.1)
    events = tuple(WsEvent(f"e{i}", {"i": i}, delay_s=d) for i, d in enumerate(delays))
    async with (
        running_server(make_scenario(Fixture("slow", ws_match(), WsOutcome(events=events)))) as srv,
        ws_connect(srv, "/v1/chat") as ws,
    ):
        start = time.monotonic()
        await ws.send_text(json.dumps(envelope("go")))
        arrivals = []
        for _ in events:
            await receive_json(ws)
            arrivals.append(time.monotonic() - start)
    expected = [sum(delays[: i + 1]) for i in range(len(delays))]
    for got, want in zip(arrivals, expected, strict=True):
        assert want - 0.005 <= got <= want + 0.08, (arrivals, expected)


async def test_text_fixture_streams_responses_events_with_its_knobs() -> None:
    outcome = TextOutcome(TEXT, Streaming(chunk_size=10, latency_ms=40))
    async with (
        running_server(make_scenario(Fixture("text", ws_match(), outcome))) as srv,
        ws_connect(srv, "/v1/responses") as ws,
    ):
        start = time.monotonic()
        await ws.send_text(json.dumps(envelope("Hi")))
        events = await receive_until(ws, "response.completed")
        elapsed = time.monotonic() - start
        conn = await settled(srv)
    types = [e["type"] for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e["data"]["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == [TEXT[i : i + 10] for i in range(0, len(TEXT), 10)]
    assert all(e["data"]["type"] == e["type"] for e in events)  # the envelope's data is the whole event
    assert events[-1]["data"]["response"]["output"][0]["content"][0]["text"] == TEXT
    assert elapsed >= 3 * 0.04 - 0.005  # four chunks, 40 ms apart
    (exchange,) = conn.exchanges
    assert (exchange.chunks_sent, exchange.events_sent, exchange.completed) == (4, len(events), True)


async def test_text_fixture_on_chat_streams_chat_completion_chunks() -> None:
    outcome = TextOutcome(TEXT, Streaming(chunk_size=7))
    async with (
        running_server(make_scenario(Fixture("text", ws_match(), outcome))) as srv,
        ws_connect(srv, "/v1/chat") as ws,
    ):
        await ws.send_text(json.dumps(envelope("Hi", model="gpt-test")))
        events = await receive_until(ws, "done")
    chunks = [e["data"] for e in events[:-1]]
    assert {e["type"] for e in events[:-1]} == {"chat.completion.chunk"}
    assert events[-1] == {"type": "done", "data": None}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == TEXT
    assert {c["model"] for c in chunks} == {"gpt-test"}


async def test_truncated_text_stops_without_terminator_and_the_connection_stays_usable() -> None:
    fixtures = (
        Fixture("cut", ws_match("cut"), TextOutcome(TEXT, Streaming(chunk_size=10, truncate_after_chunks=2))),
        Fixture("ping", ws_match("ping"), WsOutcome(events=(WsEvent("pong"),))),
    )
    async with running_server(make_scenario(*fixtures)) as srv, ws_connect(srv, "/v1/responses") as ws:
        await ws.send_text(json.dumps(envelope("cut")))
        events = [await receive_json(ws) for _ in range(6)]  # four opening events, two deltas
        with pytest.raises(TimeoutError):
            await ws.receive_text(timeout=0.2)
        await ws.send_text(json.dumps(envelope("ping")))
        assert await receive_json(ws) == {"type": "pong", "data": None}
        conn = await settled(srv, 2)
    assert [e["data"]["delta"] for e in events[4:]] == [TEXT[:10], TEXT[10:20]]
    cut = conn.exchanges[0]
    assert (cut.faults, cut.completed, cut.chunks_sent) == (["truncate"], False, 2)


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/responses"])
async def test_text_fixture_faults_carry_over_to_websocket(path: str) -> None:
    faults = (Fault("malformedChunk", after_chunks=1), Fault("errorEvent", after_chunks=2, code="overloaded"))
    outcome = TextOutcome(TEXT, Streaming(chunk_size=10), faults=faults)
    async with (
        running_server(make_scenario(Fixture("faulty", ws_match(), outcome))) as srv,
        ws_connect(srv, path) as ws,
    ):
        await ws.send_text(json.dumps(envelope("Hi")))
        frames = []
        while not frames or not frames[-1].startswith('{"type":"error"'):
            frames.append(await ws.receive_text(timeout=3))
        conn = await settled(srv)
    broken = [f for f in frames if not _is_json(f)]
    assert len(broken) == 1  # the malformed chunk arrives as the same broken text as over SSE
    error = json.loads(frames[-1])
    assert error["type"] == "error"
    assert "overloaded" in json.dumps(error["data"])
    assert conn.exchanges[0].faults == ["malformedChunk", "errorEvent"]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


async def test_error_fixture_is_an_error_event() -> None:
    outcome = ErrorOutcome(429, message="Slow down", headers=(("retry-after", "2"),))
    async with (
        running_server(make_scenario(Fixture("limited", ws_match(), outcome))) as srv,
        ws_connect(srv, "/v1/chat") as ws,
    ):
        await ws.send_text(json.dumps(envelope("Hi")))
        event = await receive_json(ws)
        conn = await settled(srv)
    assert event == {
        "type": "error",
        "data": {
            "error": {
                "message": "Slow down",
                "type": "rate_limit_error",
                "param": None,
                "code": "rate_limit_exceeded",
                "headers": {"retry-after": "2"},
            }
        },
    }
    assert conn.exchanges[0].error == "error fixture: 429 Slow down"
    assert conn.exchanges[0].completed and conn.close_code_sent is None


# -------------------------------------------------------------------------------- the openai SDK


def sdk(srv: RunningServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="sk-test")


async def test_openai_sdk_responses_connect_gets_the_fixture_text() -> None:
    fixtures = (
        Fixture("greeting", ws_match("Hi"), TextOutcome(TEXT, Streaming(chunk_size=8, latency_ms=5))),
        Fixture("farewell", ws_match("Bye"), TextOutcome("Goodbye.")),
    )
    async with running_server(make_scenario(*fixtures)) as srv, sdk(srv) as client:
        async with client.responses.connect() as connection:
            finals = []
            for prompt in ("Hi there", "Bye now"):
                await connection.response.create(model="gpt-test", input=prompt)
                deltas = []
                async for event in connection:
                    if event.type == "response.output_text.delta":
                        deltas.append(event.delta)
                    elif event.type == "response.completed":
                        finals.append((event.response.output_text, "".join(deltas)))
                        break
        conn = await settled(srv, 2)
    assert finals == [(TEXT, TEXT), ("Goodbye.", "Goodbye.")]
    assert conn.path == "/v1/responses"
    assert [(x.fixture, x.form) for x in conn.exchanges] == [
        ("greeting", "response.create"),
        ("farewell", "response.create"),
    ]
    assert conn.exchanges[0].request == {"model": "gpt-test", "input": "Hi there"}
    assert conn.headers["authorization"] == "Bearer ***"  # the SDK sent its key; the journal keeps no secret


async def test_response_create_gets_custom_events_bare_and_errors_in_the_sdk_shape() -> None:
    fixtures = (
        Fixture("custom", ws_match("custom"), WsOutcome(events=SEED_EVENTS)),
        Fixture("boom", ws_match("boom"), ErrorOutcome(500)),
    )
    async with running_server(make_scenario(*fixtures)) as srv, sdk(srv) as client:
        async with client.responses.connect() as connection:
            await connection.response.create(model="m", input="custom please")
            raw = [json.loads(await connection.recv_bytes()) for _ in SEED_EVENTS]
            await connection.response.create(model="m", input="boom")
            error = await connection.recv()
            await connection.response.create(model="m", input="nothing matches this")
            miss = await connection.recv()
    assert raw == [{"type": e.type, **e.data} for e in SEED_EVENTS]
    assert error.type == "error" and error.status == 500
    assert error.error.type == "server_error"
    assert miss.type == "error" and miss.error.code == "fixture_not_found"
    assert "'custom'" in miss.error.message


# -------------------------------------------------------------------------------- bad frames


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("not json", "hello?", "invalid_json"),
    ("json array", "[1, 2]", "invalid_envelope"),
    ("no type", json.dumps({"data": {"messages": []}}), "invalid_envelope"),
    ("no data", json.dumps({"type": "message"}), "invalid_envelope"),
    ("data not an object", json.dumps({"type": "message", "data": "Hello"}), "invalid_envelope"),
    ("unknown type", json.dumps({"type": "session.update"}), "unsupported_message_type"),
    ("binary", b"\x00\x01binary", "binary_frame_unsupported"),
    ("empty binary", b"", "binary_frame_unsupported"),
    ("unmatched", json.dumps(envelope("something else", model="other-model")), "fixture_not_found"),
]


@pytest.mark.parametrize(("case", "frame", "code"), BAD_FRAMES, ids=[c for c, _, _ in BAD_FRAMES])
async def test_bad_frame_gets_an_error_event_and_the_connection_stays_usable(
    case: str, frame: str | bytes, code: str
) -> None:
    match = Match("websocket", None, None, model="gpt-test", text=(TextRule("contains", "Hello"),))
    fixture = Fixture("hello", match, WsOutcome(events=(WsEvent("hi", {"ok": True}),)))
    async with running_server(make_scenario(fixture)) as srv, ws_connect(srv, "/v1/chat") as ws:
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_text(frame)
        error = await receive_json(ws)
        await ws.send_text(json.dumps(envelope("Hello", model="gpt-test")))
        answer = await receive_json(ws)
        conn = await settled(srv, 2)
    assert error["type"] == "error"
    assert set(error["data"]["error"]) == {"message", "type", "param", "code"}
    assert error["data"]["error"]["code"] == code
    assert error["data"]["error"]["type"] == "invalid_request_error"
    assert answer == {"type": "hi", "data": {"ok": True}}
    bad, good = conn.exchanges
    assert bad.error == error["data"]["error"]["message"] and bad.fixture is None
    assert good.fixture == "hello" and good.error is None
    assert conn.frames[0].text == (frame if isinstance(frame, str) else None)
    if case == "unmatched":
        message = error["data"]["error"]["message"]
        assert "'hello'" in message and "model 'other-model' is not 'gpt-test'" in message
        assert "does not contain 'Hello'" in message
        assert error["data"]["nearest"] == [
            {
                "fixture": "hello",
                "reasons": ["model 'other-model' is not 'gpt-test'", "last user message does not contain 'Hello'"],
            }
        ]


async def test_many_bad_frames_in_a_row_do_not_hurt_the_server() -> None:
    fixture = Fixture("any", ws_match(), WsOutcome(events=(WsEvent("ok"),)))
    async with running_server(make_scenario(fixture)) as srv:
        async with ws_connect(srv, "/v1/responses") as ws:
            for _, frame, _ in BAD_FRAMES[:-1] * 3:
                await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_text(frame))
            codes = [(await receive_json(ws))["data"]["error"]["code"] for _ in BAD_FRAMES[:-1] * 3]
            await ws.send_text(json.dumps(envelope("fine")))
            assert await receive_json(ws) == {"type": "ok", "data": None}
        assert codes == [code for _, _, code in BAD_FRAMES[:-1]] * 3
        async with httpx.AsyncClient() as http:  # and HTTP still answers
            journal = (await http.get(srv.base_url + "/_dotmock/journal")).json()
    assert journal["websocket"][0]["messages_received"] == 3 * (len(BAD_FRAMES) - 1) + 1


async def test_a_client_closing_mid_sequence_is_journaled_with_its_code() -> None:
    events = (WsEvent("first"), WsEvent("late", delay_s=5.0))
    fixture = Fixture("slow", ws_match(), WsOutcome(events=events))
    async with running_server(make_scenario(fixture)) as srv:
        async with ws_connect(srv, "/v1/chat") as ws:
            await ws.send_text(json.dumps(envelope("Hi")))
            await receive_json(ws)
            await ws.close(4001, "bored")
        for _ in range(100):
            if srv.journal.websocket[0].closed_by:
                break
            await asyncio.sleep(0.01)
        conn = srv.journal.websocket[0]
    assert (conn.closed_by, conn.close_code_received, conn.close_code_sent) == ("client", 4001, None)
    assert conn.exchanges[0].events_sent == 1 and not conn.exchanges[0].completed


async def test_websocket_to_an_unknown_path_is_refused_with_a_404_in_the_error_shape() -> None:
    from httpx_ws import WebSocketUpgradeError

    async with running_server(make_scenario()) as srv:
        with pytest.raises(WebSocketUpgradeError) as raised:
            async with ws_connect(srv, "/v1/nope"):
                pass
        assert raised.value.response.status_code == 404
        async with httpx.AsyncClient() as http:  # the same handshake, read as plain HTTP to see the body
            response = await http.get(
                srv.base_url + "/v1/nope",
                headers={
                    "connection": "upgrade",
                    "upgrade": "websocket",
                    "sec-websocket-version": "13",
                    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
                },
            )
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "unknown_url"
        assert "/v1/chat" in error["message"] and "/v1/responses" in error["message"]
        assert srv.journal.websocket == []
