"""Checking a scenario's `expect` block: each expectation with what was expected and what was observed."""

from __future__ import annotations

import json
import re
from typing import Any

from dotmock.dsl import model as m
from dotmock.dsl import user_regex
from dotmock.runner.attempts import RETRY_AFTER_TOLERANCE_S, group_calls
from dotmock.runner.results import ClientRun, ExpectationResult, Finding
from dotmock.server.journal import Journal
from dotmock.server.matching import is_missing, json_field, json_rule_holds

_SNIPPET = 160


def expectation_text(e: m.Expectation) -> str:
    """The expectation written back in `.mock` syntax."""
    if isinstance(e, m.ExitExpect):
        return (
            "client exits nonzero"
            if e.op == "!=" and e.code == 0
            else f"client exits {e.code}"
            if e.op == "=="
            else f"client exits {e.op} {e.code}"
        )
    if isinstance(e, m.OutputExpect):
        return f"client {e.stream} {'not ' if e.negated else ''}{e.kind} {json.dumps(e.value)}"
    if isinstance(e, m.DurationExpect):
        return f"client finishes within {e.within_s:g}s"
    if isinstance(e, m.RequestCountExpect):
        return f"requests {_endpoint(e.protocol, e.method, e.path)} {e.op} {e.count}"
    if isinstance(e, m.RequestFieldExpect):
        idx = f"{e.index} " if e.index is not None else ""
        value = "" if e.kind in ("present", "absent") else " " + json.dumps(e.value)
        return f"request {idx}{_endpoint('http', e.method, e.path)} json {json.dumps(e.field_path)} {e.kind}{value}"
    if isinstance(e, m.WaitExpect):
        return f"wait between attempts {e.op} " + ("retry-after" if e.seconds is None else f"{e.seconds:g}s")
    if isinstance(e, m.WsExpect):
        if e.what == "close_code":
            return f"ws close code {e.op} {e.value}"
        return f"ws {e.what}{' ' + e.path if e.path else ''} {e.op} {e.value}"
    if e.kind == "none":
        return "no findings"
    return f"finding {e.name}" if e.kind == "present" else f"no finding {e.name}"


def _endpoint(protocol: str, method: str | None, path: str | None) -> str:
    where = "websocket" if protocol == "websocket" else method or "*"
    return f"{where} {path or '*'}"


def _snippet(text: str) -> str:
    text = text.strip()
    if not text:
        return "(empty)"
    if len(text) > _SNIPPET:
        text = "…" + text[-_SNIPPET:]
    return json.dumps(text, ensure_ascii=False)


