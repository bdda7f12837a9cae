"""The verdict of one case: findings, expectations, and whether it passed.

A case passes when every expectation holds and no error-severity finding was raised that the scenario
did not expect with `finding X` (such a finding stays in the report, marked `expected_by_scenario`).
Warnings and info findings never fail a case on their own; `no findings` fails on any warning or error.
"""

from __future__ import annotations

from dataclasses import dataclass

from dotmock.dsl import model as m
from dotmock.runner.expectations import check_expectations
from dotmock.runner.findings import compute_findings
from dotmock.runner.results import ClientRun, ExpectationResult, Finding, Outcome
from dotmock.server.journal import Journal


@dataclass(slots=True)
class Verdict:
    outcome: Outcome
    expectations: list[ExpectationResult]
    findings: list[Finding]


def judge(scenario: m.Scenario, journal: Journal, client: ClientRun) -> Verdict:
    findings = compute_findings(journal, client)
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
