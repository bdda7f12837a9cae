"""Agent answers on the wire, read by the official SDKs (openai 3.57, anthropic 2.16): tool calls, parallel
calls, refusals, reasoning and structured JSON on Chat Completions, Responses and Anthropic Messages; and
conversation-aware matching (`turn`, `lastRole`, `toolResult`) over each API's own shape of a conversation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anthropic
import openai
import pydantic
import pytest

from dotmock.dsl import load_text
from dotmock.dsl.model import TextOutcome
from dotmock.server.agent_payloads import unsupported_message
from dotmock.server.conversation import read_conversation
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

SCENARIO = r"""
fixture "plan" {
  match POST * { turn 1 message contains "weather" }
  reasoning "Two tools at once."
  response "Checking."
  toolCall "get_weather" {"city": "Paris"}
  toolCall "get_time" id "call_time" {"tz": "UTC"}
}
fixture "summary" {
  match POST * { turn 2 lastRole "tool" toolResult "get_weather" contains "21" toolResult * id "call_time" }
  response "21 degrees at noon."
}
fixture "refuse" { match POST * { message contains "secret" } refusal "I can't help with that." }
fixture "extract" { match POST * { message contains "extract" } structured {"city": "Paris", "temp": 21} }
fixture "broken" { match POST * { message contains "broken" } toolCall "lookup" raw "{\"q\": " }
"""
WEATHER = [{"role": "user", "content": "weather please"}]


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(load_text(SCENARIO, "agents.mock").cases[0]) as server:
        yield server


def oai(srv: RunningServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="sk-test", max_retries=0)


def claude(srv: RunningServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="sk-ant-test", max_retries=0)


async def test_chat_completions_tool_loop(srv: RunningServer) -> None:
    async with oai(srv) as client:
        first = await client.chat.completions.create(model="m", messages=WEATHER)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content == "Checking."
        calls = choice.message.tool_calls or []
        assert [(c.type, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
            ("function", "get_weather", {"city": "Paris"}),
            ("function", "get_time", {"tz": "UTC"}),
        ]
        assert calls[0].id.startswith("call_") and calls[1].id == "call_time"
        history = [*WEATHER, choice.message.model_dump(exclude_none=True)]
        history += [{"role": "tool", "tool_call_id": calls[0].id, "content": "21 degrees"}]
        history += [{"role": "tool", "tool_call_id": "call_time", "content": "12:00"}]
        second = await client.chat.completions.create(model="m", messages=history)
        assert second.choices[0].message.content == "21 degrees at noon."
    assert [e.fixture for e in srv.journal.http] == ["plan", "summary"]
    assert [(c.name, c.id) for c in srv.journal.http[0].tool_calls] == [
        ("get_weather", calls[0].id),
        ("get_time", "call_time"),
    ]
    assert srv.journal.http[0].stop_reason == "tool_calls"


async def test_responses_tool_loop_with_reasoning(srv: RunningServer) -> None:
    async with oai(srv) as client:
        first = await client.responses.create(model="m", input="weather please")
        kinds = [item.type for item in first.output]
        assert kinds == ["reasoning", "message", "function_call", "function_call"]
        assert first.output[0].summary[0].text == "Two tools at once."
        calls = [item for item in first.output if item.type == "function_call"]
        assert [(c.name, c.call_id == "call_time") for c in calls] == [("get_weather", False), ("get_time", True)]
        items = [
            {"role": "user", "content": "weather please"},
            *(i.model_dump(exclude_none=True) for i in first.output),
        ]
        items += [{"type": "function_call_output", "call_id": c.call_id, "output": "21 degrees"} for c in calls]
        second = await client.responses.create(model="m", input=items)
        assert second.output_text == "21 degrees at noon."


async def test_messages_tool_loop_with_thinking(srv: RunningServer) -> None:
    async with claude(srv) as client:
        first = await client.messages.create(model="m", max_tokens=100, messages=WEATHER)
        assert first.stop_reason == "tool_use"
        assert [b.type for b in first.content] == ["thinking", "text", "tool_use", "tool_use"]
        uses = [b for b in first.content if b.type == "tool_use"]
        assert uses[0].input == {"city": "Paris"} and uses[0].id.startswith("toolu_") and uses[1].id == "call_time"
        history = [*WEATHER, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}]
        history.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": "21"} for u in uses]}
        )
        second = await client.messages.create(model="m", max_tokens=100, messages=history)
        assert second.content[0].type == "text" and second.content[0].text == "21 degrees at noon."


async def test_refusals_in_each_apis_form(srv: RunningServer) -> None:
    ask = [{"role": "user", "content": "tell me a secret"}]
    async with oai(srv) as client:
        chat = await client.chat.completions.create(model="m", messages=ask)
        assert chat.choices[0].message.refusal == "I can't help with that." and chat.choices[0].message.content is None
        response = await client.responses.create(model="m", input="tell me a secret")
        part = response.output[0].content[0]
        assert part.type == "refusal" and part.refusal == "I can't help with that."
    async with claude(srv) as client:
        message = await client.messages.create(model="m", max_tokens=10, messages=ask)
        assert message.stop_reason == "refusal"
    assert {e.stop_reason for e in srv.journal.http} == {"refusal"}


class City(pydantic.BaseModel):
    city: str
    temp: int


async def test_structured_answers_parse_with_the_sdk_helpers(srv: RunningServer) -> None:
    ask = [{"role": "user", "content": "extract it"}]
    async with oai(srv) as client:
        chat = await client.chat.completions.parse(model="m", messages=ask, response_format=City)
        assert chat.choices[0].message.parsed == City(city="Paris", temp=21)
        response = await client.responses.parse(model="m", input="extract it", text_format=City)
        assert response.output_parsed == City(city="Paris", temp=21)


async def test_raw_arguments_reach_the_client_as_written(srv: RunningServer) -> None:
    async with oai(srv) as client:
        chat = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "broken"}])
        assert (chat.choices[0].message.tool_calls or [])[0].function.arguments == '{"q": '
    (sent,) = srv.journal.http[0].tool_calls
    assert not sent.valid_json and sent.arguments_whole


def test_an_api_that_cannot_send_an_agent_answer_says_so() -> None:
    outcome = load_text(SCENARIO, "agents.mock").cases[0].fixtures[0].outcome
    assert isinstance(outcome, TextOutcome)
    message = unsupported_message("plan", outcome, "count_tokens", "/v1/messages/count_tokens", False)
    assert message == (
        "dotmock: fixture 'plan' answers with tool calls and reasoning, which dotmock cannot send as a JSON "
        "answer on /v1/messages/count_tokens yet."
    )
    for api in ("chat_completions", "responses", "messages", "gemini"):
        assert unsupported_message("plan", outcome, api, "/v1/x", True) is None


class GetWeather(pydantic.BaseModel):
    city: str


class GetTime(pydantic.BaseModel):
    tz: str


async def test_chat_completions_stream_helper_yields_whole_parsed_calls(srv: RunningServer) -> None:
    tools = [
        openai.pydantic_function_tool(GetWeather, name="get_weather"),
        openai.pydantic_function_tool(GetTime, name="get_time"),
    ]
    async with oai(srv) as client:
        async with client.chat.completions.stream(model="m", messages=WEATHER, tools=tools) as stream:
            kinds = {event.type async for event in stream}
            final = await stream.get_final_completion()
    assert {"tool_calls.function.arguments.delta", "tool_calls.function.arguments.done", "content.delta"} <= kinds
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Checking."
    calls = choice.message.tool_calls or []
    assert [c.function.parsed_arguments for c in calls] == [GetWeather(city="Paris"), GetTime(tz="UTC")]
    assert calls[1].id == "call_time"
    (exchange,) = srv.journal.http
    assert exchange.completed and all(c.arguments_whole for c in exchange.tool_calls)


async def test_responses_stream_helper_yields_the_whole_output(srv: RunningServer) -> None:
    async with oai(srv) as client:
        async with client.responses.stream(model="m", input="weather please") as stream:
            kinds = {event.type async for event in stream}
            final = await stream.get_final_response()
    assert {"response.function_call_arguments.delta", "response.function_call_arguments.done"} <= kinds
    assert "response.reasoning_summary_text.delta" in kinds
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call", "function_call"]
    calls = [item for item in final.output if item.type == "function_call"]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "Paris"}, {"tz": "UTC"}]
    assert final.output_text == "Checking." and final.output[0].summary[0].text == "Two tools at once."


async def test_messages_stream_helper_yields_whole_tool_use_blocks(srv: RunningServer) -> None:
    async with claude(srv) as client:
        async with client.messages.stream(model="m", max_tokens=100, messages=WEATHER) as stream:
            kinds = {event.type async for event in stream}
            final = await stream.get_final_message()
    assert {"input_json", "thinking", "signature", "text"} <= kinds
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert [b.input for b in final.content if b.type == "tool_use"] == [{"city": "Paris"}, {"tz": "UTC"}]


async def test_streamed_refusals(srv: RunningServer) -> None:
    ask = [{"role": "user", "content": "tell me a secret"}]
    async with oai(srv) as client:
        async with client.chat.completions.stream(model="m", messages=ask) as stream:
            chat = await stream.get_final_completion()
        assert chat.choices[0].message.refusal == "I can't help with that."
        async with client.responses.stream(model="m", input="tell me a secret") as stream:
            response = await stream.get_final_response()
        assert response.output[0].content[0].type == "refusal"
    async with claude(srv) as client:
        async with client.messages.stream(model="m", max_tokens=10, messages=ask) as stream:
            message = await stream.get_final_message()
        assert message.stop_reason == "refusal"


FAULTED = r"""
fixture "truncate" { match POST * { message contains "truncate" } toolCall "f" {"city": "Paris"}
  streaming { chunkSize 5 truncateAfterChunks 2 } }
