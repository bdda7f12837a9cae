"""The WebSocket route `/v1/realtime?model=...` (OpenAI Realtime, text modality): one `Session` per
connection (`server.apis.realtime`), each client event answered in turn.

- `session.update` -> `session.updated`; `conversation.item.create` -> the item's events;
- `response.create` -> matched against the `match websocket /v1/realtime` fixtures with the conversation
  as its `input` (`message contains` reads the last user item; `turn` and `toolResult` its `function_call`
  and `function_call_output` items), then answered by `server.ws_replay` like any WebSocket message: a text
  fixture streams the response events with its knobs and faults (tool calls as `function_call` items,
  `server.agent_realtime`), an `events`
  fixture replays its events bare, an error fixture sends one `error` event; close knobs apply;
- `response.cancel` with nothing in progress, audio buffer events and unknown types -> an `error` event.

Each client frame is one journal exchange; `response.create` exchanges carry the request fixtures matched
and an attempt number (the same conversation asked again, on any connection, is the next attempt).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

from quart.globals import websocket_ctx

from dotmock.dsl.catalogue import WS_REALTIME_PATH
from dotmock.dsl.model import Fixture, Scenario, TextOutcome
from dotmock.server.agent_payloads import AgentAnswer
from dotmock.server.agent_realtime import RealtimeAgentRenderer
from dotmock.server.apis.realtime import RealtimeRenderer, Session, dumps, protocol_of
from dotmock.server.asgi import lower_headers
from dotmock.server.holder import ScenarioHolder
from dotmock.server.journal import Journal, WsConnection, WsExchange
from dotmock.server.json_input import ClientJsonError, load_client_json
from dotmock.server.matching import MatchRequest, call_key, no_match_message, select_fixture
from dotmock.server.redact import redact_headers
from dotmock.server.streaming import StreamLimits
from dotmock.server.ws_protocol import REALTIME, ClientMessage
from dotmock.server.ws_replay import answer
from dotmock.server.ws_session import Received, WsSession, connection_ends
from dotmock.server.ws_transport import link_for

POLICY_VIOLATION = 1008
AUDIO_EVENTS = ("input_audio_buffer.", "output_audio_buffer.")


class RealtimeEndpoint:
    def __init__(self, holder: ScenarioHolder, journal: Journal, limits: StreamLimits) -> None:
        self.holder = holder
        self.journal = journal
        self.limits = limits

    @property
    def scenario(self) -> Scenario:  # looked up per message: the panel's editor may have swapped it
        return self.holder.scenario

    @property
    def fixtures(self) -> tuple[Fixture, ...]:
        return self.holder.scenario.fixtures_for("websocket")

    async def serve(self) -> None:
        ws = websocket_ctx.websocket
        headers = lower_headers(ws.scope["headers"])
        self.journal.secrets.note(headers, ws.scope.get("query_string", b"").decode("latin-1"))
        connection = self.journal.add_ws(
            WsConnection(
                id=self.journal.next_id(),
                path=WS_REALTIME_PATH,
                opened_at=time.monotonic(),
                headers=redact_headers(headers),
            )
        )
        session = WsSession(ws, link_for(ws.scope), connection, self.journal)
        query = parse_qs(ws.scope.get("query_string", b"").decode("latin-1"))
        state = Session(model=(query.get("model") or [""])[0], protocol=protocol_of(headers))
        async with connection_ends(session, lambda: self.limits.state.stopping):
            await session.start()
            if not state.model:
                message = "Missing required parameter: 'model' (connect to /v1/realtime?model=...)."
                await self.send(session, state.error(message, code="missing_model", param="model"))
                await session.close(POLICY_VIOLATION, "missing model")
                return
            await self.send(session, state.created())
            while True:
                frame = await session.receive()
                await self.handle(session, state, headers, frame)

    @staticmethod
    async def send(session: WsSession, event: dict[str, Any]) -> None:
        await session.send(dumps(event), event["type"])

    async def handle(self, session: WsSession, state: Session, headers: dict[str, str], frame: Received) -> None:
        exchange = WsExchange(started_at=frame.t, form=REALTIME)
        session.connection.exchanges.append(exchange)
        event = _parse(frame.text)
        if isinstance(event, tuple):
            message, code = event
            await self.refuse(
                session, state, exchange, message, code, param="type" if code.startswith("missing") else None
            )
            return
        kind, cause = event.get("type"), event.get("event_id")
        cause = cause if isinstance(cause, str) else None
        if frame.kept:
            exchange.request = event
        else:  # beyond the journal's byte budget: the frame's head and digest are journaled, not the event
            exchange.request_truncated = True
        if kind == "session.update":
            replies = [state.update(event["session"])] if isinstance(event.get("session"), dict) else None
        elif kind == "conversation.item.create":
            item, previous = event.get("item"), event.get("previous_item_id")
            replies = None
            if isinstance(item, dict) and isinstance(item.get("type"), str):
                replies = state.add_item(item, previous if isinstance(previous, str) else None)
        elif kind == "response.create":
            await self.respond(session, state, headers, event, exchange)
            return
        elif kind == "response.cancel":
            message = "Cancellation failed: no active response found."
            await self.refuse(session, state, exchange, message, "response_cancel_not_active", cause)
            return
        elif isinstance(kind, str) and kind.startswith(AUDIO_EVENTS):
            message = f"dotmock serves the Realtime API's text modality: {kind!r} is not supported."
            await self.refuse(session, state, exchange, message, "unsupported_event", cause)
            return
        else:
            message = f"Invalid value: {kind!r}. This is not a client event dotmock's Realtime API knows."
            await self.refuse(session, state, exchange, message, "invalid_value", cause, param="type")
            return
        if replies is None:
            what = "session" if kind == "session.update" else "item"
            message = f"Missing or invalid '{what}': {kind} needs a '{what}' object."
            await self.refuse(session, state, exchange, message, "invalid_value", cause, param=what)
            return
        for reply in replies:
            await self.send(session, reply)
            exchange.events_sent += 1
        exchange.completed = True
        exchange.ended_at = time.monotonic()

    async def respond(
        self,
        session: WsSession,
        state: Session,
        headers: dict[str, str],
        event: dict[str, Any],
        exchange: WsExchange,
    ) -> None:
        response = event.get("response")
        request = state.request(response if isinstance(response, dict) else {})
        exchange.request = request
        exchange.call_key = call_key("websocket", WS_REALTIME_PATH, request)
        exchange.attempt = self.journal.next_attempt(exchange.call_key)
        match = MatchRequest("websocket", None, WS_REALTIME_PATH, headers, request, exchange.attempt)
        fixture = select_fixture(self.fixtures, match)
        if fixture is None:
            explanation = no_match_message(self.fixtures, match)
            exchange.error = explanation
            await self.send(session, state.error(explanation, code="fixture_not_found", cause=event.get("event_id")))
            exchange.events_sent += 1
            exchange.completed = True
            exchange.ended_at = time.monotonic()
            return
        exchange.fixture = fixture.name
        outcome = fixture.outcome
        renderer: RealtimeRenderer
        agent = None
        if isinstance(outcome, TextOutcome) and not outcome.is_plain_text:
            agent = AgentAnswer.of(outcome, "realtime")
            renderer = RealtimeAgentRenderer(state, request, agent)
        else:
            renderer = RealtimeRenderer(
                state, request, outcome.finish_reason if isinstance(outcome, TextOutcome) else "stop"
            )
        try:
            await answer(
                session,
                fixture,
                ClientMessage(REALTIME, request),
                WS_REALTIME_PATH,
                self.scenario.dialect,
                exchange,
                self.limits,
                renderer=renderer,
                agent=agent,
            )
        finally:
            if isinstance(outcome, TextOutcome):
                state.items.extend(renderer.answered_items())

    async def refuse(
        self,
        session: WsSession,
        state: Session,
        exchange: WsExchange,
        message: str,
        code: str,
        cause: str | None = None,
        param: str | None = None,
    ) -> None:
        exchange.error = message
        await self.send(session, state.error(message, code=code, cause=cause, param=param))
        exchange.events_sent += 1
        exchange.completed = True
        exchange.ended_at = time.monotonic()


def _parse(text: str | None) -> dict[str, Any] | tuple[str, str]:
    """A client event, or why the frame is not one and the error code that says so."""
    if text is None:
        return (
            "Binary frames are not supported: send each client event as a JSON text frame.",
            "binary_frame_unsupported",
        )
    try:
        value = load_client_json(text)
    except ClientJsonError as err:
        return f"The event is not valid JSON ({err.detail}).", "invalid_json"
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return "Missing required parameter: 'type' (a client event is a JSON object with a string 'type').", (
            "missing_required_parameter"
        )
    return value
