"""The built-in findings: judged from both the server's journal and how the client process ended.

A mock alone cannot tell a client that used a cut stream and exited 0 from one that refused it and exited
with an error, or from one that crashed on it. Here every finding combines the two sides, and a single
root cause yields a single finding: a crash on a fault is `client_crashed` (its title names the fault), a
hang on a stalled stream is `no_read_timeout` rather than `client_hung`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from dotmock.dsl.catalogue import (
    FINDINGS,
    REWRITING_FAULTS,
    SEVERITIES,
    SILENT_FAULTS,
    WS_TERMINATORS,
    fault_words,
    first_cause,
)
from dotmock.dsl.model import DEFAULT_LOOP_LIMIT, DEFAULT_READ_TIMEOUT_S
from dotmock.runner.agent_findings import UNFINISHED_STOPS, AgentJudge
from dotmock.runner.attempts import (
    RETRY_AFTER_TOLERANCE_S,
    Attempt,
    Call,
    faults_injected,
    group_calls,
    ws_abnormal,
    ws_reconnected_after,
)
from dotmock.runner.results import ClientRun, Finding
from dotmock.runner.silences import silences
from dotmock.server.apis import api_for, base_url_mistake, models
from dotmock.server.journal import HttpExchange, Journal, WsConnection

STORM_MAX_ATTEMPTS = 5  # more attempts of one call than this is a storm
STORM_BURST_ATTEMPTS = 5  # ... and so is this many within STORM_BURST_WINDOW_S
STORM_BURST_WINDOW_S = 1.0
BACKOFF_GROWTH = 1.25  # a gap must grow by this factor over the previous one to count as backing off
BACKOFF_MIN_GROWTH_S = 0.05  # ... and by this much, so scheduling noise on short fixed waits is not a backoff
PACING_FINDINGS = ("no_backoff",)
# Findings about something other than the fault met: they do not keep `fault_handled` from being said.
BESIDE_THE_FAULT = (*PACING_FINDINGS, "processes_left_behind")
WS_ERROR_EVENT_TYPES = ("error", "response.failed")
WS_TERMINAL_EVENT_TYPES = tuple(sorted({t for ts in WS_TERMINATORS.values() for t in ts}))  # an answer's last event


def _finding(name: str, title: str, evidence: list[str] | None = None) -> Finding:
    kind = FINDINGS[name]
    return Finding(name, kind.severity, title, kind.advice, False, list(evidence or []))


def _s(seconds: float) -> str:
    return f"{seconds:.2f}s"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _where(call: Call) -> str:
    return f"{call.method} {call.path}"


def _missing_terminator(path: str) -> str:
    """What a cut stream of `path` lacks, in the API's own words: `no [DONE]`, `no message_stop`, ..."""
    api = api_for(path)
    if api is None:
        return "no terminator"
    return "no " + api.kind.terminator.removeprefix("data: ")


def _astray(exchange: HttpExchange) -> bool:
    """A request to a URL dotmock does not serve (answered 404 unknown URL)."""
    return exchange.api is None and exchange.status == 404 and not models.serves(exchange.path)


def _exit_words(client: ClientRun) -> str:
    if client.exception_name:
        return f"{client.describe_end()}, {client.exception_name}"
    return client.describe_end()


def _failed_words(client: ClientRun) -> str:
    """How a client that exited non-zero said so: an error message is on stderr; output on stdout alone
    (curl -s printing the stream it got, then exit 18) is no message of its own."""
    end = client.describe_end()
    if client.stderr.strip():
        return f"failed with its own message ({end})"
    if client.stdout.strip():
        return f"failed ({end}) with no error message (only its output on stdout)"
    return f"failed ({end}), printing nothing"


def _answered_in_full(conn: WsConnection) -> bool:
    """Every message on the connection was answered, and the last frame the server sent was an answer's
    terminal event (`response.completed`, `done`): a drop or an odd close code after it cost the client nothing."""
    sent = [f for f in conn.frames if f.direction == "out"]
    return (
        bool(conn.exchanges)
        and all(x.completed for x in conn.exchanges)
        and bool(sent)
        and sent[-1].type in WS_TERMINAL_EVENT_TYPES
    )


