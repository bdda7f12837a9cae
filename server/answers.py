"""Turning a matched fixture's outcome into an HTTP answer: a JSON body, an SSE stream, or an error.

An `Answer` is framework-free (status, header pairs, bytes or an async iterator of bytes): the fast ASGI path
(`server.fastpath`) sends it as is, the Quart routes convert it with `quart_response`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from quart import Response

from dotmock.dsl.catalogue import CHAT_COMPLETIONS_PATH, MESSAGES_PATH
from dotmock.dsl.model import Dialect, ErrorOutcome, TextOutcome
from dotmock.server.apis import messages
from dotmock.server.errors import ApiError, outcome_body, retry_after_seconds
from dotmock.server.journal import HttpExchange
from dotmock.server.payloads import Reply, chat_completion, prompt_tokens, request_model, response_object
from dotmock.server.sse import ChatRenderer, Renderer, ResponsesRenderer, SeedResponsesRenderer
from dotmock.server.streaming import ClientLink, StreamLimits, stream_body
from dotmock.server.validation import ParsedRequest

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass(slots=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]  # in wire order, names lower-case
    body: bytes | AsyncIterator[bytes]

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (name.encode(), value.encode()) if name == "x-request-id" else _encoded(name, value)
            for name, value in self.headers
        ]


@functools.lru_cache(maxsize=256)
def _encoded(name: str, value: str) -> tuple[bytes, bytes]:
    """A header pair as bytes; the same few pairs recur on every answer, so each is encoded (and held) once."""
    return name.encode(), value.encode()


def quart_response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status)
    response.headers.clear()
    for name, value in answer.headers:
        response.headers.add(name, value)
    response.timeout = None  # a stream lasts as long as its fixture says, not Quart's RESPONSE_TIMEOUT
    return response


def _request_id() -> str:
    return "req_mock_" + format(time.monotonic_ns(), "x")


def json_response(
    exchange: HttpExchange, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()
) -> Answer:
    """A complete JSON body, recorded as sent in full."""
    exchange.status = status
    exchange.bytes_sent = len(body)
    exchange.completed = True
    exchange.ended_at = time.monotonic()
    pairs = [("content-type", JSON_TYPE), ("content-length", str(len(body))), ("x-request-id", _request_id())]
    pairs += [(name.lower(), value) for name, value in headers]
    return Answer(status, pairs, body)


def api_error_response(exchange: HttpExchange, err: ApiError) -> Answer:
    exchange.error = err.message
    if exchange.path == MESSAGES_PATH:
        body = messages.error_body(err.status, err.message)
        return json_response(exchange, err.status, body, (("request-id", _request_id()),))
    return json_response(exchange, err.status, err.body())


def error_outcome_response(exchange: HttpExchange, outcome: ErrorOutcome) -> Answer:
    exchange.retry_after_s = retry_after_seconds(outcome.headers)
    if exchange.path == MESSAGES_PATH:
        body = outcome_body(outcome) if outcome.body is not None else b""
        if not body:
            message = outcome.message if outcome.message is not None else f"Error {outcome.status}."
            body = messages.error_body(outcome.status, message, outcome.error_type)
        headers = (("request-id", _request_id()), *outcome.headers)
        return json_response(exchange, outcome.status, body, headers)
    return json_response(exchange, outcome.status, outcome_body(outcome), outcome.headers)


def renderer_for(path: str, dialect: Dialect, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> Renderer:
    """The SSE renderer for an endpoint: chat chunks, or Responses events in the given dialect."""
    if path == CHAT_COMPLETIONS_PATH:
        return ChatRenderer(reply, outcome.finish_reason, request.include_usage)
    if path == MESSAGES_PATH:
        return messages.MessagesRenderer(reply, outcome.finish_reason)
    if dialect == "seed":
        return SeedResponsesRenderer(reply)
    return ResponsesRenderer(reply)


_renderer = renderer_for  # the name server/ws_replay.py imports


def text_response(
    exchange: HttpExchange,
    path: str,
    outcome: TextOutcome,
    request: ParsedRequest,
    scenario_dialect: Dialect,
    limits: StreamLimits,
    client: ClientLink | None = None,
) -> Answer:
    """The fixture's text as one JSON object, or streamed as SSE when the request asked for a stream."""
    reply = Reply(model=request_model(request.body), prompt_tokens=prompt_tokens(request.body))
    if not request.stream:
        if path == CHAT_COMPLETIONS_PATH:
            payload = chat_completion(reply, outcome.text, outcome.finish_reason)
        elif path == MESSAGES_PATH:
            payload = messages.message_object(reply, outcome.text, outcome.finish_reason)
        else:
            payload = response_object(reply, "completed", outcome.text)
        return json_response(exchange, 200, json.dumps(payload, ensure_ascii=False).encode())
    renderer = renderer_for(path, outcome.dialect or scenario_dialect, reply, outcome, request)
    exchange.status = 200
    headers = [("content-type", SSE_TYPE), *SSE_HEADERS.items(), ("x-request-id", _request_id())]
    return Answer(200, headers, stream_body(renderer, outcome, exchange, limits, client))
