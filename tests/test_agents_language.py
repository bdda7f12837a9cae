"""The agent language: tool calls, structured answers, refusals, reasoning, conversation rules and
`loopLimit` mean what docs/language.md says; `dotmock check` warns about a structured answer that breaks its
schema (and still passes the file). Mistakes have golden messages in tests/golden/errors/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_file, load_text
from dotmock.dsl.model import AttemptRange, TextOutcome, ToolCall, ToolResultRule

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ROOT / "tests" / "golden" / "ok" / "agents.mock"


def outcome(name: str) -> TextOutcome:
    fixture = next(f for f in load_file(str(AGENTS)).cases[0].fixtures if f.name == name)
    assert isinstance(fixture.outcome, TextOutcome)
    return fixture.outcome


def test_tool_calls_keep_order_ids_and_arguments() -> None:
    plan = outcome("plan")
    assert [c.name for c in plan.tool_calls] == ["get_weather", "get_time"]
    assert plan.tool_calls[0].id is None and plan.tool_calls[1].id == "call_time"
    assert json.loads(plan.tool_calls[0].arguments_text()) == {"city": "Paris", "units": "metric"}
    assert plan.text == "Let me check." and plan.reasoning == "The user wants the weather: call the tools."
    assert plan.finish_reason == "tool_calls"  # implied by the calls


def test_raw_arguments_are_sent_as_written_and_known_to_be_invalid() -> None:
    (call,) = outcome("cut arguments").tool_calls
    assert call.arguments_text() == '{"q": "unterminated' and not call.valid_json
    assert ToolCall("f", {"a": 1}).valid_json and ToolCall("f", raw='{"a": 1}').valid_json
    assert not ToolCall("f", raw="[1]").valid_json  # arguments are an object


def test_structured_refusal_and_finish_reason() -> None:
    summary = outcome("summarise")
    assert summary.structured and json.loads(summary.text)["temp"] == 21
    assert summary.schema["required"] == ["city", "temp"]
    refuses = outcome("refuses")
    assert refuses.refusal == "I can't help with that." and refuses.text == ""
    assert outcome("cut short").finish_reason == "length"


def test_conversation_rules_and_loop_limit() -> None:
    case = load_file(str(AGENTS)).cases[0]
    by_name = {f.name: f.match for f in case.fixtures}
    assert by_name["plan"].turn == AttemptRange(1, 1) and by_name["plan"].last_role == "user"
    summarise = by_name["summarise"]
    assert summarise.turn == AttemptRange(2, None) and summarise.last_role == "tool"
    assert summarise.tool_results == (
        ToolResultRule("get_weather", None, "contains", "21"),
        ToolResultRule(None, "call_time"),
        ToolResultRule("get_time", "call_time", "matches", r"\d+:\d+"),
    )
    assert case.client is not None and case.client.loop_limit == 3


def test_conversation_rules_make_fixtures_distinct() -> None:
    text = """
fixture "first" { match POST /v1/chat/completions { turn 1 } response "a" }
fixture "later" { match POST /v1/chat/completions { turn 2.. } response "b" }
fixture "after a tool" { match POST /v1/chat/completions { lastRole "tool" } response "c" }
fixture "any" { match POST /v1/chat/completions response "d" }
"""
    assert len(load_text(text).cases[0].fixtures) == 4  # none is shadowed by another
    with pytest.raises(DslError, match="can never answer"):
        load_text(text + 'fixture "late" { match POST /v1/chat/completions { lastRole "tool" } response "e" }')


def dotmock(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dotmock", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


SCHEMA = '{"type": "object", "properties": {"temp": {"type": "number"}}, "required": ["temp", "city"]}'


def test_check_warns_when_a_structured_answer_breaks_its_schema(tmp_path: Path) -> None:
    (tmp_path / "s.mock").write_text(
        'scenario "structured"\nclient "python c.py"\n'
        'fixture "pinned" {\n'
        f'  match POST /v1/chat/completions {{ json "response_format.json_schema.schema" == {SCHEMA} }}\n'
        '  structured {"temp": "warm"}\n}\n'
        'fixture "own" {\n  match POST /v1/responses\n  structured {"temp": 21, "city": "Paris"}\n'
        f"  schema {SCHEMA}\n}}\n"
    )
    run = dotmock("check", "s.mock", cwd=tmp_path)
    assert run.returncode == 0, run.stderr  # a warning: sending a bad answer can be the test
    assert "s.mock:3:1: warning: the structured answer of fixture 'pinned' does not satisfy" in run.stderr
    assert "'city' is a required property" in run.stderr and "temp: 'warm' is not of type 'number'" in run.stderr
    assert "'own'" not in run.stderr  # it satisfies its schema
    assert "1 file ok, 1 case (1 warning)" in run.stdout
