"""Rendering streamed answers as SSE bytes: Chat Completions chunks, and Responses events in the "openai"
dialect (what the SDKs parse) or the "seed" dialect (the original description's seven-event sequence).

A renderer turns one answer into frames: `opening()` (before any text), `delta(text)` per content chunk,
`closing()` (the terminator included), and the fault frames `error_event()` and `malformed()`.
Each frame is complete SSE (ends with a blank line); content frames are built from cached prefixes so a
chunk costs one `json.dumps` of its text.

Error events mid-stream, in the provider's shape:
- Chat Completions: `data: {"error": {"message", "type", "param", "code"}}`. The openai SDK raises
  `APIError` on it.
- Responses: `event: error` with `{"type": "error", "code", "message", "param", "sequence_number"}`, the
  shape of OpenAI's API reference for the `error` streaming event. The openai SDK yields it as a
  `ResponseErrorEvent` (it does not raise); since no `response.completed` follows, the `stream()` helper's
  `get_final_response()` raises, as it does against the real API.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any, Protocol

from dotmock.server.payloads import Reply, chat_usage, message_item, output_text_part, response_object


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _json_str(text: str) -> bytes:
    """A JSON string literal: the same bytes as `_json(text)`, without `json.dumps`' per-call setup (this
    runs once per content chunk)."""
    return encode_basestring(text).encode()


def data_frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def named_frame(event: str, payload: bytes) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


def raw_data_frame(text: str) -> bytes:
    """`text` as the data of one event, verbatim (several `data:` lines if it has line breaks)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return b"".join(b"data: " + line.encode() + b"\n" for line in lines) + b"\n"


