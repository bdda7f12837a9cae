"""The journal is bounded in bytes (docs/security.md, "Memory"): request bodies and WebSocket frames are kept
whole within the journal's byte budget, beyond it as their head, size and SHA-256, while attempts, call keys
and the runner's findings stay exact; a client that keeps sending on a busy WebSocket is held back instead of
queued; `GET /_dotmock/journal` is streamed and reads the same as the journal's JSON. Real servers on
127.0.0.1, real clients."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from httpx_ws import aconnect_ws

from dotmock.dsl import load_text
from dotmock.runner.findings import compute_findings
from dotmock.runner.results import ClientRun
from dotmock.server.journal import HEAD_CHARS, Journal
from dotmock.server.json_input import dumps_json
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

KiB = 1024

SCENARIO = """scenario "budget"
fixture "slow first answer" {
  match websocket * { attempt 1 }
  events {
    "response.created" {"id": "r"} after 1500ms
    "done" {}
  }
}
fixture "ws" {
  match websocket *
  response "fine"
}
fixture "http" {
  match POST /v1/chat/completions
  response "ok"
}
"""


def scenario():
    return load_text(SCENARIO, "budget.mock").cases[0]


def chat_body(n: int, fill: str) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": fill * n}]}).encode()


async def test_bodies_beyond_the_budget_keep_head_size_and_digest_and_attempts_stay_exact() -> None:
    journal = Journal(max_bytes=100 * KiB)
    big = chat_body(60 * KiB, "a")
    async with running_server(scenario(), journal=journal) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        for _ in range(3):  # the same call three times: attempts 1, 2, 3
            r = await http.post("/v1/chat/completions", content=big, headers={"content-type": "application/json"})
            assert r.status_code == 200
        served = (await http.get("/_dotmock/journal")).json()
    kept, *cut = journal.http
    assert kept.body["messages"][0]["content"] == "a" * 60 * KiB and not kept.body_truncated
    for e in cut:
        assert e.body is None and e.body_truncated
        assert e.body_bytes == len(big)
        assert e.body_sha256 == hashlib.sha256(big).hexdigest()
        assert e.body_head == big.decode()[:HEAD_CHARS]
    assert [e.attempt for e in journal.http] == [1, 2, 3]
    assert len({e.call_key for e in journal.http}) == 1
    assert [e.get("body_truncated", False) for e in served["http"]] == [False, True, True]
    assert "body_head" not in served["http"][0]  # a body within the budget reads as it always did
    assert served["truncated_payloads"] == 2 and served["max_bytes"] == 100 * KiB


async def test_frames_beyond_the_budget_keep_head_size_and_digest_and_findings_still_work() -> None:
    journal = Journal(max_bytes=200 * KiB)
    message = json.dumps(
        {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "b" * 80 * KiB}]}}
    )
    async with running_server(scenario(), journal=journal) as srv:
        async with httpx.AsyncClient() as http, aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
            for _ in range(3):
                await ws.send_text(message)
                while json.loads(await ws.receive_text(timeout=10))["type"] != "done":
                    pass
    (conn,) = journal.websocket
    incoming = [f for f in conn.frames if f.direction == "in"]
    assert [f.truncated for f in incoming] == [False, True, True]
    for f in incoming[1:]:
        assert f.size == len(message.encode()) and f.text == message[:HEAD_CHARS]
        assert f.sha256 == hashlib.sha256(message.encode()).hexdigest()
        assert f.type == "message"  # read from the whole frame
    requests = [x.request for x in conn.exchanges]
    assert requests[0]["messages"][0]["content"] == "b" * 80 * KiB and requests[1:] == [None, None]
    assert [x.request_truncated for x in conn.exchanges] == [False, True, True]
    assert [x.attempt for x in conn.exchanges] == [1, 2, 3] and conn.messages_received == 3
    assert conn.close_code_received == 1000
    client = ClientRun(
        argv=["client"], exit_code=0, started_at=journal.t0, ended_at=conn.closed_at or 0.0, stdout="fine"
    )
    assert [f.name for f in compute_findings(journal, client)] == []


async def test_the_budget_is_given_back_when_old_entries_are_dropped() -> None:
    journal = Journal(limit=2, max_bytes=150 * KiB)
    body = chat_body(60 * KiB, "c")
    async with running_server(scenario(), journal=journal) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        for _ in range(6):
            await http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert journal.dropped_http == 4
    assert [e.body_truncated for e in journal.http] == [False, False]  # the two newest fit again


async def test_a_long_connection_keeps_its_newest_frames_in_a_capped_journal() -> None:
    journal = Journal(limit=5)
    message = json.dumps({"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "x"}]}})
    async with running_server(scenario(), journal=journal) as srv:
        async with httpx.AsyncClient() as http, aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
            for _ in range(30):
                await ws.send_text(message)
                while json.loads(await ws.receive_text(timeout=10))["type"] != "done":
                    pass
            served = (await http.get(srv.base_url + "/_dotmock/journal")).json()
    (conn,) = journal.websocket
    assert len(conn.frames) == 5 and len(conn.exchanges) <= 6
    assert conn.messages_received == 30  # the dropped ones still counted
    assert conn.frames_dropped + len(conn.frames) > 30 * 2 and conn.exchanges_dropped >= 24
    (record,) = served["websocket"]
    assert record["messages_received"] == 30 and record["frames_dropped"] == conn.frames_dropped


async def test_an_uncapped_journal_writes_no_drop_counts() -> None:
    journal = Journal()
    async with running_server(scenario(), journal=journal) as srv:
        async with httpx.AsyncClient() as http, aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
            await ws.send_text(json.dumps({"type": "message", "data": {"model": "m", "messages": []}}))
            while json.loads(await ws.receive_text(timeout=10))["type"] not in ("done", "error"):
                pass
    (record,) = journal.to_json()["websocket"]
    assert not {"frames_dropped", "messages_dropped", "exchanges_dropped"} & record.keys()


async def test_the_journal_endpoint_is_streamed_and_reads_as_its_json() -> None:
    journal = Journal(max_bytes=50 * KiB)
    async with running_server(scenario(), journal=journal) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            for n in (10, 70 * KiB):
                await http.post(
                    "/v1/chat/completions", content=chat_body(n, "d"), headers={"content-type": "application/json"}
                )
            async with aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
                for n in (5, 40 * KiB):
                    await ws.send_text(
                        json.dumps(
                            {
                                "type": "message",
                                "data": {"model": "m", "messages": [{"role": "user", "content": "e" * n}]},
                            }
                        )
                    )
                    while json.loads(await ws.receive_text(timeout=10))["type"] != "done":
                        pass
            await asyncio.sleep(0.05)
            r = await http.get("/_dotmock/journal")
    assert r.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.headers
    assert r.text == dumps_json(journal.to_json())
    json.loads(r.text, parse_constant=lambda word: 1 / 0)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    path = tmp_path / "budget.mock"
    path.write_text(SCENARIO, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dotmock", "serve", str(path), "--port", "0", "--journal-bytes", "1MiB"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_client_that_keeps_sending_to_a_busy_connection_is_held_back(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    """While the first answer takes 1.5 s, the client sends 120 more messages of 1 MiB (permessage-deflate makes
    each about 1 KB on the wire, so no socket buffer holds them back: only the server's own bound can): the
    server keeps a bounded backlog of a few MiB instead of queueing them all, then answers every one on the
    same connection."""
    proc, url = served
    content = "f" * 2**20
    message = json.dumps(
        {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": content}]}}
    )
    count, sent = 121, 0
    async with websockets.connect(url.replace("http", "ws", 1) + "/v1/chat", max_size=None) as ws:
        before = rss_bytes(proc.pid)

        async def send_all() -> None:
            nonlocal sent
            for _ in range(count):
                await ws.send(message)
                sent += 1

        sender = asyncio.create_task(send_all())
        first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        grown = rss_bytes(proc.pid) - before
        assert first["type"] == "response.created"
        done = 0
        async with asyncio.timeout(90):
            while done < count:
                if json.loads(await ws.recv())["type"] == "done":
                    done += 1
        await sender
    assert sent == count
    assert grown < 60 * 2**20, grown


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")
