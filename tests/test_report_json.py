"""The JSON report reads its own older version: a version 1 report (faults as comma-joined strings) is
upgraded on load, so `dotmock report merge` takes shards written before the change."""

from __future__ import annotations

import json

import jsonschema
import pytest

from dotmock.runner.report_json import ReportFormatError, render_json, report_from_json, report_schema

SCHEMA = report_schema()


def _v1_report() -> dict:
    exchange = {"id": 1, "method": "POST", "path": "/v1/chat/completions", "started_at": 0.0, "ended_at": 0.2,
                "attempt": 1, "call_key": "k", "status": 200, "stream": True, "fault": "malformedChunk,errorEvent",
                "completed": False, "ticks": []}  # fmt: skip
    connection = {"id": 2, "path": "/v1/chat", "opened_at": 0.0, "closed_at": 0.3, "frames": [], "closed_by": "drop",
                  "dropped": True, "fault": "disconnectAfterMs",
                  "exchanges": [{"started_at": 0.1, "fault": None}]}  # fmt: skip
    case = {"id": "a.mock::a", "index": 0, "file": "a.mock", "name": "a", "params": {}, "tags": [],
            "outcome": "passed", "duration": 0.5, "started_at": 0.0,
            "journal": {"version": 1, "http": [exchange], "websocket": [connection]}}  # fmt: skip
    return {"format": "dotmock-report", "version": 1, "tool": {"name": "dotmock", "version": "0.1.0"},
            "started_at": 0.0, "duration": 1.0, "interrupted": False, "cases": [case]}  # fmt: skip


def test_a_version_1_report_is_read_with_fault_lists_and_written_as_version_2() -> None:
    report = report_from_json(_v1_report())
    journal = report.cases[0].journal
    assert journal["http"][0]["faults"] == ["malformedChunk", "errorEvent"] and "fault" not in journal["http"][0]
    assert journal["websocket"][0]["faults"] == ["disconnectAfterMs"]
    assert journal["websocket"][0]["exchanges"][0]["faults"] == []
    written = json.loads(render_json(report))
    assert written["version"] == 2 and written["cases"][0]["journal"]["version"] == 2
    jsonschema.validate(written, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_an_unknown_version_is_refused_by_name() -> None:
    data = _v1_report() | {"version": 7}
    with pytest.raises(ReportFormatError, match="report version 7"):
        report_from_json(data)
