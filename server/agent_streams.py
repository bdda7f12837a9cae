"""Streamed agent answers: tool calls, refusals and reasoning as each API streams them.

An agent answer is a sequence of parts (reasoning, text or refusal, then each tool call), each cut into
`chunkSize` pieces; the stream engine (`server.streaming`) paces and faults the pieces like any text's
chunks, so every fault can land inside a call's arguments (`after N chunks` counts them all). A renderer
here extends its API's text renderer with `piece(i)`: the events of piece `i`, opening its part first when
it is the first piece of that part (and closing the part before it).

- Chat Completions: `delta.tool_calls[{index, id, type: "function", function: {name, arguments: ""}}]` to
  open a call, then `delta.tool_calls[{index, function: {arguments}}]` per piece; `delta.refusal`;
  `finish_reason: "tool_calls"`. Reasoning has no Chat Completions form: it is not sent.
- Responses: an output item per part: `reasoning` (`response.reasoning_summary_part.added`,
  `response.reasoning_summary_text.delta` / `.done`), `message` (`output_text` or `refusal` content, with
  `response.output_text.delta` / `response.refusal.delta`), `function_call`
  (`response.function_call_arguments.delta` / `.done`); `response.completed` (`response.incomplete` for a
  length stop) with the whole output.
- Anthropic Messages: a content block per part, `thinking` (`thinking_delta`, then `signature_delta`),
  `text` (`text_delta`), `tool_use` (`input_json_delta` with `partial_json`); `stop_reason: "tool_use"`.
- Gemini: a `GenerateContentResponse` chunk per piece, its one part a thought (`thought: true`), text, or a
  whole `functionCall` (the Gemini API does not stream a call's arguments: a call is one piece, so faults
  land between calls, and a malformed chunk cuts one in half); the last chunk carries the finishReason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from dotmock.dsl.model import Chunk
from dotmock.server.agent_payloads import (
    AgentAnswer,
    function_call_item,
    gemini_call_part,
    gemini_finish,
    gemini_thought,
    reasoning_item,
    refusal_part,
    responses_body,
    stop_reason,
)
from dotmock.server.apis.base import ParsedRequest, Renderer
from dotmock.server.apis.chat_completions import ChatRenderer
from dotmock.server.apis.gemini import CHUNK, GeminiRenderer, prompt_tokens
from dotmock.server.apis.gemini import response_object as gemini_response
from dotmock.server.apis.messages import MessagesRenderer, message_object
from dotmock.server.apis.messages import stop_reason as anthropic_stop
from dotmock.server.apis.responses import ResponsesRenderer, output_text_part, response_object
from dotmock.server.events import Event, cut_in_half, dumps, typed_event
from dotmock.server.payloads import Reply, estimate_tokens

PartKind = Literal["reasoning", "text", "refusal", "call"]


@dataclass(frozen=True, slots=True)
class Part:
    kind: PartKind
    text: str
    call: int | None = None  # which tool call of the answer


@dataclass(frozen=True, slots=True)
class Piece:
    part: int
    text: str
    gap_s: float | None = None  # a recorded cadence's wait before it; None: paced by latencyMs

    def __len__(self) -> int:
        return len(self.text)


def _split(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def parts_of(answer: AgentAnswer, api: str) -> list[Part]:
    """The parts an API streams for the answer, in order."""
    outcome = answer.outcome
    parts: list[Part] = []
    if outcome.reasoning is not None and api != "chat_completions":
        parts.append(Part("reasoning", outcome.reasoning))
    if outcome.refusal is not None:
        parts.append(Part("refusal", outcome.refusal))
    elif outcome.text or not outcome.tool_calls:
        parts.append(Part("text", outcome.text))
    parts += [Part("call", call.arguments_text(), i) for i, call in enumerate(outcome.tool_calls)]
    return parts


def pieces_of(
    parts: list[Part], chunk_size: int, cadence: tuple[Chunk, ...] = (), unsent_reasoning: str = ""
) -> list[Piece]:
    """The parts cut into `chunk_size` pieces, or, with a recorded `cadence`, into its chunks with their gaps
    (the cadence spells the reasoning, the text or refusal, then each call's arguments: `dsl/build.py` checks
    that the chunks line up with the parts). `unsent_reasoning`: the reasoning a cadence spells that this API
    does not send (Chat Completions): its chunks are skipped, their waits kept before the next piece."""
    if not cadence:
        return [Piece(i, text) for i, part in enumerate(parts) for text in _split(part.text, chunk_size)]
    pieces: list[Piece] = []
    chunks = iter(cadence)
    skipped, waited = 0, 0.0
    while skipped < len(unsent_reasoning):
        chunk = next(chunks, None)
        if chunk is None:
            break
        skipped += len(chunk.text)
        waited += chunk.gap_s
    for i, part in enumerate(parts):
        if not part.text:
            pieces += [Piece(i, text) for text in _split(part.text, chunk_size)]
            continue
        left = len(part.text)
        while left > 0:
            chunk = next(chunks, None)
            if chunk is None:  # the chunks ran out (not a checked fixture): the rest in one piece
                pieces.append(Piece(i, part.text[len(part.text) - left :]))
                break
            pieces.append(Piece(i, chunk.text, chunk.gap_s + waited))
            waited = 0.0
            left -= len(chunk.text)
    return pieces


class AgentRenderer(Renderer, Protocol):
    """A renderer of an agent answer: `pieces` stand for the content chunks, `piece(i)` renders one."""

    parts: list[Part]
    pieces: list[Piece]

    def piece(self, i: int) -> list[Event]: ...


class _Parts:
    """Which part the stream is in, for the renderers below."""

    def setup(self, answer: AgentAnswer, api: str) -> None:
        self.answer = answer
        self.parts = parts_of(answer, api)
        streaming = answer.outcome.streaming
        reasoning = answer.outcome.reasoning or ""
        unsent = "" if any(p.kind == "reasoning" for p in self.parts) else reasoning
        self.pieces = pieces_of(self.parts, streaming.chunk_size, streaming.chunks, unsent)
        self.current: int | None = None
        self.sent: list[str] = ["" for _ in self.parts]

    def enter(self, i: int) -> tuple[int | None, int | None]:
        """Move to piece `i`'s part: (the part left, the part entered), None where nothing changes."""
        part = self.pieces[i].part
        if part == self.current:
            return None, None
        left, self.current = self.current, part
        return left, part

    def chunk_texts(self) -> tuple[str, ...]:
        return tuple(p.text for p in self.pieces)

    def chunk_gaps(self) -> tuple[float | None, ...]:
        """Each piece's recorded wait (`cadence`), None where latencyMs paces it."""
        return tuple(p.gap_s for p in self.pieces)

    def call_of(self, i: int) -> int | None:
        """The tool call piece `i` belongs to (None: not a call's arguments)."""
        return self.parts[self.pieces[i].part].call

    def call_id(self, part: Part) -> str:
        assert part.call is not None
        return self.answer.call_ids[part.call]


