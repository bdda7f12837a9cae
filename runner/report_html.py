"""A plain, self-contained HTML report (no scripts, no external assets): a summary table and, per case,
expectations, findings, the client's output and a simple timeline of the exchanges drawn in SVG.

The richer interactive timeline is built elsewhere from the JSON report; this page must stay readable
with nothing but a browser and the file."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from dotmock.runner.report_markdown import summary_line
from dotmock.runner.results import CaseResult, RunReport, tail

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem} th,td{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top} th{background:#f6f6f6} td.num{text-align:right}
.passed{color:#137333}.failed{color:#c5221f}.error{color:#a50e0e;font-weight:bold}.not_run{color:#777}
.sev-error{color:#c5221f}.sev-warning{color:#b06000}.sev-info{color:#1a73e8}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;max-height:24rem;font-size:12px}
.meta{color:#555} code{background:#f1f1f1;padding:0 .2rem}
svg text{font:11px system-ui,sans-serif}
"""

_COLORS = {"ok": "#8ab4f8", "failed": "#f28b82", "ws": "#a8dab5", "client": "#dadce0", "fault": "#c5221f"}


def _fmt_ts(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts or 0, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _timeline(case: CaseResult) -> str:
    j: dict[str, Any] = case.journal or {}
    rows: list[tuple[str, float, float, str, list[tuple[float, str]]]] = []
    if case.client is not None:
        c = case.client
        rows.append((f"client ({c.describe_end()})", c.started_at, c.ended_at, _COLORS["client"], []))
    for ex in j.get("http", []):
        start = ex.get("started_at") or 0.0
        end = ex.get("ended_at") if ex.get("ended_at") is not None else start
        failed = (ex.get("status") or 200) >= 400 or (ex.get("stream") and not ex.get("completed"))
        marks = [(t["t"], t["what"]) for t in ex.get("ticks", []) if str(t.get("what", "")).startswith("fault:")]
        label = f"#{ex['id']} {ex['method']} {ex['path']} a{ex.get('attempt', 1)} {ex.get('status') or ''}"
        rows.append((label, start, end, _COLORS["failed" if failed else "ok"], marks))
    for conn in j.get("websocket", []):
        start = conn.get("opened_at") or 0.0
        end = conn.get("closed_at") if conn.get("closed_at") is not None else start
        label = f"ws #{conn['id']} {conn['path']} {conn.get('closed_by') or ''}"
        rows.append((label, start, end, _COLORS["ws"], []))
    if not rows:
        return ""
    span = max([max(r[1], r[2]) for r in rows] + [0.001])
    width, left, row_h = 1000, 300, 18
    scale = (width - left - 10) / span
    parts = [f'<svg width="{width}" height="{len(rows) * row_h + 24}" role="img" '
             f'aria-label="timeline of {escape(case.name)}">']
    for i, (label, start, end, color, marks) in enumerate(rows):
        y = i * row_h + 4
        x = left + start * scale
        w = max(2.0, (end - start) * scale)
        parts.append(f'<text x="4" y="{y + 12}">{escape(label[:48])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{color}">'
                     f'<title>{escape(label)}: {start:.3f}s – {end:.3f}s</title></rect>')
        for t, what in marks:
            mx = left + t * scale
            parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y - 1}" y2="{y + row_h - 4}" '
                         f'stroke="{_COLORS["fault"]}" stroke-width="2"><title>{escape(what)} at {t:.3f}s'
                         f'</title></line>')
    y = len(rows) * row_h + 18
    parts.append(f'<text x="{left}" y="{y}">0s</text><text x="{width - 60}" y="{y}">{span:.2f}s</text></svg>')
    return "".join(parts)


def _case_section(case: CaseResult, anchor: str) -> str:
    h = [f'<h2 id="{anchor}"><span class="{case.outcome}">{escape(case.outcome.upper())}</span> '
         f'{escape(case.name)}</h2>',
         f'<p class="meta"><code>{escape(case.file)}</code> · {case.duration:.2f}s'
         + (f" · tags: {escape(', '.join(case.tags))}" if case.tags else "") + "</p>"]
    if case.message:
        h.append(f"<pre>{escape(case.message)}</pre>")
    if case.client is not None:
        c = case.client
        h.append(f"<p>Client <code>{escape(' '.join(c.argv))}</code>: {escape(c.describe_end())} after "
                 f"{c.duration:.2f}s" + (f", <code>{escape(c.exception)}</code>" if c.exception else "") + "</p>")
    if case.expectations:
        h.append("<table><tr><th></th><th>expectation</th><th>expected</th><th>observed</th><th>where</th></tr>")
        for e in case.expectations:
            cls = "passed" if e.passed else "failed"
            h.append(f'<tr><td class="{cls}">{"✔" if e.passed else "✘"}</td><td><code>{escape(e.text)}</code></td>'
                     f"<td>{escape(e.expected)}</td><td>{escape(e.observed)}</td>"
                     f"<td>{escape(e.location or '')}</td></tr>")
        h.append("</table>")
    if case.findings:
        h.append("<ul>")
        for f in case.findings:
            doc = " <em>(expected by the scenario)</em>" if f.expected_by_scenario else ""
            h.append(f'<li><b class="sev-{f.severity}">{escape(f.name)}</b> ({f.severity}){doc}: '
                     f"{escape(f.title)}<br><small>Advice: {escape(f.advice)}</small></li>")
        h.append("</ul>")
    timeline = _timeline(case)
    if timeline:
        h.append(f"<details open><summary>Timeline</summary>{timeline}</details>")
    if case.client is not None:
        for name, text in (("stdout", case.client.stdout), ("stderr", case.client.stderr)):
            if text:
                h.append(f"<details><summary>{name} (tail)</summary><pre>{escape(tail(text))}</pre></details>")
    return "\n".join(h)


def render_html(report: RunReport) -> str:
    rows = []
    for i, case in enumerate(report.cases):
        faults = ", ".join(dict.fromkeys(f["kind"] for f in case.faults)) or "–"
        findings = ", ".join(f'<span class="sev-{f.severity}">{escape(f.name)}</span>'
                             + (" (expected)" if f.expected_by_scenario else "") for f in case.findings) or "–"
        rows.append(f'<tr><td><a href="#case-{i}">{escape(case.name)}</a></td>'
                    f'<td class="{case.outcome}">{case.outcome}</td><td class="num">{case.duration:.2f}s</td>'
                    f'<td class="num">{case.attempts}</td><td>{escape(faults)}</td><td>{findings}</td></tr>')
    sections = [_case_section(c, f"case-{i}") for i, c in enumerate(report.cases)]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dotmock resilience report</title><style>{_CSS}</style></head>
<body>
<h1>dotmock resilience report</h1>
<p class="meta">{escape(summary_line(report))} · started {_fmt_ts(report.started_at)}</p>
<table><tr><th>case</th><th>outcome</th><th>duration</th><th>attempts</th><th>faults injected</th>
<th>findings</th></tr>
{chr(10).join(rows)}
</table>
{chr(10).join(sections)}
</body></html>
"""
