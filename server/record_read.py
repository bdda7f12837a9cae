"""Reading what an upstream answered, for `dotmock record`: SSE bytes -> timed events, and each API's stream
or JSON body -> the text, its chunks and gaps, how it ended (`dsl.recording.RecordedHttp`).

The inverse of the renderers in `server.apis`: a content event of each API is one chunk (Chat Completions
`choices[0].delta.content`, Responses `response.output_text.delta` (or the seed's `response.text.delta`),
Anthropic `content_block_delta` / `text_delta`, each text part of a Gemini `GenerateContentResponse`, SSE or
an element of its streamed JSON array); a tool call's argument pieces (`delta.tool_calls`,
`response.function_call_arguments.delta`, `input_json_delta`, a Gemini `functionCall` part whole) and
refusal pieces are chunks too, after the text's, and reasoning pieces (`response.reasoning_summary_text.delta`,
`thinking_delta`, a Gemini thought part) before it; an error event mid-stream ends the reading. What a fixture
cannot say but the rest of the answer survives (a signature, another kind of output item, calls interleaved)
is noted as lost; what breaks the answer's form (text after a call) marks it unreadable. The proxy passes
everything on unchanged either way.
"""

from __future__ import annotations

import codecs
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from dotmock.dsl.catalogue import CHAT_COMPLETIONS_PATH, MESSAGES_PATH, RESPONSES_PATH
from dotmock.dsl.recording import RecordedCall, RecordedChunk, RecordedError, RecordedEvent, is_gemini

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