class Blocks(_Parts):
    """For APIs that stream each part as a block (opened, its deltas, closed): Responses and Messages."""

    def _open(self, index: int) -> list[Event]:
        raise NotImplementedError

    def _close(self, index: int) -> list[Event]:
        raise NotImplementedError

    def _delta(self, index: int, text: str) -> Event:
        raise NotImplementedError

    def piece(self, i: int) -> list[Event]:
        left, entered = self.enter(i)
        events = self._close(left) if left is not None else []
        if entered is not None:
            events += self._open(entered)
        events.append(self._delta(self.pieces[i].part, self.pieces[i].text))
        return events


# ---------------------------------------------------------------------------------------------- Chat


class ChatAgentRenderer(ChatRenderer, _Parts):
    def __init__(self, reply: Reply, answer: AgentAnswer, include_usage: bool) -> None:
        super().__init__(reply, answer.outcome.finish_reason, include_usage)
        self.setup(answer, "chat_completions")

    def _call_delta(self, index: int, fields: dict[str, Any]) -> Event:
        return self._chunk({"tool_calls": [{"index": index, **fields}]}, None)

    def piece(self, i: int) -> list[Event]:
        _left, entered = self.enter(i)
        piece = self.pieces[i]
        part = self.parts[piece.part]
        events: list[Event] = []
        if part.kind == "call":
            assert part.call is not None
            if entered is not None:
                name = self.answer.outcome.tool_calls[part.call].name
                opening = {"id": self.call_id(part), "type": "function", "function": {"name": name, "arguments": ""}}
                events.append(self._call_delta(part.call, opening))
            events.append(self._call_delta(part.call, {"function": {"arguments": piece.text}}))
        elif part.kind == "refusal":
            events.append(self._chunk({"refusal": piece.text}, None))
        else:
            events.append(self.delta(piece.text))
        return events

    def malformed(self, data: str | None) -> Event:
        if data is not None or self.current is None or self.parts[self.current].kind != "call":
            return super().malformed(data)
        call = self.parts[self.current].call
        assert call is not None
        return cut_in_half(self._call_delta(call, {"function": {"arguments": "..."}}))


