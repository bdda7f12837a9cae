"""The HTML resilience report: one self-contained offline page (inline CSS, script and SVG; no external URLs).

The summary first (counts, one row per case), then per case its timeline (runner.report_html_timeline)
next to its expectations and its findings with their advice, the calls and the client's output. Readable
on a phone (the layout stacks, the summary table becomes cards) and printable (print CSS; every
`<details>` opens for printing). Everything that came from a scenario, a client or the wire is escaped.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from dotmock.runner.report_html_style import CSS, DEFS, SCRIPT
from dotmock.runner.report_html_timeline import LEGEND, render_timeline, seconds
from dotmock.runner.report_markdown import summary_line
from dotmock.runner.results import OUTCOMES, CaseResult, ExpectationResult, Finding, RunReport, tail

_MARK = {"passed": "✔", "failed": "✘", "error": "!", "not_run": "–"}
# Cases in the page and its summary: what needs a look first, passed cases last (and collapsed).
_RANK = {"failed": 0, "error": 0, "not_run": 1, "passed": 2}


def _ordered(report: RunReport) -> list[tuple[int, CaseResult]]:
    """(index in the run, case), failures first; the index keeps each case's anchor stable."""
    return sorted(enumerate(report.cases), key=lambda ic: _RANK.get(ic[1].outcome, 1))


def _filter_attrs(case: CaseResult) -> str:
    """What the page's filters look at: outcome, findings, and the text a search matches."""
    words = [case.name, case.file, *case.tags, *_faults(case), *(f.name for f in case.findings)]
    has_findings = "1" if case.findings else "0"
    return f'data-outcome="{_e(case.outcome)}" data-findings="{has_findings}" data-text="{_e(" ".join(words).lower())}"'


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _when(ts: float) -> str:
    if not ts:
        return "unknown time"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _faults(case: CaseResult) -> list[str]:
    return list(dict.fromkeys(str(f.get("kind")) for f in case.faults if isinstance(f, dict)))


def _summary(report: RunReport) -> str:
    counts = report.counts()
    pills = "".join(f'<span class="pill {o}">{counts[o]} {o.replace("_", " ")}</span>' for o in OUTCOMES if counts[o])
    rows = []
    for i, case in _ordered(report):
        findings = (
            ", ".join(
                f'<span class="sev-{_e(f.severity)}">{_e(f.name)}</span>' + ("*" if f.expected_by_scenario else "")
                for f in case.findings
            )
            or "–"
        )
        rows.append(
            f'<tr class="{_e(case.outcome)}" {_filter_attrs(case)}><td data-label="case">'
            f'<a href="#case-{i}">{_e(case.name)}</a></td>'
            f'<td data-label="outcome" class="o-{_e(case.outcome)}">{_MARK.get(case.outcome, "")} '
            f"{_e(case.outcome)}</td>"
            f'<td data-label="duration" class="num">{case.duration:.2f}s</td>'
            f'<td data-label="attempts" class="num">{case.attempts}</td>'
            f'<td data-label="faults">{_e(", ".join(_faults(case)) or "–")}</td>'
            f'<td data-label="findings">{findings}</td></tr>'
        )
    meta = [f"started {_e(_when(report.started_at))}", f"{report.jobs} job{'s' if report.jobs != 1 else ''}"]
    if report.shard:
        meta.append(f"shard {_e(report.shard)}")
    if report.tool_version:
        meta.append(f"dotmock {_e(report.tool_version)}")
    interrupted = (
        '<p class="o-failed"><b>The run was interrupted: some cases did not run.</b></p>' if report.interrupted else ""
    )
    return f"""<header class="card">
<h1>dotmock resilience report</h1>
<p>{_e(summary_line(report))}</p>
<div class="pills">{pills}</div>
<p class="muted">{" · ".join(meta)} · * finding expected by the scenario (a documented weakness)</p>
{interrupted}
<div class="filters noprint" role="group" aria-label="show cases">
<button type="button" data-filter="all" aria-pressed="true">all</button>
<button type="button" data-filter="problems" aria-pressed="false">failed / errors</button>
<button type="button" data-filter="findings" aria-pressed="false">with findings</button>
<input type="search" class="case-search" aria-label="filter cases by name, file, tag, fault or finding"
 placeholder="filter: name, tag, fault, finding">
<span class="muted filter-count" aria-live="polite"></span>
</div>
<table class="summary"><thead><tr><th>case</th><th>outcome</th><th>duration</th><th>attempts</th>
<th>faults injected</th><th>findings</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
</header>"""


def _section(title: str, list_class: str, items: list[str], none: str) -> str:
    """A case's `<h3>` section: its `<li>` items as a list, or the muted line `none` when there are none."""
    if not items:
        return f'<h3>{title}</h3><p class="muted">{none}</p>'
    return f'<h3>{title}</h3><ul class="{list_class}">{"".join(items)}</ul>'


