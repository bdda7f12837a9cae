"""Seeded jitter (`streaming { jitterMs N }`): every wait of a paced answer moved by a draw from the run's seed.

The same seed gives the same waits and another seed other ones, judged from the journal's `gaps_ms` (the
waits the server paced the answer by), never from wall-clock times in the test. The seed is in every report
(`dotmock-run --seed N` reproduces a run), and `dotmock check` bounds the knob."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws

from dotmock.dsl.cli import check_main
from dotmock.dsl.loader import load_text
from dotmock.server.jitter import jitter_for, parse_seed
from dotmock.server.journal import Journal
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio
HERE = Path(__file__).parent
BEHAVE = f"{sys.executable} {HERE / 'clients' / 'behave.py'}"

SCENARIO = """scenario "jittered"

fixture "paced" {
  match POST /v1/chat/completions { message contains "paced" }
  response "0123456789abcdefghij"
  streaming { chunkSize 4 latencyMs 20 jitterMs 15 }
}

fixture "recorded" {
  match POST /v1/chat/completions { message contains "recorded" }
  cadence {
    "Hel" after 30ms
    "lo" after 10ms
    end after 5ms
  }
  streaming { jitterMs 8 }
}

fixture "socket" {
  match websocket /v1/chat
  response "over a socket"
  streaming { chunkSize 5 latencyMs 10 jitterMs 10 }
  closeAfter
}
"""


async def _gaps(seed: int | None) -> list[list[float]]:
    """The journaled waits of a paced stream (asked twice: a retry gets its own), a cadence and a socket."""
    journal = Journal(seed=seed)
    async with running_server(load_text(SCENARIO, "j.mock").cases[0], journal=journal) as srv:
        async with httpx.AsyncClient(timeout=10) as http:
            for text in ("paced", "paced", "recorded"):
                body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": text}]}
                async with http.stream("POST", srv.base_url + "/v1/chat/completions", json=body) as r:
                    assert r.status_code == 200
                    assert (await r.aread()).decode().rstrip().endswith("data: [DONE]")
            async with aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
                await ws.send_json({"type": "message", "data": {"model": "m", "messages": []}})
                with pytest.raises(WebSocketDisconnect):
                    while True:
                        await ws.receive_json(timeout=5)
        data = journal.to_json()
    assert data["seed"] == seed
    exchanges = [x for c in data["websocket"] for x in c["exchanges"]]
    return [e["gaps_ms"] for e in data["http"]] + [x["gaps_ms"] for x in exchanges]


async def test_the_same_seed_gives_the_same_waits_and_another_seed_other_ones() -> None:
    first, again, other = await _gaps(1234), await _gaps(1234), await _gaps(99)
    assert first == again
    assert [len(g) for g in first] == [6, 6, 3, 4]  # 5 chunks + the terminator; 2 + end; 3 + end
    for mine, theirs in zip(first, other, strict=True):
        assert mine != theirs
    paced, retry, recorded, socket = first
    assert paced != retry  # a retry (attempt 2) draws its own waits
    assert 0 <= paced[0] <= 15 and all(5 <= g <= 35 for g in paced[1:])  # latencyMs 20 +- 15 (the first: 0 + 15)
    assert len(set(paced[1:])) > 1  # not one fixed gap
    for recorded_gap, jittered in zip([30, 10, 5], recorded, strict=True):
        assert recorded_gap - 8 <= jittered <= recorded_gap + 8
    assert all(0 <= g <= 20 for g in socket) and len(set(socket)) > 1  # latencyMs 10 +- 10 over WebSocket


async def test_without_jitter_nothing_is_drawn_or_journaled() -> None:
    text = 'fixture "plain" { match POST * response "abc" streaming { chunkSize 1 latencyMs 5 } }'
    journal = Journal(seed=5)
    async with running_server(load_text(text, "p.mock").cases[0], journal=journal) as srv:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        async with httpx.AsyncClient(timeout=10) as http:
            await http.post(srv.base_url + "/v1/chat/completions", json=body)
    assert "gaps_ms" not in journal.to_json()["http"][0]
    assert jitter_for(5, "plain", "k", 1, 0) is None


def test_a_seed_is_a_32_bit_whole_number() -> None:
    assert parse_seed(" 42 ") == 42
    for bad in ("-1", "4294967296", "abc", "1.5"):
        with pytest.raises(ValueError, match="a seed is a whole number from 0 to 4294967295"):
            parse_seed(bad)


def test_check_bounds_jitter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.mock"
    path.write_text('fixture "f" {\n  match POST *\n  response "x"\n  streaming { jitterMs 60001 }\n}\n')
    assert check_main([str(path)]) != 0
    err = capsys.readouterr().err
    assert "bad.mock:4:24" in err and "jitterMs must be between 0 and 60000, got 60001" in err


# ---------------------------------------------------------------------------------------------- the runner


def _run(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = folder / f"report{len(list(folder.glob('report*.json')))}.json"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", str(folder / "case.mock"), "--json", str(report), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return proc, json.loads(report.read_text())


def _case_gaps(report: dict[str, Any]) -> list[list[float]]:
    return [e["gaps_ms"] for e in report["cases"][0]["journal"]["http"]]


def test_every_report_names_the_seed_and_the_seed_replays_the_run(tmp_path: Path) -> None:
    (tmp_path / "case.mock").write_text(
        f'scenario "jittered stream"\nclient "{BEHAVE} stream-accept"\n'
        'fixture "paced" { match POST /v1/chat/completions response "0123456789" '
        "streaming { chunkSize 2 latencyMs 10 jitterMs 9 } }\n"
    )
    proc, first = _run(tmp_path)  # no --seed: a fresh one, reported
    seed = first["seed"]
    assert isinstance(seed, int) and first["cases"][0]["seed"] == seed
    assert first["cases"][0]["journal"]["seed"] == seed
    assert f"seed {seed}" in proc.stdout
    replay_proc, replay = _run(tmp_path, "--seed", str(seed), "--junit", str(tmp_path / "junit.xml"))
    assert replay["seed"] == seed and _case_gaps(replay) == _case_gaps(first)
    assert f"seed {seed}" in replay_proc.stdout
    assert f'<property name="dotmock.seed" value="{seed}" />' in (tmp_path / "junit.xml").read_text()
    other_seed = (seed + 1) % 2**32
    _, other = _run(tmp_path, "--seed", str(other_seed))
    assert other["seed"] == other_seed and _case_gaps(other) != _case_gaps(first)
    bad = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", str(tmp_path / "case.mock"), "--seed", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "a seed is a whole number" in bad.stderr