# ---------------------------------------------------------------------------------------------- Responses


class ResponsesAgentRenderer(ResponsesRenderer, Blocks):
    def __init__(self, reply: Reply, answer: AgentAnswer) -> None:
        super().__init__(reply)
        self.setup(answer, "responses")

    def opening(self) -> list[Event]:
        in_progress = response_object(self.reply, "in_progress", None)
        return [
            self._event("response.created", {"response": in_progress}),
            self._event("response.in_progress", {"response": in_progress}),
        ]

    def _item_id(self, part: Part) -> str:
        if part.kind == "call":
            assert part.call is not None
            return self.answer.item_ids[part.call]
        if part.kind == "reasoning":
            return str(reasoning_item(self.reply, "")["id"])
        return self.reply.item_id

    def _item(self, index: int, done: bool) -> dict[str, Any]:
        part = self.parts[index]
        text = part.text if done else ""
        status = "completed" if done else "in_progress"
        if part.kind == "call":
            assert part.call is not None
            call = self.answer.outcome.tool_calls[part.call]
            return function_call_item(self._item_id(part), self.call_id(part), call, status)
        if part.kind == "reasoning":
            item = reasoning_item(self.reply, part.text)
            return {**item, "summary": item["summary"] if done else [], "status": status}
        content = [] if not done else [refusal_part(text) if part.kind == "refusal" else output_text_part(text)]
        return {"id": self.reply.item_id, "type": "message", "status": status, "role": "assistant", "content": content}

    def _ids(self, index: int) -> dict[str, Any]:
        return {"item_id": self._item_id(self.parts[index]), "output_index": index}

    def _open(self, index: int) -> list[Event]:
        part = self.parts[index]
        events = [self._event("response.output_item.added", {"output_index": index, "item": self._item(index, False)})]
        if part.kind == "reasoning":
            empty = {"type": "summary_text", "text": ""}
            events.append(
                self._event(
                    "response.reasoning_summary_part.added", {**self._ids(index), "summary_index": 0, "part": empty}
                )
            )
        elif part.kind in ("text", "refusal"):
            empty = refusal_part("") if part.kind == "refusal" else output_text_part("")
            events.append(
                self._event("response.content_part.added", {**self._ids(index), "content_index": 0, "part": empty})
            )
        return events

    def _close(self, index: int) -> list[Event]:
        part = self.parts[index]
        ids = self._ids(index)
        events: list[Event] = []
        if part.kind == "reasoning":
            summary = {"type": "summary_text", "text": part.text}
            events.append(
                self._event("response.reasoning_summary_text.done", {**ids, "summary_index": 0, "text": part.text})
            )
            events.append(
                self._event("response.reasoning_summary_part.done", {**ids, "summary_index": 0, "part": summary})
            )
        elif part.kind == "call":
            assert part.call is not None
            name = self.answer.outcome.tool_calls[part.call].name
            events.append(
                self._event("response.function_call_arguments.done", {**ids, "name": name, "arguments": part.text})
            )
        elif part.kind == "refusal":
            events.append(self._event("response.refusal.done", {**ids, "content_index": 0, "refusal": part.text}))
            events.append(
                self._event("response.content_part.done", {**ids, "content_index": 0, "part": refusal_part(part.text)})
            )
        else:
            events.append(
                self._event("response.output_text.done", {**ids, "content_index": 0, "text": part.text, "logprobs": []})
            )
            events.append(
                self._event(
                    "response.content_part.done", {**ids, "content_index": 0, "part": output_text_part(part.text)}
                )
            )
        events.append(
            self._event("response.output_item.done", {"output_index": index, "item": self._item(index, True)})
        )
        return events

    def _delta(self, index: int, text: str) -> Event:
        part = self.parts[index]
        ids = self._ids(index)
        if part.kind == "reasoning":
            return self._event("response.reasoning_summary_text.delta", {**ids, "summary_index": 0, "delta": text})
        if part.kind == "call":
            return self._event("response.function_call_arguments.delta", {**ids, "delta": text})
        if part.kind == "refusal":
            return self._event("response.refusal.delta", {**ids, "content_index": 0, "delta": text})
        self.text_sent.append(text)
        return self._event("response.output_text.delta", {**ids, "content_index": 0, "delta": text, "logprobs": []})

    def closing(self) -> list[Event]:
        events = self._close(self.current) if self.current is not None else []
        body = responses_body(self.reply, self.answer)
        kind = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
        events.append(self._event(kind, {"response": body}))
        return events

    def malformed(self, data: str | None) -> Event:
        if data is not None or self.current is None:
            return super().malformed(data)
        seq = self.seq
        event = self._delta(self.current, "...")
        if self.parts[self.current].kind == "text":
            self.text_sent.pop()
        self.seq = seq
        return cut_in_half(event)


