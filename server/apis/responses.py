"""OpenAI Responses (`POST /v1/responses`): the `response` object, its event stream in the "openai"
dialect (what the SDKs parse) or the "seed" dialect (the original description's seven-event sequence), and
OpenAI's error body.

The stream has `event:` lines; `response.completed` marks a complete stream (a truncation withholds it).
A mid-stream error is `event: error` with `{"type": "error", "code", "message", "param", "sequence_number"}`,
the shape of OpenAI's API reference for the `error` streaming event. The openai SDK yields it as a
`ResponseErrorEvent` (it does not raise); since no `response.completed` follows, the `stream()` helper's
`get_final_response()` raises, as it does against the real API.
"""

from __future__ import annotations

from typing import Any

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import Dialect, TextOutcome
from dotmock.server.apis.base import Api, ParsedRequest, Renderer, TextRenderer
from dotmock.server.events import Event, dumps, json_str, typed_event
from dotmock.server.payloads import Reply, estimate_tokens
from dotmock.server.validation import wrong_type


def responses_usage(reply: Reply, text: str) -> dict[str, Any]:
    output = estimate_tokens(text)
    return {
        "input_tokens": reply.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.prompt_tokens + output,
    }


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(reply: Reply, text: str | None, status: str) -> dict[str, Any]:
    """The assistant message output item; `text` None gives the empty item of `output_item.added`."""
    content = [] if text is None else [output_text_part(text)]
    return {"id": reply.item_id, "type": "message", "status": status, "role": "assistant", "content": content}


