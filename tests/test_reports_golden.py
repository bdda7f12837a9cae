"""Golden reports: one fixed run (tests/golden/reports/run.json, a real run of four shipped scenarios with its
paths, ports and clock times made fixed) rendered as every report format, compared with the files beside it.

A change to a report's wording or layout shows here as a diff a reviewer reads, as the error messages do in
tests/golden/errors. To regenerate after a deliberate change: `DOTMOCK_REGEN_GOLDEN=1 pytest
tests/test_reports_golden.py`, then read the diff.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dotmock.runner.report_json import load_report, render_json
from dotmock.runner.report_junit import render_junit
from dotmock.runner.report_markdown import render_markdown
from dotmock.runner.report_terminal import TerminalReporter
from dotmock.runner.results import RunReport

GOLDEN = Path(__file__).resolve().parent / "golden" / "reports"
RUN = GOLDEN / "run.json"


def _terminal(report: RunReport, *, verbose: bool) -> str:
    out = io.StringIO()
    TerminalReporter(out, verbose=verbose, force_plain=True).summary(report)
    return out.getvalue()


RENDERERS: dict[str, Callable[[RunReport], str]] = {
    "terminal.txt": lambda r: _terminal(r, verbose=False),
    "terminal-verbose.txt": lambda r: _terminal(r, verbose=True),
    "report.md": render_markdown,
    "junit.xml": render_junit,
}


@pytest.fixture(scope="module")
def report() -> RunReport:
    return load_report(str(RUN))


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_each_report_matches_its_golden_file(report: RunReport, name: str) -> None:
    rendered = RENDERERS[name](report)
    golden = GOLDEN / name
    if os.environ.get("DOTMOCK_REGEN_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


def test_the_json_report_reads_back_to_the_same_file(report: RunReport) -> None:
    assert render_json(report) == RUN.read_text(encoding="utf-8")


def test_the_run_covers_what_the_reports_must_show(report: RunReport) -> None:
    outcomes = {c.outcome for c in report.cases}
    findings = {f.name for c in report.cases for f in c.findings}
    assert {"passed"} <= outcomes and len(report.cases) >= 5
    assert len(findings) >= 4 and any(f.expected_by_scenario for c in report.cases for f in c.findings)
