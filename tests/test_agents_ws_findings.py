"""The agent findings on WebSocket runs: Responses WebSocket mode and Realtime, judged from the calls the
journal records on each message's exchange and the results the next message carries.

Real servers and a real agent on the official openai SDK (tests/clients/ws_agent.py: naive and careful),
all cases run once, concurrently, in a module fixture.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from once import once_per_run

from dotmock.dsl.loader import load_text
from dotmock.runner.case import CaseOptions
from dotmock.runner.execute import ExecuteOptions, execute
from dotmock.runner.results import CaseResult

ROOT = Path(__file__).resolve().parent.parent
AGENT = f"{sys.executable} {ROOT / 'tests' / 'clients' / 'ws_agent.py'}"
AGENT_FINDINGS = {"tool_run_on_broken_call", "tool_call_lost", "tool_loop"}
PARALLEL = """
fixture "calls" { match websocket * { turn 1 }
  toolCall "get_weather" {"city": "Paris"} toolCall "get_time" {"tz": "UTC"} streaming { chunkSize 6 } }
fixture "done" { match websocket * { turn 2.. } response "Done." }
"""
INVALID = """
fixture "invalid" { match websocket * { turn 1 } toolCall "get_weather" raw "{\\"city\\": Paris}" }
fixture "done" { match websocket * { turn 2.. } response "Done." }
"""
LOOP = 'fixture "again" { match websocket * toolCall "get_weather" {"city": "Paris"} }'
# A Responses stream cut inside the call's arguments, the connection then closed (1000): no response.completed.
CUT = """
fixture "cut" { match websocket * { turn 1 attempt 1 } toolCall "get_weather" {"city": "Paris"}
  streaming { chunkSize 5 truncateAfterChunks 2 } closeAfter }
fixture "whole" { match websocket * { turn 1 attempt 2.. } toolCall "get_weather" {"city": "Paris"} }
fixture "done" { match websocket * { turn 2.. } response "Done." }
"""
# name: (agent arguments, fixtures, the finding the naive agent gets)
RUNS = {
    "parallel": (PARALLEL, "tool_call_lost"),
    "invalid": (INVALID, "tool_run_on_broken_call"),
    "loop": (LOOP, "tool_loop"),
}
CASES = {
    f"{mode} {api} {run}": (f"{mode} --api {api}", fixtures)
    for run, (fixtures, _kind) in RUNS.items()
    for api in ("responses", "realtime")
    for mode in ("naive", "careful")
}
CASES |= {f"{mode} responses cut": (f"{mode} --api responses", CUT) for mode in ("naive", "careful")}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    return once_per_run(tmp_path_factory, "agents-ws-findings", lambda: _run(tmp_path_factory.mktemp("ws-agents")))


def _run(folder: Path) -> dict[str, CaseResult]:
    scenarios = []
    for name, (args, fixtures) in CASES.items():
        text = f'scenario "{name}"\nclient "{AGENT} {args}" {{ timeout 20s loopLimit 3 }}\n{fixtures}\n'
        scenarios += load_text(text, str(folder / f"{name.replace(' ', '-')}.mock")).cases
    options = ExecuteOptions(jobs=6, case=CaseOptions(grace_s=0.5), handle_signals=False)
    return {r.name: r for r in asyncio.run(execute(scenarios, options)).results}


def names(result: CaseResult) -> list[str]:
    return [f.name for f in result.findings]


@pytest.mark.parametrize("api", ["responses", "realtime"])
@pytest.mark.parametrize("run", list(RUNS))
def test_a_naive_agent_over_websocket_is_judged_as_over_http(
    results: dict[str, CaseResult], api: str, run: str
) -> None:
    row = results[f"naive {api} {run}"]
    assert RUNS[run][1] in names(row), (row.findings, row.client)
    finding = next(f for f in row.findings if f.name == RUNS[run][1])
    assert "WebSocket #" in " ".join(finding.evidence) and f"/v1/{api}" in " ".join(finding.evidence)


@pytest.mark.parametrize("api", ["responses", "realtime"])
@pytest.mark.parametrize("run", list(RUNS))
def test_a_careful_agent_over_websocket_is_not(results: dict[str, CaseResult], api: str, run: str) -> None:
    row = results[f"careful {api} {run}"]
    assert not set(names(row)) & AGENT_FINDINGS, (row.findings, row.client)
    assert row.client.exit_code == (3 if run == "loop" else 0), row.client


def test_the_lost_call_is_the_one_the_naive_agent_dropped(results: dict[str, CaseResult]) -> None:
    for api in ("responses", "realtime"):
        lost = next(f for f in results[f"naive {api} parallel"].findings if f.name == "tool_call_lost")
        assert "get_time" in lost.title and "get_weather" not in lost.title, lost.title


def test_a_call_cut_off_over_websocket_run_anyway_is_a_broken_call(results: dict[str, CaseResult]) -> None:
    cut = next(f for f in results["naive responses cut"].findings if f.name == "tool_run_on_broken_call")
    assert "cut off after 10 of 17 characters" in cut.title, cut.title
    careful = results["careful responses cut"]
    assert not set(names(careful)) & AGENT_FINDINGS and careful.client.exit_code == 0, careful.findings