class JsonArraySplitter:
    """The elements of a streamed JSON array (Gemini's `streamGenerateContent` without `alt=sse`: `[{...}`,
    `,\r\n{...}`, `]`) as they complete, each stamped with its arrival time, as `SseEvent`s without a name."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, text: str, t: float) -> list[SseEvent]:
        events = []
        for ch in text:
            if self.depth == 0:
                if ch == "{":
                    self.depth, self.pending = 1, ["{"]
                continue  # `[`, `,`, whitespace, `]` between the elements
            self.pending.append(ch)
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.in_string = False
            elif ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth -= 1
                if self.depth == 0:
                    events.append(SseEvent(None, "".join(self.pending), t))
        return events


def is_gemini_stream(path: str) -> bool:
    """A Gemini `:streamGenerateContent` path: streamed, as SSE (`alt=sse`) or as a JSON array."""
    return is_gemini(path) and path.endswith(":streamGenerateContent")


@dataclass
class StreamReading:
    chunks: list[RecordedChunk]
    end_gap_s: float = 0.0
    completed: bool = False
    finish_reason: str = "stop"
    dialect: str | None = None
    unreadable: str | None = None
    calls: list[RecordedCall] = field(default_factory=list)
    refusal: bool = False  # the text chunks are a refusal's
    error: RecordedError | None = None  # an error event ended the stream, after the chunks
    reasoning: str = ""  # the reasoning's pieces are the first chunks
    lost: list[str] = field(default_factory=list)  # what the replay will not send as it came
    kinds: list[tuple[str, int]] = field(default_factory=list)  # each chunk's kind and call
    _items: dict[str, int] = field(default_factory=dict)  # Responses: an item id -> its call
    _summaries: set[int] = field(default_factory=set)  # Responses: the summary parts seen

    def call(self, call_id: str, name: str) -> None:
        self.calls.append(RecordedCall(call_id, name, ""))

    def unread(self, why: str) -> None:
        self.unreadable = self.unreadable or why

    def lose(self, what: str) -> None:
        if what not in self.lost:
            self.lost.append(what)


# What one event carries: ("text" | "refusal", text), ("call", index of the call, its arguments' piece), or None
# (Gemini: a list of them, one per part).
_Piece = tuple[str, int, str] | None
# What a fixture cannot say, and the replay therefore does not send (written as a comment on the fixture).
_LOST_ITEM = "a {} output item (the replay sends the other items; their output_index closes up)"
_LOST_HIDDEN = "a reasoning item without a summary (hidden reasoning: the replay sends no reasoning item)"
_LOST_SIGNATURE = "the thinking block's signature (the replay signs it dotmock-...)"
# Gemini finish reasons -> the finish reasons a fixture speaks (server.apis.gemini maps them back).
_FINISH_OF_GEMINI = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}


def _json(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _chat_event(value: dict[str, Any], reading: StreamReading) -> _Piece:
    if isinstance(value.get("error"), dict):
        error = value["error"]
        reading.error = RecordedError(_str(error.get("message")), _str(error.get("type")), _str(error.get("code")))
        return None
    choices = value.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    delta = choice.get("delta") or {}
    if isinstance(choice.get("finish_reason"), str):
        reading.finish_reason = choice["finish_reason"]
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        index = call.get("index", 0)
        if index == len(reading.calls):  # a new call opens
            reading.call(_str(call.get("id")) or f"call_{index}", _str(function.get("name")) or "")
        piece = _str(function.get("arguments"))
        if piece:
            return ("call", index, piece)
    if _str(delta.get("refusal")):
        reading.refusal = True
        return ("refusal", 0, delta["refusal"])
    content = _str(delta.get("content"))
    return ("text", 0, content) if content else None


def _responses_event(value: dict[str, Any], reading: StreamReading) -> _Piece:
    kind = value.get("type")
    if kind in ("response.output_text.delta", "response.text.delta"):
        reading.dialect = "seed" if kind == "response.text.delta" else "openai"
        delta = _str(value.get("delta"))
        return ("text", 0, delta) if delta else None
    if kind == "response.refusal.delta":
        reading.refusal = True
        delta = _str(value.get("delta"))
        return ("refusal", 0, delta) if delta else None
    if kind == "response.output_item.added":
        item = value.get("item") or {}
        if item.get("type") == "function_call":
            reading._items[str(item.get("id"))] = len(reading.calls)
            reading.call(_str(item.get("call_id")) or f"call_{len(reading.calls)}", _str(item.get("name")) or "")
        elif item.get("type") not in (None, "message", "reasoning"):
            reading.lose(_LOST_ITEM.format(item.get("type")))
    elif kind == "response.output_item.done":
        item = value.get("item") or {}
        if item.get("type") == "reasoning":
            if not item.get("summary"):
                reading.lose(_LOST_HIDDEN)
            if item.get("encrypted_content"):
                reading.lose("the reasoning item's encrypted_content")
    elif kind == "response.reasoning_summary_text.delta":
        reading._summaries.add(value.get("summary_index", 0))
        if len(reading._summaries) == 2:
            reading.lose("the reasoning summary's parts (the replay sends one part, their texts joined)")
        delta = _str(value.get("delta"))
        return ("reasoning", 0, delta) if delta else None
    elif kind == "response.reasoning_text.delta":
        reading.unread("reasoning text (not a summary)")
    elif kind == "response.function_call_arguments.delta":
        index = reading._items.get(str(value.get("item_id")), len(reading.calls) - 1)
        delta = _str(value.get("delta"))
        return ("call", index, delta) if delta else None
    elif kind == "response.completed":
        reading.completed = True
    elif kind == "error":
        reading.error = reading.error or RecordedError(_str(value.get("message")), None, _str(value.get("code")))
    elif kind == "response.incomplete":
        reading.finish_reason = "length"
        reading.completed = True
    elif kind == "response.failed" and reading.error is None:
        reading.unread("a response.failed event")
    return None


def _messages_event(value: dict[str, Any], reading: StreamReading) -> _Piece:
    kind = value.get("type")
    if kind == "content_block_delta":
        delta = value.get("delta") or {}
        if delta.get("type") == "text_delta" and _str(delta.get("text")):
            return ("text", 0, delta["text"])
        if delta.get("type") == "input_json_delta" and _str(delta.get("partial_json")):
            return ("call", len(reading.calls) - 1, delta["partial_json"])
        if delta.get("type") == "thinking_delta" and _str(delta.get("thinking")):
            return ("reasoning", 0, delta["thinking"])
        if delta.get("type") == "signature_delta":
            reading.lose(_LOST_SIGNATURE)
    elif kind == "content_block_start":
        block = value.get("content_block") or {}
        if block.get("type") == "tool_use":
            reading.call(_str(block.get("id")) or f"toolu_{len(reading.calls)}", _str(block.get("name")) or "")
        elif block.get("type") not in ("text", "thinking"):
            reading.unread(f"a {block.get('type')} content block")
    elif kind == "message_delta":
        stop = (value.get("delta") or {}).get("stop_reason")
        if stop == "refusal":
            reading.refusal = True
        elif isinstance(stop, str):
            reading.finish_reason = _FINISH_OF_STOP.get(stop, stop)
    elif kind == "message_stop":
        reading.completed = True
    elif kind == "error":
        error = value.get("error") or {}
        reading.error = RecordedError(_str(error.get("message")), _str(error.get("type")), None)
    return None


def _gemini_finish(reason: str) -> str:
    return _FINISH_OF_GEMINI.get(reason, reason.lower())


def _gemini_parts(value: dict[str, Any], reading: StreamReading | JsonReading) -> list[tuple[str, int, str]]:
    # (a thought part is the reasoning's piece)
    """The pieces of one `GenerateContentResponse` (each part: a text, or a whole `functionCall`, its `args`
    as their JSON text), its finishReason read."""
    candidates = value.get("candidates") or [{}]
    candidate = candidates[0] if isinstance(candidates, list) and isinstance(candidates[0], dict) else {}
    pieces: list[tuple[str, int, str]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if not isinstance(part, dict):
            continue
        call = part.get("functionCall")
        if isinstance(call, dict):
            reading.calls.append(RecordedCall(_str(call.get("id")) or "", _str(call.get("name")) or "", ""))
            arguments = json.dumps(call.get("args") if call.get("args") is not None else {}, ensure_ascii=False)
            pieces.append(("call", len(reading.calls) - 1, arguments))
        elif part.get("thought") is True:
            if _str(part.get("text")):
                pieces.append(("reasoning", 0, part["text"]))
        elif _str(part.get("text")) is not None:
            if part["text"]:
                pieces.append(("text", 0, part["text"]))
        else:
            other = next((k for k in part if k not in ("thoughtSignature",)), "empty")
            reading.unread(f"a {other} part")
        if part.get("thoughtSignature"):
            reading.lose("the parts' thoughtSignature")
    reason = candidate.get("finishReason")
    if isinstance(reason, str):
        reading.finish_reason = _gemini_finish(reason)
        if isinstance(reading, StreamReading):
            reading.completed = True
    return pieces


def _gemini_event(value: dict[str, Any], reading: StreamReading) -> list[tuple[str, int, str]]:
    if isinstance(value.get("error"), dict):
        error = value["error"]
        reading.error = RecordedError(_str(error.get("message")), _str(error.get("status")), None)
        return []
    pieces = _gemini_parts(value, reading)
    if len(pieces) > 1:
        reading.lose("chunks of several parts (the replay sends one part a chunk, the later ones without a wait)")
    if pieces and reading.completed:
        reading.lose("the finishReason on the last content chunk (the replay sends it in a chunk of its own)")
    return pieces


_READERS = {CHAT_COMPLETIONS_PATH: _chat_event, RESPONSES_PATH: _responses_event, MESSAGES_PATH: _messages_event}


def read_stream(path: str, events: list[SseEvent], t0: float) -> StreamReading:
    """The pieces of a recorded stream with their gaps (the first one's from `t0`, when the request was sent):
    the text's (or refusal's), then each tool call's arguments; the gap from the last piece to the event after
    it (the terminator's); how the stream ended (its terminator, an error event)."""
    reading = StreamReading(chunks=[])
    gemini = is_gemini(path)
    reader = _READERS.get(path)
    if reader is None and not gemini:
        reading.unread("dotmock does not answer this endpoint")
        return reading
    last_t = t0
    last_index: int | None = None
    for i, event in enumerate(events):
        if path == CHAT_COMPLETIONS_PATH and event.data.strip() == "[DONE]":
            reading.completed = True
            continue
        value = _json(event.data)
        if not isinstance(value, dict):
            continue
        if gemini:
            pieces = _gemini_event(value, reading)
        else:
            assert reader is not None
            one = reader(value, reading)
            pieces = [one] if one is not None else []
        for kind, index, text in pieces:  # a Gemini chunk's second part came with its first: no wait
            # (a Gemini chunk's calls are opened as its parts are read, before its text is taken)
            after_call = any(k == "call" for k, _ in reading.kinds) if gemini else bool(reading.calls)
            if reading.error is not None or (kind != "call" and after_call):
                reading.unread("text after a tool call or an error event")
            if kind == "reasoning":
                if any(k != "reasoning" for k, _ in reading.kinds):
                    reading.unread("reasoning after the text")
                reading.reasoning += text
            if kind == "call":
                if not 0 <= index < len(reading.calls):
                    reading.unread("arguments of a tool call that was never opened")
                    continue
                call = reading.calls[index]
                reading.calls[index] = RecordedCall(call.id, call.name, call.arguments + text)
            reading.chunks.append(RecordedChunk(text, max(0.0, event.t - last_t)))
            reading.kinds.append((kind, index))
            last_t = event.t
            last_index = i
    if last_index is not None and last_index + 1 < len(events):
        reading.end_gap_s = max(0.0, events[last_index + 1].t - last_t)
    _one_call_at_a_time(reading)
    return reading


def _one_call_at_a_time(reading: StreamReading) -> None:
    """Calls whose argument pieces came interleaved (call 1's piece, call 0's, ...) cannot be written as they
    came: a cadence spells each call's arguments in turn. Their pieces are put in call order, each with its
    own recorded wait (so the stream's pieces and length are the same), and the loss noted."""
    calls = [(i, k) for i, k in enumerate(reading.kinds) if k[0] == "call"]
    order = [k[1] for _, k in calls]
    if order == sorted(order):
        return
    reading.lose("the calls' arguments came interleaved; the replay sends each call's pieces in turn")
    ranked = sorted(calls, key=lambda item: item[1][1])  # stable: each call's pieces keep their order
    slots = [i for i, _ in calls]
    chunks = list(reading.chunks)
    moved = [reading.chunks[i] for i, _ in ranked]
    for slot, chunk, (_, kind) in zip(slots, moved, ranked, strict=True):
        chunks[slot] = chunk
        reading.kinds[slot] = kind
    reading.chunks = chunks


@dataclass
class JsonReading:
    text: str = ""
    finish_reason: str = "stop"
    unreadable: str | None = None
    calls: list[RecordedCall] = field(default_factory=list)
    refusal: bool = False
    reasoning: str = ""
    lost: list[str] = field(default_factory=list)

    def unread(self, why: str) -> None:
        self.unreadable = self.unreadable or why

    def lose(self, what: str) -> None:
        if what not in self.lost:
            self.lost.append(what)


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value if value is not None else {}, ensure_ascii=False)


