"""`dotmock record` of the answers beyond plain text: tool calls, refusals and error events mid-stream (Chat
Completions, Responses, Anthropic Messages), and JSON answers with their time to first byte. Each is recorded
from a local upstream (a dotmock server), written as real fixture lines (`toolCall`, `refusal`,
`fault errorEvent`, `latency`), replayed, and compared: the same events and pieces for the client, and the
same waits, judged from the two servers' journals (when each piece went out), not from clocks in this test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from timing import assert_same_gaps, holds_in_one_of

from dotmock.dsl.cli import check_main
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.journal import HttpExchange
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

UPSTREAM = """scenario "agent upstream"

fixture "chat call" {
  match POST /v1/chat/completions { message contains "call me" }
  response "Let me look."
  toolCall "get_weather" id "call_1" {"city": "Paris"}
  toolCall "get_time" id "call_2" {"tz": "CET"}
  streaming { chunkSize 5 latencyMs 15 }
}

fixture "chat error" {
  match POST /v1/chat/completions { message contains "fail me" }
  response "Partial answer, then an error."
  streaming { chunkSize 6 latencyMs 15 }
  fault errorEvent after 2 chunks { message "The server is overloaded" type "server_error" code "overloaded" }
}

fixture "chat refusal" {
  match POST /v1/chat/completions { message contains "refuse me" }
  refusal "I can't help with that."
  streaming { chunkSize 7 latencyMs 15 }
}

fixture "chat json call" {
  match POST /v1/chat/completions { message contains "json call" }
  toolCall "get_weather" id "call_9" {"city": "Rome"}
  latency 120ms
}

fixture "responses call" {
  match POST /v1/responses { message contains "call me" }
  response "One moment."
  toolCall "lookup" id "call_r" {"q": "dotmock"}
  streaming { chunkSize 4 latencyMs 15 }
}

fixture "messages call" {
  match POST /v1/messages { message contains "call me" }
  response "Checking."
  toolCall "get_weather" id "toolu_1" {"city": "Oslo"}
  streaming { chunkSize 4 latencyMs 15 }
}

fixture "messages error" {
  match POST /v1/messages { message contains "fail me" }
  response "Half an answer, then overloaded."
  streaming { chunkSize 5 latencyMs 15 }
  fault errorEvent after 2 chunks { message "Overloaded" type "overloaded_error" }
}

fixture "messages json" {
  match POST /v1/messages { message contains "json me" }
  response "A whole answer."
  latency 90ms
}
"""
# Server-side waits on a loaded 2-core machine (the suite's workers, other jobs) still wander by tens of ms;
# the figures on a quiet machine are in the report of bench/bench_record.py.
GAP_TOLERANCE_S = 0.1
_IGNORED = {"id", "created", "created_at", "system_fingerprint", "response_id", "item_id", "usage", "model"}


def _normal(value: Any) -> Any:
    """An event's payload without what differs between two runs of one answer (ids made up, clocks, usage)."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in _IGNORED}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("chat call", "/v1/chat/completions", {"stream": True}),
    ("chat error", "/v1/chat/completions", {"stream": True}),
    ("chat refusal", "/v1/chat/completions", {"stream": True}),
    ("chat json call", "/v1/chat/completions", {}),
    ("responses call", "/v1/responses", {"stream": True}),
    ("messages call", "/v1/messages", {"stream": True, "max_tokens": 100}),
    ("messages error", "/v1/messages", {"stream": True, "max_tokens": 100}),
    ("messages json", "/v1/messages", {"max_tokens": 100}),
]


TEXTS = {"call": "call me", "error": "fail me", "refusal": "refuse me", "json call": "json call", "json": "json me"}


def _body(name: str, path: str, extra: dict[str, Any]) -> dict[str, Any]:
    text = TEXTS[name.split(" ", 1)[1]]
    if path == "/v1/responses":
        return {"model": "m", "input": text, **extra}
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


