"""`running_server`: fast start, many at once in one loop, clean stop that frees the port."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from dotmock.dsl.model import Fault, Fixture, Match, Scenario, Streaming, TextOutcome
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}


def scenario(text: str, *faults: Fault) -> Scenario:
    outcome = TextOutcome(text, Streaming(chunk_size=4, latency_ms=5), faults=faults)
    return Scenario(
        name=text, path="r.mock", base_dir=".", fixtures=(Fixture("f", Match("http", "POST", None), outcome),)
    )


async def test_urls_and_port() -> None:
    async with running_server(scenario("x")) as srv:
        assert srv.port > 0
        assert srv.base_url == f"http://127.0.0.1:{srv.port}"
        assert srv.ws_url == f"ws://127.0.0.1:{srv.port}"
        assert srv.journal.http == []


async def test_many_servers_concurrently_each_with_its_own_journal() -> None:
    async def one(i: int) -> tuple[int, str]:
        async with running_server(scenario(f"server {i}")) as srv, httpx.AsyncClient() as http:
            response = await http.post(srv.base_url + "/v1/chat/completions", json={**BODY, "stream": True})
            assert len(srv.journal.http) == 1 and srv.journal.http[0].completed
            text = "".join(line for line in response.text.split("\n") if "content" in line)
            return srv.port, text

    results = await asyncio.gather(*(one(i) for i in range(12)))
    assert len({port for port, _ in results}) == 12
    for i, (_, text) in enumerate(results):
        assert f"server {i}".replace(" ", "")[:3] in text.replace(" ", "")


async def test_start_and_stop_free_the_port_without_hanging() -> None:
    """Ten start/stop cycles, each port free again at once. Speed is bench/'s business (perf_servers);
    the bound here only says a stop never hangs."""
    timings = []
    for _ in range(10):
        start = time.monotonic()
        async with running_server(scenario("quick")) as srv, httpx.AsyncClient() as http:
            assert (await http.post(srv.base_url + "/v1/chat/completions", json=BODY)).status_code == 200
            port = srv.port
        timings.append(time.monotonic() - start)
        with socket.socket() as probe:  # the port is free again
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    assert max(timings) < 10, timings


async def test_fixed_port_can_be_reused_at_once() -> None:
    async with running_server(scenario("a")) as first:
        port = first.port
    async with running_server(scenario("b"), port=port) as second, httpx.AsyncClient() as http:
        assert second.port == port
        assert (await http.post(second.base_url + "/v1/chat/completions", json=BODY)).status_code == 200


async def test_stop_with_a_stream_still_open_is_bounded_and_not_a_client_disconnect() -> None:
    sc = scenario("stalled forever", Fault("stall", after_chunks=1))
    got_first = asyncio.Event()

    async def read(http: httpx.AsyncClient, url: str) -> None:
        async with http.stream("POST", url, json={**BODY, "stream": True}) as response:
            async for _ in response.aiter_raw():
                got_first.set()

    async with httpx.AsyncClient(timeout=10) as http:
        async with running_server(sc, graceful_timeout=0.2) as srv:
            reader = asyncio.create_task(read(http, srv.base_url + "/v1/chat/completions"))
            await asyncio.wait_for(got_first.wait(), 3)
            start = time.monotonic()
        stopping_took = time.monotonic() - start
        [outcome] = await asyncio.gather(reader, return_exceptions=True)
    assert stopping_took < 1.0
    assert isinstance(outcome, httpx.RemoteProtocolError | httpx.ReadError), outcome  # not a clean end
    [exchange] = srv.journal.http
    assert exchange.faults == ["stall"] and not exchange.client_disconnected and not exchange.completed
    assert exchange.ticks[-1].what == "server_shutdown"


async def test_stop_with_a_request_body_still_arriving_is_fast_and_journaled() -> None:
    async with running_server(scenario("never answered")) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n{")
        await writer.drain()
        for _ in range(100):
            if srv.journal.http:
                break
            await asyncio.sleep(0.01)
        start = time.monotonic()
    assert time.monotonic() - start < 0.3
    assert await asyncio.wait_for(reader.read(), 2) != b""  # the connection was closed, not left hanging
    writer.close()
    [exchange] = srv.journal.http
    assert exchange.error == "the server stopped while reading the request" and not exchange.client_disconnected
