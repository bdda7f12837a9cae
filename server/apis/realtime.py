"""OpenAI Realtime, text modality (`/v1/realtime?model=...`, WebSocket): the session, conversation items,
error events and the events of one response, in the GA protocol or the beta one.

The connection (`server.realtime_ws`) sends `session.created` first; `session.update` is answered with
`session.updated`, `conversation.item.create` with the item's events, `response.create` with a response:

    response.created, response.output_item.added, <item added>, response.content_part.added,
    <text delta>..., <text done>, response.content_part.done, response.output_item.done, <item done>,
    response.done

`response.done` marks a complete response: a truncation withholds it. The protocols differ in names:

| | GA (`client.realtime.connect()`) | beta (`OpenAI-Beta: realtime=v1`) |
| --- | --- | --- |
| text | `response.output_text.delta` / `.done` | `response.text.delta` / `.done` |
| an item added | `conversation.item.added`, then `conversation.item.done` | `conversation.item.created` |
| assistant content | `{"type": "output_text", "text"}` | `{"type": "text", "text"}` |
| session | `{"type": "realtime", "output_modalities": [...]}` | `{"object": "realtime.session", "modalities"}` |

Errors are one event, `{"type": "error", "event_id", "error": {"type", "code", "message", "param",
"event_id"}}` (`error.event_id`: the client event that caused it); the connection stays open.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from dotmock.server.events import Event, cut_in_half, raw_event, typed_event
from dotmock.server.payloads import estimate_tokens, new_id

Protocol = Literal["ga", "beta"]
TERMINATOR = "response.done"


def protocol_of(headers: dict[str, str]) -> Protocol:
    """The protocol a handshake asks for (lower-cased headers): beta when `OpenAI-Beta` says
    `realtime=v1`, else GA."""
    return "beta" if "realtime=v1" in headers.get("openai-beta", "").replace(" ", "") else "ga"


@dataclass(frozen=True, slots=True)
class Names:
    text_delta: str
    text_done: str
    item_added: str
    item_done: str | None
    content_type: str


NAMES: dict[Protocol, Names] = {
    "ga": Names(
        "response.output_text.delta",
        "response.output_text.done",
        "conversation.item.added",
        "conversation.item.done",
        "output_text",
    ),
    "beta": Names("response.text.delta", "response.text.done", "conversation.item.created", None, "text"),
}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class Session:
    """One connection's state: the session object the client configures and the conversation so far."""

    model: str
    protocol: Protocol
    id: str = field(default_factory=lambda: new_id("sess_mock_"))
    config: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    _events: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _items: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def names(self) -> Names:
        return NAMES[self.protocol]

    def event_id(self) -> str:
        return f"event_mock_{next(self._events)}"

    def item_id(self) -> str:
        return f"item_mock_{next(self._items)}"

    def session_object(self) -> dict[str, Any]:
        if self.protocol == "beta":
            base: dict[str, Any] = {
                "id": self.id,
                "object": "realtime.session",
                "model": self.model,
                "modalities": ["text", "audio"],
                "instructions": "",
                "voice": "alloy",
                "tools": [],
                "tool_choice": "auto",
                "temperature": 0.8,
                "max_response_output_tokens": "inf",
            }
        else:
            base = {
                "type": "realtime",
                "object": "realtime.session",
                "id": self.id,
                "model": self.model,
                "output_modalities": ["audio"],
                "instructions": "",
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": "inf",
            }
        return {**base, **self.config}

    def event(self, event_type: str, **fields: Any) -> dict[str, Any]:
        return {"type": event_type, "event_id": self.event_id(), **fields}

    def created(self) -> dict[str, Any]:
        return self.event("session.created", session=self.session_object())

    def update(self, session: dict[str, Any]) -> dict[str, Any]:
        """`session.update`: merge the client's fields (`model` and `id` stay the server's)."""
        self.config.update({k: v for k, v in session.items() if k not in ("id", "object", "model")})
        return self.event("session.updated", session=self.session_object())

    def add_item(self, item: dict[str, Any], previous: str | None = None) -> list[dict[str, Any]]:
        """`conversation.item.create`: the item joins the conversation (an id given if it has none)."""
        item = {"id": self.item_id(), "object": "realtime.item", "status": "completed", **item}
        previous_id = previous if previous is not None else (self.items[-1]["id"] if self.items else None)
        self.items.append(item)
        added = self.event(self.names.item_added, previous_item_id=previous_id, item=item)
        if self.names.item_done is None:
            return [added]
        return [added, self.event(self.names.item_done, previous_item_id=previous_id, item=item)]

    def request(self, response: dict[str, Any]) -> dict[str, Any]:
        """What a `response.create` asks, as fixtures match it: the model, the instructions, and the
        conversation's items as `input` (a response with `conversation: "none"` sees only its own `input`)."""
        own = response.get("input")
        items = list(own) if isinstance(own, list) else []
        if response.get("conversation") != "none":
            items = [*self.items, *items]
        instructions = response.get("instructions", self.config.get("instructions"))
        return {"model": self.model, "instructions": instructions, "input": items}

    def error(
        self,
        message: str,
        *,
        code: str | None,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        cause: str | None = None,
    ) -> dict[str, Any]:
        error = {"type": error_type, "code": code, "message": message, "param": param, "event_id": cause}
        return self.event("error", error=error)