class _Judge:
    def __init__(self, journal: Journal, client: ClientRun, read_timeout_s: float, expects_requests: bool) -> None:
        self.journal = journal
        self.expects_requests = expects_requests
        self.client = client
        self.read_timeout_s = read_timeout_s
        self.calls = group_calls(journal)
        self.findings: list[Finding] = []

    def add(self, name: str, title: str, evidence: list[str] | None = None) -> None:
        self.findings.append(_finding(name, title, evidence))

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.findings)

    # ------------------------------------------------------------------------------------ retries

    def retries(self) -> None:
        for call in self.calls:
            if not call.retried:
                continue
            self._non_retryable(call)
            self._retry_after(call)
            storm = self._storm(call)
            if not storm:
                self._backoff(call)

    def _non_retryable(self, call: Call) -> None:
        a = call.attempts
        for i, attempt in enumerate(a[:-1]):
            if attempt.failed and attempt.non_retryable_status:
                retries = len(a) - 1 - i
                self.add(
                    "retried_non_retryable",
                    f"retried an HTTP {attempt.status} from {_where(call)} {_times(retries)}",
                    [f"exchange #{x.exchange.id}: {x.why}" for x in a[i:]],
                )
                return

    def _retry_after(self, call: Call) -> None:
        a = call.attempts
        for i, gap in enumerate(call.gaps):
            asked = a[i].retry_after
            if a[i].failed and asked is not None and gap + RETRY_AFTER_TOLERANCE_S < asked:
                self.add(
                    "retry_after_ignored",
                    f"retried {_where(call)} after {_s(gap)} although the server sent Retry-After {asked:g}s",
                    [
                        f"exchange #{a[i].exchange.id}: {a[i].why}, Retry-After {asked:g}s",
                        f"exchange #{a[i + 1].exchange.id} started {_s(gap)} later",
                    ],
                )
                return

    def _storm(self, call: Call) -> bool:
        a = call.attempts
        n = len(a)
        if n > STORM_MAX_ATTEMPTS:
            self.add(
                "retry_storm",
                f"sent {n} attempts of one call to {_where(call)}",
                [f"exchanges #{a[0].exchange.id}..#{a[-1].exchange.id}"],
            )
            return True
        for i in range(n - STORM_BURST_ATTEMPTS + 1):
            span = a[i + STORM_BURST_ATTEMPTS - 1].exchange.started_at - a[i].exchange.started_at
            if span < STORM_BURST_WINDOW_S:
                self.add(
                    "retry_storm",
                    f"sent {STORM_BURST_ATTEMPTS} attempts of one call to {_where(call)} within {_s(span)}",
                    [f"gaps: {', '.join(_s(g) for g in call.gaps)}"],
                )
                return True
        return False

    def _backoff(self, call: Call) -> None:
        a = call.attempts
        gaps = call.gaps
        if len(a) < 3 or any(x.retry_after is not None for x in a[:-1]):
            return
        if any(
            later > earlier * BACKOFF_GROWTH and later - earlier >= BACKOFF_MIN_GROWTH_S
            for earlier, later in itertools.pairwise(gaps)
        ):
            return
        self.add(
            "no_backoff",
            f"retried {_where(call)} {_times(len(gaps))} without backing off (waits {', '.join(_s(g) for g in gaps)})",
            [f"exchange #{x.exchange.id}: {x.why}" for x in a],
        )

    # ------------------------------------------------------------------------------------ streams

    def streams(self) -> None:
        """What the client did with the last attempt of each call: a retry always follows earlier ones."""
        if not self.client.exited_ok:
            return
        for call in self.calls:
            last = call.attempts[-1]
            ex = last.exchange
            evidence = [f"exchange #{ex.id} {_where(call)}: {last.why}; no retry followed; client exit 0"]
            if "errorEvent" in last.faults:
                self.add(
                    "error_event_ignored", f"exited 0 after an error event cut the stream of {_where(call)}", evidence
                )
            elif (
                last.failed
                and ex.stream
                and (
                    "truncate" in last.faults
                    or "disconnect" in last.faults
                    or (not ex.completed and not ex.client_disconnected)
                )
            ):
                how = "lost its connection" if "disconnect" in last.faults else "was cut"
                self.add(
                    "truncated_stream_accepted",
                    f"accepted a stream of {_where(call)} that {how} after {ex.chunks_sent} chunks "
                    f"({_missing_terminator(call.path)}) and exited 0",
                    evidence,
                )
            elif "malformedChunk" in last.faults:
                self.add(
                    "malformed_chunk_ignored",
                    f"carried on past a malformed chunk in the stream of {_where(call)} and exited 0",
                    evidence,
                )
            elif last.status is not None and last.status >= 400 and ex.fixture is not None:
                retried = f" after {len(call.attempts)} attempts" if call.retried else ""
                self.add("error_accepted", self._error_accepted_title(last.status, call, retried), evidence)

    # ------------------------------------------------------------------------------------ websocket

    def websocket(self) -> None:
        client = self.client
        for conn in self.journal.websocket:
            how = ws_abnormal(conn)
            if how is not None and not ws_reconnected_after(self.journal, conn):
                evidence = [
                    f"connection #{conn.id} {conn.path}: {how}; no new connection; client {client.describe_end()}"
                ]
                if client.exited_ok and _answered_in_full(conn):
                    continue  # the abnormal end came after the last answer's terminal event: nothing was lost
                if client.exited_ok:
                    self.add(
                        "ws_abnormal_close_ignored",
                        f"exited 0 after the WebSocket {conn.path} was {how}, without reconnecting",
                        evidence,
                    )
                elif not (client.crashed or client.timed_out or client.interrupted or client.spawn_error):
                    self.add(
                        "ws_no_reconnect",
                        f"gave up ({client.describe_end()}) after the WebSocket {conn.path} was {how}, "
                        "without reconnecting",
                        evidence,
                    )
                continue
            if client.exited_ok and self._ws_error_event_ignored(conn):
                self.add(
                    "error_event_ignored",
                    f"exited 0 after an error event on the WebSocket {conn.path}, without retrying",
                    [f"connection #{conn.id}: error event sent, nothing sent by the client after it"],
                )
            elif client.exited_ok and not self.has("truncated_stream_accepted"):
                self._ws_truncation_accepted(conn)

    def _ws_truncation_accepted(self, conn: WsConnection) -> None:
        """An answer cut short (truncateAfterChunks: no terminator, the connection left open) that the client
        never asked for again, and it exited 0: it used a partial answer."""
        for x in conn.exchanges:
            if x.completed or "truncate" not in x.faults:
                continue
            asked_again = any(
                y.call_key == x.call_key and y.started_at > x.started_at
                for other in self.journal.websocket
                for y in other.exchanges
            )
            if asked_again:
                continue
            ends = " / ".join(WS_TERMINATORS.get(conn.path, WS_TERMINAL_EVENT_TYPES))
            self.add(
                "truncated_stream_accepted",
                f"accepted an answer on the WebSocket {conn.path} that was cut after {x.chunks_sent} chunks "
                f"(no {ends}) and exited 0",
                [f"connection #{conn.id}: fixture {x.fixture!r}, {x.chunks_sent} chunks, no terminator; no retry"],
            )
            return

    def _ws_error_event_ignored(self, conn: WsConnection) -> bool:
        error_at = [f.t for f in conn.frames if f.direction == "out" and f.type in WS_ERROR_EVENT_TYPES]
        if not error_at:
            return False
        later_in = any(f.direction == "in" and f.t > error_at[-1] for f in conn.frames)
        return not later_in and not ws_reconnected_after(self.journal, conn)

    # ------------------------------------------------------------------------------------ the end

    def cause(self) -> str | None:
        """The last fault the client met before it ended, in words."""
        moments: list[tuple[float, str]] = []
        for call in self.calls:
            for attempt in call.attempts:
                if attempt.failed or attempt.faults:
                    moments.append((attempt.exchange.started_at, self._attempt_words(attempt)))
        for conn in self.journal.websocket:
            how = ws_abnormal(conn)
            if how is not None:
                moments.append((conn.closed_at or conn.opened_at, f"a WebSocket {how}"))
            for x in conn.exchanges:  # an answer a fault rewrote (schemaViolation) on a connection that ended well
                rewritten = first_cause([f for f in x.faults if f in REWRITING_FAULTS])
                if rewritten is not None:
                    moments.append((x.started_at, fault_words(rewritten)))
        if not moments and self.journal.http:  # no fault: an answer that was not a whole one still explains a crash
            last = max(self.journal.http, key=lambda e: e.started_at)
            if last.stop_reason in UNFINISHED_STOPS:
                moments.append((last.started_at, UNFINISHED_STOPS[last.stop_reason]))
        return max(moments)[1] if moments else None

    @staticmethod
    def _attempt_words(attempt: Attempt) -> str:
        cause = first_cause(attempt.faults)
        if cause is not None:
            return fault_words(cause)
        if attempt.status is not None and attempt.status >= 400:
            return f"an HTTP {attempt.status}" + (f" after {attempt.number} attempts" if attempt.number > 1 else "")
        return attempt.why

    def sat_through_silence(self) -> bool:
        """`no_read_timeout` for a client that waited through a silence longer than the read-timeout budget
        on an open stream, whether the stall ended before the case did or the runner killed the client."""
        client = self.client
        if client.spawn_error or client.interrupted:
            return False
        until = client.ended_at or None  # both on the monotonic clock
        for silence in silences(self.journal):
            if silence.ending == "hung_up":
                continue
            end = silence.end if silence.end is not None else until
            if end is None:
                continue
            waited = end - silence.start
            if waited <= self.read_timeout_s:
                continue
            how = "until it resumed" if silence.ending == "resumed" else "without hanging up"
            killed = " and was killed at the timeout" if client.timed_out else ""
            self.add(
                "no_read_timeout",
                f"sat through {_s(waited)} of silence ({silence.words()}, {silence.where}) {how}{killed}; "
                f"a read timeout would have fired after {_s(self.read_timeout_s)}",
                [f"{silence.where}: {silence.words()}, silent for {_s(waited)}, {silence.ending}"],
            )
            return True
        return False

    def ending(self) -> None:
        client = self.client
        if client.spawn_error or client.interrupted:
            return
        self._ending()
        if not self.expects_requests or self.journal.websocket or not all(map(_astray, self.journal.http)):
            return
        if self.journal.http:
            self._only_astray()
            return
        # Nothing reached the server: say so in the finding about the end, or as the finding itself.
        for i, f in enumerate(self.findings):
            if f.name in ("client_crashed", "client_hung"):
                self.findings[i] = replace(f, title=f"{f.title}, before any request to dotmock")
                return
        self.add(
            "never_called",
            f"made no request to dotmock ({_exit_words(client)}): nothing of the scenario was tested",
            [_quoted_variable_hint(client) or "no HTTP request, no WebSocket in the journal"],
        )

    def _only_astray(self) -> None:
        """Every request went to a URL no API answers (a base URL without its /v1, a prefix too many): the
        scenario was not tested, and what the client then did with the 404 is not what it was written for."""
        astray = self.journal.http
        first = astray[0]
        mistake = base_url_mistake(first.path)
        n = len(astray)
        self.findings = [f for f in self.findings if f.name == "processes_left_behind"]
        self.add(
            "never_called",
            f"made {n} request{'s' if n != 1 else ''} to dotmock, none to a URL it serves ({first.method} "
            f"{first.path}: {mistake or 'no API has this path'}), and ended ({_exit_words(self.client)}): "
            "nothing of the scenario was tested",
            [f"exchange #{x.id} {x.method} {x.path}: 404 unknown URL" for x in astray[:3]],
        )

    def _ending(self) -> None:
        client = self.client
        if self.sat_through_silence() and (client.timed_out or client.exited_ok):
            return
        if client.timed_out:
            stalled = self._stalled_at_kill()
            if stalled is not None:
                self.add(
                    "no_read_timeout",
                    f"waited on a stalled stream ({stalled}) until killed at the timeout after {_s(client.duration)}",
                    [stalled],
                )
            elif client.exception is not None:
                self._crashed_then_stayed(self.cause())
            else:
                cause = self.cause()
                tail = f" after {cause}" if cause else ""
                self.add("client_hung", f"did not finish{tail} and was killed at the timeout ({_s(client.duration)})")
            return
        if client.crashed:
            cause = self.cause()
            if client.signal:
                title = f"was killed by {client.signal}" + (f" after {cause}" if cause else "")
            elif cause:
                title = f"crashed on {cause} ({client.exception_name})"
            else:
                title = f"crashed with an uncaught {client.exception_name}"
            self.add("client_crashed", title, [client.exception or client.describe_end()])
            return
        if not client.exited_ok:
            for call in self.calls:
                if call.retried and call.attempts[-1].failed:
                    self.add(
                        "gave_up",
                        f"retried {_where(call)} {_times(len(call.attempts) - 1)}, then gave up "
                        f"loudly ({_exit_words(client)})",
                        [f"exchange #{a.exchange.id}: {a.why}" for a in call.attempts],
                    )
                    return

    def _error_accepted_title(self, status: int, call: Call, retried: str) -> str:
        """How the client took the error: printed something as its answer, or printed nothing at all (an
        SDK whose stream helper hands the error to a callback that only logs it, as the Vercel AI SDK does)."""
        where = _where(call)
        if self.client.stdout.strip():
            return f"exited 0 with the HTTP {status} of {where} as its answer{retried} (no retry after it)"
        logged = " (said so on stderr only)" if self.client.stderr.strip() else ""
        return f"swallowed the HTTP {status} of {where}{retried}: printed no answer and exited 0{logged}"

    def _crashed_then_stayed(self, cause: str | None) -> None:
        """An uncaught exception ended the program's main line, but the process outlived it until the kill:
        the crash is the root cause (what the client did with the fault); the hang is said in its title."""
        client = self.client
        met = f" on {cause}" if cause else ""
        self.add(
            "client_crashed",
            f"crashed{met} ({client.exception_name}), then did not exit and was killed at the timeout "
            f"({_s(client.duration)}): a non-daemon thread, an atexit hook or a child kept the process alive",
            [client.exception or "", "still running after the traceback, until the timeout"],
        )

    def leftovers(self) -> None:
        client = self.client
        if client.stray_processes and not (client.spawn_error or client.interrupted or client.timed_out):
            n = client.stray_processes
            self.add(
                "processes_left_behind",
                f"left {n} process{'es' if n != 1 else ''} running after it ended ({_exit_words(client)}); "
                "the runner killed them",
            )

    def _stalled_at_kill(self) -> str | None:
        """The stalled (or slow-first-token) exchange the client was still waiting on when it was killed."""
        if not self.journal.http:
            return None
        last = max(self.journal.http, key=lambda e: e.started_at)
        kind = first_cause([f for f in last.faults if f in SILENT_FAULTS])
        if kind is None or last.completed:
            return None
        return f"exchange #{last.id} {last.method} {last.path}: {fault_words(kind)} after {last.chunks_sent} chunks"

    def handled(self) -> None:
        client = self.client
        if client.spawn_error or client.interrupted or client.crashed or client.timed_out:
            return
        if not faults_injected(self.journal, self.journal.t0) and not any(
            a.failed for c in self.calls for a in c.attempts
        ):
            return
        # One root cause, one finding: nothing "handled" about a fault something else was said of. Retry
        # pacing (`no_backoff`) is a finding about the retries, not the fault, so it does not count here.
        if any(f.severity in ("error", "warning") and f.name not in BESIDE_THE_FAULT for f in self.findings):
            return
        for call in self.calls:
            first_failed = next((a for a in call.attempts if a.failed or a.faults), None)
            if first_failed is not None and call.retried and call.succeeded:
                self.add(
                    "fault_handled",
                    f"retried {_where(call)} after {self._attempt_words(first_failed)} and "
                    f"succeeded on attempt {len(call.attempts)}",
                )
                return
        reconnected = [
            c for c in self.journal.websocket if ws_abnormal(c) is not None and ws_reconnected_after(self.journal, c)
        ]
        if reconnected:
            self.add(
                "fault_handled",
                f"reconnected after the WebSocket {reconnected[0].path} was {ws_abnormal(reconnected[0])}",
            )
            return
        cause = self.cause() or "a fault"
        if not client.exited_ok:
            self.add("fault_handled", f"{_failed_words(client)} after {cause}")
        elif not self.findings:
            self.add("fault_handled", f"rode out {cause} and finished (exit 0)")


