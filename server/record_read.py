"""Reading what an upstream answered, for `dotmock record`: SSE bytes -> timed events, and each API's stream
or JSON body -> the text, its chunks and gaps, how it ended (`dsl.recording.RecordedHttp`).

The inverse of the renderers in `server.apis`: a content event of each API is one chunk (Chat Completions
`choices[0].delta.content`, Responses `response.output_text.delta` (or the seed's `response.text.delta`),
Anthropic `content_block_delta` / `text_delta`); an answer these cannot express (tool calls, refusals, an
error event mid-stream) is marked unreadable, and the proxy still passes it on unchanged.
"""

from __future__ import annotations

import codecs
import json
import zlib
from dataclasses import dataclass
from typing import Any

from dotmock.dsl.catalogue import CHAT_COMPLETIONS_PATH, MESSAGES_PATH, RESPONSES_PATH
from dotmock.dsl.recording import RecordedChunk, RecordedEvent

# Anthropic stop reasons -> the finish reasons a fixture speaks (server.apis.messages maps them back).
_FINISH_OF_STOP = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls", "refusal": "content_filter"}


@dataclass(frozen=True, slots=True)
class SseEvent:
    name: str | None
    data: str
    t: float  # when the blank line ending it arrived


class Decoder:
    """The body as text, whatever `content-encoding` (gzip / deflate / identity) it came in."""

    def __init__(self, encoding: str | None) -> None:
        encoding = (encoding or "").strip().lower()
        self.inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in ("gzip", "x-gzip", "deflate") else None
        self.text = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, raw: bytes) -> str:
        data = self.inflate.decompress(raw) if self.inflate is not None else raw
        return self.text.decode(data)


class SseSplitter:
    """Complete SSE events out of text as it arrives, each stamped with its arrival time."""

    def __init__(self) -> None:
        self.pending = ""

    def feed(self, text: str, t: float) -> list[SseEvent]:
        self.pending += text.replace("\r\n", "\n").replace("\r", "\n")
        events = []
        while "\n\n" in self.pending:
            block, self.pending = self.pending.split("\n\n", 1)
            name, data = None, []
            for line in block.split("\n"):
                key, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if key == "event":
                    name = value
                elif key == "data":
                    data.append(value)
            if data or name:
                events.append(SseEvent(name, "\n".join(data), t))
        return events


@dataclass
class StreamReading:
    chunks: list[RecordedChunk]
    end_gap_s: float = 0.0
    completed: bool = False
    finish_reason: str = "stop"
    dialect: str | None = None
    unreadable: str | None = None