def read_json(path: str, value: Any) -> JsonReading:
    """The text (or refusal), tool calls and finish reason of a non-streamed answer, or why it cannot be
    written."""
    out = JsonReading()
    if not isinstance(value, dict):
        out.unreadable = "the answer is not a JSON object"
        return out
    if path == CHAT_COMPLETIONS_PATH:
        choice = (value.get("choices") or [{}])[0]
        choice = choice if isinstance(choice, dict) else {}
        message = choice.get("message") or {}
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                out.calls.append(
                    RecordedCall(str(call.get("id")), str(function.get("name")), _arguments(function.get("arguments")))
                )
        if _str(message.get("refusal")):
            out.text, out.refusal = message["refusal"], True
        else:
            out.text = _str(message.get("content")) or ""
        out.finish_reason = _str(choice.get("finish_reason")) or "stop"
        return out
    if path == RESPONSES_PATH:
        texts = []
        for item in value.get("output") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                out.calls.append(
                    RecordedCall(str(item.get("call_id")), str(item.get("name")), _arguments(item.get("arguments")))
                )
                continue
            if item.get("type") == "reasoning":
                summary = [p.get("text") for p in item.get("summary") or [] if isinstance(p, dict)]
                out.reasoning += "".join(t for t in summary if isinstance(t, str))
                if not summary:
                    out.lose(_LOST_HIDDEN)
                if len(summary) > 1:
                    out.lose("the reasoning summary's parts (the replay sends one part, their texts joined)")
                if item.get("encrypted_content"):
                    out.lose("the reasoning item's encrypted_content")
                continue
            if item.get("type") != "message":
                out.lose(_LOST_ITEM.format(item.get("type")))
                continue
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "refusal" and _str(part.get("refusal")):
                    out.refusal = True
                    texts.append(part["refusal"])
                elif isinstance(part, dict) and _str(part.get("text")) is not None:
                    texts.append(part["text"])
        out.text = "".join(texts)
        if value.get("status") == "incomplete":
            out.finish_reason = "length"
        return out
    if path == MESSAGES_PATH:
        texts = []
        for block in value.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                out.calls.append(
                    RecordedCall(str(block.get("id")), str(block.get("name")), _arguments(block.get("input")))
                )
            elif block.get("type") == "thinking" and _str(block.get("thinking")) is not None:
                out.reasoning += block["thinking"]
                if block.get("signature"):
                    out.lose(_LOST_SIGNATURE)
            elif block.get("type") != "text":
                out.unreadable = f"a {block.get('type')} content block"
                return out
            elif _str(block.get("text")) is not None:
                texts.append(block["text"])
        out.text = "".join(texts)
        stop = value.get("stop_reason")
        if stop == "refusal":
            out.refusal = True
        elif isinstance(stop, str):
            out.finish_reason = _FINISH_OF_STOP.get(stop, stop)
        return out
    if is_gemini(path):
        if isinstance(value.get("error"), dict):
            out.unreadable = "an error object in a 200 answer"
            return out
        pieces = _gemini_parts(value, out)
        out.text = "".join(text for kind, _, text in pieces if kind == "text")
        out.reasoning = "".join(text for kind, _, text in pieces if kind == "reasoning")
        kinds = [kind for kind, _, _ in pieces]
        if "call" in kinds and "text" in kinds[kinds.index("call") :]:
            out.unread("text after a tool call")
        for kind, index, text in pieces:
            if kind == "call":
                call = out.calls[index]
                out.calls[index] = RecordedCall(call.id, call.name, text)
        return out
    out.unreadable = "dotmock does not answer this endpoint"
    return out


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