def _fmt(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Checker:
    def __init__(self, journal: Journal, client: ClientRun, findings: list[Finding]) -> None:
        self.journal = journal
        self.client = client
        self.findings = findings

    def check(self, e: m.Expectation) -> tuple[bool, str, str]:
        if isinstance(e, m.ExitExpect):
            return self.exit(e)
        if isinstance(e, m.OutputExpect):
            return self.output(e)
        if isinstance(e, m.DurationExpect):
            d = self.client.duration
            ok = d <= e.within_s and not self.client.timed_out
            return ok, f"<= {e.within_s:g}s", f"{d:.2f}s" + (" (killed at timeout)" if self.client.timed_out else "")
        if isinstance(e, m.RequestCountExpect):
            return self.count(e)
        if isinstance(e, m.RequestFieldExpect):
            return self.field(e)
        if isinstance(e, m.WaitExpect):
            return self.wait(e)
        if isinstance(e, m.WsExpect):
            return self.ws(e)
        return self.finding(e)

    def exit(self, e: m.ExitExpect) -> tuple[bool, str, str]:
        c = self.client
        observed = c.describe_end() + (f" ({c.exception})" if c.exception else "")
        expected = "a non-zero exit" if e.op == "!=" and e.code == 0 else f"exit code {e.op} {e.code}"
        if c.exit_code is None:
            # Killed: it did not exit by itself; only "nonzero" accepts a death by signal (not a timeout).
            ok = e.op == "!=" and e.code == 0 and c.signal is not None and not c.timed_out and not c.interrupted
            return ok, expected, observed
        return m.compare(c.exit_code, e.op, e.code), expected, observed

    def output(self, e: m.OutputExpect) -> tuple[bool, str, str]:
        text = self.client.stdout if e.stream == "stdout" else self.client.stderr
        if e.kind == "contains":
            hit = e.value in text
        else:
            try:
                hit = user_regex.search(e.value, text, re.MULTILINE)
            except re.error as err:
                return False, f"a valid regex {e.value!r}", f"invalid regex: {err}"
            except user_regex.RegexTimeout as err:
                return False, f"{e.stream} matching {e.value!r}", str(err)
        ok = hit != e.negated
        verb = "containing" if e.kind == "contains" else "matching"
        expected = f"{e.stream} {'not ' if e.negated else ''}{verb} {_fmt(e.value)}"
        observed = f"{e.stream} {_snippet(text)}"
        if self.client.stdout_truncated if e.stream == "stdout" else self.client.stderr_truncated:
            kept = f"only the last {len(text.encode()) // 1024} KiB of {e.stream} were kept and searched"
            if e.negated and ok:
                # Absence in the kept tail proves nothing about the part that was cut off.
                return False, expected, f"{observed} ({kept}: the rest cannot be shown to be free of it)"
            observed += f" ({kept})"
        return ok, expected, observed

    def count(self, e: m.RequestCountExpect) -> tuple[bool, str, str]:
        if e.protocol == "http":
            n = sum(
                1
                for x in self.journal.http
                if (e.method is None or x.method == e.method) and (e.path is None or x.path == e.path)
            )
            unit = "requests"
        else:
            n = sum(1 for c in self.journal.websocket if e.path is None or c.path == e.path)
            unit = "connections"
        where = _endpoint(e.protocol, e.method, e.path)
        observed = f"{n} {unit[:-1] if n == 1 else unit}"
        return m.compare(n, e.op, e.count), f"{e.op} {e.count} {unit} to {where}", observed

    def field(self, e: m.RequestFieldExpect) -> tuple[bool, str, str]:
        exchanges = [
            x
            for x in sorted(self.journal.http, key=lambda x: (x.started_at, x.id))
            if x.method == e.method and (e.path is None or x.path == e.path)
        ]
        bodies = [x.body for x in exchanges]
        shown = "" if e.kind in ("present", "absent") else " " + _fmt(e.value)
        expected = f"{e.field_path!r} {e.kind}{shown}"
        where = _endpoint("http", e.method, e.path)
        if e.index is not None:
            if e.index > len(bodies):
                unit = "request" if len(bodies) == 1 else "requests"
                return False, expected, f"only {len(bodies)} {unit} to {where}"
            picked = [(e.index, bodies[e.index - 1])]
        else:
            if not bodies:
                return False, expected, f"no requests to {where}"
            picked = list(enumerate(bodies, 1))
        values = [(i, json_field(b, e.field_path)) for i, b in picked]
        bad = [(i, v) for i, v in values if not json_rule_holds(e.kind, e.value, v)]

        def shown_value(i: int, v: Any) -> str:
            x = exchanges[i - 1]
            if x.body_truncated:
                return f"(body of {x.body_bytes:,} bytes not kept: beyond the journal's byte budget)"
            return "(absent)" if is_missing(v) else _fmt(v)

        seen = "; ".join(f"request {i}: {shown_value(i, v)}" for i, v in (bad or values))
        return not bad, expected, seen

    def wait(self, e: m.WaitExpect) -> tuple[bool, str, str]:
        gaps: list[tuple[float, float | None]] = []
        for call in group_calls(self.journal):
            for i, gap in enumerate(call.gaps):
                gaps.append((gap, call.attempts[i].retry_after))
        expected = f"every wait {e.op} " + ("the Retry-After sent" if e.seconds is None else f"{e.seconds:g}s")
        if not gaps:
            return False, expected, "no retries happened"
        bad: list[str] = []
        for gap, asked in gaps:
            if e.seconds is None:
                if asked is None:
                    continue
                ok = (
                    m.compare(gap + RETRY_AFTER_TOLERANCE_S, e.op, asked)
                    if e.op in (">=", ">")
                    else m.compare(gap, e.op, asked)
                )
                if not ok:
                    bad.append(f"{gap:.2f}s after Retry-After {asked:g}s")
            elif not m.compare(gap, e.op, e.seconds):
                bad.append(f"{gap:.2f}s")
        if e.seconds is None and all(asked is None for _, asked in gaps):
            return False, expected, "no failed attempt carried a Retry-After"
        observed = "waits " + ", ".join(f"{g:.2f}s" for g, _ in gaps)
        if bad:
            observed += f" (violating: {', '.join(bad)})"
        return not bad, expected, observed

    def ws(self, e: m.WsExpect) -> tuple[bool, str, str]:
        conns = [c for c in self.journal.websocket if e.path is None or c.path == e.path]
        if e.what == "messages":
            n = sum(c.messages_received for c in conns)
            return (
                m.compare(n, e.op, e.value),
                f"{e.op} {e.value} messages sent by the client",
                f"{n} message{'' if n == 1 else 's'}",
            )
        if e.what == "reconnects":
            n = max(0, len(conns) - 1)
            return (
                m.compare(n, e.op, e.value),
                f"{e.op} {e.value} reconnects",
                f"{n} reconnect{'' if n == 1 else 's'} ({len(conns)} connection{'' if len(conns) == 1 else 's'})",
            )
        codes = [c.close_code_received for c in conns if c.close_code_received is not None]
        expected = f"the client closes with a code {e.op} {e.value}"
        if not codes:
            how = ", ".join(sorted({c.closed_by or "open" for c in conns})) or "no connection"
            return False, expected, f"the client never sent a close frame (closed by: {how})"
        return m.compare(codes[-1], e.op, e.value), expected, f"close code {codes[-1]}"

    def finding(self, e: m.FindingsExpect) -> tuple[bool, str, str]:
        raised = [f.name for f in self.findings if f.severity != "info"]
        all_names = [f.name for f in self.findings]
        observed = "findings: " + (", ".join(all_names) if all_names else "none")
        if e.kind == "none":
            return not raised, "no warning or error findings", observed
        if e.kind == "present":
            return e.name in all_names, f"finding {e.name}", observed
        return e.name not in all_names, f"no finding {e.name}", observed


def check_expectations(
    expectations: tuple[m.Expectation, ...], journal: Journal, client: ClientRun, findings: list[Finding]
) -> list[ExpectationResult]:
    checker = _Checker(journal, client, findings)
    out: list[ExpectationResult] = []
    for e in expectations:
        ok, expected, observed = checker.check(e)
        loc = str(e.location) if e.location is not None else None
        out.append(ExpectationResult(expectation_text(e), ok, expected, observed, loc))
    return out
