"""A streamed answer as a sequence of events, and the encoders that put events on a wire.

An API module (`server.apis.*`) renders an answer as `Event`s: the JSON payload of each event, the name of
its SSE `event:` line (None for data-only streams), and the type a WebSocket frame gives it. The stream
engine (`server.streaming`) paces and faults events without knowing any wire format; an encoder turns them
into bytes or frames:

- `encode_sse`: Server-Sent Events, `event: NAME` lines where the event has a name (Responses, Messages),
  `data:` lines only otherwise (Chat Completions, Gemini's `?alt=sse`);
- `JsonArrayEncoder`: one JSON array written element by element (Gemini's default stream);
- `ws_frame`: one WebSocket text frame per event, bare (`{"type": ..., ...}`) or in the seed's envelope
  (`{"type": ..., "data": ...}`).

A malformed event (`raw`) carries text that need not be JSON; every encoder sends it verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Any, Literal

WsForm = Literal["envelope", "response.create", "realtime"]  # realtime: bare events (server.realtime_ws)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, non-ASCII kept: every payload is written this way (the WebSocket encoder relies
    on it to wrap payloads without parsing them)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_str(text: str) -> bytes:
    """A JSON string literal: the same bytes as `dumps(text)`, without `json.dumps`' per-call setup (this
    runs once per content chunk)."""
    return encode_basestring(text).encode()


class Event:
    """One event of a stream. `data` is its JSON payload (compact, as `dumps` writes it) or, when `raw`,
    text sent verbatim. `name` is the SSE `event:` line's name, None for a data-only event. `type` is the
    event's type for a WebSocket frame; `typed` says the payload already holds it as its `"type"` field.
    `done` marks the `[DONE]` sentinel of Chat Completions streams."""

    __slots__ = ("data", "done", "name", "raw", "type", "typed")

    def __init__(
        self,
        data: bytes,
        name: bytes | None = None,
        type: str | None = None,
        *,
        typed: bool = False,
        raw: bool = False,
        done: bool = False,
    ) -> None:
        self.data = data
        self.name = name
        self.type = type
        self.typed = typed
        self.raw = raw
        self.done = done

    def __repr__(self) -> str:
        return f"Event({self.data!r}, name={self.name!r}, type={self.type!r})"


def typed_event(event_type: str, payload: bytes, *, named: bool = True) -> Event:
    """An event whose payload holds its own `"type"` (Responses, Messages), with an `event:` line if named."""
    return Event(payload, event_type.encode() if named else None, event_type, typed=True)


DONE = Event(b"[DONE]", None, "done", done=True)


def raw_event(text: str, name: bytes | None = None) -> Event:
    """A malformed event: `text` verbatim as its data (line breaks normalised to `\\n`)."""
    return Event(text.replace("\r\n", "\n").replace("\r", "\n").encode(), name, None, raw=True)


# ---------------------------------------------------------------------------------------------- SSE


def _sse_prefix(name: bytes | None) -> bytes:
    return b"data: " if name is None else b"event: " + name + b"\ndata: "


def encode_sse_event(event: Event) -> bytes:
    if event.raw and b"\n" in event.data:
        lines = event.data.split(b"\n")
        head = b"" if event.name is None else b"event: " + event.name + b"\n"
        return head + b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    if event.name is None:
        return b"data: " + event.data + b"\n\n"
    return b"event: " + event.name + b"\ndata: " + event.data + b"\n\n"


def encode_sse(events: Sequence[Event]) -> bytes:
    """Events as SSE bytes, each a complete frame ending with a blank line."""
    return b"".join([encode_sse_event(e) for e in events])


def cut_in_half(event: Event) -> Event:
    """A malformed copy of `event`: its SSE frame cut in half (at least one byte of data), so a parser meets
    a JSON text that stops mid-way. The same text goes out on every wire."""
    prefix = len(_sse_prefix(event.name))
    keep = max(1, (prefix + len(event.data)) // 2) - prefix
    return Event(event.data[: max(1, keep)], event.name, None, raw=True)


# ---------------------------------------------------------------------------------------------- JSON array


class JsonArrayEncoder:
    """Events as the elements of one JSON array, sent as they come: `[{...}`, then `,\\r\\n{...}` per further
    event, and `]` at the close. A stream cut short never writes its `]`."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False

    def encode(self, events: Sequence[Event]) -> bytes:
        parts = []
        for event in events:
            parts.append(b",\r\n" if self.started else b"[")
            self.started = True
            parts.append(event.data)
        return b"".join(parts)

    def close(self) -> bytes:
        return b"]" if self.started else b"[]"


# ---------------------------------------------------------------------------------------------- WebSocket


def ws_frame(event: Event, form: WsForm) -> tuple[str, str | None]:
    """One event as a WebSocket text frame, and its type (None for a malformed one). Bare events carry their
    type inside; envelopes wrap the payload as `{"type", "data"}`; `[DONE]` becomes `{"type": "done", "data":
    null}`; a malformed event's text goes out verbatim so the client meets the same broken text as over SSE."""
    if event.done:
        return '{"type":"done","data":null}', "done"
    text = event.data.decode("utf-8", errors="replace")
    if event.raw:
        return _raw_frame(text, event.name, form)
    kind = event.type or "message"
    if form == "envelope":
        return '{"type":' + encode_basestring(kind) + ',"data":' + text + "}", kind
    if event.typed:
        return text, kind
    return '{"type":' + encode_basestring(kind) + "," + text[1:], kind


def _raw_frame(text: str, name: bytes | None, form: WsForm) -> tuple[str, str | None]:
    """A malformed event's text as a frame: verbatim unless it happens to be JSON, which is framed as any
    event would be."""
    try:
        value = json.loads(text)
    except ValueError:
        return text, None
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(kind, str):
        if name:
            kind = name.decode()
        elif isinstance(value, dict) and "error" in value:
            kind = "error"
        elif isinstance(value, dict) and isinstance(value.get("object"), str):
            kind = value["object"]
        else:
            kind = "message"
        if form != "envelope" and isinstance(value, dict):
            return dumps({"type": kind, **value}).decode(), kind
    if form == "envelope":
        return dumps({"type": kind, "data": value}).decode(), kind
    return text, kind
