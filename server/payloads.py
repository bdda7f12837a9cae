"""What every API's answer shares: the `Reply` (ids, model, prompt tokens), token estimates, request ids."""

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


def request_id() -> str:
    """A fresh id for the `x-request-id` (and Anthropic's `request-id`) header."""
    return "req_mock_" + format(time.monotonic_ns(), "x")
