"""Many WebSocket connections at once: each gets its whole sequence, in order, on time."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect

from dotmock.dsl.model import Fixture, Match, Scenario, Streaming, TextOutcome, TextRule, WsEvent, WsOutcome
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

N_CONNECTIONS = 200
EVENTS = tuple(WsEvent(f"step.{i}", {"i": i}, delay_s=0.02) for i in range(5))  # 100 ms in all
TEXT = "Two hundred clients, one mock server."


def message(content: str, i: int) -> str:
    return json.dumps(
        {
            "type": "message",
            "data": {"model": "m", "user": f"client-{i}", "messages": [{"role": "user", "content": content}]},
        }
    )


async def events_client(url: str, i: int) -> tuple[list[dict[str, object]], float]:
    async with connect(url, open_timeout=10) as ws:
        start = time.monotonic()
        await ws.send(message("events", i))
        got = [json.loads(await ws.recv()) for _ in EVENTS]
        return got, time.monotonic() - start


async def text_client(url: str, i: int) -> str:
    async with connect(url, open_timeout=10) as ws:
        await ws.send(message("text", i))
        deltas = []
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == "response.output_text.delta":
                deltas.append(event["data"]["delta"])
            if event["type"] == "response.completed":
                return "".join(deltas)


async def test_200_concurrent_connections_each_receive_their_full_sequence() -> None:
    fixtures = (
        Fixture(
            "events", Match("websocket", None, None, text=(TextRule("contains", "events"),)), WsOutcome(events=EVENTS)
        ),
        Fixture(
            "text",
            Match("websocket", None, None, text=(TextRule("contains", "text"),)),
            TextOutcome(TEXT, Streaming(chunk_size=6, latency_ms=10)),
        ),
    )
    scenario = Scenario(name="load", path="load.mock", base_dir=".", fixtures=fixtures)
    async with running_server(scenario) as srv:
        url = srv.ws_url + "/v1/responses"
        half = N_CONNECTIONS // 2
        async with asyncio.timeout(20):
            results = await asyncio.gather(
                *(events_client(url, i) for i in range(half)),
                *(text_client(url, i) for i in range(half, N_CONNECTIONS)),
            )
        for _ in range(200):
            if sum(c.closed_at is not None for c in srv.journal.websocket) == N_CONNECTIONS:
                break
            await asyncio.sleep(0.02)
        journal = srv.journal.websocket
    expected = [{"type": e.type, "data": e.data} for e in EVENTS]
    for got, elapsed in results[:half]:
        assert got == expected
        assert elapsed >= 0.1 - 0.005  # the delays held under load too
    assert results[half:] == [TEXT] * half
    assert len(journal) == N_CONNECTIONS
    assert all(c.closed_by == "client" and c.close_code_received == 1000 for c in journal)
    exchanges = [x for c in journal for x in c.exchanges]
    assert len(exchanges) == N_CONNECTIONS and all(x.completed for x in exchanges)
    assert sorted(x.request["user"] for x in exchanges) == sorted(f"client-{i}" for i in range(N_CONNECTIONS))
