"""Copy this folder and run `pytest`: dotmock's plugin serves each test its scenario on a free port,
points OPENAI_BASE_URL at it for the test, and fails the test when the verdict fails (findings, expect)."""

from __future__ import annotations

import openai
import pytest
from summarise import IncompleteAnswer, summarise, summarise_async

ALWAYS_CUT = """
fixture "always cut" {
  match POST /v1/chat/completions
  response "Cut again and again..."
  streaming { chunkSize 6 truncateAfterChunks 2 }
}
"""


@pytest.mark.dotmock("cut_then_whole.mock")
def test_a_cut_stream_is_retried(dotmock):
    assert dotmock.call(summarise, "a long text") == "A short summary."
    assert [a.exchange.attempt for c in dotmock.calls for a in c.attempts] == [1, 2]
    assert [f.name for f in dotmock.findings] == ["fault_handled"]


@pytest.mark.dotmock("cut_then_whole.mock")
def test_the_async_client_too(dotmock):
    import asyncio

    assert asyncio.run(dotmock.acall(summarise_async, "a long text")) == "A short summary."


@pytest.mark.dotmock(text=ALWAYS_CUT)
def test_it_gives_up_loudly(dotmock):
    with pytest.raises(IncompleteAnswer):
        dotmock.call(summarise, "a long text")
    # its own error after two cut streams: `gave_up` is a warning, not a failure of the test
    assert [f.name for f in dotmock.findings] == ["gave_up"]


@pytest.mark.dotmock(text=ALWAYS_CUT, check=False)
def test_what_a_naive_call_gets(dotmock):
    with openai.OpenAI(max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Cut again an"
    assert [f.name for f in dotmock.findings] == ["truncated_stream_accepted"]
