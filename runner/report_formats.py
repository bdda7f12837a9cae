"""The report formats `dotmock-run`, `dotmock report merge` and the pytest plugin can write: one entry each.
`--NAME FILE` (and `--dotmock-NAME FILE` under pytest) writes `render(report)` to FILE; `help` is the
option's help, `doc` what the format holds (`dotmock explain` prints both, so the docs keep no list of
formats). A new format is its `runner/report_<name>.py` module and its entry here."""

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
    doc: str
    render: Callable[[RunReport], str]


REPORT_FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat(
        "junit",
        "write JUnit XML (one testsuite per file)",
        "one `testsuite` per `.mock` file, one `testcase` per case (`classname` from the file path); `failure` "
        "lists every failed expectation and unexpected error finding, `error` for errored cases, `skipped` for "
        "not run; details and the stdout tail in `system-out`, the stderr tail in `system-err`",
        render_junit,
    ),
    ReportFormat(
        "json",
        "write the JSON report (docs/report.md)",
        "every case with its client, expectations, findings, calls, faults and the server journal; schema "
        "`runner/schemas/report.schema.json`, read back by `dotmock report merge` (docs/report.md)",
        render_json,
    ),
    ReportFormat(
        "markdown",
        "write a Markdown report (also appended to $GITHUB_STEP_SUMMARY when set)",
        "summary line, a table (case, outcome, duration, attempts, faults injected, findings) and a `<details>` "
        "block per case that did not pass or has findings; also appended to `$GITHUB_STEP_SUMMARY` when set",
        render_markdown,
    ),
    ReportFormat(
        "html",
        "write a self-contained HTML report",
        "one self-contained page (no external assets): the table, then per case its expectations, findings "
        "with advice, an SVG timeline (client lifetime, each exchange and connection, fault marks) and the "
        "output tails",
        render_html,
    ),
)
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in REPORT_FORMATS)
