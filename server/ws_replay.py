"""Answering one matched WebSocket message: replay a fixture's events, stream its text, or send its error;
then apply its close knobs (closeAfter, closeCode, disconnectAfterMs).

- Events (`WsOutcome`): each after its `delay_s`, measured from the previous event's due time (absolute
  deadlines: late wake-ups do not add up).
- Text (`TextOutcome`): the HTTP stream's own events and pacing (`server.streaming`), one frame per event
  (`server.events.ws_frame`): Responses events on `/v1/responses` and for `response.create`, chat-completion
  chunks for envelopes on `/v1/chat`; tool calls, refusals and reasoning as those streams send them
  (`server.agent_streams`: `response.function_call_arguments.delta` / `delta.tool_calls`).
  chunkSize / latencyMs / truncateAfterChunks and faults work as over
  SSE; a disconnect fault drops the connection without a close frame; truncation stops the events and
  leaves the connection open (add closeAfter to close it as well).
- Error (`ErrorOutcome`): one error event with the fixture's body and status.

Close knobs: `closeCode` 1006 drops the connection once every event is sent (1006 is never on the wire);
any other `closeCode`, or `closeAfter`, closes with that code (default 1000) once every event is sent;
`disconnectAfterMs` drops the connection that many ms after it opened, mid-sequence if need be, or at once
if that moment has passed.
"""

from __future__ import annotations

import asyncio
import json
import time

from dotmock.dsl.catalogue import WS_CHAT_PATH
from dotmock.dsl.model import (
    Dialect,
    ErrorOutcome,
    Fixture,
    TextOutcome,
    WsOutcome,
)
from dotmock.server.agent_payloads import AgentAnswer
from dotmock.server.agent_streams import agent_renderer
from dotmock.server.apis import BY_NAME
from dotmock.server.apis.base import ParsedRequest, Renderer
from dotmock.server.errors import outcome_body
from dotmock.server.events import ws_frame
from dotmock.server.jitter import Jitter, jitter_for
from dotmock.server.journal import HttpExchange, WsExchange, add_fault
from dotmock.server.payloads import Reply, prompt_tokens, request_model
from dotmock.server.streaming import StreamAborted, StreamLimits, stream_events
from dotmock.server.ws_protocol import (
    ENVELOPE,
    ClientMessage,
    MessageForm,
    error_body_frame,
    event_frame,
)
from dotmock.server.ws_session import ConnectionEnded, WsSession

DROP_CODE = 1006  # "abnormal closure": reserved, never sent in a close frame; here it means drop


def close_knobs(fixture: Fixture) -> WsOutcome | None:
    return fixture.outcome if isinstance(fixture.outcome, WsOutcome) else fixture.ws


async def answer(
    session: WsSession,
    fixture: Fixture,
    message: ClientMessage,
    path: str,
    scenario_dialect: Dialect,
    exchange: WsExchange,
    limits: StreamLimits,
    renderer: Renderer | None = None,
    agent: AgentAnswer | None = None,
) -> None:
    """Send `fixture`'s answer to `message` and apply its close knobs; raises `ConnectionEnded` when the
    connection was closed or dropped. A text fixture streams `renderer`'s events (default: the endpoint's
    Chat or Responses events); `agent` is the agent answer the renderer sends (its calls are journaled)."""
    knobs = close_knobs(fixture)
    if knobs is not None and knobs.disconnect_after_ms is not None:
        session.arm_drop(knobs.disconnect_after_ms)
    outcome = fixture.outcome
    try:
        if isinstance(outcome, WsOutcome):
            await _replay_events(session, outcome, message.form, exchange)
        elif isinstance(outcome, TextOutcome):
            if renderer is None:
                renderer, agent = text_renderer(outcome, message, path, scenario_dialect)
            jitter = jitter_for(
                session.journal.seed, fixture.name, exchange.call_key, exchange.attempt, outcome.streaming.jitter_ms
            )
            await _stream_text(session, renderer, outcome, message.form, path, exchange, limits, jitter, agent)
        else:
            await _send_error(session, outcome, message.form, exchange)
    finally:
        exchange.ended_at = time.monotonic()
        if session.connection.dropped and not exchange.completed:
            add_fault(exchange.faults, session.drop_fault or "disconnect")
    if knobs is not None:
        await _apply_close(session, knobs, exchange)