def usage(input_items: list[Any], text: str) -> dict[str, Any]:
    input_tokens = estimate_tokens(dumps(input_items))
    output_tokens = estimate_tokens(text)
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {"cached_tokens": 0, "text_tokens": input_tokens, "audio_tokens": 0},
        "output_token_details": {"text_tokens": output_tokens, "audio_tokens": 0},
    }


def wire_event(payload: dict[str, Any]) -> Event:
    """One event for the stream engine; the WebSocket encoder sends its JSON bare (it holds its `type`)."""
    kind: str = payload["type"]
    return typed_event(kind, dumps(payload).encode(), named=False)


class RealtimeRenderer:
    """The events of one response (the `server.apis.base.Renderer` protocol): `opening()` up to the content part,
    `delta()` per text chunk, `closing()` to `response.done`; `error_event()` and `malformed()` for faults."""

    def __init__(self, session: Session, request: dict[str, Any], finish_reason: str) -> None:
        self.session = session
        self.request = request
        self.finish_reason = finish_reason
        self.response_id = new_id("resp_mock_")
        self.item_id = session.item_id()
        self.text_sent: list[str] = []
        self._ids = {"response_id": self.response_id, "item_id": self.item_id, "output_index": 0}

    def _item(self, status: str, text: str | None) -> dict[str, Any]:
        content = [] if text is None else [{"type": self.session.names.content_type, "text": text}]
        return {
            "id": self.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _response(self, status: str, output: list[dict[str, Any]], text: str | None = None) -> dict[str, Any]:
        session = self.session
        modalities = "modalities" if session.protocol == "beta" else "output_modalities"
        response: dict[str, Any] = {
            "object": "realtime.response",
            "id": self.response_id,
            "status": status,
            "status_details": None,
            "output": output,
            "conversation_id": "conv_mock_" + session.id.removeprefix("sess_mock_"),
            modalities: ["text"],
            "usage": None if text is None else usage(self.request.get("input", []), text),
            "metadata": None,
        }
        if status == "incomplete":
            response["status_details"] = {"type": "incomplete", "reason": "max_output_tokens"}
        return response

    def _part(self, text: str) -> dict[str, Any]:
        return {"type": "text", "text": text}

    def opening(self) -> list[Event]:
        s = self.session
        item = self._item("in_progress", None)
        previous = s.items[-1]["id"] if s.items else None
        events = [
            s.event("response.created", response=self._response("in_progress", [])),
            s.event("response.output_item.added", response_id=self.response_id, output_index=0, item=item),
            s.event(s.names.item_added, previous_item_id=previous, item=item),
            s.event("response.content_part.added", **self._ids, content_index=0, part=self._part("")),
        ]
        return [wire_event(e) for e in events]

    def delta(self, text: str) -> Event:
        self.text_sent.append(text)
        return wire_event(self.session.event(self.session.names.text_delta, **self._ids, content_index=0, delta=text))

    def closing(self) -> list[Event]:
        s = self.session
        text = "".join(self.text_sent)
        status = "incomplete" if self.finish_reason == "length" else "completed"
        item = self._item(status, text)
        events = [
            s.event(s.names.text_done, **self._ids, content_index=0, text=text),
            s.event("response.content_part.done", **self._ids, content_index=0, part=self._part(text)),
            s.event("response.output_item.done", response_id=self.response_id, output_index=0, item=item),
        ]
        if s.names.item_done is not None:
            events.append(s.event(s.names.item_done, previous_item_id=None, item=item))
        events.append(s.event("response.done", response=self._response(status, [item], text)))
        return [wire_event(e) for e in events]

    def error_event(self, message: str, error_type: str, code: str | None) -> Event:
        return wire_event(self.session.error(message, code=code, error_type=error_type))

    def malformed(self, data: str | None) -> Event:
        if data is not None:
            return raw_event(data)
        event = self.session.event(self.session.names.text_delta, **self._ids, content_index=0, delta="...")
        return cut_in_half(wire_event(event))

    def answered_items(self) -> list[dict[str, Any]]:
        """The assistant's item as the conversation keeps it after the response (complete or not); none when
        no text went out."""
        if not self.text_sent:
            return []
        return [self._item("completed", "".join(self.text_sent))]
