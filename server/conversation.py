"""The conversation a request carries, the same whichever API it is for: its turns, the tool calls the
assistant made in it, and the tool results the client sent back.

Chat Completions: `messages` with `assistant.tool_calls[{id, function: {name, arguments}}]` and
`{"role": "tool", "tool_call_id", "content"}`. Responses: `input` items `function_call {call_id, name,
arguments}` and `function_call_output {call_id, output}`. Anthropic Messages: `messages` whose content
blocks are `tool_use {id, name, input}` (assistant) and `tool_result {tool_use_id, content}` (user).
Gemini `contents` with `functionCall` / `functionResponse` parts (`role` "model" is the assistant).

Pure functions over a parsed JSON body: matching (`turn`, `lastRole`, `toolResult`) and the runner's
agent findings both read requests through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CallSeen:
    """A tool call of the assistant, as the client echoed it back in its history."""

    id: str
    name: str
    arguments: str  # as text; Anthropic's `input` object as compact JSON


@dataclass(frozen=True, slots=True)
class ResultSeen:
    """A tool result the client sent: for which call id, its content as text, and the tool's name when the
    request's own history names it."""

    call_id: str
    content: str
    name: str | None = None
    trailing: bool = False  # sent after the last assistant turn: the answer to the latest calls


@dataclass(frozen=True, slots=True)
class Conversation:
    turn: int  # 1 + the assistant turns in the request
    last_role: str | None  # "user", "assistant", "system", "developer", or "tool" for tool results
    calls: tuple[CallSeen, ...] = ()
    results: tuple[ResultSeen, ...] = ()
    has_history: bool = False  # anything but a plain prompt (a Responses previous_response_id counts)
    messages: int = 0

    @property
    def trailing_results(self) -> tuple[ResultSeen, ...]:
        return tuple(r for r in self.results if r.trailing)


@dataclass(slots=True)
class _Reader:
    turns: int = 0
    last_role: str | None = None
    in_assistant_turn: bool = False
    calls: list[CallSeen] = field(default_factory=list)
    results: list[tuple[str, str]] = field(default_factory=list)  # (call id, content)
    results_after_last_turn: int = 0
    messages: int = 0

    def assistant(self) -> None:
        if not self.in_assistant_turn:
            self.turns += 1
            self.in_assistant_turn = True
            self.results_after_last_turn = 0
        self.last_role = "assistant"

    def other(self, role: str) -> None:
        self.in_assistant_turn = False
        self.last_role = role

    def result(self, call_id: Any, content: Any) -> None:
        self.other("tool")
        self.results.append((str(call_id), _text(content)))
        self.results_after_last_turn += 1

    def call(self, call_id: Any, name: Any, arguments: Any) -> None:
        self.assistant()
        text = arguments if isinstance(arguments, str) else _compact(arguments)
        self.calls.append(CallSeen(str(call_id), str(name), text))


