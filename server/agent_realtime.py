"""A Realtime response with tool calls (text modality): the answer's text as a `message` item, then each call
as a `function_call` item, every item with its own output index and conversation item.

    response.created
    [message]  response.output_item.added, <item added>, response.content_part.added, <text delta>...,
               <text done>, response.content_part.done, response.output_item.done, <item done>
    [call]     response.output_item.added {function_call, arguments ""}, <item added>,
               response.function_call_arguments.delta {call_id, delta}...,
               response.function_call_arguments.done {call_id, name, arguments},
               response.output_item.done, <item done>
    response.done {output: every item}

The names in <> are the protocol's (`server.apis.realtime.NAMES`: GA or beta); the function-call events are
named alike in both. The Realtime API has no reasoning or refusal form: reasoning is not sent, a refusal is
sent as the text. The client answers a call with a `conversation.item.create` of a `function_call_output`
item and a new `response.create`; the items this response made join the session's conversation
(`answered_items`), so the next request's `input` shows the calls and their results (`turn`, `toolResult`).
"""

from __future__ import annotations

from typing import Any

from dotmock.server.agent_payloads import AgentAnswer
from dotmock.server.agent_streams import Blocks
from dotmock.server.apis.realtime import RealtimeRenderer, Session, wire_event
from dotmock.server.events import Event, cut_in_half


class RealtimeAgentRenderer(RealtimeRenderer, Blocks):
    def __init__(self, session: Session, request: dict[str, Any], answer: AgentAnswer) -> None:
        super().__init__(session, request, answer.outcome.finish_reason)
        self.setup(answer, "chat_completions")  # the parts of an API without reasoning: text or refusal, calls
        self.item_ids = [self.item_id if p.kind != "call" else session.item_id() for p in self.parts]
        self.opened: list[int] = []

    # -- items

    def _part_item(self, index: int, status: str, text: str | None) -> dict[str, Any]:
        part = self.parts[index]
        if part.kind != "call":
            item = self._item(status, text)
            item["id"] = self.item_ids[index]
            return item
        assert part.call is not None
        call = self.answer.outcome.tool_calls[part.call]
        return {
            "id": self.item_ids[index],
            "object": "realtime.item",
            "type": "function_call",
            "status": status,
            "call_id": self.call_id(part),
            "name": call.name,
            "arguments": text or "",
        }

    def _ids_of(self, index: int) -> dict[str, Any]:
        return {"response_id": self.response_id, "item_id": self.item_ids[index], "output_index": index}

    # -- events

    def opening(self) -> list[Event]:
        return [wire_event(self.session.event("response.created", response=self._response("in_progress", [])))]

    def _open(self, index: int) -> list[Event]:
        s = self.session
        item = self._part_item(index, "in_progress", None)
        previous = self.item_ids[self.opened[-1]] if self.opened else (s.items[-1]["id"] if s.items else None)
        self.opened.append(index)
        events = [
            s.event("response.output_item.added", response_id=self.response_id, output_index=index, item=item),
            s.event(s.names.item_added, previous_item_id=previous, item=item),
        ]
        if self.parts[index].kind != "call":
            events.append(
                s.event("response.content_part.added", **self._ids_of(index), content_index=0, part=self._part(""))
            )
        return [wire_event(e) for e in events]

    def _delta(self, index: int, text: str) -> Event:
        s = self.session
        self.sent[index] += text
        part = self.parts[index]
        if part.kind == "call":
            call_id = self.call_id(part)
            return wire_event(
                s.event("response.function_call_arguments.delta", **self._ids_of(index), call_id=call_id, delta=text)
            )
        self.text_sent.append(text)
        return wire_event(s.event(s.names.text_delta, **self._ids_of(index), content_index=0, delta=text))

    def _close(self, index: int) -> list[Event]:
        s = self.session
        part = self.parts[index]
        ids = self._ids_of(index)
        if part.kind == "call":
            assert part.call is not None
            name = self.answer.outcome.tool_calls[part.call].name
            events = [
                s.event(
                    "response.function_call_arguments.done",
                    **ids,
                    call_id=self.call_id(part),
                    name=name,
                    arguments=part.text,
                )
            ]
        else:
            events = [
                s.event(s.names.text_done, **ids, content_index=0, text=part.text),
                s.event("response.content_part.done", **ids, content_index=0, part=self._part(part.text)),
            ]
        item = self._part_item(index, "completed", part.text)
        events.append(s.event("response.output_item.done", response_id=self.response_id, output_index=index, item=item))
        if s.names.item_done is not None:
            events.append(s.event(s.names.item_done, previous_item_id=None, item=item))
        return [wire_event(e) for e in events]

    def closing(self) -> list[Event]:
        events = self._close(self.current) if self.current is not None else []
        status = "incomplete" if self.finish_reason == "length" else "completed"
        output = [self._part_item(i, "completed", p.text) for i, p in enumerate(self.parts)]
        text = "".join(p.text for p in self.parts)
        events.append(wire_event(self.session.event("response.done", response=self._response(status, output, text))))
        return events

    def malformed(self, data: str | None) -> Event:
        if data is not None or self.current is None:
            return super().malformed(data)
        index = self.current
        before = self.sent[index]
        event = self._delta(index, "...")
        self.sent[index] = before
        if self.parts[index].kind != "call":
            self.text_sent.pop()
        return cut_in_half(event)

    def answered_items(self) -> list[dict[str, Any]]:
        """The items this response put in the conversation, as far as they went out."""
        items = []
        for index in self.opened:
            whole = self.sent[index] == self.parts[index].text
            items.append(self._part_item(index, "completed" if whole else "incomplete", self.sent[index]))
        return items
