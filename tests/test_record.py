"""`dotmock record`: record from a local upstream (a real dotmock server with known chunks and gaps), write the
`.mock`, replay it with a fresh server, and compare what the official openai SDK and httpx(-ws) see: the same
text and events, identical chunk boundaries, each gap close to the recorded one. Also: secrets never reach the
file, re-recording keeps hand edits, and the command line end to end."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from httpx_ws import aconnect_ws
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app

from dotmock.dsl.cli import check_main, fmt_main
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import BEGIN, END, Recorded, RecordedHttp, fixtures_text, merge
from dotmock.server.journal import HttpExchange
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import bind_socket, hypercorn_config, running_server

pytestmark = pytest.mark.anyio

UPSTREAM = """scenario "upstream"

fixture "chat stream" {
  match POST /v1/chat/completions { message contains "stream me" }
  response "Chunks of six, forty ms apart, from the upstream."
  streaming { chunkSize 6 latencyMs 40 }
}

fixture "chat json" {
  match POST /v1/chat/completions { message contains "json me" }
  response "One JSON body."
  latency 80ms
}

fixture "limited" {
  match POST /v1/chat/completions { message contains "limit me" attempt 1 }
  error 429 { message "slow down" header "retry-after-ms" "10" }
}

fixture "after the limit" {
  match POST /v1/chat/completions { message contains "limit me" }
  response "Fine now."
}

fixture "responses stream" {
  match POST /v1/responses
  response "Responses, five by five."
  streaming { chunkSize 5 latencyMs 30 }
}

fixture "ws events" {
  match websocket /v1/chat
  events {
    "response.created" {"id": "r1"}
    "response.text.delta" {"delta": "Hel"} after 60ms
    "response.text.delta" {"delta": "lo"} after 30ms
    "response.completed" {"id": "r1", "status": "completed"} after 20ms
  }
}
"""
# A loaded 2-core machine (several test workers, other helpers) delays wake-ups on either run by tens of ms;
# the replay's precision is measured in bench/bench_record.py, not asserted here.
GAP_TOLERANCE_S = 0.15
# Judged from the servers' own journals (when the headers went out): what remains is the proxy's hop, folded
# into the recorded latency, and the replay's wake-up: a few ms on a quiet machine, tens under the loaded suite.
JSON_WAIT_TOLERANCE_S = GAP_TOLERANCE_S


Timed = list[tuple[Any, float]]  # (what arrived, seconds since the request was sent)


async def sse_content(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> Timed:
    """The content events of a stream as httpx reads them, each with its arrival time."""
    timed: Timed = []
    start = time.monotonic()
    async with http.stream("POST", url, json={**body, "stream": True}) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            delta = (
                ((event.get("choices") or [{}])[0].get("delta") or {}).get("content")
                if "choices" in event
                else event.get("delta")
                if event.get("type") == "response.output_text.delta"
                else None
            )
            if delta:
                timed.append((delta, time.monotonic() - start))
    return timed


async def exercise(base_url: str, ws_url: str) -> dict[str, Any]:
    """What clients see of every exchange, the same calls against the upstream and the replay: the openai SDK
    for the texts, the retry and the final objects; httpx and httpx-ws for the arrival times (the SDK builds its
    pydantic models on first use, which would blur the first gaps by hundreds of ms)."""
    seen: dict[str, Any] = {}
    chat_body = {"model": "m", "messages": [{"role": "user", "content": "stream me"}]}
    responses_body = {"model": "m", "input": "five by five"}
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=2) as client:
        stream = await client.chat.completions.create(**chat_body, stream=True)
        seen["chat_sdk"] = [
            c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content
        ]
        completion = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "json me"}])
        seen["json"] = completion.choices[0].message.content
        raw = await client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "limit me"}]
        )
        seen["retried"] = (raw.parse().choices[0].message.content, raw.retries_taken)
        async with client.responses.stream(**responses_body) as events:
            seen["responses_sdk"] = [e.delta async for e in events if e.type == "response.output_text.delta"]
            seen["responses_final"] = (await events.get_final_response()).output_text
    async with httpx.AsyncClient(timeout=10) as http:
        seen["chat"] = await sse_content(http, base_url + "/v1/chat/completions", chat_body)
        seen["responses"] = await sse_content(http, base_url + "/v1/responses", responses_body)
        async with aconnect_ws(ws_url + "/v1/chat", http) as ws:
            start = time.monotonic()
            message = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            await ws.send_json({"type": "message", "data": message})
            frames: Timed = []
            for _ in range(4):
                frames.append((await ws.receive_json(timeout=5), time.monotonic() - start))
            seen["ws"] = frames
    return seen


def json_waits(exchanges: list[HttpExchange]) -> list[float]:
    """How long the "json me" answer waited before its headers went out, per the server's journal."""
    return [
        t.t - e.started_at
        for e in exchanges
        if not e.stream and "json me" in json.dumps(e.body)
        for t in e.ticks
        if t.what == "headers"
    ]


