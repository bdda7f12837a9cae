"""An agent loop under the dotmock fixture: the whole run is one scenario (weather_agent.mock), and the
verdict judges what the agent did with each tool call (docs/language.md, Agent runs)."""

from __future__ import annotations

import json

import openai
import pytest
from weather_agent import TOOLS, AgentStuck, ask_agent, get_weather

SAME_CALL_FOREVER = """
fixture "the same call, again and again" {
  match POST /v1/chat/completions
  toolCall "get_weather" {"city": "Paris"}
}
"""


@pytest.mark.dotmock("weather_agent.mock")
def test_the_agent_answers_after_two_rounds_of_tools(dotmock):
    assert dotmock.call(ask_agent, "What is the weather?") == "21 degrees in Paris, Rome and London."
    assert [x.fixture for x in dotmock.requests] == ["round 1", "round 2: two calls at once", "the answer"]
    assert dotmock.findings == []


@pytest.mark.dotmock(text=SAME_CALL_FOREVER)
def test_the_agent_stops_a_loop(dotmock):
    with pytest.raises(AgentStuck):
        dotmock.call(ask_agent, "What is the weather?")
    assert len(dotmock.requests) == 2  # ran it once, refused the second time


def naive_agent(question: str) -> str:
    """No guard: runs whatever the model asks, for as long as it asks."""
    messages: list[object] = [{"role": "user", "content": question}]
    with openai.OpenAI(max_retries=0) as client:
        for _ in range(8):
            message = client.chat.completions.create(model="m", messages=messages, tools=TOOLS).choices[0].message
            if not message.tool_calls:
                return message.content or ""
            messages.append(message.model_dump(include={"role", "content", "tool_calls"}))
            for call in message.tool_calls:
                result = get_weather(**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return "gave up"


@pytest.mark.dotmock(text=SAME_CALL_FOREVER, check=False)
def test_a_naive_agent_is_caught_looping(dotmock):
    dotmock.call(naive_agent, "What is the weather?")
    assert [f.name for f in dotmock.findings] == ["tool_loop"]
