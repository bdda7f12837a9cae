"""What `dotmock-run` prints: live progress on a terminal, a line per finished case, then a summary table
and the details of every case that did not pass (of every case with `-v`). Plain text when stdout is not a
terminal, so CI logs stay readable."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from dotmock.dsl.model import Scenario
from dotmock.dsl.wording import count
from dotmock.runner.markdown_text import printable
from dotmock.runner.report_markdown import summary_line
from dotmock.runner.results import CaseResult, RunReport, tail

_STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "bold red",
    "not_run": "dim",
    "error_sev": "red",
    "warning": "yellow",
    "info": "cyan",
}
_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "not_run": "SKIP"}
# "dotmock ━━━━━━━━━━━━ 12/50 2 failures 0:00:13 " before the running case's name, at most.
_PROGRESS_COUNTERS_WIDTH = 48
_NAME_COLUMN = 50


def _name(text: str) -> str:
    """A case or file name on one line, control characters shown as escapes."""
    return printable(text).replace("\n", "\\n").replace("\t", " ")


def _faults(case: CaseResult) -> str:
    return ", ".join(dict.fromkeys(f["kind"] for f in case.faults)) or "-"


def _findings(case: CaseResult) -> str:
    return ", ".join(f.name + ("*" if f.expected_by_scenario else "") for f in case.findings) or "-"


def verdict_lines(case: CaseResult) -> list[str]:
    """A case's expectations (expected vs observed where one failed) and findings (with their advice, but
    for `info`), as plain lines: the wording the terminal, `explain` and JUnit share."""
    out: list[str] = []
    for e in case.expectations:
        out.append(f"{'ok  ' if e.passed else 'FAIL'} {e.text}" + (f"   [{e.location}]" if e.location else ""))
        if not e.passed:
            out.append(f"       expected: {e.expected}")
            out.append(f"       observed: {e.observed}")
    for f in case.findings:
        doc = " (expected by the scenario)" if f.expected_by_scenario else ""
        out.append(f"{f.severity}: {f.name}{doc}: {f.title}")
        if f.severity != "info":
            out.append(f"       advice: {f.advice}")
    return out


def case_details(case: CaseResult) -> list[str]:
    """Plain lines explaining a case: message, client end, failed (or all) expectations, findings."""
    out: list[str] = []
    if case.message:
        out += [f"  {line}" for line in case.message.splitlines()]
    if case.client is not None:
        c = case.client
        out.append(
            f"  client: {c.command} -> {c.describe_end()} after {c.duration:.2f}s"
            + (f" ({c.exception})" if c.exception else "")
        )
    out += [f"  {line}" for line in verdict_lines(case)]
    if case.outcome in ("failed", "error") and case.client is not None and case.client.stderr.strip():
        out.append("  stderr (tail):")
        out += ["    " + line for line in tail(case.client.stderr, 800).rstrip().splitlines()]
    return [printable(line) for line in out]


class TerminalReporter:
    """Progress while running, then the summary. `stream` defaults to stdout."""

    def __init__(
        self, stream: TextIO | None = None, *, verbose: bool = False, total: int = 0, force_plain: bool = False
    ) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.tty = not force_plain and self.stream.isatty()
        self.console = Console(
            file=self.stream, force_terminal=self.tty, no_color=not self.tty, highlight=False, soft_wrap=True
        )
        self.progress: Progress | None = None
        self.task_id: TaskID | None = None
        self.total = total
        self.done = 0
        self.failures = 0
        self.running: list[str] = []

    def __enter__(self) -> TerminalReporter:
        if self.tty and self.total:
            self.progress = Progress(
                TextColumn("[bold]dotmock[/]"),
                BarColumn(bar_width=12),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failures]}"),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task_id = self.progress.add_task("", total=self.total, failures="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def started(self, scenario: Scenario) -> None:
        self.running.append(_name(scenario.name))
        self._describe()

    def finished(self, case: CaseResult) -> None:
        name = _name(case.name)
        if name in self.running:
            self.running.remove(name)
        self.done += 1
        self.failures += case.outcome in ("failed", "error")
        counter = f"[{self.done}/{self.total}] " if self.total else ""
        line = f"{counter}{_MARK[case.outcome]:5} {name} ({case.duration:.2f}s)"
        if case.findings:
            line += f"  [{_findings(case)}]"
        if self.tty:
            self.console.print(
                f"[{_STYLE[case.outcome]}]{_MARK[case.outcome]:5}[/] {escape(name)} "
                f"[dim]({case.duration:.2f}s)[/]" + (f"  [dim]{_findings(case)}[/]" if case.findings else ""),
                markup=True,
            )
        else:
            print(line, file=self.stream, flush=True)
        if self.progress is not None and self.task_id is not None:
            self.progress.advance(self.task_id)
        self._describe()

    def _describe(self) -> None:
        if self.progress is not None and self.task_id is not None:
            failures = f"[red]{count(self.failures, 'failure')}[/]" if self.failures else "[dim]0 failures[/]"
            self.progress.update(self.task_id, description=escape(self._running_text()), failures=failures)

    def _running_text(self) -> str:
        """The cases running now, cut to what fits beside the counters on this terminal's width."""
        room = max(10, self.console.width - _PROGRESS_COUNTERS_WIDTH)
        more = len(self.running) - 1
        first = self.running[0] if self.running else ""
        suffix = f" +{more}" if more > 0 else ""
        if len(first) + len(suffix) > room:
            first = first[: max(1, room - len(suffix) - 1)] + "…"
        return first + suffix

    def summary(self, report: RunReport) -> None:
        """The cases that did not pass (every case with -v) as a table, their details, the count line.
        Each finished case already had its line, so passed cases are not listed twice."""
        cases = report.cases
        listed = cases if self.verbose else [c for c in cases if c.outcome != "passed"]
        if listed and self.tty:
            table = Table(title="dotmock resilience report", show_lines=False)
            for col in ("case", "outcome", "duration", "attempts", "faults injected", "findings"):
                table.add_column(col, justify="right" if col in ("duration", "attempts") else "left")
            for c in listed:
                table.add_row(
                    escape(_name(c.name)),
                    f"[{_STYLE[c.outcome]}]{c.outcome}[/]",
                    f"{c.duration:.2f}s",
                    str(c.attempts),
                    _faults(c),
                    _findings(c),
                )
            self.console.print(table)
        elif listed:
            self._plain_table(listed)
        for c in cases:
            if self.verbose or c.outcome in ("failed", "error") or (c.outcome == "not_run" and c.message):
                if c.outcome == "not_run" and not self.verbose:
                    continue
                header = f"{_MARK[c.outcome]} {_name(c.name)}  ({_name(c.file)})"
                if self.tty:
                    self.console.print(f"\n[{_STYLE[c.outcome]}]{escape(header)}[/]", markup=True)
                    self.console.print("\n".join(case_details(c)), markup=False)
                else:
                    print("\n" + header, file=self.stream)
                    print("\n".join(case_details(c)), file=self.stream)
        line = summary_line(report)
        if self.tty:
            self.console.print(f"\n[bold {'green' if report.ok else 'red'}]{line}[/]  (* expected by the scenario)")
        else:
            print(f"\n{line}  (* = finding expected by the scenario)", file=self.stream, flush=True)

    def _plain_table(self, cases: list[CaseResult]) -> None:
        """Columns as text; a name longer than its column is never cut: it gets a line of its own, the
        row's other cells on the next line under the column."""
        header = ("case", "outcome", "duration", "attempts", "faults injected", "findings")
        rows = [header] + [
            (_name(c.name), c.outcome, f"{c.duration:.2f}s", str(c.attempts), _faults(c), _findings(c)) for c in cases
        ]
        name_width = min(_NAME_COLUMN, max(len(r[0]) for r in rows))
        widths = [max(len(r[i]) for r in rows) for i in range(1, len(header) - 1)]
        print("", file=self.stream)
        for r in rows:
            rest = "  ".join([*(r[i + 1].ljust(widths[i]) for i in range(len(widths))), r[-1]]).rstrip()
            if len(r[0]) > name_width:
                print(r[0], file=self.stream)
                print(" " * name_width + "  " + rest, file=self.stream)
            else:
                print(r[0].ljust(name_width) + "  " + rest, file=self.stream)
        print("", file=self.stream, end="", flush=True)
