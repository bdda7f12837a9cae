"""The agent findings, each raised by an agent built to trigger it and not by one built to avoid it.

Real servers and real agents on the official SDKs (openai, anthropic): the shipped naive and careful agents
(scenarios/clients/agent_naive.py, agent_careful.py) against the shipped scenarios, and agents with one
precise mistake (tests/clients/agent_modes.py). All cases run once, concurrently, in a module fixture.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest
from once import once_per_run

from dotmock.dsl.catalogue import FINDING_NAMES
from dotmock.dsl.loader import load_file, load_text
from dotmock.runner.case import CaseOptions
from dotmock.runner.execute import ExecuteOptions, execute
from dotmock.runner.results import CaseResult

ROOT = Path(__file__).resolve().parent.parent
MODES = f"{sys.executable} {ROOT / 'tests' / 'clients' / 'agent_modes.py'}"
AGENT_FINDINGS = ("tool_run_on_broken_call", "tool_call_lost", "tool_loop", "stop_reason_ignored")
PARALLEL = """
fixture "calls" { match POST * { turn 1 } toolCall "get_weather" {"city": "Paris"} toolCall "get_time" {"tz": "UTC"} }
fixture "done" { match POST * { turn 2.. } response "Done." }
"""
LOOP = 'fixture "again" { match POST * toolCall "get_weather" {"city": "Paris"} }'
# Gemini sends a call whole in one chunk: a stream cut after it still withholds the finishReason.
CUT = """
fixture "cut" { match POST * { turn 1 attempt 1 } toolCall "get_weather" {"city": "Paris"}
  streaming { truncateAfterChunks 1 } }