def _cut_in_half(payload: bytes) -> bytes:
    return payload[: max(1, len(payload) // 2)]


class Renderer(Protocol):
    def opening(self) -> list[bytes]: ...

    def delta(self, text: str) -> bytes: ...

    def closing(self) -> list[bytes]: ...

    def error_event(self, message: str, error_type: str, code: str | None) -> bytes: ...

    def malformed(self, data: str | None) -> bytes: ...


class ChatRenderer:
    """`chat.completion.chunk` events, `data: [DONE]` at the end; usage chunk when asked for."""

    def __init__(self, reply: Reply, finish_reason: str, include_usage: bool) -> None:
        self.reply = reply
        self.finish_reason = finish_reason
        self.include_usage = include_usage
        self.text_sent: list[str] = []
        head = _json(
            {"id": reply.chat_id, "object": "chat.completion.chunk", "created": reply.created, "model": reply.model}
        )[:-1]
        self._head = b"data: " + head + b',"choices":[{"index":0,"delta":'
        self._content_head = self._head + b'{"content":'

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> bytes:
        return self._head + _json(delta) + b',"finish_reason":' + _json(finish_reason) + b"}]}\n\n"

    def opening(self) -> list[bytes]:
        return [self._chunk({"role": "assistant"}, None)]

    def delta(self, text: str) -> bytes:
        self.text_sent.append(text)
        return self._content_head + _json_str(text) + b'},"finish_reason":null}]}\n\n'

    def closing(self) -> list[bytes]:
        frames = [self._chunk({}, self.finish_reason)]
        if self.include_usage:
            usage = {
                "id": self.reply.chat_id,
                "object": "chat.completion.chunk",
                "created": self.reply.created,
                "model": self.reply.model,
                "choices": [],
                "usage": chat_usage(self.reply, "".join(self.text_sent)),
            }
            frames.append(data_frame(_json(usage)))
        frames.append(b"data: [DONE]\n\n")
        return frames

    def error_event(self, message: str, error_type: str, code: str | None) -> bytes:
        return data_frame(_json({"error": {"message": message, "type": error_type, "param": None, "code": code}}))

    def malformed(self, data: str | None) -> bytes:
        if data is not None:
            return raw_data_frame(data)
        frame = self.delta("...")
        self.text_sent.pop()
        return _cut_in_half(frame[: -len(b"\n\n")]) + b"\n\n"


class ResponsesRenderer:
    """The Responses event sequence the openai SDKs parse fully (see the wire-behaviour reference)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.seq = 0
        self.text_sent: list[str] = []
        ids = _json({"item_id": reply.item_id, "output_index": 0, "content_index": 0})[1:-1]
        self._delta_head = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",' + ids
        self._ids = ids

    def _event(self, event_type: str, fields: dict[str, Any]) -> bytes:
        payload = {"type": event_type, "sequence_number": self.seq, **fields}
        self.seq += 1
        return named_frame(event_type, _json(payload))

    def _text_event(self, event_type: str, fields: dict[str, Any]) -> bytes:
        return self._event(event_type, {"item_id": self.reply.item_id, "output_index": 0, "content_index": 0, **fields})

    def opening(self) -> list[bytes]:
        in_progress = response_object(self.reply, "in_progress", None)
        return [
            self._event("response.created", {"response": in_progress}),
            self._event("response.in_progress", {"response": in_progress}),
            self._event(
                "response.output_item.added", {"output_index": 0, "item": message_item(self.reply, None, "in_progress")}
            ),
            self._text_event("response.content_part.added", {"part": output_text_part("")}),
        ]

    def delta(self, text: str) -> bytes:
        self.text_sent.append(text)
        frame = (
            self._delta_head
            + b',"sequence_number":'
            + str(self.seq).encode()
            + b',"delta":'
            + _json_str(text)
            + b',"logprobs":[]}\n\n'
        )
        self.seq += 1
        return frame

    def closing(self) -> list[bytes]:
        text = "".join(self.text_sent)
        return [
            self._text_event("response.output_text.done", {"text": text, "logprobs": []}),
            self._text_event("response.content_part.done", {"part": output_text_part(text)}),
            self._event(
                "response.output_item.done", {"output_index": 0, "item": message_item(self.reply, text, "completed")}
            ),
            self._event("response.completed", {"response": response_object(self.reply, "completed", text)}),
        ]

    def error_event(self, message: str, error_type: str, code: str | None) -> bytes:
        return self._event("error", {"code": code or error_type, "message": message, "param": None})

    def malformed(self, data: str | None) -> bytes:
        if data is not None:
            return b"event: response.output_text.delta\n" + raw_data_frame(data)
        frame = self.delta("...")
        self.text_sent.pop()
        return _cut_in_half(frame[: -len(b"\n\n")]) + b"\n\n"


class SeedResponsesRenderer:
    """The seed's literal sequence: response.created, output_item.added, content_part.added,
    response.text.delta..., response.text.done, output_item.done, response.completed."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.text_sent: list[str] = []
        self._ids = {"response_id": reply.response_id, "output_index": 0}
        self._delta_head = (
            b'event: response.text.delta\ndata: {"type":"response.text.delta",'
            + _json({**self._ids, "content_index": 0})[1:-1]
            + b',"delta":'
        )

    def _event(self, event_type: str, fields: dict[str, Any]) -> bytes:
        return named_frame(event_type, _json({"type": event_type, **self._ids, **fields}))

    def _item(self, text: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "message", "role": "assistant"}
        if text is not None:
            item["content"] = [{"type": "text", "text": text}]
        return item

    def opening(self) -> list[bytes]:
        created = {
            "id": self.reply.response_id,
            "object": "response",
            "created": self.reply.created,
            "model": self.reply.model,
            "status": "in_progress",
            "output": [],
        }
        return [
            named_frame("response.created", _json(created)),
            self._event("response.output_item.added", {"item": self._item(None)}),
            self._event("response.content_part.added", {"content_index": 0, "part": {"type": "text", "text": ""}}),
        ]

    def delta(self, text: str) -> bytes:
        self.text_sent.append(text)
        return self._delta_head + _json_str(text) + b"}\n\n"

    def closing(self) -> list[bytes]:
        text = "".join(self.text_sent)
        completed = {
            "id": self.reply.response_id,
            "object": "response",
            "status": "completed",
            "output": [self._item(text)],
        }
        return [
            self._event("response.text.done", {"content_index": 0, "text": text}),
            self._event("response.output_item.done", {"item": self._item(text)}),
            named_frame("response.completed", _json(completed)),
        ]

    def error_event(self, message: str, error_type: str, code: str | None) -> bytes:
        return named_frame(
            "error",
            _json(
                {
                    "type": "error",
                    "response_id": self.reply.response_id,
                    "code": code or error_type,
                    "message": message,
                    "param": None,
                }
            ),
        )

    def malformed(self, data: str | None) -> bytes:
        if data is not None:
            return b"event: response.text.delta\n" + raw_data_frame(data)
        frame = self.delta("...")
        self.text_sent.pop()
        return _cut_in_half(frame[: -len(b"\n\n")]) + b"\n\n"
