"""The JSON report: the whole run, versioned (`runner/schemas/report.schema.json`, docs/report.md)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from dotmock import __version__
from dotmock.dsl.catalogue import FINDING_KINDS, SEVERITIES
from dotmock.runner.results import REPORT_SCHEMA_VERSION, CaseResult, RunReport
from dotmock.server.journal import JOURNAL_VERSION
from dotmock.server.json_input import dumps_json

SCHEMA_ID = f"https://dotmock.dev/schemas/report-{REPORT_SCHEMA_VERSION}.json"


@cache
def _schema_text() -> str:
    return files("dotmock.runner.schemas").joinpath("report.schema.json").read_text(encoding="utf-8")


def report_schema() -> dict[str, Any]:
    """The report's JSON Schema: `runner/schemas/report.schema.json` with the finding names and severities
    of the catalogue as enums (the file does not repeat them, so a new finding is its catalogue entry)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    finding = schema["$defs"]["finding"]["properties"]
    finding["name"] = {"enum": [k.name for k in FINDING_KINDS], "description": finding["name"]["description"]}
    finding["severity"] = {"enum": list(SEVERITIES)}
    return schema


def report_to_json(report: RunReport) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_ID,
        "format": "dotmock-report",
        "version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "dotmock", "version": report.tool_version or __version__},
        "started_at": report.started_at,
        "duration": round(report.duration, 6),
        "interrupted": report.interrupted,
        "jobs": report.jobs,
        "shard": report.shard,
        **({} if report.seed is None else {"seed": report.seed}),
        "summary": {"total": len(report.cases), **report.counts()},
        "cases": [c.to_json() for c in report.cases],
    }


def render_json(report: RunReport) -> str:
    return dumps_json(report_to_json(report), indent=2, ensure_ascii=False) + "\n"


class ReportFormatError(ValueError):
    pass


def report_from_json(data: Any, source: str = "<json>") -> RunReport:
    if not isinstance(data, dict) or data.get("format") != "dotmock-report":
        raise ReportFormatError(f"{source}: not a dotmock JSON report")
    if data.get("version") == 1:
        _upgrade_from_v1(data)
    if data.get("version") != REPORT_SCHEMA_VERSION:
        raise ReportFormatError(
            f"{source}: report version {data.get('version')!r}; "
            f"this dotmock reads versions 1 to {REPORT_SCHEMA_VERSION}"
        )
    try:
        cases = [CaseResult.from_json(c) for c in data.get("cases", [])]
    except (KeyError, TypeError) as err:
        raise ReportFormatError(f"{source}: malformed case: {err}") from None
    return RunReport(
        cases=cases,
        started_at=data.get("started_at", 0.0),
        duration=data.get("duration", 0.0),
        interrupted=bool(data.get("interrupted")),
        jobs=data.get("jobs", 1),
        shard=data.get("shard"),
        tool_version=(data.get("tool") or {}).get("version", ""),
        seed=data.get("seed"),
    )


def _upgrade_from_v1(data: dict[str, Any]) -> None:
    """Version 1 journals held each record's faults as one comma-joined string, `fault`."""
    for case in data.get("cases") or []:
        journal = case.get("journal") if isinstance(case, dict) else None
        if not isinstance(journal, dict):
            continue
        connections = [c for c in journal.get("websocket") or [] if isinstance(c, dict)]
        exchanges = [x for c in connections for x in c.get("exchanges") or [] if isinstance(x, dict)]
        for record in [*(e for e in journal.get("http") or [] if isinstance(e, dict)), *connections, *exchanges]:
            if "fault" in record:
                record["faults"] = [f for f in str(record.pop("fault") or "").split(",") if f]
        journal["version"] = JOURNAL_VERSION
    data["version"] = REPORT_SCHEMA_VERSION


def load_report(path: str) -> RunReport:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as err:
        raise ReportFormatError(f"{path}: {err}") from None
    return report_from_json(data, path)


def missing_shards(reports: list[RunReport]) -> list[str]:
    """Shards of a `--shard K/N` split that none of `reports` holds (`["3/4"]`): merging without them would
    report a partial run as complete."""
    totals: dict[int, set[int]] = {}
    for report in reports:
        if report.shard and "/" in report.shard:
            k, n = report.shard.split("/", 1)
            if k.isdigit() and n.isdigit():
                totals.setdefault(int(n), set()).add(int(k))
    return [f"{k}/{n}" for n, seen in sorted(totals.items()) for k in range(1, n + 1) if k not in seen]


def merge_reports(reports: list[RunReport]) -> RunReport:
    """One report from several shards: cases in order, a case id seen twice keeps its last result."""
    by_id: dict[str, CaseResult] = {}
    for report in reports:
        for case in report.cases:
            by_id.pop(case.id, None)
            by_id[case.id] = case
    cases = sorted(by_id.values(), key=lambda c: (c.index, c.file, c.id))
    starts = [r.started_at for r in reports if r.started_at]
    return RunReport(
        cases=cases,
        started_at=min(starts) if starts else 0.0,
        duration=max((r.duration for r in reports), default=0.0),
        interrupted=any(r.interrupted for r in reports),
        jobs=max((r.jobs for r in reports), default=1),
        shard=None,
        tool_version=reports[0].tool_version if reports else "",
        seed=seeds.pop() if len(seeds := {r.seed for r in reports}) == 1 else None,  # else each case has its own
    )