async def _apply_close(session: WsSession, knobs: WsOutcome, exchange: WsExchange) -> None:
    if knobs.close_code == DROP_CODE:
        add_fault(exchange.faults, "closeCode1006")
        await session.drop("closeCode1006")
        raise ConnectionEnded
    if knobs.close_after or knobs.close_code is not None:
        await session.close(knobs.close_code if knobs.close_code is not None else 1000)
        raise ConnectionEnded


async def _replay_events(session: WsSession, outcome: WsOutcome, form: MessageForm, exchange: WsExchange) -> None:
    due = time.monotonic()
    for event in outcome.events:
        due += max(0.0, event.delay_s)
        await session.wait_until(due)
        if event.binary is not None:
            await session.send_bytes(event.binary)
        else:
            await session.send(event_frame(form, event.type, event.data), event.type)
        exchange.events_sent += 1
    exchange.completed = True


def text_renderer(
    outcome: TextOutcome, message: ClientMessage, path: str, dialect: Dialect, reply: Reply | None = None
) -> tuple[Renderer, AgentAnswer | None]:
    """The events of a text fixture's answer to `message`, and its agent answer (None: plain text)."""
    body = message.request
    reply = reply or Reply(model=request_model(body), prompt_tokens=prompt_tokens(body))
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    parsed = ParsedRequest(body, stream=True, include_usage=include_usage)
    api = BY_NAME["chat_completions" if message.form == ENVELOPE and path == WS_CHAT_PATH else "responses"]
    if not outcome.is_plain_text:  # tool calls, refusal, reasoning: the same events as the API's SSE stream
        agent = AgentAnswer.of(outcome, api.name)
        return agent_renderer(api.name, reply, agent, parsed), agent
    return api.renderer(reply, outcome, parsed, dialect), None


async def _stream_text(
    session: WsSession,
    renderer: Renderer,
    outcome: TextOutcome,
    form: MessageForm,
    path: str,
    exchange: WsExchange,
    limits: StreamLimits,
    jitter: Jitter | None = None,
    agent: AgentAnswer | None = None,
) -> None:
    # The HTTP stream engine journals into an HttpExchange; its findings are copied to the WsExchange: the
    # faults, the ticks, and an agent answer's calls with how much of each went out (what the agent findings
    # read from a WebSocket run as from an HTTP one).
    scratch = HttpExchange(id=0, method="WEBSOCKET", path=path, started_at=time.monotonic(), stream=True)
    if agent is not None:
        agent.journal(scratch, sent_in_full=False)
        exchange.tool_calls, exchange.stop_reason = scratch.tool_calls, scratch.stop_reason
    body = stream_events(renderer, outcome, scratch, limits, jitter=jitter)
    exchange.gaps_ms = scratch.gaps_ms
    try:
        while True:
            try:
                data = await asyncio.wait_for(anext(body), session.seconds_to_drop())
            except StopAsyncIteration:
                break
            except TimeoutError:
                await session.drop(session.drop_fault or "disconnectAfterMs")
                raise ConnectionEnded from None
            for event in data:
                text, kind = ws_frame(event, form)
                await session.send(text, kind)
                exchange.events_sent += 1
    except StreamAborted:
        add_fault(exchange.faults, "disconnect")
        await session.drop("disconnect")
        raise ConnectionEnded from None
    finally:
        await body.aclose()
        exchange.chunks_sent = len(renderer.text_sent)
        for name in scratch.faults:
            add_fault(exchange.faults, name)
        exchange.ticks.extend(scratch.ticks)
    exchange.completed = scratch.completed


async def _send_error(session: WsSession, outcome: ErrorOutcome, form: MessageForm, exchange: WsExchange) -> None:
    if outcome.latency_s > 0:  # `latency D`: the error event comes that much later
        await asyncio.sleep(outcome.latency_s)
    raw = outcome_body(outcome)
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    if outcome.headers and isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = {**body, "error": {**body["error"], "headers": dict(outcome.headers)}}
    error = body.get("error") if isinstance(body, dict) else None
    detail = error.get("message") if isinstance(error, dict) else None
    exchange.error = f"error fixture: {outcome.status}" + (f" {detail}" if detail else "")
    await session.send(error_body_frame(form, body, outcome.status), "error")
    exchange.events_sent += 1
    exchange.completed = True
