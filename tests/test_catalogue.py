"""The catalogue is the one spelling of every named thing: the model, the grammar, the report schema and the
runner's rules agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import jsonschema

from dotmock.dsl import catalogue
from dotmock.dsl.catalogue import FAULT_KINDS, FINDING_KINDS, FaultName
from dotmock.runner.report_json import report_schema

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "runner" / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
GRAMMAR = (REPO / "grammar.lark").read_text(encoding="utf-8")


def test_the_report_schema_names_exactly_the_catalogued_findings() -> None:
    finding = report_schema()["$defs"]["finding"]["properties"]
    assert finding["name"]["enum"] == [k.name for k in FINDING_KINDS]
    assert finding["severity"]["enum"] == list(catalogue.SEVERITIES)
    shipped = SCHEMA["$defs"]["finding"]["properties"]
    assert "enum" not in shipped["name"] and "enum" not in shipped["severity"]  # no second list to keep in step


def test_the_report_schema_refuses_a_finding_the_catalogue_lacks() -> None:
    finding = {"name": "made_up", "severity": "error", "title": "t", "advice": "a", "expected_by_scenario": False}
    validator = jsonschema.Draft202012Validator(report_schema()["$defs"]["finding"])
    assert not validator.is_valid(finding)
    assert validator.is_valid({**finding, "name": FINDING_KINDS[0].name})


def test_the_model_fault_type_is_the_written_faults() -> None:
    assert set(get_args(FaultName)) == set(catalogue.WRITTEN_FAULTS)


def test_every_written_fault_is_a_keyword_of_the_grammar() -> None:
    for name in catalogue.WRITTEN_FAULTS:
        assert f'"fault" "{name}"' in GRAMMAR
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
        assert re.search(rf'"fault" "{name}" .*-> fault_{snake}\n', GRAMMAR), f"alias {name} fault_{snake}"


def test_names_are_unique_and_every_fault_has_words() -> None:
    assert len({k.name for k in FAULT_KINDS}) == len(FAULT_KINDS)
    assert len({k.name for k in FINDING_KINDS}) == len(FINDING_KINDS)
    assert all(k.words and k.applies for k in FAULT_KINDS)
    assert all(k.summary and k.advice and k.severity in catalogue.SEVERITIES for k in FINDING_KINDS)


def test_fault_words_name_the_cause() -> None:
    assert catalogue.fault_words("disconnect") == "a dropped connection"
    assert catalogue.fault_words("http_429") == "an HTTP 429 response"
    assert catalogue.first_cause(["stall", "malformedChunk"]) == "malformedChunk"
    assert catalogue.first_cause(["resumed"]) is None
