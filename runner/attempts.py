"""Reading a journal as the runner needs it: attempts grouped into logical calls, retry gaps, faults met.

Attempts of one logical call share the journal's `call_key` (same endpoint, same JSON body). The gap
before a retry is the next attempt's start minus the previous attempt's end, both monotonic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dotmock.dsl.catalogue import SILENT_FAULTS
from dotmock.server.journal import HttpExchange, Journal, WsConnection

# Statuses a client may sensibly retry (the official SDKs' rule): timeouts, conflicts, rate limits, 5xx.
RETRYABLE_4XX = (408, 409, 429)
NORMAL_WS_CLOSE = (1000, 1001)
# Scheduling noise between the server's end of an answer and the start of the client's wait: a retry this much
# sooner than the Retry-After still honours it (for the finding and for `wait between attempts >= retry-after`).
RETRY_AFTER_TOLERANCE_S = 0.05


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_4XX


@dataclass(slots=True)
class Attempt:
    exchange: HttpExchange
    number: int  # 1-based within its call
    failed: bool  # the client did not get a complete, successful answer from it
    why: str  # "HTTP 429", "stream cut after 3 chunks without its terminator", ...
    faults: list[str]

    @property
    def end(self) -> float:
        ex = self.exchange
        return ex.ended_at if ex.ended_at is not None else ex.started_at

    @property
    def status(self) -> int | None:
        return self.exchange.status

    @property
    def retry_after(self) -> float | None:
        value = self.exchange.retry_after_s
        return value if value is not None and value > 0 else None

    @property
    def non_retryable_status(self) -> bool:
        s = self.exchange.status
        return s is not None and 400 <= s < 500 and s not in RETRYABLE_4XX


@dataclass(slots=True)
class Call:
    key: str
    method: str
    path: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    @property
    def gaps(self) -> list[float]:
        """Wait before each retry: attempt i+1's start minus attempt i's end."""
        a = self.attempts
        return [a[i + 1].exchange.started_at - a[i].end for i in range(len(a) - 1)]

    @property
    def succeeded(self) -> bool:
        return bool(self.attempts) and not self.attempts[-1].failed

    def to_json(self, t0: float) -> dict[str, Any]:
        return {
            "key": self.key,
            "method": self.method,
            "path": self.path,
            "attempts": len(self.attempts),
            "succeeded": self.succeeded,
            "exchanges": [a.exchange.id for a in self.attempts],
            "outcomes": [a.why for a in self.attempts],
            "gaps": [round(g, 6) for g in self.gaps],
            "retry_after": [a.retry_after for a in self.attempts],
            "started_at": round(self.attempts[0].exchange.started_at - t0, 6) if self.attempts else None,
        }


def describe_attempt(ex: HttpExchange) -> tuple[bool, str]:
    """Whether an exchange failed from the client's point of view, and how, in words."""
    faults = ex.faults
    if ex.status is not None and ex.status >= 400:
        if ex.fixture is None and ex.error:
            return True, f"HTTP {ex.status} ({ex.error})"
        return True, f"HTTP {ex.status}"
    if "errorEvent" in faults:
        return True, f"error event after {ex.chunks_sent} chunks"
    if "disconnect" in faults:
        return True, f"connection dropped after {ex.chunks_sent} chunks"
    if "truncate" in faults:
        return True, f"stream cut after {ex.chunks_sent} chunks without its terminator"
    if ex.stream and not ex.completed:
        if any(f in SILENT_FAULTS for f in faults):
            return True, f"stalled after {ex.chunks_sent} chunks; the client hung up"
        if ex.client_disconnected:
            return True, f"the client hung up after {ex.chunks_sent} chunks"
        return True, f"stream ended after {ex.chunks_sent} chunks without its terminator"
    if not ex.stream and ex.client_disconnected:
        return True, "the client hung up before the answer"
    note = f" ({', '.join(faults)})" if faults else ""
    return False, ("stream completed" if ex.stream else f"HTTP {ex.status or 200}") + note


def group_calls(journal: Journal) -> list[Call]:
    """HTTP exchanges grouped into logical calls, in order of each call's first attempt."""
    calls: dict[str, Call] = {}
    for ex in sorted(journal.http, key=lambda e: (e.started_at, e.id)):
        key = ex.call_key or f"{ex.method} {ex.path} #{ex.id}"
        call = calls.get(key)
        if call is None:
            call = calls[key] = Call(key, ex.method, ex.path)
        failed, why = describe_attempt(ex)
        call.attempts.append(Attempt(ex, len(call.attempts) + 1, failed, why, list(ex.faults)))
    return list(calls.values())


