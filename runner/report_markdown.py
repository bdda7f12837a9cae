"""Markdown report: for PR comments and `$GITHUB_STEP_SUMMARY` (GitHub-flavoured tables, <details>)."""

from __future__ import annotations

from dotmock.runner.results import CaseResult, RunReport, tail

ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not_run": "⏭️"}
SEVERITY_ICON = {"error": "🔴", "warning": "🟠", "info": "🔵"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fault_list(case: CaseResult) -> str:
    kinds: list[str] = []
    for f in case.faults:
        if f["kind"] not in kinds:
            kinds.append(f["kind"])
    return ", ".join(kinds) or "–"


def _finding_list(case: CaseResult) -> str:
    if not case.findings:
        return "–"
    return ", ".join(
        f"{SEVERITY_ICON[f.severity]} `{f.name}`" + (" (expected)" if f.expected_by_scenario else "")
        for f in case.findings
    )


def summary_line(report: RunReport) -> str:
    c = report.counts()
    parts = [f"{c['passed']} passed", f"{c['failed']} failed"]
    if c["error"]:
        parts.append(f"{c['error']} errors")
    if c["not_run"]:
        parts.append(f"{c['not_run']} not run")
    line = ", ".join(parts) + f" of {len(report.cases)} cases in {report.duration:.1f}s"
    return line + (" (interrupted)" if report.interrupted else "")


def _case_details(case: CaseResult) -> list[str]:
    out = [
        f"<details{' open' if case.outcome != 'passed' else ''}><summary>{ICON[case.outcome]} "
        f"<b>{_html(case.name)}</b> — {case.outcome}</summary>",
        "",
    ]
    if case.message:
        out += [f"> {line}" for line in case.message.splitlines()] + [""]
    if case.client is not None:
        c = case.client
        out.append(
            f"Client `{c.command}`: {c.describe_end()} after {c.duration:.2f}s"
            + (f", `{c.exception}`" if c.exception else "")
        )
        out.append("")
    if case.expectations:
        out += ["| | expectation | expected | observed |", "| --- | --- | --- | --- |"]
        for e in case.expectations:
            out.append(
                f"| {'✅' if e.passed else '❌'} | `{_cell(e.text)}` | {_cell(e.expected)} | {_cell(e.observed)} |"
            )
        out.append("")
    for f in case.findings:
        doc = " — *expected by the scenario*" if f.expected_by_scenario else ""
        out.append(f"- {SEVERITY_ICON[f.severity]} **{f.name}** ({f.severity}){doc}: {f.title}  ")
        out.append(f"  *Advice:* {f.advice}")
    if case.findings:
        out.append("")
    if case.outcome != "passed" and case.client is not None and (case.client.stderr or case.client.stdout):
        stream = case.client.stderr or case.client.stdout
        out += ["```", tail(stream, 1500).rstrip().replace("```", "ʼʼʼ"), "```", ""]
    out += ["</details>", ""]
    return out


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(report: RunReport) -> str:
    ok = report.ok
    lines = [f"## dotmock resilience report {'✅' if ok else '❌'}", "", f"**{summary_line(report)}**", ""]
    lines += [
        "| case | outcome | duration | attempts | faults injected | findings |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for case in report.cases:
        lines.append(
            f"| {_cell(case.name)} | {ICON[case.outcome]} {case.outcome} | {case.duration:.2f}s | "
            f"{case.attempts} | {_cell(_fault_list(case))} | {_cell(_finding_list(case))} |"
        )
    lines.append("")
    for case in report.cases:
        if case.outcome != "passed" or case.findings:
            lines += _case_details(case)
    return "\n".join(lines).rstrip() + "\n"
