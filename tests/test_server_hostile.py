"""Client mistakes get a 4xx in OpenAI's error shape, are journaled, and never take the server down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dotmock.dsl.model import (
    AttemptRange,
    Fixture,
    Match,
    Scenario,
    TextOutcome,
    TextRule,
)
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
OK_BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}


def scenario() -> Scenario:
    fixtures = (
        Fixture("greeting", Match("http", "POST", CHAT, text=(TextRule("contains", "Hello"),)), TextOutcome("Hi!")),
        Fixture(
            "second try", Match("http", "POST", CHAT, model="gpt-x", attempt=AttemptRange(2)), TextOutcome("again")
        ),
        Fixture("responses", Match("http", "POST", "/v1/responses"), TextOutcome("resp")),
    )
    return Scenario(name="hostile", path="h.mock", base_dir=".", fixtures=fixtures)


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(scenario(), max_body_bytes=64 * 1024) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


async def still_alive(srv: RunningServer, http: httpx.AsyncClient) -> None:
    response = await http.post(srv.base_url + CHAT, json=OK_BODY)
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "Hi!"


@pytest.mark.parametrize(
    ("content", "param", "code"),
    [
        (b"{not json", None, "invalid_json"),
        (b"", None, "invalid_json"),
        (b"\xff\xfe\x00garbage", None, "invalid_json"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "\\udc00"}]}', None, "invalid_json"),
        (b"[" * 20_000 + b"]" * 20_000, None, "invalid_json"),  # deeper than json.loads can recurse
        (b'{"model": "m", "messages": [], "x": ' + b"[" * 500 + b"]" * 500 + b"}", None, "invalid_json"),
        (b"[1, 2, 3]", None, "invalid_type"),
        (b'"just a string"', None, "invalid_type"),
        (json.dumps({"messages": []}).encode(), "model", "missing_required_parameter"),
        (json.dumps({"model": 7, "messages": []}).encode(), "model", "invalid_type"),
        (json.dumps({"model": "m"}).encode(), "messages", "missing_required_parameter"),
        (json.dumps({"model": "m", "messages": "Hello"}).encode(), "messages", "invalid_type"),
        (json.dumps({"model": "m", "messages": ["Hello"]}).encode(), "messages[0]", "invalid_type"),
        (
            json.dumps({"model": "m", "messages": [{"content": "x"}]}).encode(),
            "messages[0].role",
            "missing_required_parameter",
        ),
        (
            json.dumps({"model": "m", "messages": [{"role": "user", "content": 5}]}).encode(),
            "messages[0].content",
            "invalid_type",
        ),
        (json.dumps({**OK_BODY, "stream": "yes"}).encode(), "stream", "invalid_type"),
        (json.dumps({**OK_BODY, "stream_options": []}).encode(), "stream_options", "invalid_type"),
        (
            json.dumps({**OK_BODY, "stream_options": {"include_usage": 1}}).encode(),
            "stream_options.include_usage",
            "invalid_type",
        ),
    ],
)
async def test_bad_chat_bodies_are_400(
    srv: RunningServer, http: httpx.AsyncClient, content: bytes, param: str | None, code: str
) -> None:
    response = await http.post(srv.base_url + CHAT, content=content, headers={"content-type": "application/json"})
    error = assert_openai_error(response, 400)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    [exchange] = srv.journal.http
    assert exchange.status == 400 and exchange.error == error["message"] and exchange.fixture is None
    await still_alive(srv, http)


async def test_bad_responses_input_is_400(srv: RunningServer, http: httpx.AsyncClient) -> None:
    response = await http.post(srv.base_url + "/v1/responses", json={"model": "m", "input": 42})
    assert assert_openai_error(response, 400)["param"] == "input"


async def test_oversized_body_is_413(srv: RunningServer, http: httpx.AsyncClient) -> None:
    big = {**OK_BODY, "padding": "x" * (100 * 1024)}
    response = await http.post(srv.base_url + CHAT, json=big)
    assert assert_openai_error(response, 413)["code"] == "request_too_large"
    assert srv.journal.http[0].error is not None
    await still_alive(srv, http)


async def test_oversized_body_default_limit_is_10_mib(http: httpx.AsyncClient) -> None:
    async with running_server(scenario()) as server:
        just_under = {**OK_BODY, "padding": "x" * (10 * 1024 * 1024 - 200)}
        assert (await http.post(server.base_url + CHAT, json=just_under)).status_code == 200
        over = {**OK_BODY, "padding": "x" * (11 * 1024 * 1024)}
        assert_openai_error(await http.post(server.base_url + CHAT, json=over), 413)
        await still_alive(server, http)


async def test_huge_declared_length_is_refused_without_reading(srv: RunningServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"content-length: 999999999999\r\n\r\n{"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 413")
    writer.close()


@pytest.mark.parametrize("path", ["/", "/v1/chat", "/v1/completions", "/v1/chat/completions/extra", "/v2/x"])
async def test_unknown_paths_are_404(srv: RunningServer, http: httpx.AsyncClient, path: str) -> None:
    response = await http.post(srv.base_url + path, json=OK_BODY)
    # /v1/chat is a WebSocket route: a plain POST there is refused too, in the same shape
    assert response.status_code in (400, 404, 405)
    error = assert_openai_error(response, response.status_code)
    assert error["type"] == "invalid_request_error"
    assert srv.journal.http[0].error is not None and srv.journal.http[0].status == response.status_code


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_wrong_methods_are_405(srv: RunningServer, http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, srv.base_url + CHAT)
    assert assert_openai_error(response, 405)["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]  # RFC 9110: a 405 names the methods that would work
    [exchange] = srv.journal.http
    assert (exchange.method, exchange.status) == (method, 405)


async def test_no_fixture_matched_names_the_nearest(srv: RunningServer, http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-x", "messages": [{"role": "user", "content": "Goodbye"}]}
    response = await http.post(srv.base_url + CHAT, json=body)
    error = assert_openai_error(response, 404)
    assert error["code"] == "fixture_not_found"
    message = error["message"]
    assert "POST /v1/chat/completions" in message and "'Goodbye'" in message
    assert "'second try': attempt 1 is not 2.." in message
    assert "'greeting': last user message does not contain 'Hello'" in message
    assert message.index("'second try'") < message.index("'greeting'")  # nearest first
    [exchange] = srv.journal.http
    assert exchange.error == message and exchange.attempt == 1
    # the retry of the same call is attempt 2, which the second fixture answers
    retry = await http.post(srv.base_url + CHAT, json=body)
    assert retry.json()["choices"][0]["message"]["content"] == "again"
    assert srv.journal.http[1].attempt == 2


async def test_garbage_on_the_socket_does_not_kill_the_server(srv: RunningServer, http: httpx.AsyncClient) -> None:
    for junk in (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        b"HELLO WORLD\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: abc\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(junk)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 5)
        writer.close()
    await still_alive(srv, http)


async def test_control_endpoints(srv: RunningServer, http: httpx.AsyncClient) -> None:
    await still_alive(srv, http)
    journal = (await http.get(srv.base_url + "/_dotmock/journal")).json()
    assert journal["version"] == 2 and len(journal["http"]) == 1
    entry = journal["http"][0]
    assert (entry["fixture"], entry["status"], entry["completed"]) == ("greeting", 200, True)
    assert entry["body"] == OK_BODY and entry["started_at"] <= entry["ended_at"]
    fixtures = (await http.get(srv.base_url + "/_dotmock/scenario")).json()["fixtures"]
    assert [f["name"] for f in fixtures] == ["greeting", "second try", "responses"]
    assert fixtures[0]["outcome"]["text"] == "Hi!"
    assert (await http.post(srv.base_url + "/_dotmock/reset")).status_code == 403  # no token
    assert len(srv.journal.http) == 1
    reset = await http.post(srv.base_url + "/_dotmock/reset", json={}, headers={"X-Dotmock-Token": srv.token})
    assert reset.json() == {"ok": True}
    assert (await http.get(srv.base_url + "/_dotmock/journal")).json()["http"] == []
    assert srv.journal.http == []  # control requests are not journaled
