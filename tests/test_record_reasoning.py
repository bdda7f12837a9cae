"""`dotmock record` of reasoning (a Responses reasoning summary, an Anthropic `thinking` block, a Gemini
thought part), streamed and not, recorded from a local upstream (a dotmock server) as `reasoning "..."` with
the cadence spelling its pieces first, replayed, and compared as the official SDKs see it: every event in
order, the reasoning's pieces cut in the same places, the waits (from the two servers' journals). What no
fixture can say is written as a `# lost in replay:` comment (the thinking block's signature here).

Calls whose arguments come interleaved and Responses output items the language has no form for (a
`web_search_call`) cannot come from a dotmock upstream: a small hand-made upstream sends them, and the test
shows what the replay keeps (the SDK's final calls, the text) and what the comment says is lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app
from timing import assert_same_gaps, holds_in_one_of

from dotmock.dsl.cli import check_main
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.journal import HttpExchange
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import bind_socket, hypercorn_config, running_server

pytestmark = pytest.mark.anyio

UPSTREAM = r"""scenario "reasoning upstream"

fixture "responses" {
  match POST /v1/responses
  reasoning "The user wants a greeting; keep it short."
  response "Hello there."
  streaming { chunkSize 6 latencyMs 12 }
}

fixture "messages" {
  match POST /v1/messages
  reasoning "Think first, then call the tool."
  response "Let me check."
  toolCall "get_weather" id "toolu_1" {"city": "Oslo"}
  streaming { chunkSize 5 latencyMs 12 }
}

