"""Turning a matched fixture's outcome into an HTTP answer: a JSON body, an SSE stream, or an error.

An `Answer` is framework-free (status, header pairs, bytes or an async iterator of bytes): the fast ASGI path
(`server.fastpath`) sends it as is, the Quart routes convert it with `quart_response`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from quart import Response

from dotmock.dsl.model import Dialect, ErrorOutcome, TextOutcome
from dotmock.server import schema_violation
from dotmock.server.agent_payloads import AgentAnswer, json_body
from dotmock.server.agent_streams import agent_renderer
from dotmock.server.apis import api_for
from dotmock.server.apis.base import Api, ParsedRequest
from dotmock.server.apis.chat_completions import API as CHAT_COMPLETIONS
from dotmock.server.errors import ApiError
from dotmock.server.events import JsonArrayEncoder, encode_sse
from dotmock.server.jitter import Jitter
from dotmock.server.journal import HttpExchange
from dotmock.server.payloads import Reply, prompt_tokens, request_id, request_model
from dotmock.server.streaming import ClientLink, StreamLimits, encode_stream, stream_events

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


def json_response(
    exchange: HttpExchange,
    status: int,
    body: bytes,
    headers: tuple[tuple[str, str], ...] = (),
    rid: str | None = None,
) -> Answer:
    """A complete JSON body, recorded as sent in full."""
    exchange.status = status
    exchange.bytes_sent = len(body)
    exchange.completed = True
    exchange.ended_at = time.monotonic()
    pairs = [("content-type", JSON_TYPE), ("content-length", str(len(body))), ("x-request-id", rid or request_id())]
    pairs += [(name.lower(), value) for name, value in headers]
    return Answer(status, pairs, body)


async def delayed(exchange: HttpExchange, answer: Answer, wait_s: float, limits: StreamLimits) -> Answer:
    """`answer` (a whole JSON body) after `wait_s` of silence: nothing at all, not even the headers, goes out
    before it. Journaled: a `headers` tick when it goes, the exchange's end then."""
    try:
        with limits.state.tracking():
            await asyncio.sleep(min(wait_s, limits.max_stall_s))
    except asyncio.CancelledError:
        exchange.ended_at = time.monotonic()
        exchange.completed = False
        exchange.client_disconnected = not limits.state.stopping
        exchange.ticks.add(exchange.ended_at, "client_disconnected" if not limits.state.stopping else "server_shutdown")
        raise
    now = time.monotonic()
    exchange.ticks.add(now, "headers")
    if exchange.completed:
        exchange.ended_at = now
    return answer


def _api_of(exchange: HttpExchange) -> Api:
    """The API whose error shape an answer on `exchange`'s path takes (OpenAI's for a path none answers)."""
    return api_for(exchange.path) or CHAT_COMPLETIONS


def api_error_response(exchange: HttpExchange, err: ApiError, api: Api | None = None) -> Answer:
    """`err` in the error shape of `api` (default: the API of the exchange's path)."""
    exchange.error = err.message
    api, rid = api or _api_of(exchange), request_id()
    headers = (*api.answer_headers(rid, err.status), *err.headers)
    return json_response(exchange, err.status, api.error_body(err, rid), headers, rid)


def error_outcome_response(exchange: HttpExchange, outcome: ErrorOutcome) -> Answer:
    api, rid = _api_of(exchange), request_id()
    exchange.retry_after_s = api.wait_asked(outcome)
    given = {name.lower() for name, _ in outcome.headers}  # the fixture's own headers win
    own = tuple(pair for pair in api.answer_headers(rid, outcome.status) if pair[0] not in given)
    return json_response(exchange, outcome.status, api.outcome_error(outcome, rid), (*own, *outcome.headers), rid)


def reply_for(request: ParsedRequest) -> Reply:
    """The ids, model and prompt size of an answer to `request`."""
    return Reply(model=request.model or request_model(request.body), prompt_tokens=prompt_tokens(request.body))


def text_response(
    exchange: HttpExchange,
    api: Api,
    outcome: TextOutcome,
    request: ParsedRequest,
    scenario_dialect: Dialect,
    limits: StreamLimits,
    client: ClientLink | None = None,
    jitter: Jitter | None = None,
    reply: Reply | None = None,
) -> Answer:
    """The fixture's text as one JSON object, or streamed (SSE, or a JSON array) when the request asked for a
    stream, its waits moved by `jitter` (`reply`: the answer's ids, when the caller needs them; made up
    otherwise)."""
    reply = reply or reply_for(request)
    outcome = schema_violation.rewrite(outcome, api.name, request.body, exchange)
    agent = AgentAnswer.of(outcome, api.name)
    agent.journal(exchange, sent_in_full=not request.stream)
    rid = request_id()
    given = tuple((name.lower(), value) for name, value in outcome.headers)  # the fixture's win over the API's own
    own = (*(h for h in api.answer_headers(rid, 200) if h[0] not in {n for n, _ in given}), *given)
    if not request.stream:
        if not outcome.is_plain_text:
            payload = json.dumps(json_body(api.name, reply, agent, request.body), ensure_ascii=False).encode()
            return json_response(exchange, 200, payload, own, rid)
        return json_response(exchange, 200, api.json_bytes(reply, outcome, request), own, rid)
    renderer = (
        api.renderer(reply, outcome, request, scenario_dialect)
        if outcome.is_plain_text
        else agent_renderer(api.name, reply, agent, request)
    )
    exchange.status = 200
    events = stream_events(renderer, outcome, exchange, limits, client, jitter)
    if request.array_stream:
        array = JsonArrayEncoder()
        headers = [("content-type", JSON_TYPE), *SSE_HEADERS.items(), ("x-request-id", rid), *own]
        return Answer(200, headers, encode_stream(events, exchange, array.encode, array.close))
    headers = [("content-type", SSE_TYPE), *SSE_HEADERS.items(), ("x-request-id", rid), *own]
    return Answer(200, headers, encode_stream(events, exchange, encode_sse))
