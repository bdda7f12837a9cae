"""What a run produces: the client's outcome, expectation results, findings and case results.

Plain dataclasses with `to_json()` / `from_json()`; the JSON shape is the report schema
(`runner/schemas/report.schema.json`, documented in docs/report.md). Times are seconds.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["passed", "failed", "error", "not_run"]
OUTCOMES: tuple[str, ...] = ("passed", "failed", "error", "not_run")
REPORT_SCHEMA_VERSION = 2  # 2: journal faults are lists (`faults`), not comma-joined strings (`fault`)


@dataclass(slots=True)
class ClientRun:
    """How the client process ended. `started_at` / `ended_at` are monotonic seconds (the journal's clock)."""

    argv: list[str]
    cwd: str = ""
    exit_code: int | None = None
    signal: str | None = None  # "SIGKILL", ... when a signal ended it
    timed_out: bool = False  # killed by the runner at its timeout
    interrupted: bool = False  # terminated by the runner because the run was interrupted (Ctrl-C)
    started_at: float = 0.0
    ended_at: float = 0.0
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False  # the head of the output was dropped to bound memory
    stderr_truncated: bool = False
    crashed: bool = False  # an uncaught exception (traceback at the end of stderr) or a signal ended it
    # "json.decoder.JSONDecodeError: Expecting value: ..." for a traceback; also set on a client killed at its
    # timeout when the traceback was on stderr before the kill (it crashed, then did not exit)
    exception: str | None = None
    spawn_error: str | None = None  # the program could not be started at all
    stray_processes: int = 0  # descendants still alive after the client ended (killed by the runner)
    shell: bool = False  # the command line ran under /bin/sh -c (judging only: not in reports)

    @property
    def duration(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    @property
    def command(self) -> str:
        """The command line as a shell would take it back (quoted where needed)."""
        return shlex.join(self.argv)

    @property
    def exception_name(self) -> str | None:
        """The short class name of the uncaught exception: `JSONDecodeError`."""
        if not self.exception:
            return None
        return self.exception.split(": ", 1)[0].strip().rsplit(".", 1)[-1] or None

    @property
    def exited_ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.signal is None

    def describe_end(self) -> str:
        """`exit 0`, `exit 1`, `killed at timeout`, `killed by SIGSEGV`, `could not start`."""
        if self.spawn_error:
            return "could not start"
        if self.timed_out:
            return "killed at timeout"
        if self.interrupted:
            return "interrupted"
        if self.signal:
            return f"killed by {self.signal}"
        return f"exit {self.exit_code}"


@dataclass(slots=True)
class ExpectationResult:
    text: str  # the expectation as written: `client exits 0`
    passed: bool
    expected: str
    observed: str
    location: str | None = None  # file:line:col

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExpectationResult:
        return cls(d["text"], d["passed"], d["expected"], d["observed"], d.get("location"))


@dataclass(slots=True)
class Finding:
    name: str  # one of dsl.catalogue.FINDING_NAMES
    severity: Literal["error", "warning", "info"]
    title: str  # what happened, in one line
    advice: str
    expected_by_scenario: bool = False
    evidence: list[str] = field(default_factory=list)  # journal facts behind it ("exchange 3: ...")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Finding:
        return cls(
            d["name"],
            d["severity"],
            d["title"],
            d["advice"],
            d.get("expected_by_scenario", False),
            list(d.get("evidence", [])),
        )


@dataclass(slots=True)
class CaseResult:
    """One case's verdict. `journal` and `calls` / `faults` are JSON-ready already (see report schema)."""

    id: str
    file: str
    name: str
    params: dict[str, str]
    tags: list[str]
    outcome: Outcome
    duration: float = 0.0
    message: str | None = None  # why it errored or was not run
    client: ClientRun | None = None
    expectations: list[ExpectationResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    journal: dict[str, Any] | None = None
    started_at: float = 0.0  # wall clock (time.time()) when the case started, for reports
    index: int = 0  # position among every discovered case (before -k / --shard): merged reports keep order
    seed: int | None = None  # the seed its server drew jitter from (`dotmock-run --seed` replays it)

    @property
    def attempts(self) -> int:
        return sum(int(c.get("attempts", 0)) for c in self.calls)

    def failures(self) -> list[str]:
        """One line per reason the case did not pass."""
        lines = [
            f"expectation failed: {e.text} (expected {e.expected}, observed {e.observed})"
            for e in self.expectations
            if not e.passed
        ]
        lines += [
            f"finding {f.name} [{f.severity}]: {f.title}"
            for f in self.findings
            if f.severity == "error" and not f.expected_by_scenario
        ]
        if self.message and self.outcome in ("error", "not_run"):
            lines.insert(0, self.message)
        return lines

    def to_json(self) -> dict[str, Any]:
        c = self.client
        client = None
        if c is not None:
            client = {
                "argv": c.argv,
                "cwd": c.cwd,
                "exit_code": c.exit_code,
                "signal": c.signal,
                "timed_out": c.timed_out,
                "interrupted": c.interrupted,
                "duration": round(c.duration, 6),
                "started_at": c.started_at,
                "ended_at": c.ended_at,
                "stdout_tail": tail(c.stdout),
                "stderr_tail": tail(c.stderr),
                "crashed": c.crashed,
                "exception": c.exception,
                "spawn_error": c.spawn_error,
                "stray_processes": c.stray_processes,
            }
        return {
            "id": self.id,
            "index": self.index,
            "file": self.file,
            "name": self.name,
            "params": dict(self.params),
            "tags": list(self.tags),
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
            "started_at": self.started_at,
            "message": self.message,
            "client": client,
            "expectations": [e.to_json() for e in self.expectations],
            "findings": [f.to_json() for f in self.findings],
            "attempts": self.attempts,
            "calls": self.calls,
            "faults": self.faults,
            "journal": self.journal,
            **({} if self.seed is None else {"seed": self.seed}),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseResult:
        client = None
        cj = d.get("client")
        if cj is not None:
            client = ClientRun(
                argv=list(cj["argv"]),
                cwd=cj.get("cwd", ""),
                exit_code=cj.get("exit_code"),
                signal=cj.get("signal"),
                timed_out=cj.get("timed_out", False),
                interrupted=cj.get("interrupted", False),
                started_at=cj.get("started_at", 0.0),
                ended_at=cj.get("ended_at", cj.get("started_at", 0.0) + cj.get("duration", 0.0)),
                stdout=cj.get("stdout_tail", ""),
                stderr=cj.get("stderr_tail", ""),
                crashed=cj.get("crashed", False),
                exception=cj.get("exception"),
                spawn_error=cj.get("spawn_error"),
                stray_processes=cj.get("stray_processes", 0),
            )
        return cls(
            id=d["id"],
            file=d["file"],
            name=d["name"],
            params=dict(d.get("params", {})),
            tags=list(d.get("tags", [])),
            outcome=d["outcome"],
            duration=d.get("duration", 0.0),
            message=d.get("message"),
            client=client,
            expectations=[ExpectationResult.from_json(e) for e in d.get("expectations", [])],
            findings=[Finding.from_json(f) for f in d.get("findings", [])],
            calls=list(d.get("calls", [])),
            faults=list(d.get("faults", [])),
            journal=d.get("journal"),
            started_at=d.get("started_at", 0.0),
            index=d.get("index", 0),
            seed=d.get("seed"),
        )


TAIL_CHARS = 4000


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """The last `limit` characters, cut at a line start where possible."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    nl = cut.find("\n")
    return cut[nl + 1 :] if 0 <= nl < limit // 4 else cut


@dataclass(slots=True)
class RunReport:
    """A whole run (or several merged): every case, in discovery order."""

    cases: list[CaseResult]
    started_at: float = 0.0  # wall clock
    duration: float = 0.0
    interrupted: bool = False
    jobs: int = 1
    shard: str | None = None
    tool_version: str = ""
    seed: int | None = None  # the run's seed (`--seed`): the same seed replays every case's jitter

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(OUTCOMES, 0)
        for case in self.cases:
            out[case.outcome] += 1
        return out

    @property
    def ok(self) -> bool:
        return all(c.outcome == "passed" for c in self.cases) and not self.interrupted