# ---------------------------------------------------------------------------------------------- Messages


def _anthropic_event(event_type: str, payload: dict[str, Any]) -> Event:
    return typed_event(event_type, dumps({"type": event_type, **payload}))


class MessagesAgentRenderer(MessagesRenderer, Blocks):
    def __init__(self, reply: Reply, answer: AgentAnswer) -> None:
        super().__init__(reply, stop_reason(answer.outcome))
        self.setup(answer, "messages")

    def opening(self) -> list[Event]:
        start = {
            **message_object(self.reply, "", self.finish_reason),
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": self.reply.prompt_tokens, "output_tokens": 1},
        }
        return [_anthropic_event("message_start", {"message": start})]

    def _block(self, index: int) -> dict[str, Any]:
        part = self.parts[index]
        if part.kind == "reasoning":
            return {"type": "thinking", "thinking": "", "signature": ""}
        if part.kind == "call":
            assert part.call is not None
            call = self.answer.outcome.tool_calls[part.call]
            return {"type": "tool_use", "id": self.call_id(part), "name": call.name, "input": {}}
        return {"type": "text", "text": ""}

    def _open(self, index: int) -> list[Event]:
        events = [_anthropic_event("content_block_start", {"index": index, "content_block": self._block(index)})]
        if index == 0:
            events.append(_anthropic_event("ping", {}))
        return events

    def _close(self, index: int) -> list[Event]:
        events = []
        if self.parts[index].kind == "reasoning":
            delta = {"type": "signature_delta", "signature": "dotmock-signature"}
            events.append(_anthropic_event("content_block_delta", {"index": index, "delta": delta}))
        events.append(_anthropic_event("content_block_stop", {"index": index}))
        return events

    def _delta(self, index: int, text: str) -> Event:
        kind = self.parts[index].kind
        if kind == "reasoning":
            delta = {"type": "thinking_delta", "thinking": text}
        elif kind == "call":
            delta = {"type": "input_json_delta", "partial_json": text}
        else:
            self.text_sent.append(text)
            delta = {"type": "text_delta", "text": text}
        return _anthropic_event("content_block_delta", {"index": index, "delta": delta})

    def closing(self) -> list[Event]:
        events = self._close(self.current) if self.current is not None else []
        sent = "".join(p.text for p in self.parts)
        delta = {"stop_reason": anthropic_stop(self.finish_reason), "stop_sequence": None}
        events.append(
            _anthropic_event("message_delta", {"delta": delta, "usage": {"output_tokens": estimate_tokens(sent)}})
        )
        events.append(_anthropic_event("message_stop", {}))
        return events

    def malformed(self, data: str | None) -> Event:
        if data is not None or self.current is None:
            return super().malformed(data)
        event = self._delta(self.current, "...")
        if self.parts[self.current].kind in ("text", "refusal"):
            self.text_sent.pop()
        return cut_in_half(event)


