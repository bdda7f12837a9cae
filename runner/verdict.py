"""The verdict of one case: findings, expectations, and whether it passed.

A case passes when every expectation holds and no error-severity finding was raised that the scenario
did not expect with `finding X` (such a finding stays in the report, marked `expected_by_scenario`).
Warnings and info findings never fail a case on their own; `no findings` fails on any warning or error.
"""

from __future__ import annotations

from dataclasses import dataclass

from dotmock.dsl import model as m
from dotmock.dsl.model import DEFAULT_LOOP_LIMIT, DEFAULT_READ_TIMEOUT_S
from dotmock.runner.expectations import check_expectations
from dotmock.runner.findings import compute_findings
from dotmock.runner.results import ClientRun, ExpectationResult, Finding, Outcome
from dotmock.server.journal import Journal

NO_MATCH_PREFIX = "dotmock: no fixture matched"


@dataclass(slots=True)
class Verdict:
    outcome: Outcome
    expectations: list[ExpectationResult]
    findings: list[Finding]
    message: str | None = None  # a scenario error: why the case could not be judged


def unmatched_requests(journal: Journal) -> list[str]:
    """The server's explanation of every request no fixture matched (what it was, the nearest fixtures and
    what differed), over HTTP and WebSocket."""
    found = [ex.error for ex in journal.http if ex.error and ex.error.startswith(NO_MATCH_PREFIX)]
    for conn in journal.websocket:
        found += [x.error for x in conn.exchanges if x.error and x.error.startswith(NO_MATCH_PREFIX)]
    return found


def expects_requests(scenario: m.Scenario) -> bool:
    """Whether the scenario means its client to call the server: it has fixtures, and no `requests ... == 0`
    (or `<= 0`, `< 1`) expectation says that no call is the point."""
    if not scenario.fixtures:
        return False
    for e in scenario.expectations:
        if isinstance(e, m.RequestCountExpect) and (
            (e.op in ("==", "<=") and e.count == 0) or (e.op == "<" and e.count <= 1)
        ):
            return False
    return True


def judge(scenario: m.Scenario, journal: Journal, client: ClientRun) -> Verdict:
    """The case's verdict. A request no fixture matched is a mistake of the scenario, not of the client: the
    case is a scenario error, explained, and no client finding is drawn from traffic it did not plan."""
    budget = scenario.client.read_timeout_s if scenario.client and scenario.client.read_timeout_s else None
    unmatched = unmatched_requests(journal)
    if unmatched:
        results = check_expectations(scenario.expectations, journal, client, [])
        more = f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else ""
        message = (
            f"scenario error: a request matched no fixture{more}, so the client was not tested against what "
            f"the scenario meant.\n{unmatched[0].removeprefix('dotmock: ')}\n"
            "Add a fixture for it, or widen the nearest one's match (docs/language.md, Matching)."
        )
        return Verdict("error", results, [], message)
    loop_limit = scenario.client.loop_limit if scenario.client and scenario.client.loop_limit else DEFAULT_LOOP_LIMIT
    findings = compute_findings(
        journal, client, budget or DEFAULT_READ_TIMEOUT_S, loop_limit, expects_requests=expects_requests(scenario)
    )
    documented = {
        e.name for e in scenario.expectations if isinstance(e, m.FindingsExpect) and e.kind == "present" and e.name
    }
    for f in findings:
        f.expected_by_scenario = f.name in documented
    results = check_expectations(scenario.expectations, journal, client, findings)
    failed = any(not r.passed for r in results) or any(
        f.severity == "error" and not f.expected_by_scenario for f in findings
    )
    return Verdict("failed" if failed else "passed", results, findings)
