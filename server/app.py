"""The HTTP side of the mock server: routes, request checks, matching, journaling.

`create_app(scenario, journal)` returns a Quart app serving `POST /v1/chat/completions`,
`POST /v1/responses`, the WebSocket routes (`server.websocket`) and the control endpoints
`GET /_dotmock/journal`, `POST /_dotmock/reset`, `GET /_dotmock/scenario`. Every client mistake is a 4xx in
OpenAI's error shape and is journaled; nothing a client sends makes it answer 500.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from quart import Quart, Response, has_request_context, has_websocket_context, request, websocket
from werkzeug.exceptions import HTTPException

from dotmock.dsl.catalogue import WS_ENDPOINTS
from dotmock.dsl.model import ErrorOutcome, Fixture, Scenario, TextOutcome
from dotmock.server import json_faults
from dotmock.server.agent_payloads import unsupported_message
from dotmock.server.answers import (
    Answer,
    api_error_response,
    delayed,
    error_outcome_response,
    json_response,
    quart_response,
    reply_for,
    text_response,
)
from dotmock.server.apis import APIS, api_for, base_url_mistake, family_of, models
from dotmock.server.apis.base import Api
from dotmock.server.asgi import add_middleware, lower_headers
from dotmock.server.errors import ApiError, internal_error
from dotmock.server.fastpath import Incoming, asgi_wrapper, client_link
from dotmock.server.guard import TOKEN_KEY, Guard, new_token
from dotmock.server.holder import ScenarioHolder
from dotmock.server.jitter import jitter_for
from dotmock.server.journal import HttpExchange, Journal
from dotmock.server.json_input import dumps_json
from dotmock.server.keepalive import keep_alive_middleware
from dotmock.server.matching import MatchRequest, call_key, no_match_message, select_fixture
from dotmock.server.panel import register_panel_routes
from dotmock.server.payloads import request_id
from dotmock.server.quart_app import DotmockQuart
from dotmock.server.redact import redact_headers, redact_query
from dotmock.server.streaming import StreamLimits
from dotmock.server.validation import parse_json
from dotmock.server.websocket import register_websocket_routes

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
JOURNAL_WRITE_CHARS = 64 * 1024  # the journal endpoint writes its records in pieces of about this size
BODY_TIMEOUT_S = 60.0
CONTROL_PREFIX = "/_dotmock/"
log = logging.getLogger("dotmock.server")


def _quart_incoming() -> Incoming:
    """The current Quart request as the endpoints see it."""
    content_length = request.content_length
    return Incoming(
        request.method,
        request.path,
        lower_headers(request.scope["headers"]),
        content_length,
        request.body,
        client_link(request.scope),
        request.scope.get("query_string", b"").decode("latin-1"),
    )


class _HttpEndpoints:
    def __init__(self, holder: ScenarioHolder, journal: Journal, max_body_bytes: int, limits: StreamLimits) -> None:
        self.holder = holder
        self.journal = journal
        self.max_body_bytes = max_body_bytes
        self.limits = limits

    @property
    def scenario(self) -> Scenario:
        return self.holder.scenario

    @property
    def fixtures(self) -> tuple[Fixture, ...]:
        return self.holder.scenario.fixtures_for("http")

    def open_exchange(self, incoming: Incoming) -> HttpExchange:
        self.journal.secrets.note(incoming.headers, incoming.query)
        exchange = HttpExchange(
            id=self.journal.next_id(),
            method=incoming.method,
            path=incoming.path,
            started_at=time.monotonic(),
            headers=redact_headers(incoming.headers),
            query=redact_query(incoming.query) if incoming.query else "",
            api=api.name if (api := api_for(incoming.path)) is not None else None,
        )
        return self.journal.add_http(exchange)

    async def read_body(self, incoming: Incoming) -> bytes:
        """The request body, up to the limit. A bigger body is read on (up to four times the limit, so the
        client is not reset mid-upload and sees the answer) and refused with 413."""
        limit = self.max_body_bytes
        too_large = ApiError(413, f"Request body too large: the limit is {limit} bytes.", code="request_too_large")
        declared = incoming.content_length
        if declared is not None and declared > 4 * limit:
            raise too_large
        data = bytearray()
        total = 0
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                async for part in incoming.body:
                    total += len(part)
                    if total > 4 * limit:
                        break
                    if total <= limit:
                        data += part
        except TimeoutError:
            raise ApiError(408, "Timed out reading the request body.", code="request_timeout") from None
        if total > limit:
            raise too_large
        return bytes(data)

    async def handle(self, api: Api, incoming: Incoming) -> Answer:
        path = incoming.path
        exchange = self.open_exchange(incoming)
        try:
            with self.limits.state.tracking():
                raw = await self.read_body(incoming)
            exchange.body_bytes = len(raw)
            problem = api.check_headers(incoming.headers)
            if problem is not None:
                raise problem
            body = parse_json(raw)
            self.journal.record_body(exchange, raw, body)  # whole, or its head beyond the journal's budget
            exchange.call_key = call_key("http", path, body)
            exchange.attempt = self.journal.next_attempt(exchange.call_key)
            parsed = api.parse(path, incoming.query, incoming.headers, body)
            exchange.stream = parsed.stream
            conversation = self.journal.chains.expand(body)  # a previous_response_id chain, read whole
            match_request = MatchRequest(
                "http", "POST", path, incoming.headers, conversation, exchange.attempt, parsed.model, parsed.user_text
            )
            fixture = select_fixture(self.fixtures, match_request)
            own = api.unmatched(parsed) if fixture is None else None
            if own is not None:  # an API that answers by itself (token counting)
                rid = request_id()
                return json_response(exchange, 200, dumps_json(own).encode(), api.answer_headers(rid, 200), rid)
            if fixture is None:
                nearest = [f for f in self.fixtures if family_of(f.match.path) in (None, api.family)]
                message = no_match_message(self.fixtures, match_request, nearest, api.kind.title)
                raise ApiError(404, message, code="fixture_not_found")
        except ApiError as err:
            return api_error_response(exchange, err)
        except asyncio.CancelledError:
            if self.limits.state.stopping:
                exchange.error = "the server stopped while reading the request"
            else:
                exchange.client_disconnected = True
                exchange.error = "the client went away while sending the request"
            exchange.ended_at = time.monotonic()
            raise
        exchange.fixture = fixture.name
        outcome = fixture.outcome
        if isinstance(outcome, ErrorOutcome):
            error = error_outcome_response(exchange, outcome)
            if outcome.latency_s > 0:  # a slow 429 / 500: nothing before its status
                return await delayed(exchange, error, outcome.latency_s, self.limits)
            return error
        if isinstance(outcome, TextOutcome):
            unsupported = unsupported_message(fixture.name, outcome, api.name, path, parsed.stream)
            if unsupported is not None:
                exchange.error = unsupported
                refusal = ApiError(
                    501, unsupported, code="not_supported_by_dotmock", headers=(("x-should-retry", "false"),)
                )
                return api_error_response(exchange, refusal, api)
            jitter = jitter_for(
                self.journal.seed, fixture.name, exchange.call_key, exchange.attempt, outcome.streaming.jitter_ms
            )
            reply = reply_for(parsed)
            answer = text_response(
                exchange, api, outcome, parsed, self.scenario.dialect, self.limits, incoming.client, jitter, reply
            )
            if api.name == "responses":
                calls = ((c.id, c.name, c.arguments) for c in exchange.tool_calls)
                self.journal.chains.remember(reply.response_id, conversation, outcome.text, calls)
            if not parsed.stream and outcome.latency_s > 0:
                wait = outcome.latency_s if jitter is None else jitter.apply([outcome.latency_s])[0]
                if jitter is not None:
                    exchange.gaps_ms = [round(wait * 1000, 3)]
                answer = await delayed(exchange, answer, wait, self.limits)
            if not parsed.stream and json_faults.applies(outcome.faults):
                return await json_faults.faulted_json(exchange, answer, outcome.faults, self.limits, incoming.client)
            return answer
        message = f"dotmock: fixture {fixture.name!r} answers WebSocket messages, not HTTP requests."
        exchange.error = message
        return json_response(exchange, 500, ApiError(500, message, code="fixture_misconfigured").body())

    async def route(self, **_: str) -> Response:
        """The Quart view of every API's routes (the fast path answers them first, `server.fastpath`)."""
        incoming = _quart_incoming()
        api = api_for(incoming.path)
        if api is None:
            return quart_response(self.refuse_answer(incoming, 404, _unknown_url(incoming), "unknown_url"))
        return quart_response(await self.handle(api, incoming))

    async def models(self, model_id: str | None = None) -> Response:
        """`GET /v1/models[/{id}]`, `/v1beta/models[/{id}]` (server.apis.models), journaled."""
        incoming = _quart_incoming()
        if model_id is not None and api_for(incoming.path) is not None:  # GET on an API's own path (`:generateContent`)
            return self.refuse(405, f"Method GET is not allowed for {incoming.path}.", "method_not_allowed")
        exchange = self.open_exchange(incoming)
        try:
            status, body = models.answer(self.fixtures, incoming.headers, model_id, incoming.path, incoming.query)
        except ApiError as err:
            asker = models.error_api(incoming.headers, incoming.path, incoming.query)
            return quart_response(api_error_response(exchange, err, asker))
        api, rid = models.error_api(incoming.headers, incoming.path, incoming.query), request_id()
        return quart_response(json_response(exchange, status, body, api.answer_headers(rid, status), rid))

    def refuse_answer(self, incoming: Incoming, status: int, message: str, code: str | None) -> Answer:
        """Answer a request no route took (unknown path, wrong method, ...), journaled."""
        return api_error_response(self.open_exchange(incoming), ApiError(status, message, code=code))

    def refuse(self, status: int, message: str, code: str | None) -> Response:
        """The same for the current Quart request, not journaled if it is for our own control endpoints."""
        if request.path.startswith(CONTROL_PREFIX):
            err = ApiError(status, message, code=code)
            return Response(err.body(), status=status, content_type="application/json")
        return quart_response(self.refuse_answer(_quart_incoming(), status, message, code))


