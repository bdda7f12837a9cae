"""The terminal report on a real terminal (rich): case names are text, never markup."""

from __future__ import annotations

import io

from dotmock.runner.report_terminal import TerminalReporter
from dotmock.runner.results import CaseResult, RunReport

NAME = "hand-rolled retry loop [failure=limited, flags=--retries 3]"


class FakeTty(io.StringIO):
    """A terminal as rich sees one: output captured, isatty() true."""

    def isatty(self) -> bool:
        return True


def test_a_parameterised_case_name_keeps_its_brackets_on_a_terminal() -> None:
    out = FakeTty()
    case = CaseResult(
        id="x.mock::" + NAME, file="x.mock", name=NAME, params={}, tags=[], outcome="passed", duration=0.25
    )
    with TerminalReporter(out, total=1) as reporter:
        reporter.finished(case)
        reporter.summary(RunReport(cases=[case], duration=0.3))
    text = out.getvalue()
    assert reporter.tty
    assert "[failure=limited," in text  # rich would have eaten it as a style tag
    assert "1 passed" in text


def _case(name: str, outcome: str = "passed") -> CaseResult:
    return CaseResult(id=f"x.mock::{name}", file="x.mock", name=name, params={}, tags=[], outcome=outcome, duration=1.0)


def test_the_summary_lists_only_what_did_not_pass_and_never_cuts_a_name() -> None:
    out = io.StringIO()
    long_a = "rate limit mid-stream is retried with backoff [client=resilient_chat, api=responses, cut=3]"
    long_b = "rate limit mid-stream is retried with backoff [client=resilient_chat, api=responses, cut=4]"
    cases = [_case("fine"), _case(long_a, "failed"), _case(long_b, "failed")]
    with TerminalReporter(out, total=3) as reporter:
        for c in cases:
            reporter.finished(c)
        reporter.summary(RunReport(cases=cases, duration=3.0))
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "[1/3] PASS  fine (1.00s)",
        f"[2/3] FAIL  {long_a} (1.00s)",
        f"[3/3] FAIL  {long_b} (1.00s)",
    ]
    assert sum("fine" in line for line in lines) == 1  # no second copy of a PASS line
    assert sum(line == long_a for line in lines) == 1 and sum(line == long_b for line in lines) == 1
    assert "1 passed, 2 failed of 3 cases" in lines[-1]


def test_the_live_line_fits_80_columns_with_50_cases_and_counts_failures() -> None:
    from rich.console import Console

    reporter = TerminalReporter(FakeTty(), total=50)
    with reporter:
        assert reporter.progress is not None
        for i in range(12):
            reporter.started(_scenario(f"case number {i} with a rather long descriptive name [param={i}]"))
        for i in range(7):
            reporter.finished(_case(f"case number {i} with a rather long descriptive name [param={i}]", "failed"))
        screen = io.StringIO()
        Console(file=screen, width=80, force_terminal=False, no_color=True).print(reporter.progress.get_renderable())
    rendered = [line for line in screen.getvalue().splitlines() if line.strip()]
    assert len(rendered) == 1, rendered
    assert len(rendered[0]) <= 80
    assert "7/50" in rendered[0] and "7 failures" in rendered[0] and "+4" in rendered[0]


def _scenario(name: str):
    from dotmock.dsl.model import Scenario

    return Scenario(name=name, path="x.mock", base_dir=".")