def ws_end_is_abnormal(dropped: bool, closed_by: str | None, close_code_sent: object) -> bool:
    """A WebSocket the server dropped, or closed with a code other than 1000/1001 (journal fields, also as
    read back from a JSON report)."""
    if dropped or closed_by == "drop":
        return True
    return closed_by == "server" and isinstance(close_code_sent, int) and close_code_sent not in NORMAL_WS_CLOSE


def ws_abnormal(conn: WsConnection) -> str | None:
    """How the server ended a connection abnormally (a drop, or a close code other than 1000/1001), or None."""
    if not ws_end_is_abnormal(conn.dropped, conn.closed_by, conn.close_code_sent):
        return None
    if conn.dropped or conn.closed_by == "drop":
        return "dropped without a close frame" + (f" ({', '.join(conn.faults)})" if conn.faults else "")
    return f"closed by the server with code {conn.close_code_sent}"


def ws_reconnected_after(journal: Journal, conn: WsConnection) -> bool:
    """Whether the client opened another WebSocket connection after `conn` (any WebSocket path)."""
    return any(
        other is not conn and other.opened_at >= conn.opened_at and other.id > conn.id for other in journal.websocket
    )


def faults_injected(journal: Journal, t0: float) -> list[dict[str, Any]]:
    """Every fault the server applied, for reports: what, where, when (relative to `t0`)."""
    out: list[dict[str, Any]] = []
    for ex in journal.http:
        at = round(ex.started_at - t0, 6)
        for kind in ex.faults:
            out.append(
                {
                    "protocol": "http",
                    "kind": kind,
                    "exchange": ex.id,
                    "path": ex.path,
                    "at": at,
                    "fixture": ex.fixture,
                    "detail": f"after {ex.chunks_sent} chunks",
                }
            )
        if ex.status is not None and ex.status >= 400 and ex.fixture is not None:
            detail = f"Retry-After {ex.retry_after_s:g}s" if ex.retry_after_s is not None else None
            out.append(
                {
                    "protocol": "http",
                    "kind": f"http_{ex.status}",
                    "exchange": ex.id,
                    "path": ex.path,
                    "at": at,
                    "fixture": ex.fixture,
                    "detail": detail,
                }
            )
    for conn in journal.websocket:
        how = ws_abnormal(conn)
        at = round((conn.closed_at or conn.opened_at) - t0, 6)
        if how is not None:
            kind = "ws_drop" if conn.dropped or conn.closed_by == "drop" else f"ws_close_{conn.close_code_sent}"
            out.append(
                {
                    "protocol": "websocket",
                    "kind": kind,
                    "exchange": conn.id,
                    "path": conn.path,
                    "at": at,
                    "fixture": None,
                    "detail": how,
                }
            )
        for x in conn.exchanges:
            for kind in x.faults:
                if kind in conn.faults:
                    continue  # reported once, with the connection's abnormal end
                out.append(
                    {
                        "protocol": "websocket",
                        "kind": kind,
                        "exchange": conn.id,
                        "path": conn.path,
                        "at": round(x.started_at - t0, 6),
                        "fixture": x.fixture,
                        "detail": None,
                    }
                )
    out.sort(key=lambda f: (f["at"], f["exchange"]))
    return out


def ws_calls(journal: Journal, t0: float) -> list[dict[str, Any]]:
    """WebSocket messages grouped like HTTP calls: the same request data on the same path, across
    connections, is one logical call; each answer to it is an attempt."""
    calls: dict[str, dict[str, Any]] = {}
    for conn in sorted(journal.websocket, key=lambda c: (c.opened_at, c.id)):
        for x in conn.exchanges:
            key = f"websocket:{conn.path}:{json.dumps(x.request, sort_keys=True, default=str)}"
            call = calls.setdefault(
                key,
                {
                    "key": key[:200],
                    "method": "WEBSOCKET",
                    "path": conn.path,
                    "attempts": 0,
                    "succeeded": False,
                    "exchanges": [],
                    "outcomes": [],
                    "gaps": [],
                    "retry_after": [],
                    "started_at": round(x.started_at - t0, 6),
                    "_last_end": None,
                },
            )
            if call["_last_end"] is not None:
                call["gaps"].append(round(x.started_at - call["_last_end"], 6))
            call["attempts"] += 1
            call["exchanges"].append(conn.id)
            ok = x.completed and not x.faults and ws_abnormal(conn) is None
            call["outcomes"].append(
                "answered in full"
                if ok
                else f"connection {ws_abnormal(conn) or 'open'}" + (f" ({', '.join(x.faults)})" if x.faults else "")
            )
            call["retry_after"].append(None)
            call["succeeded"] = ok
            call["_last_end"] = x.ended_at if x.ended_at is not None else x.started_at
    for call in calls.values():
        del call["_last_end"]
    return list(calls.values())