# finish_reason -> the `incomplete_details.reason` of a response that stopped short of a natural end
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def response_object(
    reply: Reply, status: str, text: str | None, finish_reason: str = "stop", error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `response` object; `text` None means no output yet (and no usage). A `completed` answer whose
    finish_reason is `length` (or `content_filter`) is `incomplete` with `incomplete_details`, as the API
    answers one cut by `max_output_tokens`; `error` makes it `failed`."""
    reason = INCOMPLETE_REASONS.get(finish_reason) if status == "completed" else None
    if reason is not None:
        status = "incomplete"
    if error is not None:
        status = "failed"
    item_status = "completed" if status == "completed" else "incomplete"
    return {
        "id": reply.response_id,
        "object": "response",
        "created_at": reply.created,
        "status": status,
        "model": reply.model,
        "output": [] if text is None else [message_item(reply, text, item_status)],
        "usage": None if text is None else responses_usage(reply, text),
        "error": error,
        "incomplete_details": None if reason is None else {"reason": reason},
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
    }


class ResponsesRenderer(TextRenderer):
    """The Responses event sequence the openai SDKs parse fully (see the wire-behaviour reference)."""

    delta_name = b"response.output_text.delta"

    def __init__(self, reply: Reply, finish_reason: str = "stop") -> None:
        super().__init__(reply, finish_reason)
        self.seq = 0
        ids = dumps({"item_id": reply.item_id, "output_index": 0, "content_index": 0})[1:-1]
        self._delta_head = b'{"type":"response.output_text.delta",' + ids

    def _event(self, event_type: str, fields: dict[str, Any]) -> Event:
        payload = {"type": event_type, "sequence_number": self.seq, **fields}
        self.seq += 1
        return typed_event(event_type, dumps(payload))

    def _text_event(self, event_type: str, fields: dict[str, Any]) -> Event:
        return self._event(event_type, {"item_id": self.reply.item_id, "output_index": 0, "content_index": 0, **fields})

    def opening(self) -> list[Event]:
        in_progress = response_object(self.reply, "in_progress", None)
        return [
            self._event("response.created", {"response": in_progress}),
            self._event("response.in_progress", {"response": in_progress}),
            self._event(
                "response.output_item.added", {"output_index": 0, "item": message_item(self.reply, None, "in_progress")}
            ),
            self._text_event("response.content_part.added", {"part": output_text_part("")}),
        ]

    def delta(self, text: str) -> Event:
        self.text_sent.append(text)
        payload = (
            self._delta_head
            + b',"sequence_number":'
            + str(self.seq).encode()
            + b',"delta":'
            + json_str(text)
            + b',"logprobs":[]}'
        )
        self.seq += 1
        return Event(payload, b"response.output_text.delta", "response.output_text.delta", typed=True)

    def closing(self) -> list[Event]:
        """The text's done events and the terminal event: `response.completed`, or `response.incomplete`
        when the answer stopped at its length (finish_reason `length`)."""
        text = "".join(self.text_sent)
        final = response_object(self.reply, "completed", text, self.finish_reason)
        item_status = "completed" if final["status"] == "completed" else "incomplete"
        return [
            self._text_event("response.output_text.done", {"text": text, "logprobs": []}),
            self._text_event("response.content_part.done", {"part": output_text_part(text)}),
            self._event(
                "response.output_item.done", {"output_index": 0, "item": message_item(self.reply, text, item_status)}
            ),
            self._event(f"response.{final['status']}", {"response": final}),
        ]

    def error_event(self, message: str, error_type: str, code: str | None) -> list[Event]:
        """The `error` event, then `response.failed` with the error in the response, as the API ends a
        response that fails mid-stream."""
        error = {"code": code or error_type, "message": message}
        text = "".join(self.text_sent)
        return [
            self._event("error", {**error, "param": None}),
            self._event("response.failed", {"response": response_object(self.reply, "failed", text, error=error)}),
        ]


class SeedResponsesRenderer(TextRenderer):
    """The seed's literal sequence: response.created, output_item.added, content_part.added,
    response.text.delta..., response.text.done, output_item.done, response.completed."""

    delta_name = b"response.text.delta"

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply)
        self._ids = {"response_id": reply.response_id, "output_index": 0}
        self._delta_head = (
            b'{"type":"response.text.delta",' + dumps({**self._ids, "content_index": 0})[1:-1] + b',"delta":'
        )

    def _event(self, event_type: str, fields: dict[str, Any]) -> Event:
        return typed_event(event_type, dumps({"type": event_type, **self._ids, **fields}))

    def _item(self, text: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "message", "role": "assistant"}
        if text is not None:
            item["content"] = [{"type": "text", "text": text}]
        return item

    def opening(self) -> list[Event]:
        created = {
            "id": self.reply.response_id,
            "object": "response",
            "created": self.reply.created,
            "model": self.reply.model,
            "status": "in_progress",
            "output": [],
        }
        return [
            Event(dumps(created), b"response.created", "response.created"),  # no "type" inside: the seed's shape
            self._event("response.output_item.added", {"item": self._item(None)}),
            self._event("response.content_part.added", {"content_index": 0, "part": {"type": "text", "text": ""}}),
        ]

    def delta(self, text: str) -> Event:
        self.text_sent.append(text)
        return Event(
            self._delta_head + json_str(text) + b"}", b"response.text.delta", "response.text.delta", typed=True
        )

    def closing(self) -> list[Event]:
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
            Event(dumps(completed), b"response.completed", "response.completed"),
        ]

    def error_event(self, message: str, error_type: str, code: str | None) -> Event:
        payload = {
            "type": "error",
            "response_id": self.reply.response_id,
            "code": code or error_type,
            "message": message,
            "param": None,
        }
        return typed_event("error", dumps(payload))


class Responses(Api):
    kind = APIS_BY_NAME["responses"]

    def check_body(self, body: dict[str, Any]) -> None:
        """`input`: a string, or an array of items (objects or strings)."""
        value = body.get("input")
        if value is not None and not isinstance(value, str | list):
            raise wrong_type("input", "a string or an array", value)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, dict | str):
                    raise wrong_type(f"input[{i}]", "an object", item)

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        return response_object(reply, "completed", outcome.text, outcome.finish_reason)

    def renderer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest, dialect: Dialect) -> Renderer:
        if (outcome.dialect or dialect) == "seed":
            return SeedResponsesRenderer(reply)
        return ResponsesRenderer(reply, outcome.finish_reason)


API = Responses()
