"""Anthropic Messages (`POST /v1/messages`): the JSON message, the SSE event stream, and error bodies.

The stream is the sequence the API sends: `message_start`, `content_block_start`, `ping`,
`content_block_delta` (`text_delta`) per chunk, `content_block_stop`, `message_delta` (stop_reason, usage),
`message_stop`, each with its `event:` line. `message_stop` marks a complete stream: a truncation withholds
it. A mid-stream error is `event: error` with `{"type": "error", "error": {"type", "message"}}`; the
anthropic SDK raises `APIStatusError` on it. Error answers carry `{"type": "error", "error": {...}}`.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import Dialect, ErrorOutcome, TextOutcome
from dotmock.server.apis.base import Api, ParsedRequest, TextRenderer
from dotmock.server.errors import ApiError, outcome_body
from dotmock.server.events import Event, dumps, json_str, typed_event
from dotmock.server.payloads import Reply, estimate_tokens

# status -> Anthropic's error type (their docs' "HTTP errors" table)
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_KNOWN_TYPES = frozenset(ERROR_TYPES.values())
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def error_type_for(status: int, given: str | None = None) -> str:
    """The Anthropic error type for a status (a fixture's own type if it is one of Anthropic's)."""
    if given in _KNOWN_TYPES:
        return given
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str, given_type: str | None = None, rid: str | None = None) -> bytes:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` (the id is the `request-id` header's)."""
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type_for(status, given_type), "message": message}}
    if rid is not None:
        body["request_id"] = rid
    return json.dumps(body).encode()


# `anthropic-version` names an API version by its date (2023-01-01 was the first; anthropic 2.16 and
# @anthropic-ai/sdk 1.16 send 2026-10-21): any real date from the first on is taken for one.
FIRST_VERSION = "2023-01-01"


def _is_version(value: str) -> bool:
    try:
        return len(value) == 10 and date.fromisoformat(value).isoformat() >= FIRST_VERSION
    except ValueError:
        return False


def check_headers(headers: dict[str, str]) -> ApiError | None:
    """What the API answers a request without a key (401) or without a valid `anthropic-version` (400).
    Any key is accepted, as `x-api-key` or `Authorization: Bearer` (anthropic 2.16 sends its api_key so)."""
    if not headers.get("x-api-key") and not headers.get("authorization"):
        return ApiError(401, "x-api-key header is required", error_type="authentication_error")
    version = headers.get("anthropic-version")
    if version is None:
        return ApiError(400, "anthropic-version: header is required")
    if not _is_version(version.strip()):
        return ApiError(400, f"anthropic-version: {json.dumps(version)} is not a valid version")
    return None


RATE_LIMITS = {"requests": 4000, "tokens": 2_000_000, "input-tokens": 2_000_000, "output-tokens": 400_000}
_rate_cache: tuple[int, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = (0, (), ())


def rate_limit_headers(*, exhausted: bool = False) -> tuple[tuple[str, str], ...]:
    """The `anthropic-ratelimit-*` headers every answer carries: limit, remaining (all of it, or none on a
    429) and reset (the next minute, RFC 3339) for requests, tokens, input and output tokens. Built once a
    second: the same few values recur on every answer."""
    global _rate_cache
    now = int(time.time())
    if _rate_cache[0] != now:
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - now % 60 + 60))
        full: list[tuple[str, str]] = []
        empty: list[tuple[str, str]] = []
        for name, limit in RATE_LIMITS.items():
            head = f"anthropic-ratelimit-{name}-"
            full += [(head + "limit", str(limit)), (head + "remaining", str(limit)), (head + "reset", reset)]
            empty += [(head + "limit", str(limit)), (head + "remaining", "0"), (head + "reset", reset)]
        _rate_cache = (now, tuple(full), tuple(empty))
    return _rate_cache[2] if exhausted else _rate_cache[1]


def stop_reason(finish_reason: str) -> str:
    return _STOP_REASONS.get(finish_reason, finish_reason)


def _event(event_type: str, payload: dict[str, Any]) -> Event:
    return typed_event(event_type, dumps(payload))


def _message_id(reply: Reply) -> str:
    return "msg_mock_" + reply.item_id.removeprefix("msg_mock_")


def message_object(reply: Reply, text: str, finish_reason: str) -> dict[str, Any]:
    """The non-streamed answer."""
    return {
        "id": _message_id(reply),
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason(finish_reason),
        "stop_sequence": None,
        "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": estimate_tokens(text)},
    }


