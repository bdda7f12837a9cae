"""OpenAI Chat Completions (`POST /v1/chat/completions`): the `chat.completion` object, the chunk stream,
and OpenAI's error body `{"error": {"message", "type", "param", "code"}}`.

The stream is data-only SSE: a role chunk, one `chat.completion.chunk` per content chunk, a chunk with the
finish_reason, a usage chunk when `stream_options.include_usage` asks for it, then `data: [DONE]`, which marks
a complete stream (a truncation withholds it). A mid-stream error is `data: {"error": {...}}`; the openai SDK
raises `APIError` on it.
"""

from __future__ import annotations

from typing import Any

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import Dialect, TextOutcome
from dotmock.server.apis.base import Api, ParsedRequest, TextRenderer
from dotmock.server.events import DONE, Event, dumps, json_str
from dotmock.server.payloads import Reply, estimate_tokens
from dotmock.server.validation import missing, wrong_type

CHUNK = "chat.completion.chunk"


def chat_usage(reply: Reply, text: str) -> dict[str, Any]:
    completion = estimate_tokens(text)
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def chat_completion(reply: Reply, text: str, finish_reason: str) -> dict[str, Any]:
    return {
        "id": reply.chat_id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": chat_usage(reply, text),
        "system_fingerprint": None,
    }


class ChatRenderer(TextRenderer):
    """`chat.completion.chunk` events, `data: [DONE]` at the end; usage chunk when asked for."""

    def __init__(self, reply: Reply, finish_reason: str, include_usage: bool) -> None:
        super().__init__(reply, finish_reason)
        self.include_usage = include_usage
        head = dumps({"id": reply.chat_id, "object": CHUNK, "created": reply.created, "model": reply.model})[:-1]
        self._head = head + b',"choices":[{"index":0,"delta":'
        self._content_head = self._head + b'{"content":'

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> Event:
        return Event(self._head + dumps(delta) + b',"finish_reason":' + dumps(finish_reason) + b"}]}", None, CHUNK)

    def opening(self) -> list[Event]:
        return [self._chunk({"role": "assistant"}, None)]

    def delta(self, text: str) -> Event:
        self.text_sent.append(text)
        return Event(self._content_head + json_str(text) + b'},"finish_reason":null}]}', None, CHUNK)

    def closing(self) -> list[Event]:
        events = [self._chunk({}, self.finish_reason)]
        if self.include_usage:
            usage = {
                "id": self.reply.chat_id,
                "object": CHUNK,
                "created": self.reply.created,
                "model": self.reply.model,
                "choices": [],
                "usage": chat_usage(self.reply, "".join(self.text_sent)),
            }
            events.append(Event(dumps(usage), None, CHUNK))
        events.append(DONE)
        return events

    def error_event(self, message: str, error_type: str, code: str | None) -> Event:
        return Event(
            dumps({"error": {"message": message, "type": error_type, "param": None, "code": code}}), None, "error"
        )


class ChatCompletions(Api):
    kind = APIS_BY_NAME["chat_completions"]

    def check_body(self, body: dict[str, Any]) -> None:
        """`messages`: an array of objects, each with a string `role` and a string or array `content`."""
        if "messages" not in body:
            raise missing("messages")
        messages = body["messages"]
        if not isinstance(messages, list):
            raise wrong_type("messages", "an array", messages)
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise wrong_type(f"messages[{i}]", "an object", message)
            role = message.get("role")
            if not isinstance(role, str):
                raise (
                    wrong_type(f"messages[{i}].role", "a string", role)
                    if "role" in message
                    else missing(f"messages[{i}].role")
                )
            content = message.get("content")
            if content is not None and not isinstance(content, str | list):
                raise wrong_type(f"messages[{i}].content", "a string or an array", content)

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        return chat_completion(reply, outcome.text, outcome.finish_reason)

    def renderer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest, dialect: Dialect) -> ChatRenderer:
        return ChatRenderer(reply, outcome.finish_reason, request.include_usage)


API = ChatCompletions()
