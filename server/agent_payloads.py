"""The agent parts of an answer as each API's JSON spells them: tool calls, refusals, reasoning.

- Chat Completions: `message.tool_calls[{id, type: "function", function: {name, arguments}}]` (arguments a
  JSON string), `content` null when there is no text, `message.refusal`; finish_reason "tool_calls".
- Responses: output items `reasoning {summary: [summary_text]}`, `message` (`output_text` or `refusal`
  content), `function_call {id, call_id, name, arguments}`.
- Anthropic Messages: content blocks `thinking`, `text`, `tool_use {id, name, input}` (input an object);
  stop_reason "tool_use" / "refusal".
- Gemini: `candidates[0].content.parts`: a thought `{text, thought: true}`, `{text}`, then a
  `{functionCall: {name, args}}` part per call (`id` only when the fixture gives one: the Gemini API's calls
  have none, a result names its call by the tool's name); finishReason STOP, SAFETY for a refusal.

`AgentAnswer` fixes the ids of one answer, so a JSON body and the journal (what the runner judges from)
name the same calls.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from dotmock.dsl.model import TextOutcome, ToolCall
from dotmock.server.apis import gemini, messages
from dotmock.server.apis.chat_completions import chat_completion
from dotmock.server.apis.responses import response_object
from dotmock.server.conversation import positional_ids
from dotmock.server.journal import HttpExchange, SentCall
from dotmock.server.payloads import Reply, estimate_tokens

# The APIs (by name) that can send the agent forms, and whether streamed. Grows as the renderers learn them.
SUPPORTED: frozenset[tuple[str, bool]] = frozenset(
    (api, streamed) for api in ("chat_completions", "responses", "messages", "gemini") for streamed in (False, True)
)


def _hex() -> str:
    return secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class AgentAnswer:
    """One answer's tool calls with their ids fixed (the fixture's, or made up in the API's style)."""

    outcome: TextOutcome
    call_ids: tuple[str, ...]
    item_ids: tuple[str, ...]  # Responses `function_call` item ids (`fc_...`)

    @classmethod
    def of(cls, outcome: TextOutcome, api: str) -> AgentAnswer:
        if api == "gemini":  # no ids on the wire: a call is known by its name (and position)
            ids = tuple(positional_ids([c.name for c in outcome.tool_calls], [c.id for c in outcome.tool_calls]))
            return cls(outcome, ids, ())
        prefix = "toolu_mock_" if api == "messages" else "call_mock_"
        ids = tuple(c.id if c.id is not None else prefix + _hex() for c in outcome.tool_calls)
        return cls(outcome, ids, tuple("fc_mock_" + _hex() for _ in outcome.tool_calls))

    @property
    def calls(self) -> tuple[tuple[str, ToolCall], ...]:
        return tuple(zip(self.call_ids, self.outcome.tool_calls, strict=True))

    def journal(self, exchange: HttpExchange, *, sent_in_full: bool) -> None:
        """Record the calls (and the stop) on the exchange: what the runner's agent findings read."""
        exchange.tool_calls = [
            SentCall(i, c.name, c.arguments_text(), c.valid_json, len(c.arguments_text()) if sent_in_full else 0)
            for i, c in self.calls
        ]
        exchange.stop_reason = stop_reason(self.outcome)


def stop_reason(outcome: TextOutcome) -> str:
    """The answer's stop in Chat Completions words (`refusal` for a refusal)."""
    return "refusal" if outcome.refusal is not None else outcome.finish_reason


def anthropic_input(call: ToolCall) -> Any:
    """A `tool_use` block's `input` object. Raw arguments that are not an object go as the raw text (no
    valid object exists for them): a client that trusts `input` to be a dict breaks, as it should notice."""
    if call.raw is None:
        return call.arguments if call.arguments is not None else {}
    try:
        value = json.loads(call.raw)
    except ValueError:
        return call.raw
    return value if isinstance(value, dict) else call.raw


# ---------------------------------------------------------------------------------------------- Chat


def chat_tool_call(call_id: str, call: ToolCall) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_text()}}


def chat_body(reply: Reply, answer: AgentAnswer) -> dict[str, Any]:
    outcome = answer.outcome
    body = chat_completion(reply, outcome.text, outcome.finish_reason)
    message = body["choices"][0]["message"]
    if outcome.refusal is not None:
        message["content"] = None
        message["refusal"] = outcome.refusal
    elif outcome.tool_calls and not outcome.text:
        message["content"] = None
    if outcome.tool_calls:
        message["tool_calls"] = [chat_tool_call(i, c) for i, c in answer.calls]
    return body


# ---------------------------------------------------------------------------------------------- Responses


def reasoning_item(reply: Reply, text: str) -> dict[str, Any]:
    return {
        "id": "rs_" + reply.item_id.removeprefix("msg_"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}],
        "status": "completed",
    }


def function_call_item(item_id: str, call_id: str, call: ToolCall, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": call.name,
        "arguments": call.arguments_text() if status == "completed" else "",
    }


