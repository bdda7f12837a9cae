"""The agent findings: what a client did with the tool calls, refusals and cut answers it was sent.

The journal holds both halves of every round: the calls the server answered with (`HttpExchange.tool_calls`,
with how much of each call's arguments went out, and `stop_reason`), and the next request, whose
conversation shows what the client did with them (`server.conversation`: the tool results it sent, by call
id). From the two, and the client's exit:

- `tool_run_on_broken_call`: a result came back for a call whose arguments were cut off (the answer never
  completed) or were not a JSON object, unless the result reports the problem (an Anthropic `is_error`
  result, or content that says "invalid", "error", "malformed", ...): that is handling it, not running it.
- `tool_call_lost`: the client went on (or exited 0) without a result for a call of a whole answer, or sent a
  result naming a call id the model never made.
- `tool_loop`: the client ran the same call (name and arguments) `loop_limit` times.
- `stop_reason_ignored`: the run's last answer was a refusal or cut at its token limit, and the client
  exited 0 without asking again.
- `schema_violation_accepted`: the last attempt of a call (HTTP, or a WebSocket message) got a structured
  answer that `fault schemaViolation` broke against the request's schema (the journal says so, and what was
  broken), no retry of it followed, and the client exited 0.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from dotmock.runner.results import ClientRun
from dotmock.server.conversation import Conversation, ResultSeen, read_conversation
from dotmock.server.journal import HttpExchange, Journal, SentCall, Ticks
from dotmock.server.schema_violation import NAME as SCHEMA_VIOLATION

# A tool result that says the call could not be run is the client handling a broken call.
REPORTS_PROBLEM = re.compile(
    r"(?i)\b(invalid|error|malformed|could ?not parse|cannot parse|unparsable|unparseable|truncated|incomplete|"
    r"not valid json|bad arguments)\b"
)
CUT_STOPS = {"length": "cut at its token limit (finish reason length)", "content_filter": "cut by a content filter"}


@dataclass(frozen=True, slots=True)
class _Sending:
    """A call as the server sent it: in which exchange, and whether the client could have had it whole."""

    exchange: HttpExchange
    call: SentCall

    @property
    def broken(self) -> str | None:
        """Why the call was not a whole, valid call, in words (None: it was)."""
        call = self.call
        if not call.arguments_whole:
            sent = min(call.sent_chars, len(call.arguments))
            return f"its arguments were cut off after {sent} of {len(call.arguments)} characters"
        if not self.exchange.completed:  # whole arguments (Gemini sends a call in one chunk), cut answer
            return "the answer it came in was cut off before it ended"
        if not call.valid_json:
            return "its arguments were not valid JSON"
        return None


def _shown(call: SentCall, limit: int = 60) -> str:
    args = call.arguments if len(call.arguments) <= limit else call.arguments[: limit - 3] + "..."
    return f"{call.name}({args})"


def _canonical(call: SentCall) -> tuple[str, str]:
    try:
        return call.name, json.dumps(json.loads(call.arguments), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return call.name, call.arguments


@dataclass(slots=True)
class _Round:
    """One request that carried tool results, read as a conversation."""

    exchange: HttpExchange
    conversation: Conversation


Add = Callable[[str, str, list[str]], None]


class AgentJudge:
    def __init__(self, journal: Journal, client: ClientRun, loop_limit: int, add: Add) -> None:
        self.journal = journal
        self.exchanges = sorted(journal.http, key=lambda e: (e.started_at, e.id))
        self.client = client
        self.loop_limit = loop_limit
        self.add = add
        self.conversations = {e.id: read_conversation(e.body) for e in self.exchanges}
        self.sent_ids = {c.id for e in self.exchanges for c in e.tool_calls}

    def _latest_sending(self, call_id: str, before: HttpExchange) -> _Sending | None:
        latest = None
        for e in self.exchanges:
            if e.started_at >= before.started_at or e.id == before.id:
                break
            for call in e.tool_calls:
                if call.id == call_id:
                    latest = _Sending(e, call)
        return latest

    def _trailing(self) -> list[tuple[HttpExchange, ResultSeen]]:
        return [(e, r) for e in self.exchanges for r in self.conversations[e.id].trailing_results]

    # ------------------------------------------------------------------------------------ the findings

    def judge(self) -> None:
        if self.sent_ids:
            self.broken_calls()
            self.lost_calls()
            self.loops()
        self.stops()
        self.structured()

    def broken_calls(self) -> None:
        for request, result in self._trailing():
            sending = self._latest_sending(result.call_id, request)
            if sending is None:
                continue
            why = sending.broken
            if why is None or REPORTS_PROBLEM.search(result.content) or _is_error_result(request, result):
                continue
            self.add(
                "tool_run_on_broken_call",
                f"ran {sending.call.name} on the call {result.call_id} although {why}",
                [
                    f"exchange #{sending.exchange.id} {sending.exchange.path}: sent {_shown(sending.call)}, "
                    f"{'completed' if sending.exchange.completed else 'not completed'}",
                    f"exchange #{request.id}: a result for {result.call_id}: {result.content[:80]!r}",
                ],
            )
            return

    def lost_calls(self) -> None:
        # A result for an id nobody made (neither the server nor the client's own history).
        for request, result in self._trailing():
            own = {c.id for c in self.conversations[request.id].calls}
            if result.call_id not in self.sent_ids and result.call_id not in own:
                self.add(
                    "tool_call_lost",
                    f"sent a result for the call id {result.call_id!r}, which the model never made",
                    [f"exchange #{request.id}: ids sent so far: {', '.join(sorted(self.sent_ids))}"],
                )
                return
        superseded = self._superseded()
        for i, answer in enumerate(self.exchanges):
            whole = [c for c in answer.tool_calls if _Sending(answer, c).broken is None]
            if not whole or answer.id in superseded:
                continue
            ids = {c.id for c in whole}
            later = self.exchanges[i + 1 :]
            follow = next((e for e in later if self._continues(e, ids)), None)
            if follow is None:
                if not later and self.client.exited_ok:
                    self.add(
                        "tool_call_lost",
                        f"exited 0 without answering {', '.join(_shown(c) for c in whole)} "
                        f"({answer.method} {answer.path})",
                        [f"exchange #{answer.id}: {len(whole)} tool call(s) sent; no request followed"],
                    )
                    return
                continue
            answered = {r.call_id for r in self.conversations[follow.id].results}
            missing = [c for c in whole if c.id not in answered]
            if missing:
                self.add(
                    "tool_call_lost",
                    f"went on without a result for {', '.join(f'{_shown(c)} [{c.id}]' for c in missing)}",
                    [
                        f"exchange #{answer.id}: sent {len(whole)} tool call(s)",
                        f"exchange #{follow.id}: results for {', '.join(sorted(answered)) or 'none'}",
                    ],
                )
                return

    def _superseded(self) -> set[int]:
        """Answers a retry of the same request replaced (the client asked again: their calls are void)."""
        last_of: dict[str, int] = {}
        for e in self.exchanges:
            last_of[e.call_key] = e.id
        return {e.id for e in self.exchanges if last_of.get(e.call_key) != e.id}

    def _continues(self, request: HttpExchange, ids: set[str]) -> bool:
        conversation = self.conversations[request.id]
        return bool(ids & ({r.call_id for r in conversation.results} | {c.id for c in conversation.calls}))

    def loops(self) -> None:
        runs: Counter[tuple[str, str]] = Counter()
        shown: dict[tuple[str, str], SentCall] = {}
        counted: set[tuple[str, tuple[str, str]]] = set()
        for request, result in self._trailing():
            sending = self._latest_sending(result.call_id, request)
            if sending is None:
                continue
            key = _canonical(sending.call)
            if (request.call_key, key) in counted:  # a retry of the same round is not another run
                continue
            counted.add((request.call_key, key))
            runs[key] += 1
            shown.setdefault(key, sending.call)
        for key, n in runs.most_common(1):
            if n >= self.loop_limit:
                self.add(
                    "tool_loop",
                    f"ran {_shown(shown[key])} {n} times with the same arguments (loop limit {self.loop_limit})",
                    [f"{n} rounds sent a result for {shown[key].name} with arguments {key[1][:80]}"],
                )

    def stops(self) -> None:
        if not self.client.exited_ok:
            return
        answered = [e for e in self.exchanges if e.fixture is not None and e.status == 200 and e.stop_reason]
        if not answered or answered[-1] is not self.exchanges[-1]:
            return
        last = answered[-1]
        if not last.completed:
            return
        where = f"{last.method} {last.path}"
        if last.stop_reason == "refusal":
            title = f"exited 0 on an answer the model refused ({where}), as if it were an answer"
        elif last.stop_reason in CUT_STOPS:
            title = f"exited 0 on an answer {CUT_STOPS[last.stop_reason]} ({where}), without continuing it"
        else:
            return
        self.add(
            "stop_reason_ignored",
            title,
            [f"exchange #{last.id}: stop reason {last.stop_reason}; no request followed; client exit 0"],
        )

    def structured(self) -> None:
        if not self.client.exited_ok:
            return
        sent: list[tuple[float, str, Ticks, str]] = [
            (e.started_at, e.call_key, e.ticks, f"exchange #{e.id} {e.method} {e.path}") for e in self.exchanges
        ]
        for c in self.journal.websocket:
            sent += [(x.started_at, x.call_key, x.ticks, f"WebSocket #{c.id} {c.path}") for x in c.exchanges]
        sent.sort(key=lambda s: s[0])
        for i, (_t, key, ticks, where) in enumerate(sent):
            broke = next((t.detail for t in ticks if t.what == f"fault:{SCHEMA_VIOLATION}"), None)
            if broke is None or any(later[1] == key for later in sent[i + 1 :]):
                continue
            self.add(
                "schema_violation_accepted",
                f"exited 0 after a structured answer that broke the schema it asked for ({where}: the server {broke})",
                [f"{where}: {SCHEMA_VIOLATION} applied ({broke}); no retry followed; client exit 0"],
            )
            return


def _is_error_result(request: HttpExchange, result: ResultSeen) -> bool:
    """An Anthropic tool_result marked `is_error` for this call."""
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return False
    for message in body["messages"]:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_result"
                and block.get("tool_use_id") == result.call_id
                and block.get("is_error") is True
            ):
                return True
    return False
