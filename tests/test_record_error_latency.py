"""A recorded error answer keeps its wait before the status (`latency D` on an error fixture), so a client's
timeout and retry behaviour under a slow 500 is the same against the replay as against the upstream: the
openai SDK with a short timeout gives up on it (APITimeoutError), with a long one it gets the 500 and retries.
Judged from what the SDK raises and returns and from the servers' journals, not from clocks in this test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from dotmock.dsl.cli import check_main
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.model import ErrorOutcome, Scenario
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

UPSTREAM = """scenario "a slow 500"

fixture "slow 500" {
  match POST /v1/chat/completions { message contains "slow" attempt 1 }
  error 500 { message "The upstream is busy" type "server_error" }
  latency 300ms
}

fixture "then fine" {
  match POST /v1/chat/completions { message contains "slow" }
  response "Fine now."
}
"""
ASK: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "slow please"}]}


async def _behaviour(scenario: Scenario, timeout: float, retries: int) -> tuple[Any, list[Any]]:
    """What the SDK makes of the scenario (the text and retries taken, or the error it raises) on a fresh
    server, and the server's view of each exchange (its status, when the status went out)."""
    async with running_server(scenario) as server:
        async with openai.AsyncOpenAI(
            base_url=server.base_url + "/v1", api_key="sk-test", timeout=timeout, max_retries=retries
        ) as client:
            try:
                raw = await client.chat.completions.with_raw_response.create(**ASK)
                seen: Any = (raw.parse().choices[0].message.content, raw.retries_taken)
            except openai.APIError as err:
                seen = type(err).__name__
        exchanges = [
            (e.status, [t.t - e.started_at for t in e.ticks if t.what == "headers"]) for e in server.journal.http
        ]
    return seen, exchanges


async def test_a_slow_error_is_recorded_and_replayed_slow(tmp_path: Path) -> None:
    upstream = load_text(UPSTREAM, "up.mock").cases[0]
    records: list[Recorded] = []
    async with running_server(upstream) as server:
        async with running_proxy(server.base_url, records.append) as proxy:
            async with openai.AsyncOpenAI(base_url=proxy.base_url + "/v1", api_key="sk-test", max_retries=1) as c:
                raw = await c.chat.completions.with_raw_response.create(**ASK)
                assert (raw.parse().choices[0].message.content, raw.retries_taken) == ("Fine now.", 1)
    text = format_text(merge(None, fixtures_text(records), header="# recorded\n"), "r.mock")
    path = tmp_path / "r.mock"
    path.write_text(text, encoding="utf-8")
    assert check_main([str(path)]) == 0
    replay = load_text(text, str(path)).cases[0]
    (error,) = [f.outcome for f in replay.fixtures if isinstance(f.outcome, ErrorOutcome)]
    assert error.status == 500 and error.latency_s >= 0.3  # the wait before the status, as recorded

    # A short timeout: the SDK gives up before the status comes, on either server (an instant replay of the
    # 500 would have raised InternalServerError instead).
    for scenario in (upstream, replay):
        seen, exchanges = await _behaviour(scenario, timeout=0.15, retries=0)
        assert seen == "APITimeoutError", scenario.path
        assert len(exchanges) == 1  # no retry: the client gave up waiting
    # A long one: the 500, after its wait, then the retry's answer.
    live, live_exchanges = await _behaviour(upstream, timeout=5, retries=1)
    again, again_exchanges = await _behaviour(replay, timeout=5, retries=1)
    assert live == again == ("Fine now.", 1)
    assert [s for s, _ in live_exchanges] == [s for s, _ in again_exchanges] == [500, 200]
    assert live_exchanges[0][1][0] >= 0.3 and again_exchanges[0][1][0] >= 0.3


def test_latency_on_an_error_fixture_checks_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "e.mock"
    path.write_text('fixture "e" {\n  match POST *\n  error 429 { message "later" }\n  latency 2s\n}\n')
    assert check_main([str(path)]) == 0
    (fixture,) = load_text(path.read_text(), str(path)).cases[0].fixtures
    assert isinstance(fixture.outcome, ErrorOutcome) and fixture.outcome.latency_s == 2.0
    assert format_text(path.read_text(), str(path)) == path.read_text()