def refusal_part(text: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": text}


def responses_output(reply: Reply, answer: AgentAnswer) -> list[dict[str, Any]]:
    outcome = answer.outcome
    items: list[dict[str, Any]] = []
    if outcome.reasoning is not None:
        items.append(reasoning_item(reply, outcome.reasoning))
    if outcome.refusal is not None:
        items.append(
            {
                "id": reply.item_id,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [refusal_part(outcome.refusal)],
            }
        )
    elif outcome.text or not outcome.tool_calls:
        base = response_object(reply, "completed", outcome.text)["output"]
        items.extend(base)
    for (call_id, call), item_id in zip(answer.calls, answer.item_ids, strict=True):
        items.append(function_call_item(item_id, call_id, call, "completed"))
    return items


def responses_body(reply: Reply, answer: AgentAnswer) -> dict[str, Any]:
    body = response_object(reply, "completed", answer.outcome.text)
    body["output"] = responses_output(reply, answer)
    if answer.outcome.finish_reason == "length":
        body["status"] = "incomplete"
        body["incomplete_details"] = {"reason": "max_output_tokens"}
    return body


# ---------------------------------------------------------------------------------------------- Anthropic


def anthropic_content(answer: AgentAnswer) -> list[dict[str, Any]]:
    outcome = answer.outcome
    blocks: list[dict[str, Any]] = []
    if outcome.reasoning is not None:
        blocks.append({"type": "thinking", "thinking": outcome.reasoning, "signature": "dotmock-" + _hex()})
    text = outcome.refusal if outcome.refusal is not None else outcome.text
    if text or not outcome.tool_calls:
        blocks.append({"type": "text", "text": text})
    for call_id, call in answer.calls:
        blocks.append({"type": "tool_use", "id": call_id, "name": call.name, "input": anthropic_input(call)})
    return blocks


def messages_body(reply: Reply, answer: AgentAnswer) -> dict[str, Any]:
    outcome = answer.outcome
    body = messages.message_object(reply, outcome.text, stop_reason(outcome))
    body["content"] = anthropic_content(answer)
    return body


# ---------------------------------------------------------------------------------------------- Gemini


def gemini_args(call: ToolCall) -> Any:
    """A `functionCall`'s `args` object; raw arguments that are not an object go as written, as for Anthropic."""
    return anthropic_input(call)


def gemini_call_part(call: ToolCall) -> dict[str, Any]:
    function: dict[str, Any] = {"name": call.name, "args": gemini_args(call)}
    if call.id is not None:
        function = {"id": call.id, **function}
    return {"functionCall": function}


def gemini_thought(text: str) -> dict[str, Any]:
    return {"text": text, "thought": True}


def gemini_finish(outcome: TextOutcome) -> str:
    return "SAFETY" if outcome.refusal is not None else gemini.finish_reason(outcome.finish_reason)


def gemini_parts(answer: AgentAnswer) -> list[dict[str, Any]]:
    outcome = answer.outcome
    parts: list[dict[str, Any]] = []
    if outcome.reasoning is not None:
        parts.append(gemini_thought(outcome.reasoning))
    text = outcome.refusal if outcome.refusal is not None else outcome.text
    if text or not outcome.tool_calls:
        parts.append({"text": text})
    parts += [gemini_call_part(call) for call in outcome.tool_calls]
    return parts


def gemini_body(reply: Reply, answer: AgentAnswer, request: dict[str, Any]) -> dict[str, Any]:
    parts = gemini_parts(answer)
    output = estimate_tokens(json.dumps(parts, ensure_ascii=False))
    body = gemini.response_object(reply, "", gemini_finish(answer.outcome), gemini.prompt_tokens(request), output)
    body["candidates"][0]["content"]["parts"] = parts
    return body


def json_body(api: str, reply: Reply, answer: AgentAnswer, request: dict[str, Any]) -> dict[str, Any]:
    """The non-streamed answer with its agent parts, for the API named `api` (`request`: the request body)."""
    if api == "chat_completions":
        return chat_body(reply, answer)
    if api == "gemini":
        return gemini_body(reply, answer, request)
    if api == "messages":
        return messages_body(reply, answer)
    return responses_body(reply, answer)


def unsupported_message(fixture: str, outcome: TextOutcome, api: str, path: str, stream: bool) -> str | None:
    """Why this answer cannot be sent on `path` yet (None: it can): a clear error, never a silent text."""
    if outcome.is_plain_text or (api, stream) in SUPPORTED:
        return None
    forms = [
        what
        for what, present in (
            ("tool calls", bool(outcome.tool_calls)),
            ("a refusal", outcome.refusal is not None),
            ("reasoning", outcome.reasoning is not None),
        )
        if present
    ]
    how = "streamed" if stream else "JSON"
    return (
        f"dotmock: fixture {fixture!r} answers with {' and '.join(forms)}, which dotmock cannot send as a {how} "
        f"answer on {path} yet."
    )