async def _exercise(base_url: str) -> dict[str, Any]:
    """Every call once, read raw: the SSE events (name and payload) in order, or the JSON body."""
    seen: dict[str, Any] = {}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(timeout=10, headers=headers) as http:
        for name, path, extra in CALLS:
            async with http.stream("POST", base_url + path, json=_body(name, path, extra)) as response:
                raw = (await response.aread()).decode()
            if extra.get("stream"):
                events = []
                for block in raw.replace("\r\n", "\n").split("\n\n"):
                    fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
                    if "data" in fields:
                        data = fields["data"]
                        events.append((fields.get("event"), _normal(json.loads(data)) if data != "[DONE]" else data))
                seen[name] = events
            else:
                seen[name] = _normal(json.loads(raw))
    return seen


def _sent_at(exchange: HttpExchange) -> list[float]:
    """When each piece (chunk) of an answer went out, from the exchange's start; for a JSON answer, the headers."""
    ticks = [t.t - exchange.started_at for t in exchange.ticks if t.what in ("chunk", "headers")]
    return ticks if exchange.stream else ticks[-1:]


async def test_agent_answers_error_events_and_json_waits_replay_faithfully(tmp_path: Path) -> None:
    records: list[Recorded] = []
    async with running_server(load_text(UPSTREAM, "up.mock").cases[0]) as upstream:
        async with running_proxy(upstream.base_url, records.append) as proxy:
            live = await _exercise(proxy.base_url)
        upstream_times = {e.fixture: _sent_at(e) for e in upstream.journal.http}
    text = format_text(merge(None, fixtures_text(records), header="# recorded\n"), "r.mock")
    path = tmp_path / "r.mock"
    path.write_text(text, encoding="utf-8")
    assert check_main([str(path)]) == 0
    assert "not recorded" not in text
    for line in (
        'toolCall "get_weather" id "call_1" {"city": "Paris"}',
        'toolCall "get_time" id "call_2" {"tz": "CET"}',
        'refusal "I can\'t help with that."',
        'fault errorEvent after 2 chunks { message "The server is overloaded" type "server_error" code "overloaded" }',
        'fault errorEvent after 2 chunks { message "Overloaded" type "overloaded_error" }',
        'toolCall "get_weather" id "toolu_1" {"city": "Oslo"}',
        'toolCall "lookup" id "call_r" {"q": "dotmock"}',
    ):
        assert line in text, line
    assert [e for e in live["chat call"] if e[1] != "[DONE]"][-1][1]["choices"][0]["finish_reason"] == "tool_calls"
    assert any(e[0] == "error" for e in live["messages error"])
    assert live["chat error"][-1][1]["error"]["code"] == "overloaded"
    recorded_times = [upstream_times[n] for n, _, _ in CALLS]

    async def replay_matches() -> None:
        async with running_server(load_text(text, str(path)).cases[0]) as replay:
            again = await _exercise(replay.base_url)
            replay_times = [_sent_at(e) for e in replay.journal.http]
        assert again == live  # every event, in order, its pieces cut in the same places
        for (name, _, _), recorded, replayed in zip(CALLS, recorded_times, replay_times, strict=True):
            assert_same_gaps(name, recorded, replayed, GAP_TOLERANCE_S)
        assert upstream_times["chat json call"][0] >= 0.12 and replay_times[3][0] >= 0.12  # the latency, replayed

    await holds_in_one_of(3, replay_matches)


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ('"Hi" after 5ms "{\\"a\\": 2}" after 5ms', "its last chunks do not spell the toolCall lines' arguments"),
        (
            '"Hi{\\"a\\"" after 5ms ": 1}" after 5ms',
            "a cadence chunk runs across the end of the reasoning, of the text",
        ),
    ],
)
def test_check_says_where_a_cadence_does_not_spell_its_tool_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chunks: str, message: str
) -> None:
    path = tmp_path / "bad.mock"
    path.write_text(f'fixture "f" {{\n  match POST *\n  cadence {{ {chunks} }}\n  toolCall "t" id "c" {{"a": 1}}\n}}\n')
    assert check_main([str(path)]) != 0
    err = capsys.readouterr().err
    assert "bad.mock:3:3" in err and message in err
