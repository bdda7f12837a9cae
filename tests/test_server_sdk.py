"""The official openai SDK against the real mock server: every way of asking for text gets the fixture's text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from dotmock.dsl.model import (
    AttemptRange,
    ErrorOutcome,
    Fixture,
    Match,
    Scenario,
    Streaming,
    TextOutcome,
    TextRule,
)
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

TEXT = "Hello from dotmock! This answer is streamed in small pieces, then ends cleanly."


def scenario(*fixtures: Fixture) -> Scenario:
    return Scenario(name="sdk", path="sdk.mock", base_dir=".", fixtures=fixtures)


def any_post(name: str, outcome: TextOutcome | ErrorOutcome, **match: object) -> Fixture:
    return Fixture(name, Match("http", "POST", None, **match), outcome)


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    fixtures = (
        any_post(
            "short chunks",
            TextOutcome(TEXT, Streaming(chunk_size=7, latency_ms=1)),
            text=(TextRule("contains", "short"),),
        ),
        any_post("default", TextOutcome(TEXT)),
    )
    async with running_server(scenario(*fixtures)) as server:
        yield server


def client(server: RunningServer, **kwargs: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="sk-test", **kwargs)


USER = [{"role": "user", "content": "hi"}]


async def test_chat_create_json(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        result = await sdk.chat.completions.create(model="gpt-test", messages=USER)
    assert result.choices[0].message.content == TEXT
    assert result.choices[0].finish_reason == "stop"
    assert result.model == "gpt-test"
    assert result.id.startswith("chatcmpl-mock-")
    assert result.usage is not None and result.usage.total_tokens > 0
    [exchange] = srv.journal.http
    assert (exchange.status, exchange.stream, exchange.completed, exchange.fixture) == (200, False, True, "default")


@pytest.mark.parametrize("prompt", ["hi", "short please"])
async def test_chat_create_stream(srv: RunningServer, prompt: str) -> None:
    async with client(srv) as sdk:
        stream = await sdk.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": prompt}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {chunks[0].id}
    assert srv.journal.http[0].completed


async def test_chat_stream_helper_final_message(srv: RunningServer) -> None:
    async with (
        client(srv) as sdk,
        sdk.chat.completions.stream(
            model="gpt-test",
            messages=[{"role": "user", "content": "short"}],
        ) as stream,
    ):
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == TEXT


async def test_chat_stream_include_usage(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        stream = await sdk.chat.completions.create(
            model="gpt-test",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_responses_create_json(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        result = await sdk.responses.create(model="gpt-test", input="hi")
    assert result.output_text == TEXT
    assert result.model == "gpt-test"
    assert result.status == "completed"


@pytest.mark.parametrize("prompt", ["hi", "short please"])
async def test_responses_create_stream(srv: RunningServer, prompt: str) -> None:
    async with client(srv) as sdk:
        stream = await sdk.responses.create(model="gpt-test", input=prompt, stream=True)
        events = [event async for event in stream]
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == TEXT


async def test_responses_stream_helper_final_response(srv: RunningServer) -> None:
    async with client(srv) as sdk, sdk.responses.stream(model="gpt-test", input="short") as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert final.output_text == TEXT
    assert "".join(deltas) == TEXT


async def test_sdk_retries_429_with_retry_after_zero_then_succeeds() -> None:
    fixtures = (
        any_post("limited", ErrorOutcome(429, headers=(("retry-after", "0"),)), attempt=AttemptRange(1, 1)),
        any_post("recovered", TextOutcome("arrives in full"), attempt=AttemptRange(2)),
    )
    async with running_server(scenario(*fixtures)) as server:
        async with client(server, max_retries=2) as sdk:
            result = await sdk.chat.completions.create(model="m", messages=USER)
        assert result.choices[0].message.content == "arrives in full"
        first, second = server.journal.http
    assert (first.attempt, first.status, first.fixture, first.retry_after_s) == (1, 429, "limited", 0.0)
    assert (second.attempt, second.status, second.fixture) == (2, 200, "recovered")
    assert first.call_key == second.call_key
    assert first.headers["x-stainless-retry-count"] == "0" and second.headers["x-stainless-retry-count"] == "1"
    assert first.ended_at is not None and second.started_at >= first.ended_at


@pytest.mark.parametrize(
    ("outcome", "exc", "message"),
    [
        (
            ErrorOutcome(429, message="slow down", headers=(("retry-after-ms", "1500"),)),
            openai.RateLimitError,
            "slow down",
        ),
        (ErrorOutcome(400, message="bad thing", param="messages"), openai.BadRequestError, "bad thing"),
        (ErrorOutcome(500), openai.InternalServerError, "The server had an error"),
        (
            ErrorOutcome(503, body={"error": {"message": "verbatim", "type": "x"}}),
            openai.InternalServerError,
            "verbatim",
        ),
    ],
)
async def test_error_outcomes_raise_the_sdk_exception_for_their_status(
    outcome: ErrorOutcome, exc: type[Exception], message: str
) -> None:
    async with running_server(scenario(any_post("err", outcome))) as server:
        async with client(server, max_retries=0) as sdk:
            with pytest.raises(exc, match=message) as info:
                await sdk.chat.completions.create(model="m", messages=USER)
        [exchange] = server.journal.http
    assert exchange.status == outcome.status
    assert info.value.status_code == outcome.status
    if outcome.status == 429:
        assert exchange.retry_after_s == 1.5
        assert info.value.response.headers["retry-after-ms"] == "1500"
        assert info.value.body["type"] == "rate_limit_error"