def _unknown_url(incoming: Incoming) -> str:
    mistake = base_url_mistake(incoming.path)
    return f"Unknown request URL: {incoming.method} {incoming.path}." + (f" {mistake}." if mistake else "")


def _refuse_websocket(status: int, err: Exception) -> Response:
    path = websocket.path if has_websocket_context() else "?"
    if status == 404:
        endpoints = ", ".join(WS_ENDPOINTS)
        message = f"Unknown WebSocket URL: {path}. The WebSocket endpoints are {endpoints}."
        code: str | None = "unknown_url"
    else:
        message, code = f"Cannot open a WebSocket on {path}: {err}", None
    return Response(ApiError(status, message, code=code).body(), status=status, content_type="application/json")


def _scenario_json(scenario: Scenario) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type) else value

    return {
        "name": scenario.name,
        "path": scenario.path,
        "dialect": scenario.dialect,
        "fixtures": [{**plain(f), "outcome_kind": type(f.outcome).__name__} for f in scenario.fixtures],
        "apis": [plain(api.kind) for api in APIS],  # the panel's endpoint list and terminators
    }


def create_app(
    scenario: Scenario,
    journal: Journal,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limits: StreamLimits | None = None,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
) -> Quart:
    """The mock server's Quart app for `scenario`, recording every request in `journal`.

    Every request passes `server.guard` first: loopback `Host` names (and `allowed_hosts`), no foreign
    origins, and `token` (a fresh one if None; `app.config["DOTMOCK_TOKEN"]`) on control writes."""
    app = DotmockQuart("dotmock")
    app.config.update(MAX_CONTENT_LENGTH=None, RESPONSE_TIMEOUT=None, BODY_TIMEOUT=BODY_TIMEOUT_S)
    limits = limits or StreamLimits()
    app.config["DOTMOCK_STATE"] = limits.state  # running.py flags shutdown through it
    holder = ScenarioHolder(scenario)
    app.config["DOTMOCK_SCENARIO"] = holder  # for code that holds the app only (tests): swap() it as the panel does
    endpoints = _HttpEndpoints(holder, journal, max_body_bytes, limits)
    for api in APIS:
        for i, rule in enumerate(api.routes):
            app.add_url_rule(rule, f"{api.name}_{i}", endpoints.route, methods=["POST"])
    app.add_url_rule(models.MODELS_PATH, "models", endpoints.models, methods=["GET"])
    app.add_url_rule(models.MODELS_PATH + "/<path:model_id>", "model", endpoints.models, methods=["GET"])
    app.add_url_rule(models.GEMINI_MODELS_PATH, "gemini_models", endpoints.models, methods=["GET"])
    app.add_url_rule(models.GEMINI_MODELS_PATH + "/<path:model_id>", "gemini_model", endpoints.models, methods=["GET"])

    @app.get("/_dotmock/journal")
    async def get_journal() -> Response:
        # Streamed one record at a time: a big journal is never built as one document in memory.
        async def pieces() -> AsyncIterator[bytes]:
            batch: list[str] = []
            size = 0
            for piece in journal.iter_json(dumps_json):
                batch.append(piece)
                size += len(piece)
                if size >= JOURNAL_WRITE_CHARS:
                    yield "".join(batch).encode("utf-8")
                    batch, size = [], 0
            yield "".join(batch).encode("utf-8")

        return Response(pieces(), content_type="application/json")

    @app.post("/_dotmock/reset")
    async def reset() -> Response:
        journal.reset()
        return Response(b'{"ok": true}', content_type="application/json")

    @app.get("/_dotmock/scenario")
    async def get_scenario() -> Response:
        return Response(dumps_json(_scenario_json(holder.scenario)), content_type="application/json")

    @app.errorhandler(HTTPException)
    async def http_error(err: HTTPException) -> Response:
        status = err.code or 400
        if not has_request_context():  # a WebSocket handshake no route took: refuse it with an HTTP answer
            return _refuse_websocket(status, err)
        if status == 404:
            return endpoints.refuse(404, _unknown_url(_quart_incoming()), "unknown_url")
        if status == 405:
            message = f"Method {request.method} is not allowed for {request.path}."
            response = endpoints.refuse(405, message, "method_not_allowed")
            allowed = getattr(err, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(sorted(allowed))
            return response
        return endpoints.refuse(status, err.description or err.name, None)

    @app.errorhandler(Exception)
    async def server_error(err: Exception) -> Response:
        if not has_request_context():
            log.exception("dotmock: error while answering a WebSocket handshake")
            return _refuse_websocket(500, err)
        log.exception("dotmock: error while answering %s %s", request.method, request.path)
        internal = internal_error(err)
        return endpoints.refuse(internal.status, internal.message, internal.code)

    register_websocket_routes(app, holder, journal, limits)
    register_panel_routes(app, holder)
    add_middleware(app, lambda inner: asgi_wrapper(inner, endpoints))
    token = token or new_token()
    app.config[TOKEN_KEY] = token
    add_middleware(app, lambda inner: Guard(inner, token, allowed_hosts))  # every request passes it
    add_middleware(app, keep_alive_middleware)  # outermost: a refused request's body is read, keeping the connection
    return app