# ---------------------------------------------------------------------------------------------- Gemini


def _whole_calls(parts: list[Part], pieces: list[Piece]) -> list[Piece]:
    """Gemini's pieces: a call goes whole, in one piece (its first piece's wait, a cadence's included)."""
    out: list[Piece] = []
    for piece in pieces:
        if out and parts[piece.part].kind == "call" and out[-1].part == piece.part:
            continue
        whole = parts[piece.part].text if parts[piece.part].kind == "call" else piece.text
        out.append(Piece(piece.part, whole, piece.gap_s))
    return out


class GeminiAgentRenderer(GeminiRenderer, _Parts):
    def __init__(self, reply: Reply, answer: AgentAnswer, prompt: int) -> None:
        super().__init__(reply, answer.outcome.finish_reason, prompt)
        self.setup(answer, "gemini")
        self.pieces = _whole_calls(self.parts, self.pieces)

    def _chunk(self, part: dict[str, Any]) -> Event:
        body = gemini_response(self.reply, "", None, self.prompt, None)
        body["candidates"][0]["content"]["parts"] = [part]
        return Event(dumps(body), None, CHUNK)

    def piece(self, i: int) -> list[Event]:
        self.enter(i)
        piece = self.pieces[i]
        part = self.parts[piece.part]
        if part.kind == "call":
            assert part.call is not None
            return [self._chunk(gemini_call_part(self.answer.outcome.tool_calls[part.call]))]
        if part.kind == "reasoning":
            return [self._chunk(gemini_thought(piece.text))]
        return [self.delta(piece.text)]

    def malformed(self, data: str | None) -> Event:
        if data is not None or self.current is None or self.parts[self.current].kind != "call":
            return super().malformed(data)
        call = self.parts[self.current].call
        assert call is not None
        return cut_in_half(self._chunk(gemini_call_part(self.answer.outcome.tool_calls[call])))

    def closing(self) -> list[Event]:
        sent = "".join(p.text for p in self.parts)
        last = gemini_response(self.reply, "", gemini_finish(self.answer.outcome), self.prompt, estimate_tokens(sent))
        return [Event(dumps(last), None, CHUNK)]


def agent_renderer(api: str, reply: Reply, answer: AgentAnswer, request: ParsedRequest) -> AgentRenderer:
    """The streamed form of an agent answer on the API named `api` (one of `agent_payloads.SUPPORTED`)."""
    if api == "chat_completions":
        return ChatAgentRenderer(reply, answer, request.include_usage)
    if api == "gemini":
        return GeminiAgentRenderer(reply, answer, prompt_tokens(request.body))
    if api == "messages":
        return MessagesAgentRenderer(reply, answer)
    return ResponsesAgentRenderer(reply, answer)
