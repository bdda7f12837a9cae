"""One agent conversation on each API, through its official SDK: ask the model, read its tool calls, send the
results back. agent_naive.py and agent_careful.py run their loops on top of this.

    Chat Completions (openai):  chat.completions.create() or the .stream() helper's get_final_completion()
    Responses (openai):         responses.create() or the .stream() helper's get_final_response()
    Messages (anthropic):       messages.create() or the .stream() helper's get_final_message()
    Gemini (google-genai):      models.generate_content() or models.generate_content_stream(), its chunks'
                                parts put together (the SDK has no final-object helper for a stream)
    Realtime (openai):          realtime.connect() over WebSocket, text: `response.create`, then the
                                `response.done` event's output (always streamed; --stream changes nothing)

Every `Turn` says how the answer stopped in one vocabulary: "stop", "tool_calls", "length", "refusal", or
None when the answer never said (a stream that was cut before its end).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

MODEL = os.environ.get("AGENT_MODEL", "gpt-4o-mini")
TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {
        "name": "get_time",
        "description": "The time in a time zone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
]


@dataclass
class Call:
    id: str
    name: str
    arguments: str  # the JSON text the model sent


@dataclass
class Turn:
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    stop: str | None = None
    refusal: str | None = None


def run_tool(name: str, args: dict[str, Any]) -> str:
    """The agent's tools (stand-ins: the point is what the agent does around them)."""
    if name == "get_weather":
        return f"21 degrees and sunny in {args.get('city', 'somewhere')}"
    if name == "get_time":
        return f"14:05 in {args.get('tz', 'UTC')}"
    return f"error: no tool named {name}"


class Conversation:
    """The history an agent sends each round; `rewind` drops what a failed round added."""

    history: list[Any]

    def checkpoint(self) -> int:
        return len(self.history)

    def rewind(self, mark: int) -> None:
        del self.history[mark:]


class ChatAgent(Conversation):
    def __init__(self, prompt: str, stream: bool, max_retries: int) -> None:
        import openai

        self.client = openai.OpenAI(max_retries=max_retries, timeout=5.0)
        self.stream = stream
        self.history: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        self.tools = [{"type": "function", "function": t} for t in TOOLS]

    def ask(self) -> Turn:
        kwargs: dict[str, Any] = {"model": MODEL, "messages": self.history, "tools": self.tools}
        if self.stream:
            with self.client.chat.completions.stream(**kwargs) as stream:
                for _event in stream:
                    pass
                completion = stream.get_final_completion()
        else:
            completion = self.client.chat.completions.create(**kwargs)
        choice = completion.choices[0]
        message = choice.message
        calls = [Call(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        said: dict[str, Any] = {"role": "assistant", "content": message.content}
        if calls:
            said["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
            ]
        self.history.append(said)
        stop = "refusal" if message.refusal else choice.finish_reason
        return Turn(message.content or "", calls, stop, message.refusal)

    def answer(self, results: list[tuple[str, str, bool]]) -> None:
        for call_id, content, _is_error in results:
            self.history.append({"role": "tool", "tool_call_id": call_id, "content": content})


class ResponsesAgent(Conversation):
    def __init__(self, prompt: str, stream: bool, max_retries: int) -> None:
        import openai

        self.client = openai.OpenAI(max_retries=max_retries, timeout=5.0)
        self.stream = stream
        self.history: list[Any] = [{"role": "user", "content": prompt}]
        self.tools = [{"type": "function", **t} for t in TOOLS]

    def ask(self) -> Turn:
        kwargs: dict[str, Any] = {"model": MODEL, "input": self.history, "tools": self.tools}
        if self.stream:
            with self.client.responses.stream(**kwargs) as stream:
                for _event in stream:
                    pass
                response = stream.get_final_response()
        else:
            response = self.client.responses.create(**kwargs)
        turn = Turn()
        for item in response.output:
            if item.type == "function_call":
                turn.calls.append(Call(item.call_id, item.name, item.arguments))
            elif item.type == "message":
                for part in item.content:
                    if part.type == "output_text":
                        turn.text += part.text
                    elif part.type == "refusal":
                        turn.refusal = part.refusal
            self.history.append(item.model_dump(exclude_none=True))
        if response.status == "incomplete":
            turn.stop = "length"
        elif turn.refusal is not None:
            turn.stop = "refusal"
        else:
            turn.stop = "tool_calls" if turn.calls else "stop"
        return turn

    def answer(self, results: list[tuple[str, str, bool]]) -> None:
        for call_id, content, _is_error in results:
            self.history.append({"type": "function_call_output", "call_id": call_id, "output": content})


STOPS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "refusal": "refusal"}


class MessagesAgent(Conversation):
    def __init__(self, prompt: str, stream: bool, max_retries: int) -> None:
        import anthropic

        self.client = anthropic.Anthropic(max_retries=max_retries, timeout=5.0)
        self.stream = stream
        self.history: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        self.tools = [
            {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]} for t in TOOLS
        ]

    def ask(self) -> Turn:
        kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "messages": self.history, "tools": self.tools}
        if self.stream:
            with self.client.messages.stream(**kwargs) as stream:
                for _event in stream:
                    pass
                message = stream.get_final_message()
        else:
            message = self.client.messages.create(**kwargs)
        turn = Turn(stop=STOPS.get(message.stop_reason or "", message.stop_reason))
        for block in message.content:
            if block.type == "text":
                turn.text += block.text
            elif block.type == "tool_use":
                raw = block.input if isinstance(block.input, str) else json.dumps(block.input)
                turn.calls.append(Call(block.id, block.name, raw))
        if turn.stop == "refusal":
            turn.refusal, turn.text = turn.text, ""
        self.history.append(
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]}
        )
        return turn

    def answer(self, results: list[tuple[str, str, bool]]) -> None:
        blocks = [
            {"type": "tool_result", "tool_use_id": call_id, "content": content, **({"is_error": True} if bad else {})}
            for call_id, content, bad in results
        ]
        self.history.append({"role": "user", "content": blocks})