def _compact(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"), default=str)


def _text(content: Any) -> str:
    """A message's or result's content as text: a string, or the texts of content parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                for key in ("text", "output", "content"):
                    if isinstance(part.get(key), str):
                        texts.append(part[key])
                        break
            elif isinstance(part, str):
                texts.append(part)
        return "\n".join(texts)
    if content is None:
        return ""
    return _compact(content)


def _read_message(reader: _Reader, message: dict[str, Any]) -> None:
    """One entry of `messages` (Chat Completions or Anthropic)."""
    role = message.get("role")
    content = message.get("content")
    if role == "tool":  # Chat Completions tool result
        reader.result(message.get("tool_call_id", ""), content)
        return
    if role == "assistant":
        reader.assistant()
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else {}
                reader.call(call.get("id", ""), function.get("name", ""), function.get("arguments", ""))
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    reader.call(block.get("id", ""), block.get("name", ""), block.get("input"))
        return
    blocks = content if isinstance(content, list) else []
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    if results:  # Anthropic: tool results travel in a user message
        for block in results:
            reader.result(block.get("tool_use_id", ""), block.get("content"))
        if any(isinstance(b, dict) and b.get("type") == "text" for b in blocks):
            reader.other(str(role))
        return
    reader.other(str(role) if isinstance(role, str) else "user")


def _read_input_item(reader: _Reader, item: Any) -> None:
    """One item of a Responses `input` list."""
    if isinstance(item, str):
        reader.other("user")
        return
    if not isinstance(item, dict):
        return
    kind = item.get("type")
    if kind == "function_call":
        reader.call(item.get("call_id", ""), item.get("name", ""), item.get("arguments", ""))
    elif kind == "function_call_output":
        reader.result(item.get("call_id", ""), item.get("output"))
    elif kind == "reasoning":
        reader.assistant()
    elif kind in (None, "message"):
        role = item.get("role", "user")
        if role == "assistant":
            reader.assistant()
        else:
            reader.other(str(role))


def positional_ids(names: list[str], given: list[str | None]) -> list[str]:
    """Gemini's calls carry no id unless the model gives one: a call (or result) without one is known by its
    tool name, the k-th of the same name in one turn as `name#k` (`get_weather`, `get_weather#2`)."""
    seen: dict[str, int] = {}
    ids = []
    for name, given_id in zip(names, given, strict=True):
        seen[name] = seen.get(name, 0) + 1
        ids.append(given_id if given_id else name if seen[name] == 1 else f"{name}#{seen[name]}")
    return ids


def _gemini_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _read_gemini(reader: _Reader, content: Any, last_calls: list[CallSeen]) -> None:
    """One entry of Gemini `contents`; `last_calls` holds the calls of the latest model turn, whose ids a
    functionResponse without its own id takes (by name and position)."""
    if not isinstance(content, dict):
        return
    parts: list[Any] = content["parts"] if isinstance(content.get("parts"), list) else []
    role = content.get("role", "user")
    if role == "model":
        reader.assistant()
        calls = [p["functionCall"] for p in parts if isinstance(p, dict) and isinstance(p.get("functionCall"), dict)]
        if calls:
            names = [str(c.get("name", "")) for c in calls]
            ids = positional_ids(names, [_gemini_id(c.get("id")) for c in calls])
            last_calls[:] = []
            for call_id, name, call in zip(ids, names, calls, strict=True):
                reader.call(call_id, name, call.get("args"))
                last_calls.append(reader.calls[-1])
        return
    answered = [
        p["functionResponse"] for p in parts if isinstance(p, dict) and isinstance(p.get("functionResponse"), dict)
    ]
    if answered:
        names = [str(r.get("name", "")) for r in answered]
        own = positional_ids(names, [_gemini_id(r.get("id")) for r in answered])
        made_ids = positional_ids([c.name for c in last_calls], [None] * len(last_calls))
        by_position = dict(zip(made_ids, last_calls, strict=True))
        for response, call_id in zip(answered, own, strict=True):
            made = by_position.get(call_id) if _gemini_id(response.get("id")) is None else None
            reader.result(made.id if made is not None else call_id, response.get("response"))
        return
    reader.other("user")


def read_conversation(body: Any) -> Conversation:
    """The conversation in a request body of any of the APIs (an empty one for anything else)."""
    reader = _Reader()
    history = False
    if isinstance(body, dict):
        if isinstance(body.get("messages"), list):
            for message in body["messages"]:
                reader.messages += 1
                if isinstance(message, dict):
                    _read_message(reader, message)
        elif "input" in body:
            items = body["input"]
            history = isinstance(body.get("previous_response_id"), str)
            if isinstance(items, str):
                reader.messages += 1
                reader.other("user")
            elif isinstance(items, list):
                for item in items:
                    reader.messages += 1
                    _read_input_item(reader, item)
        elif isinstance(body.get("contents"), list):
            last_calls: list[CallSeen] = []
            for content in body["contents"]:
                reader.messages += 1
                _read_gemini(reader, content, last_calls)
    names = {c.id: c.name for c in reader.calls}
    first_trailing = len(reader.results) - reader.results_after_last_turn if not reader.in_assistant_turn else None
    results = tuple(
        ResultSeen(call_id, content, names.get(call_id), trailing=first_trailing is not None and i >= first_trailing)
        for i, (call_id, content) in enumerate(reader.results)
    )
    return Conversation(
        turn=reader.turns + 1,
        last_role=reader.last_role,
        calls=tuple(reader.calls),
        results=results,
        has_history=history or reader.turns > 0 or bool(results),
        messages=reader.messages,
    )


def _entry(item: Any) -> str:
    """One message or item of a conversation as comparable text: a message as its role and its text (the
    SDKs send the same message as a string or as content parts), anything else (a tool call, a result) whole."""
    if isinstance(item, str):
        item = {"role": "user", "content": item}
    if isinstance(item, dict) and item.get("type") in (None, "message") and ("content" in item or "parts" in item):
        return _compact([item.get("role", "user"), _text(item.get("content", item.get("parts")))])
    return _compact(item)


def _entries(body: Any) -> list[str] | None:
    """The conversation of a request body of any of the APIs, an entry a message or item; None: it has none."""
    if not isinstance(body, dict):
        return None
    for key in ("messages", "input", "contents"):
        items = body.get(key)
        if isinstance(items, str) and key == "input":
            items = [items]
        if isinstance(items, list):
            return [_entry(item) for item in items]
    return None


def extends(later: Any, earlier: Any) -> bool:
    """Whether the request `later` goes on with the conversation of `earlier`: the same messages, then more
    (the answer to `earlier` and a new turn, e.g. "that was not valid JSON, try again")."""
    before, after = _entries(earlier), _entries(later)
    return before is not None and after is not None and len(after) > len(before) and after[: len(before)] == before