def gaps(timed: Timed) -> list[float]:
    times = [t for _, t in timed]
    return [b - a for a, b in zip([0.0, *times], times, strict=False)]


def written(records: list[Recorded], original: str | None = None, secrets: set[str] | None = None) -> str:
    """What `dotmock record` writes (server.record_cli._Writer), for records made in-process."""
    text = merge(original, fixtures_text(records, secrets=secrets or set()), header="# recorded in a test\n")
    return format_text(text, "recorded.mock")


async def test_record_then_replay_is_faithful(tmp_path: Path) -> None:
    records: list[Recorded] = []
    async with running_server(load_text(UPSTREAM, "up.mock").cases[0]) as upstream:
        async with running_proxy(upstream.base_url, records.append) as proxy:
            live = await exercise(proxy.base_url, "ws" + proxy.base_url[4:])
        live_waits = json_waits(upstream.journal.http)
    text = written(records)
    path = tmp_path / "recorded.mock"
    path.write_text(text, encoding="utf-8")
    assert check_main([str(path)]) == 0 and fmt_main(["--check", str(path)]) == 0
    # chat stream (SDK, then httpx), json, 429, its retry, responses (SDK, then httpx), ws
    assert text.count("\nfixture ") == 8
    async with running_server(load_text(text, str(path)).cases[0]) as replay:
        again = await exercise(replay.base_url, replay.ws_url)
        replay_waits = json_waits(replay.journal.http)

    for key in ("chat", "responses", "ws"):
        assert [what for what, _ in again[key]] == [what for what, _ in live[key]], key  # same chunks, same events
    assert [c for c, _ in live["chat"]] == live["chat_sdk"] == again["chat_sdk"]
    assert live["chat_sdk"][:3] == ["Chunks", " of si", "x, for"]
    assert [c for c, _ in live["responses"]] == live["responses_sdk"] == again["responses_sdk"]
    assert again["json"] == live["json"] == "One JSON body."
    assert again["retried"] == live["retried"] == ("Fine now.", 1)
    assert again["responses_final"] == live["responses_final"] == "Responses, five by five."
    for key in ("chat", "responses", "ws"):
        for recorded, replayed in zip(gaps(live[key]), gaps(again[key]), strict=True):
            assert abs(replayed - recorded) <= GAP_TOLERANCE_S, (key, gaps(live[key]), gaps(again[key]))
    # The JSON answer's time to first byte, as the two servers journaled it: the upstream's `latency 80ms`,
    # recorded by the proxy (with what the hop adds) as the replay's `latency`.
    latency = re.search(r"latency (\d+)ms", text)
    assert latency is not None and int(latency[1]) >= 80
    assert len(live_waits) == len(replay_waits) == 1
    assert live_waits[0] >= 0.08 and replay_waits[0] >= 0.08
    assert abs(replay_waits[0] - live_waits[0]) <= JSON_WAIT_TOLERANCE_S, (live_waits, replay_waits)


# ---------------------------------------------------------------------------------------------- secrets

SECRETS = {
    "authorization": "Bearer sk-live-0123456789abcdef",
    "x-api-key": "sk-ant-api03-verysecretvalue",
    "cookie": "session=cookie-secret-value-42",
    "x-tenant-token": "tenant-token-987654321",  # on the --redact list
}
CUSTOM_SECRET = "custom-auth-secret-123456"
QUERY_SECRET = "query-secret-value-7777"


