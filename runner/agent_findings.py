"""The agent findings: what a client did with the tool calls, refusals and cut answers it was sent.

The journal holds both halves of every round: the calls the server answered with (`tool_calls` of an HTTP
exchange or of a WebSocket message's exchange, with how much of each call's arguments went out, and
`stop_reason`), and the next request, whose conversation shows what the client did with them
(`server.conversation`: the tool results it sent, by call id). HTTP requests and WebSocket messages (a
Responses `response.create`, a `/v1/chat` envelope, a Realtime `response.create` with its session's
conversation) are read as one run, in the order they came. From the two, and the client's exit:

- `tool_run_on_broken_call`: a result came back for a call whose arguments were cut off (the answer never
  completed) or were not a JSON object, unless the result reports the problem (an Anthropic `is_error`
  result, or content that says "invalid", "error", "malformed", ...): that is handling it, not running it.
- `tool_call_lost`: the client went on (or exited 0) without a result for a call of a whole answer, or sent a
  result naming a call id the model never made, or exited 0 on a last answer of calls whose arguments were not
  valid JSON without a word about them (no result reporting it, no request asking again).
- `tool_loop`: the client ran the same call (name and arguments) `loop_limit` times.
- `stop_reason_ignored`: the run's last answer was a refusal or cut at its token limit, and the client
  exited 0 without asking again.
- `schema_violation_accepted`: the last attempt of a call (HTTP, or a WebSocket message) got a structured
  answer that `fault schemaViolation` broke against the request's schema (the journal says so, and what was
  broken), the client did not ask again — neither a retry of the same request nor a correction (a later
  request going on with the same conversation, e.g. the broken answer and "that was not valid JSON, try
  again"; a Responses chain by `previous_response_id` read whole) — and it exited 0.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dotmock.runner.results import ClientRun
from dotmock.server.conversation import ResultSeen, extends, read_conversation
from dotmock.server.journal import Journal, SentCall, Ticks
from dotmock.server.schema_violation import NAME as SCHEMA_VIOLATION

# A tool result that says the call could not be run is the client handling a broken call.
REPORTS_PROBLEM = re.compile(
    r"(?i)\b(invalid|error|malformed|could ?not parse|cannot parse|unparsable|unparseable|truncated|incomplete|"
    r"not valid json|bad arguments)\b"
)
# An answer that was not a whole one, in words, by its stop reason (Chat words, as the journal keeps them).
UNFINISHED_STOPS = {
    "refusal": "a refusal",
    "length": "an answer cut at its token limit",
    "content_filter": "an answer cut by a content filter",
}
CUT_STOPS = {"length": "cut at its token limit (finish reason length)", "content_filter": "cut by a content filter"}


@dataclass(frozen=True, slots=True)
class _Turn:
    """One request of the run and the answer it got: an HTTP exchange, or a WebSocket message (a
    `response.create`, an envelope) and the answer to it, read alike."""

    where: str  # "exchange #3 POST /v1/chat/completions", "WebSocket #4 /v1/realtime, message 3"
    started_at: float
    order: int  # the journal's order, for turns that started at the same moment
    body: Any  # the request as its conversation is read (a Realtime response.create: the session's items)
    call_key: str
    answered: bool  # a fixture's answer (not a refusal of the request, not an error fixture)
    completed: bool
    tool_calls: tuple[SentCall, ...]
    stop_reason: str | None
    ticks: Ticks


def _turns(journal: Journal) -> list[_Turn]:
    turns = [
        _Turn(
            f"exchange #{e.id} {e.method} {e.path}",
            e.started_at,
            e.id,
            e.body,
            e.call_key,
            e.fixture is not None and e.status == 200,
            e.completed,
            tuple(e.tool_calls),
            e.stop_reason,
            e.ticks,
        )
        for e in journal.http
    ]
    for c in journal.websocket:
        for k, x in enumerate(c.exchanges, 1 + c.exchanges_dropped):
            if not x.call_key:  # not a message answered by a fixture (a Realtime item.create, a bad frame)
                continue
            turns.append(
                _Turn(
                    f"WebSocket #{c.id} {c.path}, message {k}",
                    x.started_at,
                    c.id,
                    x.request,
                    x.call_key,
                    x.fixture is not None and x.error is None,
                    x.completed,
                    tuple(x.tool_calls),
                    x.stop_reason,
                    x.ticks,
                )
            )
    return sorted(turns, key=lambda t: (t.started_at, t.order))


@dataclass(frozen=True, slots=True)
class _Sending:
    """A call as the server sent it: in which answer, and whether the client could have had it whole."""

    turn: _Turn
    call: SentCall

    @property
    def broken(self) -> str | None:
        """Why the call was not a whole, valid call, in words (None: it was)."""
        call = self.call
        if not call.arguments_whole:
            sent = min(call.sent_chars, len(call.arguments))
            return f"its arguments were cut off after {sent} of {len(call.arguments)} characters"
        if not self.turn.completed:  # whole arguments (Gemini sends a call in one chunk), cut answer
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


Add = Callable[[str, str, list[str]], None]


class AgentJudge:
    def __init__(self, journal: Journal, client: ClientRun, loop_limit: int, add: Add) -> None:
        self.turns = _turns(journal)
        self.client = client
        self.loop_limit = loop_limit
        self.add = add
        self.conversations = [read_conversation(t.body) for t in self.turns]
        self.chained = [journal.chains.expand(t.body) for t in self.turns]  # previous_response_id read whole
        self.sent_ids = {c.id for t in self.turns for c in t.tool_calls}

    def _latest_sending(self, call_id: str, before: int) -> _Sending | None:
        latest = None
        for turn in self.turns[:before]:
            for call in turn.tool_calls:
                if call.id == call_id:
                    latest = _Sending(turn, call)
        return latest

    def _trailing(self) -> list[tuple[int, ResultSeen]]:
        return [(i, r) for i, c in enumerate(self.conversations) for r in c.trailing_results]

    # ------------------------------------------------------------------------------------ the findings

    def judge(self) -> None:
        if self.sent_ids:
            self.broken_calls()
            self.lost_calls()
            self.loops()
        self.stops()
        self.structured()

    def broken_calls(self) -> None:
        for i, result in self._trailing():
            sending = self._latest_sending(result.call_id, i)
            if sending is None:
                continue
            why = sending.broken
            request = self.turns[i]
            if why is None or REPORTS_PROBLEM.search(result.content) or _is_error_result(request.body, result):
                continue
            self.add(
                "tool_run_on_broken_call",
                f"ran {sending.call.name} on the call {result.call_id} although {why}",
                [
                    f"{sending.turn.where}: sent {_shown(sending.call)}, "
                    f"{'completed' if sending.turn.completed else 'not completed'}",
                    f"{request.where}: a result for {result.call_id}: {result.content[:80]!r}",
                ],
            )
            return

    def lost_calls(self) -> None:
        # A result for an id nobody made (neither the server nor the client's own history).
        for i, result in self._trailing():
            own = {c.id for c in self.conversations[i].calls}
            if result.call_id not in self.sent_ids and result.call_id not in own:
                self.add(
                    "tool_call_lost",
                    f"sent a result for the call id {result.call_id!r}, which the model never made",
                    [f"{self.turns[i].where}: ids sent so far: {', '.join(sorted(self.sent_ids))}"],
                )
                return
        superseded = self._superseded()
        for i, answer in enumerate(self.turns):
            whole = [c for c in answer.tool_calls if _Sending(answer, c).broken is None]
            if i in superseded:
                continue
            if not whole:
                if i == len(self.turns) - 1 and self._dropped_invalid_at_exit(answer):
                    return
                continue
            ids = {c.id for c in whole}
            follow = next((j for j in range(i + 1, len(self.turns)) if self._continues(j, ids)), None)
            if follow is None:
                if i == len(self.turns) - 1 and self.client.exited_ok:
                    self.add(
                        "tool_call_lost",
                        f"exited 0 without answering {', '.join(_shown(c) for c in whole)} ({answer.where})",
                        [f"{answer.where}: {len(whole)} tool call(s) sent; no request followed"],
                    )
                    return
                continue
            answered = {r.call_id for r in self.conversations[follow].results}
            missing = [c for c in whole if c.id not in answered]
            if missing:
                self.add(
                    "tool_call_lost",
                    f"went on without a result for {', '.join(f'{_shown(c)} [{c.id}]' for c in missing)}",
                    [
                        f"{answer.where}: sent {len(whole)} tool call(s)",
                        f"{self.turns[follow].where}: results for {', '.join(sorted(answered)) or 'none'}",
                    ],
                )
                return

    def _dropped_invalid_at_exit(self, answer: _Turn) -> bool:
        """The run's last answer held only calls whose arguments were whole but not valid JSON, and the
        client exited 0 with neither a result reporting the problem nor a request asking again: it dropped
        them without a word (LangGraph's prebuilt agent does: invalid calls end the run with no answer)."""
        invalid = [c for c in answer.tool_calls if _Sending(answer, c).broken == "its arguments were not valid JSON"]
        if not invalid or not self.client.exited_ok:
            return False
        self.add(
            "tool_call_lost",
            f"dropped {', '.join(_shown(c) for c in invalid)} ({answer.where}), whose arguments "
            "were not valid JSON, and exited 0 without a result reporting it or asking again",
            [f"{answer.where}: {len(invalid)} call(s) with invalid arguments sent; no request followed"],
        )
        return True

    def _superseded(self) -> set[int]:
        """Answers a retry of the same request replaced (the client asked again: their calls are void)."""
        last_of = {t.call_key: i for i, t in enumerate(self.turns)}
        return {i for i, t in enumerate(self.turns) if last_of[t.call_key] != i}

    def _continues(self, j: int, ids: set[str]) -> bool:
        conversation = self.conversations[j]
        return bool(ids & ({r.call_id for r in conversation.results} | {c.id for c in conversation.calls}))

    def loops(self) -> None:
        runs: Counter[tuple[str, str]] = Counter()
        shown: dict[tuple[str, str], SentCall] = {}
        counted: set[tuple[str, tuple[str, str]]] = set()
        rounds: dict[tuple[str, str], list[str]] = {}
        for i, result in self._trailing():
            sending = self._latest_sending(result.call_id, i)
            if sending is None:
                continue
            key = _canonical(sending.call)
            if (self.turns[i].call_key, key) in counted:  # a retry of the same round is not another run
                continue
            counted.add((self.turns[i].call_key, key))
            runs[key] += 1
            shown.setdefault(key, sending.call)
            rounds.setdefault(key, []).append(self.turns[i].where)
        for key, n in runs.most_common(1):
            if n >= self.loop_limit:
                self.add(
                    "tool_loop",
                    f"ran {_shown(shown[key])} {n} times with the same arguments (loop limit {self.loop_limit})",
                    [
                        f"{n} rounds sent a result for {shown[key].name} with arguments {key[1][:80]}",
                        f"the first in {rounds[key][0]}, the last in {rounds[key][-1]}",
                    ],
                )

    def stops(self) -> None:
        if not self.client.exited_ok or not self.turns:
            return
        last = self.turns[-1]
        if not (last.answered and last.stop_reason and last.completed):
            return
        if last.stop_reason == "refusal":
            title = f"exited 0 on an answer the model refused ({last.where}), as if it were an answer"
        elif last.stop_reason in CUT_STOPS:
            title = f"exited 0 on an answer {CUT_STOPS[last.stop_reason]} ({last.where}), without continuing it"
        else:
            return
        self.add(
            "stop_reason_ignored",
            title,
            [f"{last.where}: stop reason {last.stop_reason}; no request followed; client exit 0"],
        )

    def structured(self) -> None:
        if not self.client.exited_ok:
            return
        for i, turn in enumerate(self.turns):
            broke = next((t.detail for t in turn.ticks if t.what == f"fault:{SCHEMA_VIOLATION}"), None)
            if broke is None or self._asked_again(i):
                continue
            self.add(
                "schema_violation_accepted",
                f"exited 0 after a structured answer that broke the schema it asked for ({turn.where}: the server "
                f"{broke})",
                [f"{turn.where}: {SCHEMA_VIOLATION} applied ({broke}); no retry or correction followed; client exit 0"],
            )
            return

    def _asked_again(self, i: int) -> bool:
        """A later request retried turn `i` (the same call) or corrected it (went on with its conversation)."""
        turn = self.turns[i]
        return any(
            later.call_key == turn.call_key or extends(self.chained[j], self.chained[i])
            for j, later in enumerate(self.turns[i + 1 :], i + 1)
        )


def _is_error_result(body: Any, result: ResultSeen) -> bool:
    """An Anthropic tool_result marked `is_error` for this call."""
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