fixture "gemini" {
  match POST * { message contains "think" }
  reasoning "A thought, in pieces."
  response "Thought through."
  streaming { chunkSize 4 latencyMs 12 }
}
"""
GAP_TOLERANCE_S = 0.1
_IGNORED = {"id", "created_at", "response_id", "item_id", "usage", "signature", "responseId", "sequence_number"}
MODEL = "gemini-2.0-flash"


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in _IGNORED}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


async def _exercise(base_url: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0) as client:
        async with client.responses.stream(model="m", input="greet me") as events:
            seen["responses events"] = [_normal(e.model_dump(warnings=False)) async for e in events]
        answer = await client.responses.create(model="m", input="greet me")
        seen["responses json"] = [_normal(item.model_dump(warnings=False)) for item in answer.output]
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="sk-ant", max_retries=0) as claude:
        ask: dict[str, Any] = {"model": "c", "max_tokens": 200, "messages": [{"role": "user", "content": "weather"}]}
        async with claude.messages.stream(**ask) as stream:
            seen["messages events"] = [_normal(e.model_dump(warnings=False)) async for e in stream]
        message = await claude.messages.create(**ask)
        seen["messages json"] = [_normal(block.model_dump()) for block in message.content]
    gemini = genai.Client(api_key="g", http_options=types.HttpOptions(base_url=base_url)).aio.models
    chunks = [c async for c in await gemini.generate_content_stream(model=MODEL, contents="think")]
    seen["gemini stream"] = [
        [(p.text, p.thought) for p in (c.candidates[0].content.parts or [])] for c in chunks if c.candidates
    ]
    whole = await gemini.generate_content(model=MODEL, contents="think")
    seen["gemini json"] = [(p.text, p.thought) for p in whole.candidates[0].content.parts or []]
    return seen


def _sent_at(exchange: HttpExchange) -> list[float]:
    if not exchange.stream:
        assert exchange.ended_at is not None
        return [exchange.ended_at - exchange.started_at]
    return [t.t - exchange.started_at for t in exchange.ticks if t.what == "chunk"]


def _written(records: list[Recorded], path: Path) -> str:
    text = format_text(merge(None, fixtures_text(records), header="# recorded\n"), str(path))
    path.write_text(text, encoding="utf-8")
    assert check_main([str(path)]) == 0
    return text


async def test_reasoning_records_and_replays_faithfully(tmp_path: Path) -> None:
    records: list[Recorded] = []
    async with running_server(load_text(UPSTREAM, "up.mock").cases[0]) as upstream:
        async with running_proxy(upstream.base_url, records.append) as proxy:
            live = await _exercise(proxy.base_url)
        upstream_times = [(e.fixture, _sent_at(e)) for e in upstream.journal.http]
    path = tmp_path / "r.mock"
    text = _written(records, path)
    assert "not recorded" not in text
    assert text.count('reasoning "The user wants a greeting; keep it short."') == 2
    assert text.count('reasoning "Think first, then call the tool."') == 2
    assert text.count('reasoning "A thought, in pieces."') == 2
    assert "# lost in replay: the thinking block's signature" in text
    assert '"The us" after' in text  # the cadence spells the reasoning's pieces first

    async def replay_matches() -> None:
        async with running_server(load_text(text, str(path)).cases[0]) as replay:
            again = await _exercise(replay.base_url)
            replay_times = [_sent_at(e) for e in replay.journal.http]
        assert again == live
        for (name, recorded), replayed in zip(upstream_times, replay_times, strict=True):
            assert_same_gaps(name, recorded, replayed, GAP_TOLERANCE_S)

    kinds = [e["type"] for e in live["responses events"]]
    assert kinds.count("response.reasoning_summary_text.delta") == 7
    assert live["messages json"][0]["type"] == "thinking" and live["messages json"][0]["thinking"].startswith("Think")
    assert [piece for parts in live["gemini stream"] for piece in parts if piece[1]][:2] == [
        ("A th", True),
        ("ough", True),
    ]
    await holds_in_one_of(3, replay_matches)


async def test_chat_completions_skips_the_reasoning_a_cadence_spells() -> None:
    """Chat Completions has no reasoning: the chunks spelling it are not sent, their waits still are."""
    scenario = load_text(
        'fixture "f" {\n  match POST *\n  cadence { "Thin" after 40ms "king" after 40ms "Hi" after 5ms }\n'
        '  reasoning "Thinking"\n}\n',
        "c.mock",
    ).cases[0]
    async with running_server(scenario) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
            raw = (await http.post(server.base_url + "/v1/chat/completions", json=body)).text
        (exchange,) = server.journal.http
    deltas = [json.loads(line[6:])["choices"][0]["delta"] for line in raw.splitlines() if line.startswith("data: {")]
    assert [d["content"] for d in deltas if d.get("content")] == ["Hi"] and "Thin" not in raw
    (first,) = [t.t - exchange.started_at for t in exchange.ticks if t.what == "chunk"]
    assert first >= 0.085  # the reasoning's 80 ms, then the text's own 5 ms


@pytest.mark.parametrize(
    ("cadence", "message"),
    [
        ('"Thi" after 5ms "nk" after 5ms "Hi"', "spells the reasoning first"),
        ('"Thin" after 5ms "kHi" after 5ms', "runs across the end of the reasoning"),
    ],
)
def test_check_says_where_a_cadence_does_not_spell_its_reasoning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cadence: str, message: str
) -> None:
    path = tmp_path / "bad.mock"
    path.write_text(f'fixture "f" {{\n  match POST *\n  cadence {{ {cadence} }}\n  reasoning "Think"\n}}\n')
    if "spells" in message:
        path.write_text(path.read_text().replace('reasoning "Think"', 'reasoning "Thought"'))
    assert check_main([str(path)]) != 0
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- hand-made upstream


def _sse(events: list[tuple[str | None, Any]]) -> list[bytes]:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode())
    return out


def _chat_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _call(index: int, arguments: str, opening: tuple[str, str] | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if opening is not None:
        call = {"index": index, "id": opening[0], "type": "function", "function": {"name": opening[1], "arguments": ""}}
    return _chat_chunk({"tool_calls": [call]})


INTERLEAVED = _sse(
    [
        (None, _chat_chunk({"role": "assistant", "content": None})),
        (None, _call(0, "", ("call_a", "get_weather"))),
        (None, _call(0, '{"city": ')),
        (None, _call(1, "", ("call_b", "get_time"))),
        (None, _call(1, '{"tz": ')),
        (None, _call(0, '"Paris"}')),
        (None, _call(1, '"UTC"}')),
        (None, _chat_chunk({}, "tool_calls")),
        (None, "[DONE]"),
    ]
)


def _rsp(kind: str, **fields: Any) -> tuple[str, Any]:
    return kind, {"type": kind, **fields}


_MESSAGE = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant"}
_TEXT = {"type": "output_text", "text": "Found it.", "annotations": []}
_SEARCH = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "q"}}
_RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "status": "completed", "output": []}
WEB_SEARCH = _sse(
    [
        _rsp("response.created", response={**_RESPONSE, "status": "in_progress"}),
        _rsp("response.output_item.added", output_index=0, item={**_SEARCH, "status": "in_progress"}),
        _rsp("response.web_search_call.completed", output_index=0, item_id="ws_1"),
        _rsp("response.output_item.done", output_index=0, item=_SEARCH),
        _rsp("response.output_item.added", output_index=1, item={**_MESSAGE, "status": "in_progress", "content": []}),
        _rsp(
            "response.content_part.added", output_index=1, item_id="msg_1", content_index=0, part={**_TEXT, "text": ""}
        ),
        _rsp("response.output_text.delta", output_index=1, item_id="msg_1", content_index=0, delta="Found "),
        _rsp("response.output_text.delta", output_index=1, item_id="msg_1", content_index=0, delta="it."),
        _rsp("response.output_item.done", output_index=1, item={**_MESSAGE, "content": [_TEXT]}),
        _rsp("response.completed", response={**_RESPONSE, "output": [_SEARCH, {**_MESSAGE, "content": [_TEXT]}]}),
    ]
)


async def _hand_made(scope: Any, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    events = INTERLEAVED if scope["path"] == "/v1/chat/completions" else WEB_SEARCH
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for event in events:
        await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _hand_made_views(base_url: str) -> dict[str, Any]:
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0) as client:
        ask: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "two calls"}]}
        async with client.chat.completions.stream(**ask) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_completion()
        calls = [(c.id, c.function.name, c.function.arguments) for c in final.choices[0].message.tool_calls or []]
        async with client.responses.stream(model="m", input="search") as events:
            async for _ in events:
                pass
            response = await events.get_final_response()
    return {"calls": calls, "text": response.output_text, "items": [item.type for item in response.output]}


async def test_interleaved_calls_and_other_output_items_say_what_is_lost(tmp_path: Path) -> None:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    config = hypercorn_config("127.0.0.1", port, graceful_timeout=1.0, quiet=True)
    sockets = Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])
    app = wrap_app(_hand_made, 16_000_000, "asgi")
    task = asyncio.ensure_future(worker_serve(app, config, sockets=sockets, shutdown_trigger=stop.wait))
    records: list[Recorded] = []
    try:
        async with running_proxy(f"http://127.0.0.1:{port}", records.append) as proxy:
            live = await _hand_made_views(proxy.base_url)
    finally:
        stop.set()
        await asyncio.wait({task}, timeout=5)
        sock.close()
    path = tmp_path / "h.mock"
    text = _written(records, path)
    assert "not recorded" not in text
    assert "# lost in replay: the calls' arguments came interleaved" in text
    assert "# lost in replay: a web_search_call output item" in text
    async with running_server(load_text(text, str(path)).cases[0]) as replay:
        again = await _hand_made_views(replay.base_url)
    assert (
        live["calls"]
        == again["calls"]
        == [
            ("call_a", "get_weather", '{"city": "Paris"}'),
            ("call_b", "get_time", '{"tz": "UTC"}'),
        ]
    )
    assert live["text"] == again["text"] == "Found it."
    assert live["items"] == ["web_search_call", "message"] and again["items"] == ["message"]  # what the comment says