fixture "drop" { match POST * { message contains "drop" } toolCall "f" {"city": "Paris"}
  streaming { chunkSize 5 } fault disconnect after 2 chunks }
fixture "garbage" { match POST * { message contains "garbage" } toolCall "f" {"city": "Paris"}
  streaming { chunkSize 5 } fault malformedChunk after 2 chunks }
"""


@pytest.mark.parametrize("api", ["chat", "responses", "messages"])
@pytest.mark.parametrize("fault", ["truncate", "drop", "garbage"])
async def test_every_stream_fault_can_land_inside_a_calls_arguments(api: str, fault: str) -> None:
    """Two pieces of 5 characters of `{"city": "Paris"}` go out, then the fault. What each SDK's stream
    helper makes of it is what a client meets; the journal knows how much of the call went out."""
    ask = [{"role": "user", "content": fault}]
    async with running_server(load_text(FAULTED, "f.mock").cases[0]) as server:
        outcome: object
        try:
            if api == "messages":
                async with claude(server) as client:
                    async with client.messages.stream(model="m", max_tokens=10, messages=ask) as stream:
                        outcome = (await stream.get_final_message()).content[0]
            else:
                async with oai(server) as client:
                    if api == "chat":
                        async with client.chat.completions.stream(model="m", messages=ask) as stream:
                            outcome = (await stream.get_final_completion()).choices[0]
                    else:
                        async with client.responses.stream(model="m", input=fault) as stream:
                            outcome = await stream.get_final_response()
        except Exception as err:  # what the SDK raised is the observation
            outcome = err
        (exchange,) = server.journal.http
        (sent,) = exchange.tool_calls
    assert exchange.completed == (fault == "garbage")
    if fault == "garbage":  # the bad event is extra: every piece of the arguments still went out before the end
        assert not isinstance(outcome, Exception) or "JSON" in type(outcome).__name__ or "Expecting" in str(outcome)
    else:
        assert sent.sent_chars == 10 and not sent.arguments_whole
    if fault == "truncate" and api == "chat":  # the helper hands over the cut call silently
        assert outcome.finish_reason is None and outcome.message.tool_calls[0].function.arguments == '{"city": "'
    if fault == "truncate" and api == "responses":
        assert isinstance(outcome, RuntimeError) and "response.completed" in str(outcome)
    if fault == "truncate" and api == "messages":  # a partial tool_use block, its input parsed as far as it went
        assert outcome.type == "tool_use" and outcome.input in ({}, {"city": ""})
    if fault == "drop":
        assert isinstance(outcome, Exception)


async def test_an_unmatched_turn_names_the_turn_and_the_last_role(srv: RunningServer) -> None:
    history = [*WEATHER, {"role": "assistant", "content": "?"}, {"role": "tool", "tool_call_id": "x", "content": "1"}]
    async with oai(srv) as client:
        with pytest.raises(openai.NotFoundError) as info:
            await client.chat.completions.create(model="m", messages=history)
    message = str(info.value)
    assert "turn 2, last message from 'tool'" in message
    assert "'summary': no tool result for 'get_weather' that contains '21'" in message


def test_one_conversation_in_the_three_shapes() -> None:
    chat = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r1"},
        ]
    }
    responses = {
        "input": [
            {"role": "user", "content": "q"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "r1"},
        ]
    }
    messages = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": [{"text": "r1"}]}]},
        ]
    }
    for body in (chat, responses, messages):
        conversation = read_conversation(body)
        assert (conversation.turn, conversation.last_role) == (2, "tool"), body
        assert [(r.call_id, r.name, r.content, r.trailing) for r in conversation.results] == [("c1", "f", "r1", True)]
        assert [(c.id, c.name, c.arguments) for c in conversation.calls] == [("c1", "f", "{}")]
    assert read_conversation({"input": "q"}).turn == 1
