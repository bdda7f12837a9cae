"""Agent answers on the Gemini API, read by the official google-genai SDK: `functionCall` parts (parallel calls
as several parts, no call ids unless the fixture gives one), thoughts, refusals, finishReason STOP; a
three-round tool loop with `generate_content` and `generate_content_stream` (SSE), matched on the client's
`functionResponse` parts; the JSON-array stream read by hand; faults between and inside call chunks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from dotmock.dsl import load_text
from dotmock.server.conversation import read_conversation
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

MODEL = "gemini-2.0-flash"
SCENARIO = r"""
fixture "round 1: three calls at once" {
  match POST * { turn 1 lastRole "user" message contains "weather" }
  reasoning "Three lookups."
  response "Checking."
  toolCall "get_weather" {"city": "Paris"}
  toolCall "get_weather" {"city": "Rome"}
  toolCall "get_time" id "call_time" {"tz": "UTC"}
  streaming { chunkSize 4 latencyMs 1 }
}
fixture "round 2" {
  match POST * { turn 2 lastRole "tool" toolResult "get_weather" contains "Rome" toolResult * id "call_time" }
  toolCall "get_weather" {"city": "London"}
}
fixture "round 3" {
  match POST * { turn 3 toolResult "get_weather" contains "London" }
  toolCall "get_time" {"tz": "Europe/London"}
}
fixture "final" {
  match POST * { turn 4 toolResult "get_time" contains "London" }
  response "Sunny in Paris, Rome and London."
}
fixture "refuse" { match POST * { message contains "secret" } refusal "I can't help with that." }
fixture "broken" { match POST * { message contains "broken" } toolCall "lookup" raw "{\"q\": " }
fixture "cut" { match POST * { message contains "cut" } response "Two calls:"
  toolCall "get_weather" {"city": "Paris"} toolCall "get_time" {"tz": "UTC"}
  streaming { chunkSize 20 truncateAfterChunks 2 } }
fixture "garbage" { match POST * { message contains "garbage" } toolCall "get_weather" {"city": "Paris"}
  toolCall "get_time" {"tz": "UTC"} fault malformedChunk after 1 chunk }
"""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(load_text(SCENARIO, "gemini-agents.mock").cases[0]) as server:
        yield server


def sdk(server: RunningServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=server.base_url))


TOOLS = types.GenerateContentConfig(
    tools=[
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(name="get_weather", parameters={"type": "object"}),
                types.FunctionDeclaration(name="get_time", parameters={"type": "object"}),
            ]
        )
    ]
)


def run(call: types.FunctionCall) -> types.Part:
    args = call.args or {}
    result = f"21 degrees in {args['city']}" if call.name == "get_weather" else f"14:05 in {args['tz']}"
    return types.Part(function_response=types.FunctionResponse(name=call.name, response={"output": result}))


async def ask(client: genai.Client, history: list[Any], stream: bool) -> types.GenerateContentResponse:
    """One round; a stream's chunks put together into one response (their parts in order, the last finish)."""
    if not stream:
        return await client.aio.models.generate_content(model=MODEL, contents=history, config=TOOLS)
    chunks = [c async for c in await client.aio.models.generate_content_stream(model=MODEL, contents=history)]
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])  # only the last one says it stopped
    parts = [p for c in chunks for p in (c.candidates[0].content.parts or [])]
    whole = chunks[-1].model_copy(deep=True)
    whole.candidates[0].content = types.Content(role="model", parts=parts)
    return whole


