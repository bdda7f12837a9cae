"""Tool calls over WebSocket, read by real clients: the openai SDK's Responses WebSocket mode
(`responses.connect()`) and its Realtime client (`realtime.connect()`, GA, and the beta protocol), httpx-ws
for the seed's envelope on `/v1/chat`. A three-round agent loop on each, matched on the tool results the
client sent back (`turn`, `lastRole`, `toolResult`), with the calls streamed as each protocol does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl import load_text
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

FIXTURES = r"""
fixture "PREFIXround 1: two calls at once" {
  match ENDPOINT { turn 1 message contains "weather" }
  response "Checking."
  toolCall "get_weather" {"city": "Paris"}
  toolCall "get_time" id "call_time" {"tz": "UTC"}
  streaming { chunkSize 5 latencyMs 1 }
}
fixture "PREFIXround 2" {
  match ENDPOINT { turn 2 lastRole "tool" toolResult "get_weather" contains "Paris" toolResult * id "call_time" }
  toolCall "get_weather" {"city": "Rome"}
  streaming { chunkSize 5 }
}
fixture "PREFIXround 3" {
  match ENDPOINT { turn 3 toolResult "get_weather" contains "Rome" }
  toolCall "get_weather" id "call_london" {"city": "London"}
}
fixture "PREFIXfinal" {
  match ENDPOINT { turn 4 toolResult * id "call_london" }
  response "Sunny in Paris, Rome and London."
}
"""
SCENARIO = FIXTURES.replace("ENDPOINT", "websocket *").replace("PREFIX", "") + FIXTURES.replace(
    "ENDPOINT", "POST *"
).replace("PREFIX", "http ")
ROUNDS = [
    [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "UTC"})],
    [("get_weather", {"city": "Rome"})],
    [("get_weather", {"city": "London"})],
]
FINAL = "Sunny in Paris, Rome and London."
TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(load_text(SCENARIO, "ws-agents.mock").cases[0]) as server:
        yield server


def sdk(srv: RunningServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=srv.base_url + "/v1",
        api_key="sk-test",
        websocket_base_url=srv.base_url.replace("http", "ws", 1) + "/v1",
    )


def run_tool(name: str, args: dict[str, Any]) -> str:
    return f"21 degrees in {args['city']}" if name == "get_weather" else f"14:05 in {args['tz']}"


# ---------------------------------------------------------------------------------------------- Responses


async def test_responses_websocket_mode_runs_a_three_round_loop(srv: RunningServer) -> None:
    """The whole history sent each round as `input` items (function_call and function_call_output)."""
    rounds, deltas = [], []
    async with sdk(srv) as client, client.responses.connect() as connection:
        items: list[Any] = [{"role": "user", "content": "weather please"}]
        for _ in range(5):
            await connection.response.create(model="gpt-test", input=items, tools=[])
            async for event in connection:
                if event.type == "response.function_call_arguments.delta":
                    deltas.append(event.delta)
                if event.type == "response.completed":
                    response = event.response
                    break
            calls = [item for item in response.output if item.type == "function_call"]
            if not calls:
                break
            rounds.append([(c.name, json.loads(c.arguments)) for c in calls])
            items += [item.model_dump(exclude_none=True) for item in response.output]
            items += [
                {
                    "type": "function_call_output",
                    "call_id": c.call_id,
                    "output": run_tool(c.name, json.loads(c.arguments)),
                }
                for c in calls
            ]
    assert rounds == ROUNDS and response.output_text == FINAL
    assert '{"cit' in deltas  # the arguments came in 5-character pieces
    conn = srv.journal.websocket[-1]
    assert [x.fixture for x in conn.exchanges] == ["round 1: two calls at once", "round 2", "round 3", "final"]


async def chained_loop(next_round: Any) -> tuple[list[Any], Any]:
    """A loop that sends only the new items, chained to the last response by `previous_response_id`."""
    rounds: list[Any] = []
    items: list[Any] = [{"role": "user", "content": "weather please"}]
    previous = None
    for _ in range(5):
        response = await next_round(items, previous)
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            return rounds, response
        rounds.append([(c.name, json.loads(c.arguments)) for c in calls])
        items = [
            {"type": "function_call_output", "call_id": c.call_id, "output": run_tool(c.name, json.loads(c.arguments))}
            for c in calls
        ]
        previous = response.id
    raise AssertionError(f"no final answer after {rounds}")


async def test_previous_response_id_chains_count_their_turns_over_http(srv: RunningServer) -> None:
    """`turn 4` is reached with requests that each carry one round's results: the server counts the turns
    of the responses they chain, and knows the calls their results answer (`toolResult "get_weather"`)."""
    async with sdk(srv) as client:

        async def next_round(items: list[Any], previous: str | None) -> Any:
            extra = {"previous_response_id": previous} if previous else {}
            return await client.responses.create(model="gpt-test", input=items, **extra)

        rounds, response = await chained_loop(next_round)
    assert rounds == ROUNDS and response.output_text == FINAL
    exchanges = srv.journal.http[-4:]
    assert [e.fixture for e in exchanges] == [
        "http round 1: two calls at once",
        "http round 2",
        "http round 3",
        "http final",
    ]
    assert all(len(e.body["input"]) <= 2 for e in exchanges) and "previous_response_id" in exchanges[-1].body


async def test_previous_response_id_chains_count_their_turns_over_websocket(srv: RunningServer) -> None:
    async with sdk(srv) as client, client.responses.connect() as connection:

        async def next_round(items: list[Any], previous: str | None) -> Any:
            extra = {"previous_response_id": previous} if previous else {}
            await connection.response.create(model="gpt-test", input=items, **extra)
            async for event in connection:
                if event.type == "response.completed":
                    return event.response
            raise AssertionError("the connection ended")

        rounds, response = await chained_loop(next_round)
    assert rounds == ROUNDS and response.output_text == FINAL


async def test_an_unknown_previous_response_id_leaves_the_request_as_it_is(srv: RunningServer) -> None:
    items = [{"type": "function_call_output", "call_id": "call_x", "output": "21 degrees in Rome"}]
    async with sdk(srv) as client:
        with pytest.raises(openai.NotFoundError, match="turn 1"):
            await client.responses.create(model="gpt-test", input=items, previous_response_id="resp_unknown")


async def test_the_seed_envelope_on_v1_chat_gets_chat_tool_call_deltas(srv: RunningServer) -> None:
    ask = {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "weather please"}]}}
    async with httpx.AsyncClient() as http, aconnect_ws(srv.base_url + "/v1/chat", http) as ws:
        await ws.send_json(ask)
        chunks = []
        while True:
            event = json.loads(await ws.receive_text(timeout=TIMEOUT_S))
            chunks.append(event["data"])
            if event["data"]["choices"] and event["data"]["choices"][0].get("finish_reason"):
                break
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for call in delta.get("tool_calls", []):
            entry = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.get("id", "")
            entry["name"] += call.get("function", {}).get("name", "")
            entry["arguments"] += call["function"]["arguments"]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == ROUNDS[0]
    assert calls[1]["id"] == "call_time" and chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


# ---------------------------------------------------------------------------------------------- Realtime


async def realtime_loop(srv: RunningServer, beta: bool) -> tuple[list[Any], list[str], str]:
    """Ask, read each response's function calls, send their outputs as items, ask again; returns the
    rounds, the event types seen and the final text."""
    rounds: list[Any] = []
    kinds: list[str] = []
    text = ""
    async with sdk(srv) as client:
        realtime = client.beta.realtime if beta else client.realtime
        session = {"modalities": ["text"]} if beta else {"type": "realtime", "output_modalities": ["text"]}
        async with realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(session=session)
            content = [{"type": "input_text", "text": "weather please"}]
            await conn.conversation.item.create(item={"type": "message", "role": "user", "content": content})
            for _ in range(5):
                await conn.response.create()
                arguments: dict[str, str] = {}
                while True:
                    event = await asyncio.wait_for(conn.recv(), TIMEOUT_S)
                    kinds.append(event.type)
                    if event.type == "response.function_call_arguments.delta":
                        arguments[event.call_id] = arguments.get(event.call_id, "") + event.delta
                    elif event.type == "response.function_call_arguments.done":
                        assert event.arguments == arguments[event.call_id]
                    elif event.type == "response.done":
                        break
                output = event.response.output or []
                calls = [item for item in output if item.type == "function_call"]
                if not calls:
                    text = "".join(part.text or "" for item in output for part in item.content or [])
                    break
                rounds.append([(c.name, json.loads(c.arguments or "")) for c in calls])
                for c in calls:
                    result = run_tool(c.name or "", json.loads(c.arguments or ""))
                    item = {"type": "function_call_output", "call_id": c.call_id, "output": result}
                    await conn.conversation.item.create(item=item)
    return rounds, kinds, text


@pytest.mark.parametrize("beta", [False, True], ids=["ga", "beta"])
async def test_realtime_runs_a_three_round_loop(srv: RunningServer, beta: bool) -> None:
    rounds, kinds, text = await realtime_loop(srv, beta)
    assert rounds == ROUNDS and text == FINAL
    first = kinds[kinds.index("response.created") : kinds.index("response.done") + 1]
    added = "conversation.item.created" if beta else "conversation.item.added"
    text_delta = "response.text.delta" if beta else "response.output_text.delta"
    assert first[:4] == ["response.created", "response.output_item.added", added, "response.content_part.added"]
    assert text_delta in first and first.count("response.function_call_arguments.done") == 2
    assert first.count("response.output_item.done") == 3  # the message, then each call
    conn = srv.journal.websocket[-1]
    responses = [x for x in conn.exchanges if x.fixture is not None]
    assert [x.fixture for x in responses] == ["round 1: two calls at once", "round 2", "round 3", "final"]
    assert all(x.completed for x in responses)