async def _echo_upstream(
    scope: Any, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
) -> None:
    """An upstream that echoes credentials back: in an error message, a response header, a cookie, a text."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    received.append(headers)
    if headers.get("x-case") == "error":
        status = 401
        body: Any = {"error": {"message": f"Incorrect API key provided: {headers['authorization']}", "type": "auth"}}
    else:
        status = 200
        body = {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        # a header whose name says auth (no --redact needed) and the query's api_key= echoed too
                        "content": f"key {headers['x-api-key']} {headers['x-custom-auth']} {scope['query_string']!r}",
                    },
                    "finish_reason": "stop",
                }
            ],
        }
    raw = json.dumps(body).encode()
    response_headers = [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"session=cookie-secret-value-42; HttpOnly"),
        (b"x-echo-key", headers["x-api-key"].encode()),
        (b"x-tenant-token", headers["x-tenant-token"].encode()),
        (b"x-ratelimit-remaining-requests", b"99"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": raw})


received: list[dict[str, str]] = []


async def test_secrets_are_forwarded_but_never_written(tmp_path: Path) -> None:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = hypercorn_config("127.0.0.1", port, graceful_timeout=0.5, quiet=True)
    stop = asyncio.Event()
    sockets = Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])
    task = asyncio.ensure_future(
        worker_serve(wrap_app(_echo_upstream, 16_000_000, "asgi"), config, sockets=sockets, shutdown_trigger=stop.wait)
    )
    records: list[Recorded] = []
    try:
        async with running_proxy(
            f"http://127.0.0.1:{port}", records.append, redact=frozenset({"X-Tenant-Token"})
        ) as proxy:
            async with httpx.AsyncClient() as http:
                for case in ("error", "ok"):
                    response = await http.post(
                        proxy.base_url + f"/v1/chat/completions?api_key={QUERY_SECRET}",
                        json={"model": "m", "messages": [{"role": "user", "content": case}]},
                        headers={**SECRETS, "x-case": case, "x-custom-auth": CUSTOM_SECRET},
                    )
                    assert response.status_code == (401 if case == "error" else 200)
                    assert response.headers["x-echo-key"] == SECRETS["x-api-key"]  # passed back unchanged
            text = merge(
                None, fixtures_text(records, redact=["x-tenant-token"], secrets=proxy.proxy.secrets), header=""
            )
    finally:
        stop.set()
        await asyncio.wait({task}, timeout=5)
        sock.close()
    assert all(received[i][name] == value for i in range(2) for name, value in SECRETS.items())  # forwarded
    text = format_text(text, "secrets.mock")
    for value in [*SECRETS.values(), "sk-live-0123456789abcdef", "cookie-secret-value-42", CUSTOM_SECRET, QUERY_SECRET]:
        assert value not in text
    assert "error 401" in text and "x-ratelimit-remaining-requests" in text and "***" in text
    assert "set-cookie" not in text and "x-tenant-token" not in text


# ---------------------------------------------------------------------------------------------- re-recording


def _recorded(text: str) -> list[Recorded]:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return [RecordedHttp("/v1/chat/completions", body, 200, text=text)]


def test_re_recording_replaces_only_the_recorded_fixtures() -> None:
    first = written(_recorded("first answer"))
    edited = (
        'scenario "hand edited"\n\n'
        'fixture "mine" {\n  match POST /v1/chat/completions { message contains "special" }\n'
        '  response "by hand"\n}\n\n'
        + first
        + '\n# a note of mine after the recording\nfixture "also mine" {\n'
        + '  match POST /v1/responses\n  response "x"\n}\n'
    )
    again = written(_recorded("second answer"), original=edited)
    assert again.count(BEGIN) == 1 and again.count(END) == 1
    assert "second answer" in again and "first answer" not in again
    for kept in ('scenario "hand edited"', 'fixture "mine"', "by hand", "# a note of mine", 'fixture "also mine"'):
        assert kept in again
    assert load_text(again, "again.mock").cases[0].fixtures[0].name == "mine"  # the user's fixture answers first


def test_a_message_inside_another_is_matched_exactly_and_retries_get_attempts() -> None:
    def chat(content: str, status: int = 200) -> RecordedHttp:
        body = {"model": "m", "messages": [{"role": "user", "content": content}]}
        return RecordedHttp("/v1/chat/completions", body, status, text=content.upper(), error_body={"error": {}})

    text = written([chat("hi", 500), chat("hi"), chat("hi there")])
    scenario = load_text(text, "r.mock").cases[0]
    rules = [(f.match.text[0].kind, f.match.attempt and str(f.match.attempt)) for f in scenario.fixtures]
    assert rules == [("matches", "1"), ("matches", "2.."), ("contains", None)]


# ---------------------------------------------------------------------------------------------- command line

CLIENT = """
import openai
client = openai.OpenAI(max_retries=0)
stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "stream me"}], stream=True)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
"""


async def test_the_command_records_a_client_run_and_keeps_hand_edits(tmp_path: Path) -> None:
    (tmp_path / "client.py").write_text(CLIENT, encoding="utf-8")
    out = tmp_path / "chat.mock"
    out.write_text('# my notes\nscenario "mine"\n\nclient "python client.py"\n', encoding="utf-8")
    async with running_server(load_text(UPSTREAM, "up.mock").cases[0]) as upstream:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dotmock",
            "record",
            "--upstream",
            upstream.base_url,
            "-o",
            str(out),
            "--",
            sys.executable,
            str(tmp_path / "client.py"),
            env={**os.environ, "OPENAI_API_KEY": "sk-the-users-own-key"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert "Chunks of six, forty ms apart, from the upstream." in stdout.decode()
    text = out.read_text(encoding="utf-8")
    assert text.startswith('# my notes\nscenario "mine"\n\nclient "python client.py"\n')
    assert "cadence {" in text and '"Chunks" after' in text
    assert check_main([str(out)]) == 0 and fmt_main(["--check", str(out)]) == 0
    assert "sk-the-users-own-key" not in text
