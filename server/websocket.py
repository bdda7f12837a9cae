"""WebSocket routes `/v1/chat` and `/v1/responses`: match each client message against the scenario's
WebSocket fixtures and answer it (`server.ws_replay`); the connection stays open for further messages until
a fixture closes or drops it, or the client leaves. The message formats are in `server.ws_protocol`, the
protocol as users see it in docs/websocket.md.

A frame the server cannot act on (binary, not JSON, not an envelope, no fixture matched) is answered with an
error event and the connection stays usable; an unexpected error closes the connection with 1011.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from quart import Quart
from quart.globals import websocket_ctx

from dotmock.dsl.catalogue import WS_CHAT_PATH, WS_REALTIME_PATH, WS_RESPONSES_PATH
from dotmock.dsl.model import TextOutcome
from dotmock.server import schema_violation
from dotmock.server.asgi import add_middleware, lower_headers
from dotmock.server.holder import ScenarioHolder
from dotmock.server.journal import Journal, WsConnection, WsExchange
from dotmock.server.matching import MatchRequest, call_key, nearest_misses, no_match_message, select_fixture
from dotmock.server.payloads import Reply, prompt_tokens, request_model
from dotmock.server.realtime_ws import RealtimeEndpoint
from dotmock.server.redact import redact_headers
from dotmock.server.streaming import StreamLimits
from dotmock.server.ws_protocol import (
    ENVELOPE,
    RESPONSE_CREATE,
    BadFrame,
    ClientMessage,
    MessageForm,
    error_frame,
    parse_client_frame,
)
from dotmock.server.ws_replay import answer, text_renderer
from dotmock.server.ws_session import Received, WsSession, connection_ends
from dotmock.server.ws_transport import link_for, transport_middleware


class _WsEndpoints:
    def __init__(self, holder: ScenarioHolder, journal: Journal, limits: StreamLimits) -> None:
        self.holder = holder
        self.journal = journal
        self.limits = limits

    async def chat(self) -> None:
        await self.serve(WS_CHAT_PATH)

    async def responses(self) -> None:
        await self.serve(WS_RESPONSES_PATH)

    async def serve(self, path: str) -> None:
        ws = websocket_ctx.websocket  # the concrete object, not the context-bound proxy: a session task keeps using it
        headers = lower_headers(ws.scope["headers"])
        self.journal.secrets.note(headers, ws.scope.get("query_string", b"").decode("latin-1"))
        connection = self.journal.add_ws(
            WsConnection(
                id=self.journal.next_id(), path=path, opened_at=time.monotonic(), headers=redact_headers(headers)
            )
        )
        session = WsSession(ws, link_for(ws.scope), connection, self.journal)
        async with connection_ends(session, lambda: self.limits.state.stopping):
            await session.start()
            form: MessageForm = ENVELOPE
            while True:
                frame = await session.receive()
                form = await self.handle(session, path, headers, frame, form)

    async def handle(
        self, session: WsSession, path: str, headers: dict[str, str], frame: Received, form: MessageForm
    ) -> MessageForm:
        """Answer one client frame (`headers`: the handshake's, unredacted, for matching); returns the form later
        error events use."""
        exchange = WsExchange(started_at=frame.t)
        session.connection.exchanges.append(exchange)
        parsed = parse_client_frame(frame.text)
        if isinstance(parsed, BadFrame):
            form = parsed.form or form
            exchange.error = parsed.message
            await self.send_error(session, exchange, form, parsed.message, parsed.code, 400)
            return form
        message: ClientMessage = parsed
        exchange.form = message.form
        if frame.kept:
            exchange.request = message.request
        else:  # beyond the journal's byte budget: the frame's head and digest are journaled, not the request
            exchange.request_truncated = True
        exchange.call_key = call_key("websocket", path, message.request)
        exchange.attempt = self.journal.next_attempt(exchange.call_key)
        scenario = self.holder.scenario  # looked up per message: the panel's editor may have swapped it
        fixtures = scenario.fixtures_for("websocket")
        responses = message.form == RESPONSE_CREATE or path == WS_RESPONSES_PATH
        conversation = self.journal.chains.expand(message.request) if responses else message.request
        match_request = MatchRequest("websocket", None, path, headers, conversation, exchange.attempt)
        fixture = select_fixture(fixtures, match_request)
        if fixture is None:
            explanation = no_match_message(fixtures, match_request)
            exchange.error = explanation
            nearest = [
                {"fixture": m.fixture, "reasons": list(m.reasons)} for m in nearest_misses(fixtures, match_request)
            ]
            await self.send_error(
                session, exchange, message.form, explanation, "fixture_not_found", 404, {"nearest": nearest}
            )
            return message.form
        exchange.fixture = fixture.name
        if isinstance(fixture.outcome, TextOutcome):  # `fault schemaViolation` breaks a structured answer
            api = "chat_completions" if message.form == ENVELOPE and path == WS_CHAT_PATH else "responses"
            broken = schema_violation.rewrite(fixture.outcome, api, message.request, exchange)
            fixture = dataclasses.replace(fixture, outcome=broken)
        outcome = fixture.outcome
        if not (responses and isinstance(outcome, TextOutcome)):
            await answer(session, fixture, message, path, scenario.dialect, exchange, self.limits)
            return message.form
        reply = Reply(model=request_model(message.request), prompt_tokens=prompt_tokens(message.request))
        renderer, agent = text_renderer(outcome, message, path, scenario.dialect, reply)
        calls = [(i, c.name, c.arguments_text()) for i, c in agent.calls] if agent is not None else []
        self.journal.chains.remember(reply.response_id, conversation, outcome.text, calls)
        await answer(session, fixture, message, path, scenario.dialect, exchange, self.limits, renderer, agent)
        return message.form

    @staticmethod
    async def send_error(
        session: WsSession,
        exchange: WsExchange,
        form: MessageForm,
        message: str,
        code: str,
        status: int,
        extra: dict[str, Any] | None = None,
    ) -> None:
        await session.send(error_frame(form, message, code=code, status=status, extra=extra), "error")
        exchange.events_sent += 1
        exchange.ended_at = time.monotonic()
        exchange.completed = True


def register_websocket_routes(app: Quart, holder: ScenarioHolder, journal: Journal, limits: StreamLimits) -> None:
    """Add the WebSocket endpoints to `app`: they answer from `holder`'s scenario under `limits`, the same
    holder and limits as the HTTP endpoints, journaling every connection and frame.

    Also wraps `app.asgi_app` so WebSocket handlers can reach the socket (`server.ws_transport`): keep any
    later ASGI wrapper passing hypercorn's `send` through unchanged."""
    endpoints = _WsEndpoints(holder, journal, limits)
    app.add_websocket(WS_CHAT_PATH, "ws_chat", endpoints.chat)
    app.add_websocket(WS_RESPONSES_PATH, "ws_responses", endpoints.responses)
    app.add_websocket(WS_REALTIME_PATH, "ws_realtime", RealtimeEndpoint(holder, journal, limits).serve)
    add_middleware(app, transport_middleware)
