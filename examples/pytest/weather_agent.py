"""The code under test: a small tool-calling agent over the official openai SDK, as an application would
have it. It streams each round with `chat.completions.stream()`, runs every tool call the model asks for,
sends the results back, and stops on the model's final answer. It refuses to run a call twice with the
same arguments (a loop), and to go on past MAX_ROUNDS.
"""

from __future__ import annotations

import json
from typing import Any

import openai

MAX_ROUNDS = 5
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


class AgentStuck(Exception):
    """The model asked again for a call already run, or never gave a final answer."""


def get_weather(city: str) -> str:
    return f"21 degrees in {city}"


def ask_agent(question: str) -> str:
    messages: list[Any] = [{"role": "user", "content": question}]
    ran: set[tuple[str, str]] = set()
    with openai.OpenAI(max_retries=2, timeout=5.0) as client:
        for _ in range(MAX_ROUNDS):
            with client.chat.completions.stream(model="gpt-4o-mini", messages=messages, tools=TOOLS) as stream:
                message = stream.get_final_completion().choices[0].message
            if not message.tool_calls:
                return message.content or ""
            messages.append(message.model_dump(include={"role", "content", "tool_calls"}))
            for call in message.tool_calls:
                key = (call.function.name, call.function.arguments)
                if key in ran:
                    raise AgentStuck(f"the model asked again for {call.function.name}({call.function.arguments})")
                ran.add(key)
                result = get_weather(**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise AgentStuck(f"no final answer after {MAX_ROUNDS} rounds")