@pytest.mark.parametrize("stream", [False, True], ids=["generate_content", "generate_content_stream"])
async def test_a_three_round_tool_loop(srv: RunningServer, stream: bool) -> None:
    client = sdk(srv)
    history: list[Any] = [types.Content(role="user", parts=[types.Part(text="weather please")])]
    rounds = []
    for _ in range(5):
        response = await ask(client, history, stream)
        candidate = response.candidates[0]
        assert candidate.finish_reason == types.FinishReason.STOP
        history.append(candidate.content)
        calls = response.function_calls
        if not calls:
            break
        rounds.append([(c.name, c.args, c.id) for c in calls])
        history.append(types.Content(role="user", parts=[run(c) for c in calls]))
    assert rounds == [
        [
            ("get_weather", {"city": "Paris"}, None),
            ("get_weather", {"city": "Rome"}, None),
            ("get_time", {"tz": "UTC"}, "call_time"),
        ],
        [("get_weather", {"city": "London"}, None)],
        [("get_time", {"tz": "Europe/London"}, None)],
    ]
    assert response.text == "Sunny in Paris, Rome and London."
    first = history[1].parts
    assert "".join(p.text for p in first if p.thought) == "Three lookups."
    assert "".join(p.text for p in first if p.text and not p.thought) == "Checking."
    exchanges = srv.journal.http[-4:]
    assert [e.fixture for e in exchanges] == ["round 1: three calls at once", "round 2", "round 3", "final"]
    assert [c.id for c in exchanges[0].tool_calls] == ["get_weather", "get_weather#2", "call_time"]
    assert all(c.arguments_whole for e in exchanges for c in e.tool_calls) and all(e.completed for e in exchanges)
    assert [e.stop_reason for e in exchanges] == ["tool_calls", "tool_calls", "tool_calls", "stop"]
    # the results name their calls: by name and position, and by the id the model gave
    results = read_conversation(exchanges[1].body).results
    assert [(r.call_id, r.name) for r in results] == [
        ("get_weather", "get_weather"),
        ("get_weather#2", "get_weather"),
        ("call_time", "get_time"),
    ]


async def test_the_json_array_stream_carries_each_call_whole(srv: RunningServer) -> None:
    """Without `alt=sse` the chunks are the elements of one JSON array; a call is one part of one chunk."""
    url = f"{srv.base_url}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "weather please"}]}]}
    async with httpx.AsyncClient() as http:
        answer = await http.post(url, json=body, headers={"x-goog-api-key": "k"})
    chunks = json.loads(answer.text)
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    assert calls == [
        {"name": "get_weather", "args": {"city": "Paris"}},
        {"name": "get_weather", "args": {"city": "Rome"}},
        {"id": "call_time", "name": "get_time", "args": {"tz": "UTC"}},
    ]
    assert [len(c["candidates"][0]["content"]["parts"]) for c in chunks] == [1] * len(chunks)
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "".join(p["text"] for p in parts if p.get("thought")) == "Three lookups."


async def test_a_refusal_is_a_safety_stop(srv: RunningServer) -> None:
    response = await sdk(srv).aio.models.generate_content(model=MODEL, contents="tell me a secret")
    assert response.candidates[0].finish_reason == types.FinishReason.SAFETY
    assert response.text == "I can't help with that."
    assert srv.journal.http[-1].stop_reason == "refusal"


async def test_raw_arguments_that_are_no_object_break_the_sdks_parse(srv: RunningServer) -> None:
    """`args` must be an object: raw text goes as a string, which the SDK's own types refuse."""
    with pytest.raises(ValueError, match="args"):
        await sdk(srv).aio.models.generate_content(model=MODEL, contents="broken")
    (sent,) = srv.journal.http[-1].tool_calls
    assert not sent.valid_json


async def test_a_cut_stream_loses_the_calls_after_the_cut(srv: RunningServer) -> None:
    chunks = [c async for c in await sdk(srv).aio.models.generate_content_stream(model=MODEL, contents="cut")]
    calls = [fc for c in chunks for fc in c.function_calls or []]
    assert [c.name for c in calls] == ["get_weather"] and chunks[-1].candidates[0].finish_reason is None
    exchange = srv.journal.http[-1]
    assert not exchange.completed
    assert [c.arguments_whole for c in exchange.tool_calls] == [True, False]


async def test_a_malformed_chunk_lands_on_a_call(srv: RunningServer) -> None:
    """After the first call's chunk, a chunk of the same call cut in half: the SDK refuses the stream."""
    seen: list[types.GenerateContentResponse] = []
    with pytest.raises(errors.UnknownApiResponseError, match='"functionCall":'):
        async for chunk in await sdk(srv).aio.models.generate_content_stream(model=MODEL, contents="garbage"):
            seen.append(chunk)
    assert [fc.name for c in seen for fc in c.function_calls or []] == ["get_weather"]