def _json(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _content(path: str, value: Any, reading: StreamReading) -> str | None:
    """The content text of one event, if it is a content event; notes the end, the finish reason and what
    cannot be written."""
    if not isinstance(value, dict):
        return None
    if path == CHAT_COMPLETIONS_PATH:
        if "error" in value:
            reading.unreadable = "an error event mid-stream"
        choices = value.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        delta = choice.get("delta") or {}
        if delta.get("tool_calls"):
            reading.unreadable = "tool calls"
        if isinstance(choice.get("finish_reason"), str):
            reading.finish_reason = choice["finish_reason"]
        content = delta.get("content")
        return content if isinstance(content, str) and content else None
    kind = value.get("type")
    if path == RESPONSES_PATH:
        if kind in ("response.output_text.delta", "response.text.delta"):
            reading.dialect = "seed" if kind == "response.text.delta" else "openai"
            delta = value.get("delta")
            return delta if isinstance(delta, str) and delta else None
        if kind == "response.completed":
            reading.completed = True
        elif kind in ("response.failed", "error", "response.incomplete"):
            reading.unreadable = f"a {kind} event"
        elif kind == "response.output_item.added" and (value.get("item") or {}).get("type") not in (None, "message"):
            reading.unreadable = f"a {(value.get('item') or {}).get('type')} output item"
        return None
    if path == MESSAGES_PATH:
        if kind == "content_block_delta":
            delta = value.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
                return str(delta["text"])
        elif kind == "content_block_start" and (value.get("content_block") or {}).get("type") != "text":
            reading.unreadable = f"a {(value.get('content_block') or {}).get('type')} content block"
        elif kind == "message_delta":
            stop = (value.get("delta") or {}).get("stop_reason")
            if isinstance(stop, str):
                reading.finish_reason = _FINISH_OF_STOP.get(stop, stop)
        elif kind == "message_stop":
            reading.completed = True
        elif kind == "error":
            reading.unreadable = "an error event mid-stream"
    return None


def read_stream(path: str, events: list[SseEvent], t0: float) -> StreamReading:
    """The chunks of a recorded stream with their gaps (the first one's from `t0`, when the request was sent),
    the gap from the last chunk to the event after it (the terminator's), and how the stream ended."""
    reading = StreamReading(chunks=[])
    last_t = t0
    last_content_index: int | None = None
    for i, event in enumerate(events):
        if path == CHAT_COMPLETIONS_PATH and event.data.strip() == "[DONE]":
            reading.completed = True
            continue
        text = _content(path, _json(event.data), reading)
        if text is None:
            continue
        reading.chunks.append(RecordedChunk(text, max(0.0, event.t - last_t)))
        last_t = event.t
        last_content_index = i
    if last_content_index is not None and last_content_index + 1 < len(events):
        reading.end_gap_s = max(0.0, events[last_content_index + 1].t - last_t)
    return reading


def read_json(path: str, value: Any) -> tuple[str | None, str, str | None]:
    """(text, finish reason, why it cannot be written) of a non-streamed answer."""
    if not isinstance(value, dict):
        return None, "stop", "the answer is not a JSON object"
    if path == CHAT_COMPLETIONS_PATH:
        choice = (value.get("choices") or [{}])[0]
        message = choice.get("message") or {} if isinstance(choice, dict) else {}
        if message.get("tool_calls"):
            return None, "stop", "tool calls"
        content = message.get("content")
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        return (content if isinstance(content, str) else ""), reason if isinstance(reason, str) else "stop", None
    if path == RESPONSES_PATH:
        texts = []
        for item in value.get("output") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") != "message":
                return None, "stop", f"a {item.get('type')} output item"
            texts += [
                p["text"] for p in item.get("content") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)
            ]
        return "".join(texts), "stop", None
    if path == MESSAGES_PATH:
        texts = []
        for block in value.get("content") or []:
            if isinstance(block, dict) and block.get("type") != "text":
                return None, "stop", f"a {block.get('type')} content block"
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                texts.append(block["text"])
        stop = value.get("stop_reason")
        return "".join(texts), _FINISH_OF_STOP.get(stop, stop) if isinstance(stop, str) else "stop", None
    return None, "stop", "dotmock does not answer this endpoint"


def ws_request(text: str) -> Any:
    """The request a client WebSocket frame carries (an envelope's `data`, a `response.create` without its
    type), or None for a frame that is not a request."""
    value = _json(text)
    if not isinstance(value, dict):
        return None
    if value.get("type") == "message" and isinstance(value.get("data"), dict):
        return value["data"]
    if value.get("type") == "response.create":
        return {k: v for k, v in value.items() if k != "type"}
    return None


def ws_event(text: str, delay_s: float, envelope: bool) -> RecordedEvent | None:
    """One upstream frame as a fixture event, so the replay (`server.ws_protocol.event_frame`) sends the same
    JSON: an envelope's `type` and `data`; a bare event's `type` and its other fields."""
    value = _json(text)
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None
    if envelope and set(value) <= {"type", "data"}:
        return RecordedEvent(value["type"], value.get("data"), delay_s)
    rest = {k: v for k, v in value.items() if k != "type"}
    if not rest:
        return RecordedEvent(value["type"], None, delay_s)
    if set(rest) == {"data"} and not isinstance(rest["data"], dict):
        return RecordedEvent(value["type"], rest["data"], delay_s)
    if envelope:
        return None  # an envelope with fields beside data: not replayable as it was
    return RecordedEvent(value["type"], rest, delay_s)
