"""Responses ends an answer as the API does: `length` -> status `incomplete` with `incomplete_details`
and a `response.incomplete` event; an error mid-stream -> `error` then `response.failed`. Checked with the
openai SDK's `responses.create()` and `responses.stream()`."""

from __future__ import annotations

import openai
import pytest

from dotmock.dsl.model import Fault, Fixture, Match, Scenario, Streaming, TextOutcome, TextRule
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

TEXT = "An answer that reached its max_output_tokens."
FAST = Streaming(chunk_size=10, latency_ms=1)
FIXTURES = (
    Fixture(
        "cut by length",
        Match("http", "POST", None, text=(TextRule("contains", "long"),)),
        TextOutcome(TEXT, FAST, finish_reason="length"),
    ),
    Fixture(
        "fails",
        Match("http", "POST", None, text=(TextRule("contains", "fail"),)),
        TextOutcome(TEXT, FAST, (Fault("errorEvent", after_chunks=2, message="Model crashed", code="server_error"),)),
    ),
    Fixture("whole", Match("http", "POST", None), TextOutcome(TEXT, FAST)),
)
SCENARIO = Scenario(name="completeness", path="c.mock", base_dir=".", fixtures=FIXTURES)


async def test_length_is_incomplete_with_its_reason() -> None:
    async with running_server(SCENARIO) as srv, openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x") as sdk:
        reply = await sdk.responses.create(model="m", input="a long one")
        assert reply.status == "incomplete" and reply.output_text == TEXT
        assert reply.incomplete_details is not None and reply.incomplete_details.reason == "max_output_tokens"
        assert reply.output[0].status == "incomplete"

        async with sdk.responses.stream(model="m", input="a long one") as stream:
            events = [event async for event in stream]
            # The SDK's helper wants response.completed: on an incomplete answer it raises, as against the API.
            with pytest.raises(RuntimeError, match=r"response\.completed"):
                await stream.get_final_response()
        last = events[-1]
        assert last.type == "response.incomplete"
        assert last.response.status == "incomplete" and last.response.incomplete_details is not None
        assert last.response.incomplete_details.reason == "max_output_tokens"
        assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
        exchange = srv.journal.http[-1]
        assert exchange.completed and exchange.faults == []  # a complete stream: its terminal event was sent

        whole = await sdk.responses.create(model="m", input="short")
        assert whole.status == "completed" and whole.incomplete_details is None


async def test_an_error_mid_stream_fails_the_response() -> None:
    async with running_server(SCENARIO) as srv, openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="x") as sdk:
        async with sdk.responses.stream(model="m", input="this will fail") as stream:
            events = [event async for event in stream]
            with pytest.raises(RuntimeError, match=r"response\.completed"):
                await stream.get_final_response()
        assert [e.type for e in events[-2:]] == ["error", "response.failed"]
        failed = events[-1].response
        assert failed.status == "failed" and failed.error is not None
        assert failed.error.code == "server_error" and failed.error.message == "Model crashed"
        assert srv.journal.http[-1].faults == ["errorEvent"] and not srv.journal.http[-1].completed
