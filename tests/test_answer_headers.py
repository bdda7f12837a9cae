"""`header NAME VALUE` in a text fixture: success-path headers (OpenAI's x-ratelimit-*, Anthropic's
anthropic-ratelimit-*) on JSON answers and streams, as the official SDKs expose them; refused where there is
no HTTP answer to carry them; written by `dotmock record` from what the upstream sent."""

from __future__ import annotations

import anthropic
import openai
import pytest

from dotmock.dsl import DslError
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import RecordedHttp, fixtures_text
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

MOCK = """scenario "rate limit headers"

fixture "openai" {
  match POST /v1/chat/completions
  response "fine"
  header "x-ratelimit-remaining-requests" "99"
  header "X-RateLimit-Reset-Requests" "1s"
}

fixture "anthropic" {
  match POST /v1/messages
  response "fine"
  header "anthropic-ratelimit-requests-remaining" "7"
}
"""


async def test_the_sdks_see_the_headers_on_json_and_streams() -> None:
    async with running_server(load_text(MOCK, "h.mock").cases[0]) as srv:
        async with openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="k", max_retries=0) as client:
            messages = [{"role": "user", "content": "hi"}]
            raw = await client.chat.completions.with_raw_response.create(model="m", messages=messages)
            assert raw.headers["x-ratelimit-remaining-requests"] == "99"
            assert raw.headers["x-ratelimit-reset-requests"] == "1s"
            assert raw.parse().choices[0].message.content == "fine"
            async with client.chat.completions.with_streaming_response.create(
                model="m",
                messages=messages,
                stream=True,
            ) as streamed:
                assert streamed.headers["x-ratelimit-remaining-requests"] == "99"
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k", max_retries=0) as claude:
            reply = await claude.messages.with_raw_response.create(
                model="c", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
            # The fixture's value replaces the one the Messages API sends by itself, once.
            assert reply.headers.get_list("anthropic-ratelimit-requests-remaining") == ["7"]


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ('match websocket /v1/chat\n  response "x"', "a WebSocket answer has no response headers"),
        ("match POST /v1/chat/completions\n  error 429", "an error fixture's headers go in its block"),
    ],
)
def test_headers_where_they_cannot_go_are_refused(outcome: str, message: str) -> None:
    text = f'scenario "s"\nfixture "f" {{\n  {outcome}\n  header "x-a" "1"\n}}\n'
    with pytest.raises(DslError, match=message):
        load_text(text, "bad.mock")


def test_a_recording_keeps_the_rate_limit_headers_of_a_success() -> None:
    headers = (("x-ratelimit-limit-requests", "100"), ("date", "today"), ("openai-processing-ms", "12"))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    text = fixtures_text([RecordedHttp("/v1/chat/completions", body, 200, headers, text="ok")])
    assert 'header "x-ratelimit-limit-requests" "100"' in text
    assert "date" not in text and "openai-processing-ms" not in text
    assert load_text('scenario "r"\n' + text, "r.mock").cases[0].fixtures[0].outcome.headers == (
        ("x-ratelimit-limit-requests", "100"),
    )