GEMINI_STOPS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "refusal", "PROHIBITED_CONTENT": "refusal"}


class GeminiAgent(Conversation):
    """Gemini's calls have no ids unless the model gives one: a call without one is answered by its name (the
    result for the k-th call of a name is the k-th functionResponse of that name)."""

    def __init__(self, prompt: str, stream: bool, max_retries: int) -> None:
        from google import genai
        from google.genai import types

        self.types = types
        retry = types.HttpRetryOptions(attempts=max_retries + 1, initial_delay=0.05, max_delay=0.5)
        self.client = genai.Client(http_options=types.HttpOptions(timeout=5000, retry_options=retry))
        self.stream = stream
        self.history: list[Any] = [types.Content(role="user", parts=[types.Part(text=prompt)])]
        self.config = types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(**t) for t in TOOLS])]
        )
        self.names: dict[str, str] = {}  # call id -> tool name, for the results
        self.given: set[str] = set()  # call ids the model gave (echoed in the results)

    def ask(self) -> Turn:
        kwargs: dict[str, Any] = {"model": MODEL, "contents": self.history, "config": self.config}
        if self.stream:
            chunks = list(self.client.models.generate_content_stream(**kwargs))
        else:
            chunks = [self.client.models.generate_content(**kwargs)]
        parts: list[Any] = []
        finish = None
        for chunk in chunks:
            candidate = (chunk.candidates or [None])[0]
            if candidate is None:
                continue
            if candidate.content is not None:
                parts += candidate.content.parts or []
            if candidate.finish_reason is not None:
                finish = candidate.finish_reason.value
        turn = Turn()
        seen: dict[str, int] = {}
        for part in parts:
            if part.function_call is not None:
                name = part.function_call.name or ""
                seen[name] = seen.get(name, 0) + 1
                call_id = part.function_call.id or (name if seen[name] == 1 else f"{name}#{seen[name]}")
                if part.function_call.id:
                    self.given.add(call_id)
                self.names[call_id] = name
                turn.calls.append(Call(call_id, name, json.dumps(part.function_call.args or {})))
            elif part.text and not part.thought:
                turn.text += part.text
        if finish is not None:
            turn.stop = GEMINI_STOPS.get(finish, finish.lower())
            if turn.stop == "stop" and turn.calls:
                turn.stop = "tool_calls"
        if turn.stop == "refusal":
            turn.refusal, turn.text = turn.text, ""
        self.history.append(self.types.Content(role="model", parts=parts))
        return turn

    def answer(self, results: list[tuple[str, str, bool]]) -> None:
        parts = [
            self.types.Part(
                function_response=self.types.FunctionResponse(
                    id=call_id if call_id in self.given else None,
                    name=self.names.get(call_id, call_id),
                    response={"error": content} if bad else {"output": content},
                )
            )
            for call_id, content, bad in results
        ]
        self.history.append(self.types.Content(role="user", parts=parts))


class RealtimeAgent(Conversation):
    """OpenAI Realtime over WebSocket (`realtime.connect()`, text): the conversation lives in the session, so
    each round sends only the new items (`function_call_output`), then `response.create`. A round that ends
    without `response.done` (a dropped connection) raises; the history is the session's, so `rewind` has
    nothing to drop."""

    def __init__(self, prompt: str, stream: bool, max_retries: int) -> None:
        import openai

        base = os.environ["OPENAI_BASE_URL"]
        client = openai.OpenAI(max_retries=max_retries, timeout=5.0, websocket_base_url=base.replace("http", "ws", 1))
        self.connection = client.realtime.connect(model=MODEL).__enter__()
        self.connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [{"type": "function", **t} for t in TOOLS],
            }
        )
        content = [{"type": "input_text", "text": prompt}]
        self.connection.conversation.item.create(item={"type": "message", "role": "user", "content": content})
        self.history: list[Any] = []

    def ask(self) -> Turn:
        self.connection.response.create()
        done = next(e for e in self.connection if e.type == "response.done")
        turn = Turn()
        for item in done.response.output or []:
            if item.type == "function_call":
                turn.calls.append(Call(item.call_id or "", item.name or "", item.arguments or ""))
            elif item.type == "message":
                turn.text += "".join(part.text or "" for part in item.content or [])
        status = done.response.status
        turn.stop = "length" if status == "incomplete" else "tool_calls" if turn.calls else "stop"
        return turn

    def answer(self, results: list[tuple[str, str, bool]]) -> None:
        for call_id, content, _is_error in results:
            item = {"type": "function_call_output", "call_id": call_id, "output": content}
            self.connection.conversation.item.create(item=item)


APIS = {
    "chat": ChatAgent,
    "responses": ResponsesAgent,
    "messages": MessagesAgent,
    "gemini": GeminiAgent,
    "realtime": RealtimeAgent,
}
Agent = ChatAgent | ResponsesAgent | MessagesAgent | GeminiAgent | RealtimeAgent


def agent(api: str, prompt: str, stream: bool, max_retries: int = 2) -> Agent:
    return APIS[api](prompt, stream, max_retries)
