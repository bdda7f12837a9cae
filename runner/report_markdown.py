"""Markdown report: for PR comments and `$GITHUB_STEP_SUMMARY` (GitHub-flavoured tables, <details>)."""

from __future__ import annotations

from dotmock.dsl.wording import count
from dotmock.runner import markdown_text as md
from dotmock.runner.results import CaseResult, RunReport, tail

ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not_run": "⏭️"}
SEVERITY_ICON = {"error": "🔴", "warning": "🟠", "info": "🔵"}


def _fault_list(case: CaseResult) -> str:
    kinds: list[str] = []
    for f in case.faults:
        if f["kind"] not in kinds:
            kinds.append(f["kind"])
    return ", ".join(md.text(k) for k in kinds) or "–"


def _finding_list(case: CaseResult) -> str:
    if not case.findings:
        return "–"
    return ", ".join(
        f"{SEVERITY_ICON[f.severity]} `{f.name}`"  # a catalogue name: [a-z_]+, trusted
        + (" (expected)" if f.expected_by_scenario else "")
        for f in case.findings
    )


def summary_line(report: RunReport) -> str:
    c = report.counts()
    parts = [f"{c['passed']} passed", f"{c['failed']} failed"]
    if c["error"]:
        parts.append(count(c["error"], "error"))
    if c["not_run"]:
        parts.append(f"{c['not_run']} not run")
    line = ", ".join(parts) + f" of {count(len(report.cases), 'case')} in {report.duration:.1f}s"
    if report.seed is not None:
        line += f", seed {report.seed}"
    return line + (" (interrupted)" if report.interrupted else "")


def _case_details(case: CaseResult) -> list[str]:
    out = [
        f"<details{' open' if case.outcome != 'passed' else ''}><summary>{ICON[case.outcome]} "
        f"<b>{md.html(case.name)}</b> — {case.outcome}</summary>",
        "",
    ]
    if case.message:
        out += [f"> {md.text(line)}" for line in case.message.splitlines()] + [""]
    if case.client is not None:
        c = case.client
        out.append(
            f"Client {md.code(c.command)}: {md.text(c.describe_end())} after {c.duration:.2f}s"
            + (f", {md.code(c.exception)}" if c.exception else "")
        )
        out.append("")
    if case.expectations:
        out += ["| | expectation | expected | observed |", "| --- | --- | --- | --- |"]
        for e in case.expectations:
            out.append(
                f"| {'✅' if e.passed else '❌'} | {md.code(e.text)} | {md.text(e.expected)} | {md.text(e.observed)} |"
            )
        out.append("")
    for f in case.findings:
        doc = " — *expected by the scenario*" if f.expected_by_scenario else ""
        out.append(f"- {SEVERITY_ICON[f.severity]} **{md.text(f.name)}** ({f.severity}){doc}: {md.text(f.title)}  ")
        out.append(f"  *Advice:* {md.text(f.advice)}")
    if case.findings:
        out.append("")
    if case.outcome != "passed" and case.client is not None and (case.client.stderr or case.client.stdout):
        stream = case.client.stderr or case.client.stdout
        out += [*md.preformatted(tail(stream, 1500).rstrip()), ""]
    out += ["</details>", ""]
    return out


def render_markdown(report: RunReport) -> str:
    ok = report.ok
    lines = [f"## dotmock resilience report {'✅' if ok else '❌'}", "", f"**{summary_line(report)}**", ""]
    lines += [
        "| case | outcome | duration | attempts | faults injected | findings |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for case in report.cases:
        lines.append(
            f"| {md.text(case.name)} | {ICON[case.outcome]} {case.outcome} | {case.duration:.2f}s | "
            f"{case.attempts} | {_fault_list(case)} | {_finding_list(case)} |"
        )
    lines.append("")
    for case in report.cases:
        if case.outcome != "passed" or case.findings:
            lines += _case_details(case)
    return "\n".join(lines).rstrip() + "\n"
