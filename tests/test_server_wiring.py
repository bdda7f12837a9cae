"""The WebSocket endpoints are wired like the HTTP ones: the same stream limits and the same scenario holder
(the one the panel's editor swaps), so a bound or an edit that holds over HTTP holds over WebSocket too."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl.model import Fault, Fixture, Match, Scenario, Streaming, TextOutcome
from dotmock.server.running import running_server
from dotmock.server.streaming import StreamLimits

pytestmark = pytest.mark.anyio

TEXT = "one two three four"
ENVELOPE = {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}}


def _scenario(text: str, *faults: Fault) -> Scenario:
    outcome = TextOutcome(text, Streaming(chunk_size=4, latency_ms=0), faults=faults)
    fixture = Fixture("answer", Match("websocket", None, None), outcome)
    return Scenario(name="wiring", path="wiring.mock", base_dir=".", fixtures=(fixture,))


async def _streamed_text(base_url: str) -> str:
    """The text of one answer on /v1/chat, read until its terminal chunk (at most 5 s between frames)."""
    parts: list[str] = []
    async with httpx.AsyncClient() as http, aconnect_ws(base_url + "/v1/chat", http) as ws:
        await ws.send_text(json.dumps(ENVELOPE))
        while True:
            frame = json.loads(await ws.receive_text(timeout=5))
            data = frame.get("data") or {}
            choice = (data.get("choices") or [{}])[0]
            parts.append((choice.get("delta") or {}).get("content") or "")
            if choice.get("finish_reason"):
                return "".join(parts)


async def test_a_websocket_stall_is_bounded_by_the_servers_max_stall() -> None:
    # A stall with no duration lasts until the client gives up, at most max_stall_s: the HTTP stream carries on
    # after 0.2 s (tests/test_server_faults.py), and so must the WebSocket one (it waited the default 300 s).
    limits = StreamLimits(max_stall_s=0.2)
    async with running_server(_scenario(TEXT, Fault("stall", after_chunks=1)), limits=limits) as srv:
        assert await _streamed_text(srv.base_url) == TEXT
        exchange = srv.journal.websocket[0].exchanges[0]
    assert exchange.faults == ["stall"]


async def test_a_scenario_applied_in_the_panel_is_what_the_websocket_answers_from() -> None:
    edited = 'scenario "wiring"\nfixture "answer" { match websocket * response "after the edit" }\n'
    async with running_server(_scenario("before the edit")) as srv, httpx.AsyncClient() as http:
        assert await _streamed_text(srv.base_url) == "before the edit"
        applied = await http.post(
            srv.base_url + "/_dotmock/source",
            json={"text": edited},
            headers={"X-Dotmock-Token": srv.token},
        )
        assert applied.json()["applied"] is True, applied.text
        assert await _streamed_text(srv.base_url) == "after the edit"


async def test_servers_started_one_after_another_route_every_api_alike() -> None:
    """URL rules share their compiled builders across servers (server.quart_app): a second and third server
    in one process still route each API's templated paths and build its URLs with their own values."""
    scenario = Scenario(name="routes", path="routes.mock", base_dir=".", fixtures=())
    for model in ("gemini-a", "gemini-b", "gemini-c"):
        async with running_server(scenario, host="127.0.0.1", port=0) as srv:
            urls = srv.app.url_map.bind("127.0.0.1")
            path = f"/v1beta/models/{model}:generateContent"
            assert urls.build("gemini_0", {"model": model}) == path
            assert urls.match(path, method="POST")[1] == {"model": model}
            async with httpx.AsyncClient(base_url=srv.base_url) as http:
                answer = await http.post(
                    path, json={"contents": [{"parts": [{"text": "Hi"}]}]}, headers={"x-goog-api-key": "k"}
                )
            assert answer.status_code == 404 and "fixture" in answer.text  # routed to Gemini, no fixture matched