def _expectation(e: ExpectationResult) -> str:
    cls = "pass" if e.passed else "fail"
    where = f' <span class="muted">{_e(e.location)}</span>' if e.location else ""
    return (
        f'<li class="{cls}"><span class="mark">{"✔" if e.passed else "✘"}</span><code>{_e(e.text)}</code>'
        f'{where}<span class="obs">expected {_e(e.expected)}; observed {_e(e.observed)}</span></li>'
    )


def _finding(f: Finding) -> str:
    expected = ' <span class="expected">expected by the scenario</span>' if f.expected_by_scenario else ""
    evidence = "".join(f"<li>{_e(line)}</li>" for line in f.evidence)
    evidence = f"<details><summary>evidence</summary><ul>{evidence}</ul></details>" if evidence else ""
    return (
        f'<li class="{_e(f.severity)}"><b class="sev-{_e(f.severity)}">{_e(f.severity)}</b> '
        f"<code>{_e(f.name)}</code>{expected}<br>{_e(f.title)}"
        f'<span class="advice"><b>Advice:</b> {_e(f.advice)}</span>{evidence}</li>'
    )


def _expectations(case: CaseResult) -> str:
    items = [_expectation(e) for e in case.expectations]
    return _section("Expectations", "expects", items, "None written: judged by the built-in findings only.")


def _findings(case: CaseResult) -> str:
    return _section("Findings", "findings", [_finding(f) for f in case.findings], "No findings.")


def _calls(case: CaseResult) -> str:
    items = []
    for call in case.calls:
        if not isinstance(call, dict):
            continue
        outcomes = " → ".join(str(o) for o in call.get("outcomes") or [])
        gaps = [g for g in call.get("gaps") or [] if isinstance(g, int | float)]
        waits = [r for r in call.get("retry_after") or [] if isinstance(r, int | float)]
        extra = f"; waits {', '.join(seconds(g) for g in gaps)}" if gaps else ""
        extra += f" (Retry-After {', '.join(seconds(w) for w in waits)})" if waits else ""
        items.append(
            f"<li><code>{_e(call.get('method', ''))} {_e(call.get('path', ''))}</code>: "
            f"{_e(call.get('attempts', 0))} attempt(s): {_e(outcomes)}{_e(extra)}</li>"
        )
    return f'<ul class="calls">{"".join(items)}</ul>' if items else ""


def _client(case: CaseResult) -> str:
    c = case.client
    if c is None:
        return ""
    facts = [
        f"<li>client <code>{_e(c.command)}</code></li>",
        f"<li>{_e(c.describe_end())} after {c.duration:.2f}s</li>",
    ]
    if c.exception:
        facts.append(f"<li>uncaught <code>{_e(c.exception)}</code></li>")
    if c.spawn_error:
        facts.append(f"<li>could not start: {_e(c.spawn_error)}</li>")
    if c.stray_processes:
        facts.append(f"<li>{c.stray_processes} stray process(es) killed after it ended</li>")
    out = "".join(
        f"<details><summary>{name} (last lines)</summary><pre>{_e(tail(text))}</pre></details>"
        for name, text in (("stdout", c.stdout), ("stderr", c.stderr))
        if text
    )
    return f'<ul class="facts">{"".join(facts)}</ul>{out}'


def _case(case: CaseResult, i: int) -> str:
    params = ", ".join(f"{k}={v}" for k, v in case.params.items())
    meta = [f"<code>{_e(case.file)}</code>", f"{case.duration:.2f}s", f"{case.attempts} attempt(s)"]
    if case.tags:
        meta.append("tags " + _e(", ".join(case.tags)))
    if params:
        meta.append("params " + _e(params))
    faults = _faults(case)
    if faults:
        meta.append("faults " + _e(", ".join(faults)))
    message = f"<pre>{_e(case.message)}</pre>" if case.message else ""
    timeline = render_timeline(case, f"timeline of {case.name}")
    opened = "" if case.outcome == "passed" else " open"
    return f"""<section class="case card {_e(case.outcome)}" id="case-{i}" {_filter_attrs(case)}>
<details class="case-details"{opened}><summary>
<h2><span class="o-{_e(case.outcome)}">{_MARK.get(case.outcome, "")} {_e(case.outcome.upper())}</span>
{_e(case.name)}</h2>
<p class="muted">{" · ".join(meta)}</p></summary>
{message}
<div class="case-body">
<div class="left"><h3>Timeline</h3>{timeline}{_calls(case)}{_client(case)}</div>
<div class="right">{_expectations(case)}{_findings(case)}</div>
</div>
</details>
</section>"""


def render_html(report: RunReport) -> str:
    """The whole report page."""
    cases = "\n".join(_case(c, i) for i, c in _ordered(report))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dotmock resilience report — {_e(summary_line(report))}</title>
<style>{CSS}</style></head>
<body>
{DEFS}
<main>
{_summary(report)}
<div class="card noprint-legend"><h3>How to read a timeline</h3>{LEGEND}
<p class="muted">Time runs left to right from the start of the case. Hover (or tap) a bar, tick or mark for
details. ↻ marks a retry; the dashed arrow joins it to the failed attempt before it.</p></div>
{cases}
</main>
<script>{SCRIPT}</script>
</body></html>
"""
