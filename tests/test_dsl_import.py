"""`dotmock import`: dotMock JSON fixtures (the seed's shape) -> `.mock` text that loads and means the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_file, load_text
from dotmock.dsl import model as m
from dotmock.dsl.fmt import format_text
from dotmock.dsl.json_import import json_to_mock

# The seed's "Simulating a Rate Limit Mid-Stream" object, as written there.
SEED_EXAMPLE = """{
  "response": "This is a long response that will be cut short...",
  "streaming": {
    "chunkSize": 15,
    "latencyMs": 80,
    "truncateAfterChunks": 3
  }
}"""

ERROR_AND_SOCKET = [
    {
        "name": "limited",
        "path": "/v1/chat/completions",
        "status": 429,
        "error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit_exceeded"},
        "headers": {"Retry-After": "2"},
    },
    {
        "name": "socket",
        "path": "/v1/chat",
        "events": [
            {"type": "response.created", "data": {"id": "resp_1"}},
            {"type": "response.text.delta", "data": {"delta": "Hel"}, "delay": 50},
        ],
        "closeAfter": True,
        "closeCode": 1000,
        "disconnectAfterMs": 200,
    },
]


def _import(value: str | object, path: str = "fixtures.json") -> m.Scenario:
    text = value if isinstance(value, str) else json.dumps(value, indent=2)
    mock = json_to_mock(text, path)
    assert format_text(mock) == mock  # already in canonical layout
    (case,) = load_text(mock, "imported.mock").cases
    return case


def test_seed_example_keeps_its_knobs() -> None:
    case = _import(SEED_EXAMPLE)
    http, ws = case.fixtures
    for fixture in (http, ws):
        assert isinstance(fixture.outcome, m.TextOutcome)
        assert fixture.outcome.text == "This is a long response that will be cut short..."
        assert fixture.outcome.streaming == m.Streaming(chunk_size=15, latency_ms=80, truncate_after_chunks=3)
    # No path: it answers every HTTP endpoint and every WebSocket endpoint.
    assert (http.match.protocol, http.match.method, http.match.path) == ("http", "POST", None)
    assert (ws.match.protocol, ws.match.method, ws.match.path) == ("websocket", None, None)
    assert http.match.is_catch_all and ws.match.is_catch_all


def test_seed_example_reads_as_the_language() -> None:
    mock = json_to_mock(SEED_EXAMPLE, "seed.json")
    assert "match POST *\n" in mock
    assert "match websocket *\n" in mock
    assert "streaming { chunkSize 15 latencyMs 80 truncateAfterChunks 3 }" in mock


def test_a_list_with_error_and_websocket_fixtures() -> None:
    limited, socket = _import(ERROR_AND_SOCKET).fixtures
    assert limited.name == "limited"
    assert limited.match.path == "/v1/chat/completions"
    assert limited.outcome == m.ErrorOutcome(
        status=429,
        message="Rate limit reached",
        error_type="rate_limit_error",
        code="rate_limit_exceeded",
        headers=(("Retry-After", "2"),),
    )
    assert socket.match.protocol == "websocket" and socket.match.path == "/v1/chat"
    assert socket.outcome == m.WsOutcome(
        events=(
            m.WsEvent("response.created", {"id": "resp_1"}),
            m.WsEvent("response.text.delta", {"delta": "Hel"}, 0.05),
        ),
        close_after=True,
        close_code=1000,
        disconnect_after_ms=200,
    )


def test_fixtures_wrapper_object() -> None:
    wrapped = _import({"fixtures": ERROR_AND_SOCKET})
    listed = _import(ERROR_AND_SOCKET)
    assert wrapped.fixtures == listed.fixtures


def test_unnamed_fixtures_get_distinct_names() -> None:
    case = _import(
        [
            {"response": "a", "path": "/v1/responses"},
            {"response": "b", "path": "/v1/chat/completions", "model": "gpt-4o"},
        ]
    )
    assert [f.name for f in case.fixtures] == ["fixture 1", "fixture 2"]
    assert case.fixtures[1].match.model == "gpt-4o"


def test_bad_json_is_located() -> None:
    with pytest.raises(DslError) as info:
        json_to_mock('[\n  {"response": "x",}\n]', "bad.json")
    err = info.value
    assert (err.path, err.line, err.column) == ("bad.json", 2, 20)
    assert err.message.startswith("invalid JSON")


def test_a_wrong_knob_type_points_at_the_key() -> None:
    text = '{"fixtures": [\n  {"response": "x",\n   "streaming": {"chunkSize": "big"}}\n]}'
    with pytest.raises(DslError) as info:
        json_to_mock(text, "bad.json")
    assert (info.value.line, info.value.column) == (3, 18)
    assert "chunkSize must be a whole number" in info.value.message


def test_an_unknown_key_gets_a_did_you_mean() -> None:
    with pytest.raises(DslError) as info:
        json_to_mock('{"response": "x", "streamng": {}}', "bad.json")
    assert info.value.hint == "did you mean 'streaming'?"


def test_a_json_file_loads_as_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(SEED_EXAMPLE, encoding="utf-8")
    (case,) = load_file(str(path)).cases
    assert case.fixtures[0].outcome.streaming.truncate_after_chunks == 3


def test_import_cli(tmp_path: Path) -> None:
    good = tmp_path / "seed.json"
    good.write_text(SEED_EXAMPLE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "dotmock", "import", str(good)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert load_text(result.stdout).cases[0].fixtures[0].outcome.streaming.chunk_size == 15
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "dotmock", "import", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "bad.json:1:2: error: invalid JSON" in result.stderr


def test_every_bad_fixture_is_reported_not_only_the_first() -> None:
    from dotmock.dsl import DslErrors

    text = json.dumps(
        [
            {"response": "ok", "streaming": {"chunkSize": "15"}},
            {"name": "fine", "response": "fine"},
            {"name": "no outcome"},
            {"status": 429, "headers": ["Retry-After"]},
        ],
        indent=2,
    )
    with pytest.raises(DslErrors) as raised:
        json_to_mock(text, "bad.json")
    messages = [e.message for e in raised.value.errors]
    assert len(messages) == 3
    assert "chunkSize must be a whole number" in messages[0]
    assert "has no response, status or events" in messages[1]
    assert "headers must be an object" in messages[2]


def test_every_bad_fixture_is_reported_at_its_own_line(tmp_path: Path) -> None:
    fixtures = [
        {"response": "fine"},
        {"response": "x", "streaming": {"chunkSize": 0}},
        {"respones": "typo"},
        {"response": "fine too"},
        {"response": 7},
    ]
    file = tmp_path / "bad.json"
    file.write_text('{"fixtures": [\n' + ",\n".join("  " + json.dumps(f) for f in fixtures) + "\n]}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dotmock", "import", str(file)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1
    headlines = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert [h.split(":")[1] for h in headlines] == ["3", "4", "6"], proc.stderr
    assert "did you mean 'response'" in proc.stderr
