"""`cadence { }`: a stream replayed with the chunk boundaries and gaps it was recorded with (what
`dotmock record` writes), over SSE, as JSON and over WebSocket; and the language's rules for it."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl import DslError
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

PIECES = ["Hel", "lo th", "ere, ", "recorded!"]
GAPS_MS = [120, 60, 0, 90]
END_MS = 40

MOCK = (
    'scenario "recorded chunks"\n\nfixture "recorded" {\n  match POST /v1/chat/completions\n  cadence {\n'
    + "".join(f'    "{p}" after {g}ms\n' for p, g in zip(PIECES, GAPS_MS, strict=True))
    + f"    end after {END_MS}ms\n  }}\n}}\n\n"
    'fixture "ws" {\n  match websocket /v1/chat\n  cadence {\n'
    + "".join(f'    "{p}" after {g}ms\n' for p, g in zip(PIECES, GAPS_MS, strict=True))
    + "  }\n}\n"
)
BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
# Chunks are due at absolute deadlines from the start of the stream, so none arrives before its recorded
# moment; a loaded 2-core machine may deliver one late (not by more than LATE_S here). A gap seen by the
# client can shrink when the chunk before it was late, so each arrival is checked against the schedule, not
# against the previous arrival. Precision figures are in bench/bench_record.py.
LATE_S = 0.3


def scenario():
    return load_text(MOCK, "recorded.mock").cases[0]


def test_the_layout_is_canonical_and_the_text_is_the_chunks_joined() -> None:
    assert format_text(MOCK, "recorded.mock") == MOCK
    outcome = scenario().fixtures[0].outcome
    assert outcome.text == "".join(PIECES)
    assert [c.text for c in outcome.streaming.chunks] == PIECES
    assert [round(c.gap_s * 1000) for c in outcome.streaming.chunks] == GAPS_MS
    assert round(outcome.streaming.end_gap_s * 1000) == END_MS


def check_schedule(arrivals: list[float], start: float, gaps_ms: list[int] = GAPS_MS) -> None:
    due = [sum(gaps_ms[: i + 1]) / 1000 for i in range(len(gaps_ms))]
    seen = [t - start for t in arrivals]
    for at, want in zip(seen, due, strict=True):
        assert want <= at <= want + LATE_S, (seen, due)


async def test_sse_replays_the_recorded_boundaries_and_gaps() -> None:
    async with (
        running_server(scenario()) as srv,
        openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="k", max_retries=0) as client,
    ):
        start = time.monotonic()
        stream = await client.chat.completions.create(model="m", messages=BODY["messages"], stream=True)
        pieces, arrivals, finish_at = [], [], None
        async for chunk in stream:
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                pieces.append(delta)
                arrivals.append(time.monotonic())
            if chunk.choices and chunk.choices[0].finish_reason:
                finish_at = time.monotonic()
    assert pieces == PIECES
    check_schedule(arrivals, start)
    assert finish_at is not None and finish_at - start >= (sum(GAPS_MS) + END_MS) / 1000


async def test_json_answer_is_the_whole_text_at_once() -> None:
    async with (
        running_server(scenario()) as srv,
        openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="k", max_retries=0) as client,
    ):
        completion = await client.chat.completions.create(model="m", messages=BODY["messages"])
    assert completion.choices[0].message.content == "".join(PIECES)


async def test_truncate_after_chunks_counts_the_recorded_chunks() -> None:
    end = "    end after 40ms\n  }\n"
    text = MOCK.replace(end, end + "  streaming { truncateAfterChunks 2 }\n", 1)
    async with running_server(load_text(text, "t.mock").cases[0]) as srv:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(srv.base_url + "/v1/chat/completions", json={**BODY, "stream": True})
    datas = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    contents = [json.loads(d)["choices"][0]["delta"].get("content") for d in datas if d != "[DONE]"]
    assert [c for c in contents if c] == PIECES[:2] and "[DONE]" not in datas


async def test_websocket_streams_the_recorded_chunks_as_events() -> None:
    async with running_server(scenario()) as srv, httpx.AsyncClient() as http:
        async with aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
            start = time.monotonic()
            await ws.send_json({"type": "message", "data": BODY})
            pieces, arrivals = [], []
            while True:
                event = await ws.receive_json(timeout=5)
                if event["type"] == "done":
                    break
                delta = (event["data"].get("choices") or [{}])[0].get("delta", {}).get("content")
                if delta:
                    pieces.append(delta)
                    arrivals.append(time.monotonic())
    assert pieces == PIECES
    check_schedule(arrivals, start)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ('response "x"\n  cadence { "a" }', "has response and cadence"),
        ('cadence { "a" }\n  streaming { chunkSize 3 }', "chunkSize / latencyMs cannot be used with it"),
        ('cadence { "a" }\n  error 429', "has cadence and error"),
    ],
)
def test_mistakes_are_reported(items: str, message: str) -> None:
    text = f'scenario "s"\nfixture "f" {{\n  match POST /v1/chat/completions\n  {items}\n}}\n'
    with pytest.raises(DslError) as caught:
        load_text(text, "bad.mock")
    assert message in str(caught.value)