fixture "whole" { match POST * { turn 1 attempt 2.. } toolCall "get_weather" {"city": "Paris"} }
fixture "done" { match POST * { turn 2.. } response "Done." }
"""
INVALID = """
fixture "bad" { match POST * { turn 1 } toolCall "get_weather" raw "{\\"city\\": Paris}" }
fixture "done" { match POST * { turn 2.. } response "Done." }
"""
NAIVE = f"{sys.executable} {ROOT / 'scenarios' / 'clients' / 'agent_naive.py'}"
CAREFUL = f"{sys.executable} {ROOT / 'scenarios' / 'clients' / 'agent_careful.py'}"

# name: (client command, fixtures, loopLimit)
CASES = {
    "lost-unknown-id": (f"{MODES} wrong-id", PARALLEL, None),
    "lost-unknown-id-avoided": (f"{MODES} all", PARALLEL, None),
    "lost-at-exit": (f"{MODES} no-answer --api responses", PARALLEL, None),
    # 7 rounds: 6 results for the same call, against the default limit (5) and a limit of 7
    "loop-default-limit": (f"{MODES} all --rounds 7", LOOP, None),
    "loop-under-a-high-limit": (f"{MODES} all --rounds 7", LOOP, 7),
    # LangGraph's prebuilt agent: a call that does not parse ends the run, no answer, exit 0
    "dropped-invalid-at-exit": (f"{MODES} no-answer", INVALID, None),
    "dropped-invalid-avoided": (f"{CAREFUL} --api chat", INVALID, None),
    "gemini-parallel-naive": (f"{NAIVE} --api gemini", PARALLEL, None),
    "gemini-parallel-careful": (f"{CAREFUL} --api gemini", PARALLEL, None),
    "gemini-cut-naive": (f"{NAIVE} --api gemini --stream", CUT, None),
    "gemini-cut-careful": (f"{CAREFUL} --api gemini --stream", CUT, None),
}


def _scenario(name: str, command: str, fixtures: str, loop_limit: int | None) -> str:
    limit = f" loopLimit {loop_limit}" if loop_limit else ""
    return f'scenario "{name}"\nclient "{command}" {{ timeout 20s{limit} }}\n{fixtures}\n'


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    return once_per_run(tmp_path_factory, "agent-findings", lambda: _run(tmp_path_factory.mktemp("agents")))


def _run(folder: Path) -> dict[str, CaseResult]:
    scenarios = []
    for shipped in ("agent_naive.mock", "agent_careful.mock", "agent_loop.mock"):
        scenarios += load_file(str(ROOT / "scenarios" / shipped)).cases
    docs = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = docs[docs.index("### An agent on each API") : docs.index("### How an agent run is judged")]
    for i, block in enumerate(re.findall(r"```mock\n(.*?)```", section, flags=re.S)):  # run beside scenarios/
        scenarios += load_text(block, str(ROOT / "scenarios" / f"docs-agent-{i}.mock")).cases
    for name, (command, fixtures, limit) in CASES.items():
        path = folder / f"{name}.mock"
        text = _scenario(name, command, fixtures, limit)
        path.write_text(text)
        scenarios += load_text(text, str(path)).cases
    options = ExecuteOptions(jobs=6, case=CaseOptions(grace_s=0.5), handle_signals=False)
    execution = asyncio.run(execute(scenarios, options))
    return {r.name: r for r in execution.results}


def names(result: CaseResult) -> list[str]:
    return [f.name for f in result.findings]


def shipped(results: dict[str, CaseResult], who: str) -> list[CaseResult]:
    return [r for name, r in results.items() if name.startswith(f"{who} agent [")]


def test_the_agent_findings_are_catalogued() -> None:
    assert set(AGENT_FINDINGS) <= set(FINDING_NAMES)


@pytest.mark.parametrize("kind", AGENT_FINDINGS)
def test_the_naive_agent_triggers_each_agent_finding(results: dict[str, CaseResult], kind: str) -> None:
    rows = [r for r in shipped(results, "naive") if r.name.endswith(f"expected={kind}]")]
    assert rows, kind
    for row in rows:
        assert kind in names(row), (row.name, row.findings, row.client)
        assert row.outcome == "passed", (row.name, row.findings)  # documented with `finding X`


@pytest.mark.parametrize("kind", AGENT_FINDINGS)
def test_the_careful_agent_avoids_every_agent_finding(results: dict[str, CaseResult], kind: str) -> None:
    rows = shipped(results, "careful")
    assert len(rows) == 11
    for row in rows:
        assert kind not in names(row), (row.name, row.findings, row.client)


def test_the_careful_agent_passes_with_no_findings(results: dict[str, CaseResult]) -> None:
    for row in shipped(results, "careful"):
        assert row.outcome == "passed", (row.name, row.findings, row.expectations, row.client)


def test_a_three_round_loop_passes_on_every_api_created_and_streamed(results: dict[str, CaseResult]) -> None:
    rows = [r for name, r in results.items() if name.startswith("three-round agent loop [")]
    assert len(rows) == 8 and sum("--stream" in r.name for r in rows) == 4
    assert sum("api=gemini" in r.name for r in rows) == 2
    for row in rows:
        assert row.outcome == "passed", (row.name, row.findings, row.expectations, row.client)


def test_the_docs_agent_example_for_each_api_runs(results: dict[str, CaseResult]) -> None:
    rows = [r for name, r in results.items() if name.startswith("weather agent on ")]
    assert sorted(r.name for r in rows) == [
        "weather agent on Anthropic Messages",
        "weather agent on Chat Completions",
        "weather agent on Gemini",
        "weather agent on OpenAI Realtime",
        "weather agent on Responses",
    ]
    for row in rows:
        assert row.outcome == "passed", (row.name, row.findings, row.expectations, row.client)


def test_a_call_cut_off_mid_stream_run_anyway_is_a_broken_call(results: dict[str, CaseResult]) -> None:
    for row in shipped(results, "naive"):
        if "prompt=cut" in row.name:  # the SDKs' stream helpers hand over the cut arguments silently
            title = next(f.title for f in row.findings if f.name == "tool_run_on_broken_call")
            assert "cut off after 10 of 17 characters" in title, title
            assert "truncated_stream_accepted" not in names(row)  # one root cause
    for row in shipped(results, "careful"):
        if "prompt=cut" in row.name:  # asked again, ran the whole call
            assert names(row) == ["fault_handled"], row.findings


def test_a_naive_agent_is_judged_one_root_cause_at_a_time(results: dict[str, CaseResult]) -> None:
    loop = next(r for r in shipped(results, "naive") if "prompt=loop" in r.name)
    assert names(loop) == ["tool_loop"], loop.findings  # it stopped mid-loop: not also a lost call
    parallel = next(r for r in shipped(results, "naive") if "api=chat, prompt=parallel" in r.name)
    finding = next(f for f in parallel.findings if f.name == "tool_call_lost")
    assert "get_time" in finding.title and "get_weather" not in finding.title  # the one it dropped


def test_a_result_for_a_call_id_never_made_is_a_lost_call(results: dict[str, CaseResult]) -> None:
    lost = results["lost-unknown-id"]
    assert "tool_call_lost" in names(lost), lost.findings
    assert "never made" in next(f.title for f in lost.findings if f.name == "tool_call_lost")
    assert "tool_call_lost" not in names(results["lost-unknown-id-avoided"])


def test_exiting_with_calls_unanswered_is_a_lost_call(results: dict[str, CaseResult]) -> None:
    lost = results["lost-at-exit"]
    title = next(f.title for f in lost.findings if f.name == "tool_call_lost")
    assert title.startswith("exited 0 without answering") and "get_time" in title


def test_exiting_on_calls_that_do_not_parse_without_a_word_is_a_lost_call(results: dict[str, CaseResult]) -> None:
    lost = results["dropped-invalid-at-exit"]
    title = next(f.title for f in lost.findings if f.name == "tool_call_lost")
    assert title.startswith('dropped get_weather({"city": Paris})') and "not valid JSON" in title, title
    careful = results["dropped-invalid-avoided"]  # reports the problem in a result, then gets a whole call
    assert careful.outcome == "passed" and not careful.findings, careful.findings


def test_the_loop_limit_is_the_scenarios_to_set(results: dict[str, CaseResult]) -> None:
    looped = results["loop-default-limit"]  # 6 runs against the default limit of 5
    assert "tool_loop" in names(looped), looped.findings
    assert "6 times with the same arguments (loop limit 5)" in next(
        f.title for f in looped.findings if f.name == "tool_loop"
    )
    assert "tool_loop" not in names(results["loop-under-a-high-limit"])  # 6 runs, limit 7


def test_a_gemini_agent_is_judged_like_the_others(results: dict[str, CaseResult]) -> None:
    """Gemini's calls have no ids: a call is known by its name, and a result by the name it answers."""
    lost = next(f for f in results["gemini-parallel-naive"].findings if f.name == "tool_call_lost")
    assert "get_time" in lost.title and "get_weather" not in lost.title
    cut = next(f for f in results["gemini-cut-naive"].findings if f.name == "tool_run_on_broken_call")
    assert "the answer it came in was cut off before it ended" in cut.title
    for name in ("gemini-parallel-careful", "gemini-cut-careful"):
        row = results[name]
        assert row.outcome == "passed" and not set(names(row)) & set(AGENT_FINDINGS), (row.findings, row.client)
