"""The report formats `dotmock-run`, `dotmock report merge` and the pytest plugin can write: one entry each.
`--NAME FILE` (and `--dotmock-NAME FILE` under pytest) writes `render(report)` to FILE. A new format is its
`runner/report_<name>.py` module and its entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dotmock.runner.report_html import render_html
from dotmock.runner.report_json import render_json
from dotmock.runner.report_junit import render_junit
from dotmock.runner.report_markdown import render_markdown
from dotmock.runner.results import RunReport


@dataclass(frozen=True, slots=True)
class ReportFormat:
    name: str
    help: str
    render: Callable[[RunReport], str]


REPORT_FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("junit", "write JUnit XML (one testsuite per file)", render_junit),
    ReportFormat("json", "write the JSON report (docs/report.md)", render_json),
    ReportFormat(
        "markdown", "write a Markdown report (also appended to $GITHUB_STEP_SUMMARY when set)", render_markdown
    ),
    ReportFormat("html", "write a self-contained HTML report", render_html),
)
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in REPORT_FORMATS)
