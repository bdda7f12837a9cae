"""A call under test that never returns: `call` / `acall` end it at the timeout with `CallTimedOut`, and the
verdict is the runner's for a client killed at its timeout (`no_read_timeout` on a stall, else `client_hung`)."""

from __future__ import annotations

import asyncio
import threading

import openai
import pytest

from dotmock.runner.inprocess import CallTimedOut, serve

STALL = """
fixture "stalls" {
  match POST /v1/chat/completions
  response "An answer that stops after two chunks and never resumes."
  streaming { chunkSize 8 }
  fault stall after 2 chunks
}
"""

WHOLE = """
fixture "ok" {
  match POST /v1/chat/completions
  response "Fine."
}
"""


def _stream_without_timeout() -> str:
    with openai.OpenAI(max_retries=0, timeout=None) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


async def _astream_without_timeout() -> str:
    async with openai.AsyncOpenAI(max_retries=0, timeout=None) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def test_a_sync_call_stuck_on_a_stall_times_out_as_no_read_timeout() -> None:
    with serve(text=STALL, timeout=0.6) as mock:
        with pytest.raises(CallTimedOut, match=r"did not return within 0\.6s"):
            mock.call(_stream_without_timeout)
        result = mock.result()
    assert result.outcome == "failed"
    assert [f.name for f in result.findings] == ["no_read_timeout"]
    assert result.client is not None and result.client.timed_out


def test_an_async_call_stuck_on_a_stall_is_cancelled_at_the_timeout() -> None:
    with serve(text=STALL, timeout=0.6) as mock:
        with pytest.raises(CallTimedOut):
            asyncio.run(mock.acall(_astream_without_timeout))
        names = [f.name for f in mock.findings]
    assert names == ["no_read_timeout"]


def test_a_call_that_hangs_without_waiting_on_the_server_is_client_hung() -> None:
    release = threading.Event()
    try:
        with serve(text=WHOLE, timeout=0.3) as mock:
            with pytest.raises(CallTimedOut):
                mock.call(release.wait)
            assert [f.name for f in mock.findings] == ["client_hung"]
    finally:
        release.set()


def test_a_call_that_returns_in_time_is_judged_on_its_value() -> None:
    with serve(text=WHOLE, timeout=5) as mock:
        assert mock.call(_stream_without_timeout) == "Fine."
        assert mock.result().outcome == "passed"


def test_an_expect_block_without_a_client_judges_the_code_under_test() -> None:
    """The fixture's own use of `expect`: the test's code is the client, so no `client` line is needed."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / "expect_without_client.mock"
    with serve(path, timeout=5) as mock:
        assert mock.call(_stream_without_timeout) == "Hello there"
        assert [(e.passed, e.observed) for e in mock.expectations] == [(True, "1 request")]
    with serve(path, timeout=5) as mock:
        mock.call(lambda: None)  # never asks: the expectation fails
        assert [e.passed for e in mock.expectations] == [False]
        assert mock.result().outcome == "failed"