_VARIABLE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*")


def _quoted_variable_hint(client: ClientRun) -> str | None:
    """A `$VARIABLE` left in the command's words: it ran without a shell, so the variable went in literally."""
    if client.shell:
        return None
    for word in client.argv:
        m = _VARIABLE.search(word)
        if m:
            return (
                f"the command's word {word[:60]!r} holds {m.group(0)}, passed as is: no shell ran it "
                "(add shell to the client block)"
            )
    return None


def compute_findings(
    journal: Journal,
    client: ClientRun,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    loop_limit: int = DEFAULT_LOOP_LIMIT,
    *,
    expects_requests: bool = True,
) -> list[Finding]:
    """Every built-in finding for one case, most important first. `read_timeout_s` is the longest silence
    on an open stream a client may sit through before it should have hung up; `loop_limit` how many runs of
    the same tool call (same arguments) make a loop."""
    judge = _Judge(journal, client, read_timeout_s, expects_requests)
    judge.ending()
    judge.leftovers()
    AgentJudge(journal, client, loop_limit, judge.add).judge()
    if judge.has("tool_loop"):  # one root cause: a client killed while looping hung because it looped
        judge.findings = [f for f in judge.findings if f.name != "client_hung"]
    judge.retries()
    judge.streams()
    judge.websocket()
    judge.handled()
    # One root cause, one finding: a looping agent that stopped mid-loop did not lose a call, it looped; a
    # stream cut inside a call the client then ran is the broken call it ran.
    if judge.has("tool_loop"):
        judge.findings = [f for f in judge.findings if f.name != "tool_call_lost"]
    if judge.has("tool_run_on_broken_call"):
        judge.findings = [f for f in judge.findings if f.name != "truncated_stream_accepted"]
    return sorted(judge.findings, key=lambda f: SEVERITIES.index(f.severity))
