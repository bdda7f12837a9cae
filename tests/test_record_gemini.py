"""`dotmock record` of the Gemini API: `generateContent` (JSON) and `streamGenerateContent` (SSE with
`alt=sse`, and the JSON array without it); text and `functionCall` parts (a call without an id stays without
one), finishReason, a mid-stream error chunk, a slow 429. Recorded from a local upstream (a dotmock server)
through the proxy, replayed, and compared as the official google-genai SDK sees it (each chunk's text, calls
and finish reason, the errors it raises) and as httpx reads the raw chunks; the waits judged from the two
servers' journals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types
from timing import assert_same_gaps, holds_in_one_of

from dotmock.dsl.cli import check_main
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.journal import HttpExchange
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

MODEL = "gemini-2.0-flash"
UPSTREAM = r"""scenario "gemini upstream"

fixture "text" {
  match POST * { message contains "stream me" }
  response "Gemini, five by five, from the upstream."
  streaming { chunkSize 5 latencyMs 15 }
}

fixture "calls" {
  match POST * { lastRole "user" message contains "call me" }
  response "Checking."
  toolCall "get_weather" {"city": "Paris"}
  toolCall "get_time" id "call_t" {"tz": "UTC"}
  streaming { chunkSize 4 latencyMs 15 }
}

fixture "result" {
  match POST * { toolResult "get_weather" contains "21" }
  response "Sunny in Paris."
  latency 70ms
}

fixture "long" {
  match POST * { message contains "long" }
  response "Cut at the token limit"
  finishReason "length"
  streaming { chunkSize 6 latencyMs 10 }
}

fixture "fails" {
  match POST * { message contains "fail me" }
  response "Half an answer, then"
  streaming { chunkSize 5 latencyMs 10 }
  fault errorEvent after 2 chunks { message "The model is overloaded." type "UNAVAILABLE" }
}

fixture "limited" {
  match POST * { message contains "limit me" }
  error 429 { message "Quota exceeded." }
  latency 60ms
}
"""
GAP_TOLERANCE_S = 0.1  # server-side waits on a loaded 2-core machine wander by tens of ms
_IGNORED = {"responseId"}


def _user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def _chunk_view(chunk: types.GenerateContentResponse) -> Any:
    candidate = (chunk.candidates or [types.Candidate()])[0]
    parts = (candidate.content.parts if candidate.content else None) or []
    return (
        [p.text for p in parts if p.text],
        [(p.function_call.name, p.function_call.args, p.function_call.id) for p in parts if p.function_call],
        candidate.finish_reason,
    )


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in _IGNORED}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


async def _exercise(base_url: str) -> dict[str, Any]:
    """Every call once: the SDK's view of each chunk (or of the answer), the errors it raises, the raw chunks."""
    seen: dict[str, Any] = {}
    client = genai.Client(api_key="gk-secret-value", http_options=types.HttpOptions(base_url=base_url))
    models = client.aio.models
    seen["sse"] = [
        _chunk_view(c) async for c in await models.generate_content_stream(model=MODEL, contents="stream me")
    ]
    seen["json"] = _chunk_view(await models.generate_content(model=MODEL, contents="stream me"))
    seen["calls sse"] = [
        _chunk_view(c) async for c in await models.generate_content_stream(model=MODEL, contents="call me")
    ]
    answer = await models.generate_content(model=MODEL, contents="call me")
    seen["calls json"] = _chunk_view(answer)
    result = types.Part(function_response=types.FunctionResponse(name="get_weather", response={"out": "21 C"}))
    history = [_user("call me"), answer.candidates[0].content, types.Content(role="user", parts=[result])]
    seen["result"] = _chunk_view(await models.generate_content(model=MODEL, contents=history))
    seen["long"] = [_chunk_view(c) async for c in await models.generate_content_stream(model=MODEL, contents="long")]
    got: list[Any] = []
    with pytest.raises(errors.ServerError) as failed:
        async for chunk in await models.generate_content_stream(model=MODEL, contents="fail me"):
            got.append(_chunk_view(chunk))
    seen["fails"] = (got, failed.value.code, failed.value.message)
    with pytest.raises(errors.ClientError) as limited:
        await models.generate_content(model=MODEL, contents="limit me")
    seen["limited"] = (limited.value.code, limited.value.status, limited.value.message)
    url = f"{base_url}/v1beta/models/{MODEL}:streamGenerateContent"  # no alt=sse: one JSON array
    body = {"contents": [{"role": "user", "parts": [{"text": "call me"}]}]}
    async with httpx.AsyncClient(timeout=10) as http:
        raw = await http.post(url, json=body, headers={"x-goog-api-key": "gk-secret-value"})
    seen["array"] = _normal(json.loads(raw.text))
    return seen


