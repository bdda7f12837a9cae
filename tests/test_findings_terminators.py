"""A cut stream's finding names what the stream lacked in its API's own words ([DONE], message_stop, ...)."""

from __future__ import annotations

import anthropic
import openai

from dotmock.runner.inprocess import serve

CUT = """
fixture "chat" {
  match POST /v1/chat/completions
  response "This is a long response that will be cut short by the server"
  streaming { chunkSize 10 truncateAfterChunks 2 }
}

fixture "messages" {
  match POST /v1/messages
  response "This is a long response that will be cut short by the server"
  streaming { chunkSize 10 truncateAfterChunks 2 }
}
"""


def _chat() -> str:
    with openai.OpenAI(max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def _messages() -> str:
    with anthropic.Anthropic(max_retries=0) as client:
        with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hello"}]
        ) as stream:
            return "".join(stream.text_stream)


def test_the_title_names_the_missing_terminator_of_each_api() -> None:
    for fn, words in ((_chat, "(no [DONE])"), (_messages, "(no message_stop)")):
        with serve(text=CUT, timeout=10) as mock:
            assert mock.call(fn).startswith("This is a long")
            titles = [f.title for f in mock.findings if f.name == "truncated_stream_accepted"]
        assert len(titles) == 1 and words in titles[0], titles