_BLOCK_START = dumps({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
_PING = dumps({"type": "ping"})
_BLOCK_STOP = dumps({"type": "content_block_stop", "index": 0})
_STOP = dumps({"type": "message_stop"})


class MessagesRenderer(TextRenderer):
    """The Messages SSE events for one answer (the `server.apis.base.Renderer` protocol)."""

    delta_name = b"content_block_delta"

    def __init__(self, reply: Reply, finish_reason: str) -> None:
        super().__init__(reply, finish_reason)
        self._delta_head = b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'

    def opening(self) -> list[Event]:
        # Written from templates, not json.dumps (the same bytes: compact, key order of message_object):
        # each dumps call costs more than the whole delta of a chunk, and this runs on every stream.
        reply = self.reply
        start = (
            b'{"type":"message_start","message":{"id":'
            + json_str(_message_id(reply))
            + b',"type":"message","role":"assistant","model":'
            + json_str(reply.model)
            + b',"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":'
            + str(reply.prompt_tokens).encode()
            + b',"output_tokens":1}}}'
        )
        return [
            typed_event("message_start", start),
            typed_event("content_block_start", _BLOCK_START),
            typed_event("ping", _PING),
        ]

    def delta(self, text: str) -> Event:
        self.text_sent.append(text)
        return Event(
            self._delta_head + json_str(text) + b"}}", b"content_block_delta", "content_block_delta", typed=True
        )

    def closing(self) -> list[Event]:
        delta = (
            b'{"type":"message_delta","delta":{"stop_reason":'
            + json_str(stop_reason(self.finish_reason))
            + b',"stop_sequence":null},"usage":{"output_tokens":'
            + str(estimate_tokens("".join(self.text_sent))).encode()
            + b"}}"
        )
        return [
            typed_event("content_block_stop", _BLOCK_STOP),
            typed_event("message_delta", delta),
            typed_event("message_stop", _STOP),
        ]

    def error_event(self, message: str, error_type: str, code: str | None) -> Event:
        kind = (
            error_type if error_type in _KNOWN_TYPES else ("overloaded_error" if code == "overloaded" else "api_error")
        )
        return _event("error", {"type": "error", "error": {"type": kind, "message": message}})


def body_problem(body: dict[str, Any], needs_max_tokens: bool) -> str | None:
    """What is wrong with a Messages request body, in the API's words, or None."""
    if not needs_max_tokens:
        return messages_problem(body)
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return "max_tokens: Input should be a valid integer"
    return messages_problem(body)


def messages_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a body's `messages`, in the API's words, or None."""
    if "messages" not in body:
        return "messages: Field required"
    messages = body["messages"]
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if not isinstance(message.get("content"), str | list):
            return f"messages.{i}.content: Input should be a valid string or list"
    return None


class Messages(Api):
    kind = APIS_BY_NAME["messages"]
    needs_max_tokens = True  # token counting (`CountTokens`) reads the same body without it

    def check_body(self, body: dict[str, Any]) -> None:
        problem = body_problem(body, self.needs_max_tokens)
        if problem is not None:
            raise ApiError(400, problem)

    def check_headers(self, headers: dict[str, str]) -> ApiError | None:
        return check_headers(headers)

    def error_body(self, err: ApiError, rid: str) -> bytes:
        return error_body(err.status, err.message, rid=rid)

    def answer_headers(self, rid: str, status: int) -> tuple[tuple[str, str], ...]:
        # The API sends the rate-limit headers on every answer; dotmock on error answers only, where clients
        # read them: twelve more headers cost hypercorn's writer (h11) about as much as the rest of a short
        # stream's headers, and a Messages stream must cost no more than 10 % over a Chat one (bench_apis.py).
        if status < 400:
            return (("request-id", rid),)
        return (("request-id", rid), *rate_limit_headers(exhausted=status == 429))

    def outcome_error(self, outcome: ErrorOutcome, rid: str) -> bytes:
        body = outcome_body(outcome) if outcome.body is not None else b""
        if body:
            return body
        message = outcome.message if outcome.message is not None else f"Error {outcome.status}."
        return error_body(outcome.status, message, outcome.error_type, rid)

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        return message_object(reply, outcome.text, outcome.finish_reason)

    def renderer(
        self, reply: Reply, outcome: TextOutcome, request: ParsedRequest, dialect: Dialect
    ) -> MessagesRenderer:
        return MessagesRenderer(reply, outcome.finish_reason)


API = Messages()
