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
