"""Faults on a non-streamed (`stream: false`) text answer: the most common call form.

The same `fault` lines as on streams, with a meaning for one JSON body (docs/language.md, "Faults on JSON
answers"):
- slowFirstToken D: nothing at all (not even the headers) for D, then the whole answer: a slow server;
- stall (for D): the headers at once, then silence for D (until the client leaves when no duration), then
  the body;
- disconnect: the headers and the first half of the body, then the connection drops (`after 0 chunks`: the
  headers only); a time-based `disconnect after D` drops it D after the headers;
- malformedChunk: a 200 whose body is not JSON: the given text (`""`: an empty body) or the JSON cut in half;
- errorEvent does not apply (a JSON answer has no events): the answer goes out without it, unjournaled.

Each fault applied is journaled (`faults`, and a `fault:<kind>` tick where it took effect), so the runner's
findings read them as they read a stream's: a stall is a silence for `no_read_timeout`, a drop ends the
exchange incomplete.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from dotmock.dsl.catalogue import FAULT_KINDS
from dotmock.dsl.model import Fault
from dotmock.server.answers import Answer
from dotmock.server.journal import HttpExchange, add_fault
from dotmock.server.streaming import ClientLink, StreamAborted, StreamLimits

# The catalogue says where each applies; a rewriting fault (schemaViolation) changed the answer already.
JSON_FAULTS = frozenset(k.name for k in FAULT_KINDS if "json" in k.applies and not k.rewrites)


def applies(faults: tuple[Fault, ...]) -> bool:
    """Whether any of the faults changes a JSON answer."""
    return any(f.kind in JSON_FAULTS for f in faults)


def _mark(exchange: HttpExchange, name: str) -> None:
    add_fault(exchange.faults, name)
    exchange.ticks.add(time.monotonic(), f"fault:{name}")


async def _silence(exchange: HttpExchange, seconds: float) -> None:
    """Wait, then say the server carried on; a cancellation (the client left) is journaled by the caller."""
    await asyncio.sleep(seconds)
    exchange.ticks.add(time.monotonic(), "resume")


def _first(kind: str, faults: tuple[Fault, ...]) -> Fault | None:
    return next((f for f in faults if f.kind == kind), None)


async def faulted_json(
    exchange: HttpExchange,
    answer: Answer,
    faults: tuple[Fault, ...],
    limits: StreamLimits,
    client: ClientLink | None = None,
) -> Answer:
    """`answer` (a complete JSON body already journaled as sent) changed by the faults that apply to it."""
    assert isinstance(answer.body, bytes)
    body = answer.body
    exchange.completed = False
    exchange.ended_at = None
    slow = _first("slowFirstToken", faults)
    if slow is not None and slow.duration_s:
        _mark(exchange, "slowFirstToken")
        try:
            with limits.state.tracking():
                await _silence(exchange, min(slow.duration_s, limits.max_stall_s))
        except asyncio.CancelledError:
            _gone(exchange, limits)
            raise
    malformed = _first("malformedChunk", faults)
    if malformed is not None:
        body = malformed.data.encode() if malformed.data is not None else body[: len(body) // 2]
        headers = [(n, str(len(body)) if n == "content-length" else v) for n, v in answer.headers]
        answer = Answer(answer.status, headers, body)
        _mark(exchange, "malformedChunk")
    stall = _first("stall", faults)
    drop = _first("disconnect", faults)
    if stall is None and drop is None:
        exchange.bytes_sent = len(body)
        exchange.completed = malformed is None
        exchange.ended_at = time.monotonic()
        return answer
    gen = _body(exchange, body, stall, drop, limits, client)
    return Answer(answer.status, answer.headers, gen)


def _gone(exchange: HttpExchange, limits: StreamLimits) -> None:
    exchange.ended_at = time.monotonic()
    if limits.state.stopping:
        exchange.ticks.add(exchange.ended_at, "server_shutdown")
    else:
        exchange.client_disconnected = True
        exchange.ticks.add(exchange.ended_at, "client_disconnected")


async def _body(
    exchange: HttpExchange,
    body: bytes,
    stall: Fault | None,
    drop: Fault | None,
    limits: StreamLimits,
    client: ClientLink | None,
) -> AsyncGenerator[bytes]:
    exchange.bytes_sent = 0
    exchange.ticks.add(time.monotonic(), "headers")
    try:
        with limits.state.tracking():
            if stall is not None:
                _mark(exchange, "stall")
                wait = limits.max_stall_s if stall.duration_s is None else min(stall.duration_s, limits.max_stall_s)
                await _silence(exchange, wait)
            if drop is not None:
                if drop.after_s is not None and drop.after_chunks is None:
                    await asyncio.sleep(drop.after_s)
                    cut = 0
                else:
                    cut = 0 if drop.after_chunks == 0 else len(body) // 2
                if cut:
                    yield body[:cut]
                    exchange.bytes_sent = cut
                _mark(exchange, "disconnect")
                exchange.ended_at = time.monotonic()
                raise StreamAborted
            yield body
            exchange.bytes_sent = len(body)
            exchange.completed = True
            exchange.ended_at = time.monotonic()
    except (asyncio.CancelledError, GeneratorExit):
        _gone(exchange, limits)
        raise
