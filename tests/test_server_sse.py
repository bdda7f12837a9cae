"""The SSE wire format byte by byte (raw httpx): framing, the seed's example, dialects, pacing, JSON bodies."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from timing import holds_in_one_of

from dotmock.dsl.model import Fixture, Match, Scenario, Streaming, TextOutcome
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

SEED_TEXT = "This is a long response that will be cut short..."
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"


def scenario(outcome: TextOutcome, dialect: str = "openai") -> Scenario:
    fixture = Fixture("only", Match("http", "POST", None), outcome)
    return Scenario(name="sse", path="sse.mock", base_dir=".", fixtures=(fixture,), dialect=dialect)


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "your-model", "stream": True, "messages": [{"role": "user", "content": "Hello"}], **extra}


def resp_body(**extra: Any) -> dict[str, Any]:
    return {"model": "your-model", "stream": True, "input": "Hello", **extra}


async def read_stream(url: str, body: dict[str, Any]) -> tuple[httpx.Response, bytes, list[tuple[float, bytes]]]:
    """POST and read the raw body, with the arrival time of every piece."""
    pieces: list[tuple[float, bytes]] = []
    async with httpx.AsyncClient(timeout=10) as http, http.stream("POST", url, json=body) as response:
        async for piece in response.aiter_raw():
            pieces.append((time.monotonic(), piece))
    return response, b"".join(p for _, p in pieces), pieces


def events(raw: bytes) -> list[dict[str, str]]:
    """Split an SSE body into events (`event`/`data` fields); asserts the framing is LF + blank line."""
    text = raw.decode()
    assert text.endswith("\n\n") or text == ""
    out = []
    for block in text.split("\n\n")[:-1]:
        event: dict[str, str] = {}
        for line in block.split("\n"):
            name, sep, value = line.partition(": ")
            assert sep and name in ("event", "data"), line
            event[name] = value
        out.append(event)
    return out


def content_deltas(evs: list[dict[str, str]]) -> list[str]:
    deltas = []
    for ev in evs:
        if ev["data"] == "[DONE]":
            continue
        data = json.loads(ev["data"])
        if data.get("choices") and "content" in data["choices"][0]["delta"]:
            deltas.append(data["choices"][0]["delta"]["content"])
    return deltas


async def test_seed_example_three_chunks_then_clean_end_without_done() -> None:
    outcome = TextOutcome(SEED_TEXT, Streaming(chunk_size=15, latency_ms=80, truncate_after_chunks=3))
    async with running_server(scenario(outcome)) as srv:
        start = time.monotonic()
        response, raw, pieces = await read_stream(srv.base_url + CHAT, chat_body())
        [exchange] = srv.journal.http
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    evs = events(raw)
    deltas = content_deltas(evs)
    assert deltas == ["This is a long ", "response that w", "ill be cut shor"]
    assert len("".join(deltas)) == 45
    assert b"[DONE]" not in raw
    assert all('"finish_reason":null' in ev["data"] for ev in evs)
    # role chunk + 3 content chunks, 80 ms apart
    assert len(evs) == 4
    assert pieces[-1][0] - start >= 0.15
    assert (exchange.faults, exchange.chunks_sent, exchange.completed) == (["truncate"], 3, False)
    assert not exchange.client_disconnected
    assert [t.what for t in exchange.ticks].count("chunk") == 3


async def test_chat_framing_matches_the_seed() -> None:
    text = "Hello there, general Kenobi! " * 3
    async with running_server(scenario(TextOutcome(text))) as srv:
        _, raw, _ = await read_stream(srv.base_url + CHAT, chat_body())
        [exchange] = srv.journal.http
    evs = events(raw)
    assert all(set(ev) == {"data"} for ev in evs)
    assert evs[-1]["data"] == "[DONE]"
    chunks = [json.loads(ev["data"]) for ev in evs[:-1]]
    first, last = chunks[0], chunks[-1]
    assert first["choices"] == [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]
    assert last["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert list(first) == ["id", "object", "created", "model", "choices"]
    assert {c["id"] for c in chunks} == {first["id"]} and first["id"].startswith("chatcmpl-mock-")
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {"your-model"}
    deltas = content_deltas(evs)
    assert "".join(deltas) == text
    assert [len(d) for d in deltas] == [20, 20, 20, 20, len(text) - 80]  # default chunkSize 20
    assert exchange.completed and exchange.chunks_sent == 5 and exchange.bytes_sent == len(raw)


async def test_chat_finish_reason_and_include_usage() -> None:
    async with running_server(scenario(TextOutcome("cut", finish_reason="length"))) as srv:
        _, raw, _ = await read_stream(srv.base_url + CHAT, chat_body(stream_options={"include_usage": True}))
    evs = events(raw)
    assert evs[-1]["data"] == "[DONE]"
    finish, usage = json.loads(evs[-3]["data"]), json.loads(evs[-2]["data"])
    assert finish["choices"][0]["finish_reason"] == "length"
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] > 0


RESPONSES_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


async def test_responses_openai_dialect_sequence() -> None:
    async with running_server(scenario(TextOutcome("Hello there", Streaming(chunk_size=6)))) as srv:
        _, raw, _ = await read_stream(srv.base_url + RESPONSES, resp_body())
    evs = events(raw)
    assert [ev["event"] for ev in evs] == RESPONSES_SEQUENCE
    datas = [json.loads(ev["data"]) for ev in evs]
    assert [d["type"] for d in datas] == RESPONSES_SEQUENCE
    assert [d["sequence_number"] for d in datas] == list(range(len(datas)))
    response_id = datas[0]["response"]["id"]
    item_id = datas[2]["item"]["id"]
    assert datas[-1]["response"]["id"] == response_id and datas[1]["response"]["id"] == response_id
    for d in datas[3:8]:
        assert (d["item_id"], d["output_index"], d["content_index"]) == (item_id, 0, 0)
    assert [d["delta"] for d in datas[4:6]] == ["Hello ", "there"]
    assert datas[4]["logprobs"] == [] and datas[6]["text"] == "Hello there"
    assert datas[-1]["response"]["output"][0]["content"][0]["text"] == "Hello there"
    assert datas[-1]["response"]["status"] == "completed" and datas[0]["response"]["status"] == "in_progress"


SEED_SEQUENCE = [
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.text.delta",
    "response.text.delta",
    "response.text.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.mark.parametrize("where", ["scenario", "fixture"])
async def test_responses_seed_dialect_is_the_seeds_sequence(where: str) -> None:
    if where == "scenario":
        sc = scenario(TextOutcome("Hello there", Streaming(chunk_size=6)), dialect="seed")
    else:
        sc = scenario(TextOutcome("Hello there", Streaming(chunk_size=6), dialect="seed"))
    async with running_server(sc) as srv:
        _, raw, _ = await read_stream(srv.base_url + RESPONSES, resp_body())
    evs = events(raw)
    assert [ev["event"] for ev in evs] == SEED_SEQUENCE
    created, *rest = [json.loads(ev["data"]) for ev in evs]
    assert list(created) == ["id", "object", "created", "model", "status", "output"]
    assert (created["object"], created["model"], created["status"], created["output"]) == (
        "response",
        "your-model",
        "in_progress",
        [],
    )
    rid = created["id"]
    assert rid.startswith("resp_mock_")
    assert rest[0] == {
        "type": "response.output_item.added",
        "response_id": rid,
        "output_index": 0,
        "item": {"type": "message", "role": "assistant"},
    }
    assert rest[1] == {
        "type": "response.content_part.added",
        "response_id": rid,
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "text", "text": ""},
    }
    assert rest[2] == {
        "type": "response.text.delta",
        "response_id": rid,
        "output_index": 0,
        "content_index": 0,
        "delta": "Hello ",
    }
    assert rest[4] == {
        "type": "response.text.done",
        "response_id": rid,
        "output_index": 0,
        "content_index": 0,
        "text": "Hello there",
    }
    assert rest[5]["item"]["content"] == [{"type": "text", "text": "Hello there"}]
    assert rest[6]["id"] == rid and rest[6]["status"] == "completed" and rest[6]["object"] == "response"
    # The seed's "seven event types": created, item added, part added, text delta, text done, item done, completed.
    assert len(set(SEED_SEQUENCE)) == 7


async def test_dialect_only_changes_responses_not_chat() -> None:
    async with running_server(scenario(TextOutcome("Hi"), dialect="seed")) as srv:
        _, raw, _ = await read_stream(srv.base_url + CHAT, chat_body())
    assert events(raw)[-1]["data"] == "[DONE]"


async def test_pacing_keeps_absolute_deadlines() -> None:
    latency = 0.04
    outcome = TextOutcome("x" * 16, Streaming(chunk_size=2, latency_ms=int(latency * 1000)))

    async def on_schedule() -> None:
        async with running_server(scenario(outcome)) as srv:
            await read_stream(srv.base_url + CHAT, chat_body())
            [exchange] = srv.journal.http
        ticks = [t.t for t in exchange.ticks if t.what == "chunk"]
        assert len(ticks) == 8
        start = ticks[0]
        for i, t in enumerate(ticks):
            # every chunk within 30 ms of start + i*latency (a loaded CI box): lateness never accumulates
            assert -0.001 <= (t - start) - i * latency < 0.03, (i, t - start)

    await holds_in_one_of(3, on_schedule)


async def test_json_bodies_for_both_endpoints() -> None:
    async with (
        running_server(scenario(TextOutcome("Just JSON", Streaming(latency_ms=500)))) as srv,
        httpx.AsyncClient() as http,
    ):
        chat = await http.post(srv.base_url + CHAT, json={**chat_body(), "stream": False})
        resp = await http.post(srv.base_url + RESPONSES, json={"model": "m2", "input": "x"})
    assert chat.headers["content-type"] == "application/json"
    c = chat.json()
    assert (c["object"], c["model"], c["choices"][0]["message"]["content"]) == (
        "chat.completion",
        "your-model",
        "Just JSON",
    )
    assert set(c["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert isinstance(c["created"], int)
    r = resp.json()
    assert (r["object"], r["model"], r["status"]) == ("response", "m2", "completed")
    assert r["output"][0]["content"][0] == {
        "type": "output_text",
        "text": "Just JSON",
        "annotations": [],
        "logprobs": [],
    }
    assert r["id"].startswith("resp_mock_") and r["usage"]["output_tokens"] > 0


@pytest.mark.parametrize(
    ("truncate", "expected"), [(0, []), (2, ["abcde", "fghij"]), (3, ["abcde", "fghij"]), (9, ["abcde", "fghij"])]
)
async def test_truncate_never_sends_the_terminator(truncate: int, expected: list[str]) -> None:
    outcome = TextOutcome("abcdefghij", Streaming(chunk_size=5, truncate_after_chunks=truncate))
    async with running_server(scenario(outcome)) as srv:
        _, raw, _ = await read_stream(srv.base_url + CHAT, chat_body())
        _, raw_resp, _ = await read_stream(srv.base_url + RESPONSES, resp_body())
        journal = srv.journal.http
    assert content_deltas(events(raw)) == expected
    assert b"[DONE]" not in raw and b'"finish_reason":"stop"' not in raw
    assert raw_resp.count(b"event: response.output_text.delta") == len(expected)
    assert b"response.completed" not in raw_resp and b"response.output_text.done" not in raw_resp
    assert [(e.faults, e.completed, e.chunks_sent) for e in journal] == [(["truncate"], False, len(expected))] * 2


async def test_a_slow_reader_holds_the_stream_back() -> None:
    text = "x" * (20 * 1024 * 1024)
    async with running_server(scenario(TextOutcome(text, Streaming(chunk_size=4096)))) as srv:
        async with httpx.AsyncClient() as http, http.stream("POST", srv.base_url + CHAT, json=chat_body()) as r:
            stream = r.aiter_raw()
            await anext(stream)
            await asyncio.sleep(0.3)  # not reading: the server must wait, not buffer 20 MiB
            exchange = srv.journal.http[0]
            assert 0 < exchange.bytes_sent < 12 * 1024 * 1024
            assert exchange.chunks_sent < len(text) // 4096
        for _ in range(100):
            if exchange.ended_at is not None:
                break
            await asyncio.sleep(0.01)
        assert exchange.client_disconnected and not exchange.completed


async def test_pacing_catches_up_after_the_loop_was_blocked() -> None:
    """A 60 ms hiccup delays the chunk that was due then; the chunks after it are back on schedule (a
    sleep-after-each-chunk server would stay 60 ms late for the rest of the stream)."""
    latency = 0.03
    outcome = TextOutcome("x" * 20, Streaming(chunk_size=1, latency_ms=int(latency * 1000)))

    async def hiccup() -> None:
        await asyncio.sleep(0.1)
        time.sleep(0.06)  # blocks the event loop the server runs on

    async def back_on_schedule() -> None:
        async with running_server(scenario(outcome)) as srv:
            blocker = asyncio.create_task(hiccup())
            await read_stream(srv.base_url + CHAT, chat_body())
            await blocker
            [exchange] = srv.journal.http
        ticks = [t.t for t in exchange.ticks if t.what == "chunk"]
        lateness = [(t - ticks[0]) - i * latency for i, t in enumerate(ticks)]
        assert max(lateness) >= 0.03  # the hiccup happened mid-stream
        assert all(late < 0.02 for late in lateness[10:]), lateness

    await holds_in_one_of(3, back_on_schedule)
