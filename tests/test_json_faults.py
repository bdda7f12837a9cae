"""Faults on `stream: false` answers: what the wire carries, what the journal says, and what the official
openai SDK (pinned in the test extra) really does under each: its timeouts and its retries."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

from dotmock.dsl.model import AttemptRange, Fault, Fixture, Match, Scenario, TextOutcome
from dotmock.server.journal import HttpExchange
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

TEXT = "A complete answer, sent as one JSON body."
BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}


def scenario(*faults: Fault, attempt_1_only: bool = False) -> Scenario:
    fixtures = [
        Fixture(
            "faulty",
            Match("http", "POST", None, attempt=AttemptRange(1, 1) if attempt_1_only else None),
            TextOutcome(TEXT, faults=faults),
        )
    ]
    if attempt_1_only:
        fixtures.append(Fixture("clean", Match("http", "POST", None), TextOutcome(TEXT)))
    return Scenario(name="json faults", path="f.mock", base_dir=".", fixtures=tuple(fixtures))


async def ended(srv: RunningServer, n: int = 1) -> list[HttpExchange]:
    for _ in range(300):
        if len(srv.journal.http) >= n and all(e.ended_at is not None for e in srv.journal.http[:n]):
            return list(srv.journal.http)
        await asyncio.sleep(0.01)
    raise AssertionError("exchanges never ended")


def sdk(srv: RunningServer, timeout: float, retries: int = 0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="k", timeout=timeout, max_retries=retries)


async def test_slow_first_token_holds_back_even_the_headers() -> None:
    async with running_server(scenario(Fault("slowFirstToken", duration_s=0.3))) as srv:
        async with httpx.AsyncClient(timeout=5) as http:
            async with http.stream("POST", srv.base_url + "/v1/chat/completions", json=BODY) as response:
                headers_at = asyncio.get_running_loop().time()
                raw = await response.aread()
        (exchange,) = await ended(srv)
    assert json.loads(raw)["choices"][0]["message"]["content"] == TEXT
    assert exchange.faults == ["slowFirstToken"] and exchange.completed
    whats = [t.what for t in exchange.ticks]
    assert whats[:2] == ["fault:slowFirstToken", "resume"]
    assert headers_at > 0


async def test_sdk_times_out_on_a_slow_server_and_retries_into_the_clean_answer() -> None:
    async with running_server(scenario(Fault("slowFirstToken", duration_s=2), attempt_1_only=True)) as srv:
        async with sdk(srv, timeout=0.3, retries=1) as client:
            completion = await client.chat.completions.create(model="m", messages=BODY["messages"])
        exchanges = await ended(srv, 2)
    assert completion.choices[0].message.content == TEXT
    assert [e.attempt for e in exchanges] == [1, 2]
    assert exchanges[0].client_disconnected and exchanges[0].faults == ["slowFirstToken"]
    assert [t.what for t in exchanges[0].ticks][-1] == "client_disconnected"


async def test_stall_after_headers_is_a_read_timeout_for_the_sdk() -> None:
    async with running_server(scenario(Fault("stall", duration_s=2))) as srv:
        async with sdk(srv, timeout=0.3) as client:
            with pytest.raises(openai.APITimeoutError):
                await client.chat.completions.create(model="m", messages=BODY["messages"])
        (exchange,) = await ended(srv)
    assert exchange.status == 200 and exchange.faults == ["stall"] and not exchange.completed
    assert exchange.client_disconnected and exchange.bytes_sent == 0
    whats = [t.what for t in exchange.ticks]
    assert whats[:2] == ["headers", "fault:stall"] and whats[-1] == "client_disconnected"


async def test_stall_with_a_duration_then_the_body_arrives_whole() -> None:
    async with running_server(scenario(Fault("stall", duration_s=0.2))) as srv:
        async with sdk(srv, timeout=5) as client:
            completion = await client.chat.completions.create(model="m", messages=BODY["messages"])
        (exchange,) = await ended(srv)
    assert completion.choices[0].message.content == TEXT
    assert exchange.completed and [t.what for t in exchange.ticks][:3] == ["headers", "fault:stall", "resume"]


@pytest.mark.parametrize("after", [None, 0])
async def test_disconnect_cuts_the_body_and_the_sdk_retries_it(after: int | None) -> None:
    async with running_server(scenario(Fault("disconnect", after_chunks=after), attempt_1_only=True)) as srv:
        async with sdk(srv, timeout=5, retries=2) as client:
            completion = await client.chat.completions.create(model="m", messages=BODY["messages"])
        first, second = await ended(srv, 2)
    assert completion.choices[0].message.content == TEXT  # a cut body is a connection error: retried
    assert first.faults == ["disconnect"] and not first.completed and not first.client_disconnected
    assert first.bytes_sent == (0 if after == 0 else second.bytes_sent // 2) and second.completed
    assert [t.what for t in first.ticks] == ["headers", "fault:disconnect"]


async def test_a_cut_body_is_an_incomplete_body_for_httpx() -> None:
    async with running_server(scenario(Fault("disconnect"))) as srv:
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(srv.base_url + "/v1/chat/completions", json=BODY)


async def test_sdk_without_retries_raises_a_connection_error_on_a_cut_body() -> None:
    async with running_server(scenario(Fault("disconnect"))) as srv:
        async with sdk(srv, timeout=5) as client:
            with pytest.raises(openai.APIConnectionError):
                await client.chat.completions.create(model="m", messages=BODY["messages"])
        (exchange,) = await ended(srv)
    assert exchange.faults == ["disconnect"]


@pytest.mark.parametrize(("data", "expected"), [(None, "half"), ("", "empty"), ("<html>bad gateway</html>", "html")])
async def test_malformed_body_is_a_200_the_sdk_cannot_use(data: str | None, expected: str) -> None:
    async with running_server(scenario(Fault("malformedChunk", data=data))) as srv:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(srv.base_url + "/v1/responses", json={"model": "m", "input": "Hello"})
        async with sdk(srv, timeout=5, retries=2) as client:
            # a 200 is never retried: the SDK's json.loads of the body escapes as a JSONDecodeError
            with pytest.raises(json.JSONDecodeError):
                await client.chat.completions.create(model="m", messages=BODY["messages"])
        exchanges = await ended(srv, 2)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    if expected == "empty":
        assert response.content == b""
    elif expected == "html":
        assert response.content == b"<html>bad gateway</html>"
    else:
        assert 0 < len(response.content) and response.content.startswith(b"{")
        with pytest.raises(ValueError):
            json.loads(response.content)
    assert len(exchanges) == 2 and all(e.faults == ["malformedChunk"] and not e.completed for e in exchanges)


async def test_stream_true_requests_keep_the_stream_semantics() -> None:
    async with running_server(scenario(Fault("slowFirstToken", duration_s=0.2))) as srv:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(srv.base_url + "/v1/chat/completions", json={**BODY, "stream": True})
        (exchange,) = await ended(srv)
    assert response.text.rstrip().endswith("data: [DONE]")
    assert exchange.stream and exchange.faults == ["slowFirstToken"]
