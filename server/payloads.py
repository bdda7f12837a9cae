"""The JSON objects the SDKs read: `chat.completion`, `response`, output items, usage, ids."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def estimate_tokens(text: str) -> int:
    """A stand-in token count (about four characters a token): plausible usage numbers, nothing more."""
    return (len(text) + 3) // 4


@dataclass(slots=True)
class Reply:
    """Everything about one answer that stays the same across its JSON body or its stream's events."""

    model: str
    prompt_tokens: int
    chat_id: str = field(default_factory=lambda: new_id("chatcmpl-mock-"))
    response_id: str = field(default_factory=lambda: new_id("resp_mock_"))
    item_id: str = field(default_factory=lambda: new_id("msg_mock_"))
    created: int = field(default_factory=lambda: int(time.time()))


def request_model(body: Any) -> str:
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else "dotmock"


def prompt_tokens(body: Any) -> int:
    if not isinstance(body, dict):
        return 0
    prompt = body.get("messages", body.get("input"))
    return estimate_tokens(prompt if isinstance(prompt, str) else json.dumps(prompt, default=str))


def chat_usage(reply: Reply, text: str) -> dict[str, Any]:
    completion = estimate_tokens(text)
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def chat_completion(reply: Reply, text: str, finish_reason: str) -> dict[str, Any]:
    return {
        "id": reply.chat_id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": chat_usage(reply, text),
        "system_fingerprint": None,
    }


def responses_usage(reply: Reply, text: str) -> dict[str, Any]:
    output = estimate_tokens(text)
    return {
        "input_tokens": reply.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.prompt_tokens + output,
    }


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(reply: Reply, text: str | None, status: str) -> dict[str, Any]:
    """The assistant message output item; `text` None gives the empty item of `output_item.added`."""
    content = [] if text is None else [output_text_part(text)]
    return {"id": reply.item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def response_object(reply: Reply, status: str, text: str | None) -> dict[str, Any]:
    """A `response` object; `text` None means no output yet (and no usage)."""
    return {
        "id": reply.response_id,
        "object": "response",
        "created_at": reply.created,
        "status": status,
        "model": reply.model,
        "output": [] if text is None else [message_item(reply, text, "completed")],
        "usage": None if text is None else responses_usage(reply, text),
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
    }
