"""Anthropic Messages (`POST /v1/messages`): the JSON message, the SSE event stream, and error bodies.

The stream is the sequence the API sends: `message_start`, `content_block_start`, `ping`,
`content_block_delta` (`text_delta`) per chunk, `content_block_stop`, `message_delta` (stop_reason, usage),
`message_stop`, each with its `event:` line. `message_stop` marks a complete stream: a truncation withholds
it. A mid-stream error is `event: error` with `{"type": "error", "error": {"type", "message"}}`; the
anthropic SDK raises `APIStatusError` on it. Error answers carry `{"type": "error", "error": {...}}`.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

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


def error_body(status: int, message: str, given_type: str | None = None) -> bytes:
    return json.dumps(
        {"type": "error", "error": {"type": error_type_for(status, given_type), "message": message}}
    ).encode()


def stop_reason(finish_reason: str) -> str:
    return _STOP_REASONS.get(finish_reason, finish_reason)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _frame(event: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _json(payload) + b"\n\n"


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


class MessagesRenderer:
    """The Messages SSE events for one answer (the `server.sse.Renderer` protocol)."""

    def __init__(self, reply: Reply, finish_reason: str) -> None:
        self.reply = reply
        self.finish_reason = finish_reason
        self.text_sent: list[str] = []
        self._delta_head = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
        self._delta_head += b'{"type":"text_delta","text":'

    def opening(self) -> list[bytes]:
        start = {
            **message_object(self.reply, "", self.finish_reason),
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": self.reply.prompt_tokens, "output_tokens": 1},
        }
        return [
            _frame("message_start", {"type": "message_start", "message": start}),
            _frame(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            _frame("ping", {"type": "ping"}),
        ]

    def delta(self, text: str) -> bytes:
        self.text_sent.append(text)
        return self._delta_head + encode_basestring(text).encode() + b"}}\n\n"

    def closing(self) -> list[bytes]:
        usage = {"output_tokens": estimate_tokens("".join(self.text_sent))}
        delta = {"stop_reason": stop_reason(self.finish_reason), "stop_sequence": None}
        return [
            _frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _frame("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}),
            _frame("message_stop", {"type": "message_stop"}),
        ]

    def error_event(self, message: str, error_type: str, code: str | None) -> bytes:
        kind = (
            error_type if error_type in _KNOWN_TYPES else ("overloaded_error" if code == "overloaded" else "api_error")
        )
        return _frame("error", {"type": "error", "error": {"type": kind, "message": message}})

    def malformed(self, data: str | None) -> bytes:
        if data is not None:
            lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            return (
                b"event: content_block_delta\n" + b"".join(b"data: " + line.encode() + b"\n" for line in lines) + b"\n"
            )
        frame = self.delta("...")
        self.text_sent.pop()
        body = frame[: -len(b"\n\n")]
        return body[: max(1, len(body) // 2)] + b"\n\n"


def check_body(body: dict[str, Any]) -> str | None:
    """What is wrong with a Messages request body, in the API's words, or None."""
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return "max_tokens: Input should be a valid integer"
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
