"""Each fault's observable effect on the wire, and its record in the journal."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import openai
import pytest

from dotmock.dsl.model import Fault, Fixture, Match, Scenario, Streaming, TextOutcome
from dotmock.server.journal import HttpExchange
from dotmock.server.running import RunningServer, running_server
from dotmock.server.streaming import StreamLimits

pytestmark = pytest.mark.anyio

TEXT = "".join(f"<chunk {i}> " for i in range(6))  # six distinct 10-character chunks
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"


def scenario(*faults: Fault, latency_ms: int = 0, dialect: str = "openai") -> Scenario:
    outcome = TextOutcome(TEXT, Streaming(chunk_size=10, latency_ms=latency_ms), faults=faults)
    fixture = Fixture("faulty", Match("http", "POST", None), outcome)
    return Scenario(name="faults", path="f.mock", base_dir=".", fixtures=(fixture,), dialect=dialect)


BODY = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
RESP_BODY = {"model": "m", "stream": True, "input": "Hello"}


def data_events(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]


def chat_text(raw: bytes) -> str:
    out = []
    for data in data_events(raw):
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        if isinstance(chunk, dict) and chunk.get("choices"):
            out.append(chunk["choices"][0]["delta"].get("content") or "")
    return "".join(out)


async def read_until_error(url: str, body: dict[str, Any], timeout: float = 5) -> tuple[bytes, Exception | None]:
    received = bytearray()
    async with httpx.AsyncClient(timeout=timeout) as http:
        try:
            async with http.stream("POST", url, json=body) as response:
                async for piece in response.aiter_raw():
                    received += piece
        except (httpx.TransportError, httpx.RemoteProtocolError) as err:
            return bytes(received), err
    return bytes(received), None


async def settled(srv: RunningServer) -> HttpExchange:
    """The single exchange, once the server has finished with it."""
    for _ in range(200):
        if srv.journal.http and srv.journal.http[0].ended_at is not None:
            return srv.journal.http[0]
        await asyncio.sleep(0.01)
    raise AssertionError("exchange never ended")


@pytest.mark.parametrize("path", [CHAT, RESPONSES])
async def test_disconnect_after_chunks_is_an_incomplete_body_not_a_clean_end(path: str) -> None:
    async with running_server(scenario(Fault("disconnect", after_chunks=2))) as srv:
        raw, err = await read_until_error(srv.base_url + path, BODY if path == CHAT else RESP_BODY)
        exchange = await settled(srv)
    assert isinstance(err, httpx.RemoteProtocolError | httpx.ReadError), err
    if path == CHAT:
        assert chat_text(raw) == TEXT[:20]
        assert b"[DONE]" not in raw
    else:
        assert raw.count(b"event: response.output_text.delta") == 2
        assert b"response.completed" not in raw
    assert (exchange.faults, exchange.chunks_sent, exchange.completed) == (["disconnect"], 2, False)
    assert "fault:disconnect" in [t.what for t in exchange.ticks]


async def test_disconnect_after_seconds() -> None:
    # Wide margins (100 ms either side of the drop): a loaded machine wakes the stream late.
    async with running_server(scenario(Fault("disconnect", after_s=0.5), latency_ms=200)) as srv:
        start = time.monotonic()
        raw, err = await read_until_error(srv.base_url + CHAT, BODY)
        elapsed = time.monotonic() - start
        exchange = await settled(srv)
    assert isinstance(err, httpx.RemoteProtocolError | httpx.ReadError), err
    assert chat_text(raw) == TEXT[:30]  # chunks at 0, 200, 400 ms; dropped at 500 ms
    assert 0.45 <= elapsed < 3.0
    assert exchange.faults == ["disconnect"] and exchange.chunks_sent == 3


async def test_a_late_wake_up_never_sends_a_chunk_due_after_the_drop() -> None:
    """The server's loop is blocked past several chunks' due times (as on a loaded machine): when it wakes,
    the chunks due before the drop go out, and none due after it."""
    async with running_server(scenario(Fault("disconnect", after_s=0.25), latency_ms=100)) as srv:
        received = bytearray()
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                async with http.stream("POST", srv.base_url + CHAT, json=BODY) as response:
                    async for piece in response.aiter_raw():
                        if not received:
                            time.sleep(0.45)  # blocks the server too: it shares this event loop
                        received += piece
        exchange = await settled(srv)
    assert chat_text(bytes(received)) == TEXT[:30]  # due at 0, 100 and 200 ms; dropped at 250 ms
    assert exchange.faults == ["disconnect"] and exchange.chunks_sent == 3


async def test_disconnect_after_seconds_holds_the_terminator_back() -> None:
    async with running_server(scenario(Fault("disconnect", after_s=0.1))) as srv:
        raw, err = await read_until_error(srv.base_url + CHAT, BODY)
    assert isinstance(err, httpx.RemoteProtocolError | httpx.ReadError)
    assert chat_text(raw) == TEXT and b"[DONE]" not in raw


async def test_sdk_sees_a_connection_error_on_disconnect() -> None:
    async with (
        running_server(scenario(Fault("disconnect", after_chunks=3))) as srv,
        openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x", max_retries=0) as sdk,
    ):
        got = []
        with pytest.raises(openai.APIConnectionError):
            stream = await sdk.chat.completions.create(model="m", messages=BODY["messages"], stream=True)
            async for chunk in stream:
                got.append(chunk.choices[0].delta.content or "")
        assert "".join(got) == TEXT[:30]
        assert len(srv.journal.http) == 1  # mid-stream failures are not retried by the SDK


async def test_stall_for_a_duration_then_carry_on() -> None:
    async with running_server(scenario(Fault("stall", after_chunks=2, duration_s=0.3))) as srv:
        pieces: list[tuple[float, bytes]] = []
        async with httpx.AsyncClient() as http, http.stream("POST", srv.base_url + CHAT, json=BODY) as response:
            async for piece in response.aiter_raw():
                pieces.append((time.monotonic(), piece))
        exchange = await settled(srv)
    raw = b"".join(p for _, p in pieces)
    assert chat_text(raw) == TEXT and raw.endswith(b"data: [DONE]\n\n")
    before = [t for t, p in pieces if TEXT[10:20].encode() in p]
    after = [t for t, p in pieces if TEXT[20:30].encode() in p]
    assert after[0] - before[0] >= 0.29
    assert exchange.faults == ["stall"] and exchange.completed


async def test_stall_without_duration_until_the_client_gives_up() -> None:
    async with running_server(scenario(Fault("stall", after_chunks=1))) as srv:
        received = bytearray()
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.3)) as http:
            with pytest.raises(httpx.ReadTimeout):
                async with http.stream("POST", srv.base_url + CHAT, json=BODY) as response:
                    async for piece in response.aiter_raw():
                        received += piece
        exchange = await settled(srv)
    assert chat_text(bytes(received)) == TEXT[:10]
    assert exchange.faults == ["stall"] and exchange.client_disconnected and not exchange.completed
    assert exchange.chunks_sent == 1


async def test_stall_is_bounded_by_the_server_limit() -> None:
    limits = StreamLimits(max_stall_s=0.2)
    sc = scenario(Fault("stall", after_chunks=1))
    async with running_server(sc, limits=limits) as srv, httpx.AsyncClient() as http:
        response = await http.post(srv.base_url + CHAT, json=BODY)
    assert chat_text(response.content) == TEXT and response.content.endswith(b"[DONE]\n\n")


@pytest.mark.parametrize("data", [None, "this is {not json"])
async def test_malformed_chunk_then_carry_on(data: str | None) -> None:
    async with (
        running_server(scenario(Fault("malformedChunk", after_chunks=2, data=data))) as srv,
        httpx.AsyncClient() as http,
    ):
        response = await http.post(srv.base_url + CHAT, json=BODY)
        exchange = await settled(srv)
    events = data_events(response.content)
    bad = []
    for i, event in enumerate(events):
        if event == "[DONE]":
            continue
        try:
            json.loads(event)
        except ValueError:
            bad.append(i)
    assert bad == [3]  # role, chunk, chunk, then the malformed one
    if data is not None:
        assert events[3] == data
    assert chat_text(response.content) == TEXT and events[-1] == "[DONE]"
    assert exchange.faults == ["malformedChunk"] and exchange.completed and exchange.chunks_sent == 6


async def test_sdk_raises_on_the_malformed_chunk() -> None:
    async with (
        running_server(scenario(Fault("malformedChunk", after_chunks=1))) as srv,
        openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x", max_retries=0) as sdk,
    ):
        stream = await sdk.chat.completions.create(model="m", messages=BODY["messages"], stream=True)
        with pytest.raises(json.JSONDecodeError):
            async for _ in stream:
                pass


async def test_slow_first_token() -> None:
    async with running_server(scenario(Fault("slowFirstToken", duration_s=0.3))) as srv:
        pieces: list[tuple[float, bytes]] = []
        async with httpx.AsyncClient() as http:
            start = time.monotonic()
            async with http.stream("POST", srv.base_url + CHAT, json=BODY) as response:
                headers_at = time.monotonic()
                async for piece in response.aiter_raw():
                    pieces.append((time.monotonic(), piece))
        exchange = await settled(srv)
    assert headers_at - start < 0.2
    role_at = next(t for t, p in pieces if b'"role":"assistant"' in p)
    first_content_at = next(t for t, p in pieces if TEXT[:10].encode() in p)
    assert role_at - start < 0.2
    assert first_content_at - start >= 0.29
    assert chat_text(b"".join(p for _, p in pieces)) == TEXT
    assert exchange.faults == ["slowFirstToken"] and exchange.completed


async def test_error_event_chat() -> None:
    fault = Fault(
        "errorEvent", after_chunks=2, message="upstream overloaded", error_type="server_error", code="overloaded"
    )
    async with running_server(scenario(fault)) as srv:
        async with httpx.AsyncClient() as http:
            response = await http.post(srv.base_url + CHAT, json=BODY)
        async with openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x", max_retries=0) as sdk:
            stream = await sdk.chat.completions.create(model="m", messages=BODY["messages"], stream=True)
            with pytest.raises(openai.APIError, match="upstream overloaded"):
                async for _ in stream:
                    pass
        exchange = srv.journal.http[0]
    events = data_events(response.content)
    assert json.loads(events[-1]) == {
        "error": {"message": "upstream overloaded", "type": "server_error", "param": None, "code": "overloaded"}
    }
    assert chat_text(response.content) == TEXT[:20] and "[DONE]" not in events
    assert exchange.faults == ["errorEvent"] and not exchange.completed


async def test_error_event_responses() -> None:
    fault = Fault("errorEvent", after_chunks=1, message="boom", code="server_error")
    async with running_server(scenario(fault)) as srv:
        async with httpx.AsyncClient() as http:
            response = await http.post(srv.base_url + RESPONSES, json=RESP_BODY)
        async with openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x", max_retries=0) as sdk:
            async with sdk.responses.stream(model="m", input="Hello") as stream:
                types = [event.type async for event in stream]
                with pytest.raises(RuntimeError, match=r"response\.completed"):
                    await stream.get_final_response()
    blocks = response.content.decode().split("\n\n")[:-1]
    # The error event, then response.failed carrying the error, as the API ends a response failing mid-stream.
    assert blocks[-2].startswith("event: error\ndata: ") and blocks[-1].startswith("event: response.failed\ndata: ")
    error = json.loads(blocks[-2].split("data: ", 1)[1])
    assert error == {"type": "error", "sequence_number": 5, "code": "server_error", "message": "boom", "param": None}
    failed = json.loads(blocks[-1].split("data: ", 1)[1])["response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": "boom"}
    assert "response.completed" not in response.text
    assert types[-2:] == ["error", "response.failed"]


async def test_sdk_ends_silently_on_truncation() -> None:
    outcome = TextOutcome(TEXT, Streaming(chunk_size=10, truncate_after_chunks=2))
    sc = Scenario(name="t", path="t.mock", base_dir=".", fixtures=(Fixture("t", Match("http", "POST", None), outcome),))
    async with running_server(sc) as srv, openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x") as sdk:
        stream = await sdk.chat.completions.create(model="m", messages=BODY["messages"], stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert text == TEXT[:20]
        assert srv.journal.http[0].faults == ["truncate"]


async def test_client_going_away_mid_stream_is_journaled() -> None:
    async with running_server(scenario(latency_ms=50)) as srv:
        async with httpx.AsyncClient() as http, http.stream("POST", srv.base_url + CHAT, json=BODY) as response:
            async for piece in response.aiter_raw():
                if TEXT[:10].encode() in piece:
                    break
        exchange = await settled(srv)
    assert exchange.client_disconnected and not exchange.completed
    assert exchange.chunks_sent < 6 and exchange.faults == []
