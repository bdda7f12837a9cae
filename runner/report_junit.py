"""JUnit XML in the common Jenkins / Surefire shape: one `testsuite` per `.mock` file, one `testcase` per
case; a failed case carries one `failure` listing every failed expectation and unexpected error finding,
an errored case an `error`, a case not run `skipped`; the client's output tail goes to system-out/err."""

from __future__ import annotations

import datetime as dt
import os
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict

from dotmock.runner.report_terminal import verdict_lines
from dotmock.runner.results import CaseResult, RunReport, tail

# XML 1.0 forbids most control characters (and lone surrogates are no characters at all); client output,
# case names and file names may contain anything. `]]>` needs nothing: ElementTree writes `>` as `&gt;`.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _BAD_XML.sub("\ufffd", text)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts or 0, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _classname(path: str) -> str:
    stem = os.path.splitext(path)[0].replace(os.sep, ".").replace("/", ".").strip(".")
    return re.sub(r"[^\w.\-]", "_", stem) or "scenario"


def _details(case: CaseResult) -> str:
    return "\n".join(verdict_lines(case))


def _case_element(case: CaseResult) -> ET.Element:
    tc = ET.Element(
        "testcase",
        {
            "name": _clean(case.name),
            "classname": _classname(case.file),
            "time": f"{case.duration:.3f}",
            "file": _clean(case.file),
        },
    )
    failures = case.failures()
    if case.outcome == "failed":
        el = ET.SubElement(
            tc, "failure", {"message": _clean(failures[0] if failures else "failed"), "type": "dotmock.failed"}
        )
        el.text = _clean("\n".join(failures) + "\n\n" + _details(case))
    elif case.outcome == "error":
        el = ET.SubElement(tc, "error", {"message": _clean(case.message or "error"), "type": "dotmock.error"})
        el.text = _clean(case.message or "")
    elif case.outcome == "not_run":
        ET.SubElement(tc, "skipped", {"message": _clean(case.message or "not run")})
    out: list[str] = []
    if case.client is not None:
        c = case.client
        out.append(f"client: {c.command} ({c.describe_end()}, {c.duration:.2f}s)")
        if c.stdout:
            out.append("--- stdout (tail) ---\n" + tail(c.stdout))
    details = _details(case)
    if details:
        out.insert(0, details)
    if out:
        ET.SubElement(tc, "system-out").text = _clean("\n".join(out))
    if case.client is not None and case.client.stderr:
        ET.SubElement(tc, "system-err").text = _clean(tail(case.client.stderr))
    return tc


def render_junit(report: RunReport) -> str:
    by_file: OrderedDict[str, list[CaseResult]] = OrderedDict()
    for case in report.cases:
        by_file.setdefault(case.file, []).append(case)
    root = ET.Element(
        "testsuites",
        {
            "name": "dotmock",
            "tests": str(len(report.cases)),
            "failures": str(sum(c.outcome == "failed" for c in report.cases)),
            "errors": str(sum(c.outcome == "error" for c in report.cases)),
            "skipped": str(sum(c.outcome == "not_run" for c in report.cases)),
            "time": f"{report.duration:.3f}",
        },
    )
    for i, (file, cases) in enumerate(by_file.items()):
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _clean(file),
                "id": str(i),
                "tests": str(len(cases)),
                "failures": str(sum(c.outcome == "failed" for c in cases)),
                "errors": str(sum(c.outcome == "error" for c in cases)),
                "skipped": str(sum(c.outcome == "not_run" for c in cases)),
                "time": f"{sum(c.duration for c in cases):.3f}",
                "timestamp": _iso(min((c.started_at for c in cases), default=report.started_at)),
                "hostname": "localhost",
            },
        )
        if report.seed is not None:  # what `dotmock-run --seed` replays the run's jitter with
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", {"name": "dotmock.seed", "value": str(report.seed)})
        for case in cases:
            suite.append(_case_element(case))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