def _sent_at(exchange: HttpExchange) -> list[float]:
    """When each chunk went out, from the exchange's start; a JSON answer: when it went (status and body)."""
    if not exchange.stream:
        assert exchange.ended_at is not None
        return [exchange.ended_at - exchange.started_at]
    return [t.t - exchange.started_at for t in exchange.ticks if t.what == "chunk"]


async def test_gemini_answers_record_and_replay_faithfully(tmp_path: Path) -> None:
    records: list[Recorded] = []
    async with running_server(load_text(UPSTREAM, "up.mock").cases[0]) as upstream:
        async with running_proxy(upstream.base_url, records.append) as proxy:
            live = await _exercise(proxy.base_url)
            secrets = proxy.proxy.secrets
        upstream_times = [(e.fixture, _sent_at(e)) for e in upstream.journal.http]
    text = format_text(merge(None, fixtures_text(records, secrets=secrets), header="# recorded\n"), "g.mock")
    path = tmp_path / "g.mock"
    path.write_text(text, encoding="utf-8")
    assert check_main([str(path)]) == 0
    assert "not recorded" not in text and "gk-secret-value" not in text
    for line in (
        f"match POST /v1beta/models/{MODEL}:streamGenerateContent",
        'toolCall "get_weather" {"city": "Paris"}',  # no id on the wire: none written
        'toolCall "get_time" id "call_t" {"tz": "UTC"}',
        'json "contents.2.parts.0.functionResponse.name" == "get_weather"',
        'finishReason "length"',
        'fault errorEvent after 2 chunks { message "The model is overloaded." type "UNAVAILABLE" }',
    ):
        assert line in text, line
    assert [t for texts, _, _ in live["sse"] for t in texts][:2] == ["Gemin", "i, fi"]
    assert live["calls json"][1] == [("get_weather", {"city": "Paris"}, None), ("get_time", {"tz": "UTC"}, "call_t")]
    assert live["long"][-1][2] == types.FinishReason.MAX_TOKENS
    assert live["fails"][1:] == (503, "The model is overloaded.") and len(live["fails"][0]) == 2
    assert live["limited"][:2] == (429, "RESOURCE_EXHAUSTED")
    waits = {name: times for name, times in upstream_times}
    assert waits["result"][0] >= 0.07 and waits["limited"][0] >= 0.06  # the latencies, recorded and replayed

    async def replay_matches() -> None:
        async with running_server(load_text(text, str(path)).cases[0]) as replay:
            again = await _exercise(replay.base_url)
            replay_times = [_sent_at(e) for e in replay.journal.http]
        assert again == live  # every chunk's text, calls and finish reason; the errors; the raw array
        assert len(upstream_times) == len(replay_times)
        for (name, recorded), replayed in zip(upstream_times, replay_times, strict=True):
            assert_same_gaps(name, recorded, replayed, GAP_TOLERANCE_S)
        slow = [
            times
            for (name, _), times in zip(upstream_times, replay_times, strict=True)
            if name in ("result", "limited")
        ]
        assert all(times[0] >= 0.06 for times in slow)

    await holds_in_one_of(3, replay_matches)


def test_what_a_real_gemini_stream_does_that_the_replay_does_not_is_named() -> None:
    """Gemini itself puts the finishReason on the last text chunk and may send several parts in one chunk;
    the replay sends one part a chunk and the finishReason alone: the fixture's comments say so."""
    from dotmock.server.record_read import SseEvent, read_stream

    def chunk(parts: list[dict[str, Any]], finish: str | None = None) -> SseEvent:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if finish:
            candidate["finishReason"] = finish
        return SseEvent(None, json.dumps({"candidates": [candidate]}), 0.0)

    call = {"functionCall": {"name": "get_time", "args": {"tz": "UTC"}}}
    path = f"/v1beta/models/{MODEL}:streamGenerateContent"
    reading = read_stream(path, [chunk([{"text": "Hi, "}]), chunk([{"text": "one moment."}, call], "STOP")], 0.0)
    assert reading.unreadable is None and reading.completed
    assert [c.text for c in reading.chunks] == ["Hi, ", "one moment.", '{"tz": "UTC"}']
    assert [c.name for c in reading.calls] == ["get_time"]
    assert any(what.startswith("chunks of several parts") for what in reading.lost)
    assert any(what.startswith("the finishReason on the last content chunk") for what in reading.lost)
