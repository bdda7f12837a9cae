"""Non-finite numbers (NaN, Infinity, 1e999) from clients are refused as the real APIs refuse them — a 400 over
HTTP, an `invalid_json` error event over WebSocket with the connection still usable — so the journal and
every report stay valid JSON; and one report writer that fails cannot cost the others."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl.model import Fixture, Match, Scenario, TextOutcome
from dotmock.runner.cli import write_reports
from dotmock.runner.results import CaseResult, RunReport
from dotmock.server.json_input import ClientJsonError, dumps_json, load_client_json
from dotmock.server.running import RunningServer, running_server

CHAT = "/v1/chat/completions"


def strict_loads(text: str) -> Any:
    """JSON as any strict reader (JavaScript's JSON.parse, jq) reads it: no NaN or Infinity words."""

    def refuse(word: str) -> Any:
        raise AssertionError(f"{word} in the JSON output")

    return json.loads(text, parse_constant=refuse)


HOSTILE = [
    b'{"model": "m", "messages": [], "temperature": NaN}',
    b'{"model": "m", "messages": [], "temperature": Infinity}',
    b'{"model": "m", "messages": [], "temperature": -Infinity}',
    b'{"model": "m", "messages": [], "temperature": 1e999}',
    b'{"model": "m", "messages": [], "x": [1, 2, {"y": -1E400}]}',
    b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "top_p": NaN}',
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_the_loader_refuses_non_finite_numbers(raw: bytes) -> None:
    with pytest.raises(ClientJsonError, match="finite"):
        load_client_json(raw)


def test_the_loader_keeps_ordinary_numbers() -> None:
    value = load_client_json(b'{"a": 1.5e308, "b": -0.0, "c": 12345678901234567890, "d": 1e-999}')
    assert value == {"a": 1.5e308, "b": -0.0, "c": 12345678901234567890, "d": 0.0}


def test_dumps_json_is_always_valid_json() -> None:
    text = dumps_json({"x": [float("nan"), float("inf"), -float("inf"), 1.0]})
    assert strict_loads(text) == {"x": ["NaN", "Infinity", "-Infinity", 1.0]}


def scenario() -> Scenario:
    fixtures = (
        Fixture("chat", Match("http", "POST", CHAT), TextOutcome("Hi!")),
        Fixture("ws", Match("websocket", None, None), TextOutcome("over ws")),
    )
    return Scenario(name="nan", path="nan.mock", base_dir=".", fixtures=fixtures)


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(scenario()) as server:
        yield server


@pytest.mark.anyio
async def test_http_refuses_non_finite_numbers_with_400_and_the_journal_stays_json(srv: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for raw in HOSTILE:
            r = await http.post(srv.base_url + CHAT, content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 400, r.text
            error = r.json()["error"]
            assert error["code"] == "invalid_json" and "finite" in error["message"]
        ok = await http.post(srv.base_url + CHAT, json={"model": "m", "messages": [{"role": "user", "content": "a"}]})
        assert ok.status_code == 200
        journal = strict_loads((await http.get(srv.base_url + "/_dotmock/journal")).text)
    statuses = [e["status"] for e in journal["http"]]
    assert statuses == [400] * len(HOSTILE) + [200]
    assert all(e["body"] is None for e in journal["http"][:-1])


@pytest.mark.anyio
async def test_websocket_answers_non_finite_numbers_with_an_error_event_and_stays_usable(srv: RunningServer) -> None:
    good = {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "a"}]}}
    frames = [
        '{"type": "message", "data": {"model": "m", "messages": [], "temperature": NaN}}',
        '{"type": "message", "data": {"model": "m", "messages": [], "temperature": 1e999}}',
        '{"type": "response.create", "model": "m", "input": "x", "top_p": -Infinity}',
    ]
    async with httpx.AsyncClient() as http, aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
        for frame in frames:
            await ws.send_text(frame)
            event = json.loads(await ws.receive_text(timeout=3))
            assert event["type"] == "error", event
            error = event.get("data", event)["error"]
            assert error["code"] == "invalid_json" and "finite" in error["message"]
        await ws.send_text(json.dumps(good))
        types = []
        while not types or types[-1] != "done":
            types.append(json.loads(await ws.receive_text(timeout=3))["type"])
        assert "error" not in types
    async with httpx.AsyncClient(timeout=5) as http:
        journal = strict_loads((await http.get(srv.base_url + "/_dotmock/journal")).text)
    exchanges = journal["websocket"][0]["exchanges"]
    assert [x["error"] is not None for x in exchanges] == [True, True, True, False]


def test_one_failing_report_writer_does_not_cost_the_others(tmp_path: Path) -> None:
    case = CaseResult(id="a.mock::nan", file="a.mock", name="nan", params={}, tags=[], outcome="passed")
    case.journal = {"http": [{"body": {"temperature": float("nan")}}]}
    report = RunReport(cases=[case], started_at=1.0, duration=0.1)
    blocked = tmp_path / "blocked"
    blocked.mkdir()  # a folder where the JUnit file should go: that writer fails
    paths = {name: tmp_path / f"r.{name}" for name in ("json", "md", "html")}
    files = {
        "junit": str(blocked),
        "json": str(paths["json"]),
        "markdown": str(paths["md"]),
        "html": str(paths["html"]),
    }
    ok = write_reports(report, files)
    assert not ok
    assert all(p.stat().st_size > 0 for p in paths.values())
    data = strict_loads(paths["json"].read_text())
    assert data["cases"][0]["journal"]["http"][0]["body"]["temperature"] == "NaN"


def test_a_run_whose_client_sends_nan_writes_every_report(tmp_path: Path) -> None:
    client = tmp_path / "nan_client.py"
    client.write_text(
        "import os, urllib.request, urllib.error\n"
        "req = urllib.request.Request(os.environ['OPENAI_BASE_URL'] + '/chat/completions',\n"
        '    data=b\'{"model": "m", "messages": [], "temperature": NaN}\',\n'
        "    headers={'content-type': 'application/json'})\n"
        "try:\n    urllib.request.urlopen(req)\nexcept urllib.error.HTTPError as err:\n"
        "    print('status', err.code)\n"
    )
    mock = tmp_path / "nan.mock"
    mock.write_text(
        f'scenario "nan"\nclient "python {client}"\n'
        'fixture "ok" { match POST /v1/chat/completions response "x" }\n'
        'expect { client exits 0  client stdout contains "status 400" }\n'
    )
    reports = {flag: tmp_path / f"report.{flag}" for flag in ("junit", "json", "markdown", "html")}
    args = [arg for flag, path in reports.items() for arg in (f"--{flag}", str(path))]
    run = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", str(mock), *args], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert all(p.stat().st_size > 0 for p in reports.values())
    data = strict_loads(reports["json"].read_text())
    assert data["cases"][0]["outcome"] == "passed"
