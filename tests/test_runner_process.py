"""The client process: hangs are killed, crashes recognised, children and grandchildren all reaped;
expectations fail with precise messages; a scenario without a client is an error."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from dotmock.dsl.loader import load_text
from dotmock.runner.case import CaseOptions, run_case
from dotmock.runner.crash import uncaught_exception
from dotmock.runner.process import ClientSpec, run_client
from dotmock.runner.results import CaseResult

BEHAVE = Path(__file__).parent / "clients" / "behave.py"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def run_text(tmp_path: Path, text: str, grace_s: float = 0.5) -> CaseResult:
    path = tmp_path / "case.mock"
    path.write_text(text)
    scenario = load_text(text, str(path)).cases[0]
    return asyncio.run(run_case(scenario, CaseOptions(grace_s=grace_s)))


def spec(*args: str, timeout: float = 10.0, grace: float = 0.5) -> ClientSpec:
    return ClientSpec(
        argv=[sys.executable, str(BEHAVE), *args], cwd=str(BEHAVE.parent), timeout_s=timeout, grace_s=grace
    )


def test_a_hanging_client_is_killed_at_its_timeout() -> None:
    t0 = time.monotonic()
    run = asyncio.run(run_client(spec("hang", timeout=0.8)))
    assert run.timed_out and not run.crashed
    assert run.signal == "SIGTERM"
    assert "waiting forever" in run.stdout
    assert time.monotonic() - t0 < 5


def test_a_client_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    run = asyncio.run(run_client(spec("ignore-term-hang", timeout=0.8, grace=0.3)))
    assert run.timed_out and run.signal == "SIGKILL"
    assert run.duration < 4


def test_children_and_grandchildren_are_all_reaped(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    run = asyncio.run(run_client(spec("spawn", str(pids_file))))
    assert run.exit_code == 0 and "spawned" in run.stdout
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 4
    assert run.stray_processes == 4
    assert [p for p in pids if alive(p)] == []


def test_children_of_a_hung_client_are_reaped_too(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    run = asyncio.run(run_client(spec("spawn-hang", str(pids_file), timeout=1.5)))
    assert run.timed_out
    pids = [int(p) for p in pids_file.read_text().split()]
    assert [p for p in pids if alive(p)] == []


def test_a_program_that_does_not_exist_is_a_spawn_error() -> None:
    run = asyncio.run(run_client(ClientSpec(argv=["/nonexistent/client"], cwd="/")))
    assert run.spawn_error and "FileNotFoundError" in run.spawn_error


def test_output_is_bounded_to_its_tail() -> None:
    code = "import sys; sys.stdout.write('x' * 300000 + 'END')"
    run = asyncio.run(run_client(ClientSpec(argv=[sys.executable, "-c", code], cwd="/"), max_output=1000))
    assert run.stdout.endswith("END") and len(run.stdout) <= 1000 and run.stdout_truncated


def test_shell_clients_and_env() -> None:
    run = asyncio.run(
        run_client(ClientSpec(argv=["echo $DOTMOCK_X | tr a-z A-Z"], cwd="/", shell=True, env={"DOTMOCK_X": "hello"}))
    )
    assert run.exit_code == 0 and run.stdout.strip() == "HELLO"


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n    f()\n'
            "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n",
            "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        ),
        ("error: the stream was cut; giving up\n", None),
        ('Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x\n' + "my own words\n" * 20, None),
        ("log: Traceback (most recent call last): quoted\nValueError: x\n", None),
        (
            '  + Exception Group Traceback (most recent call last):\n  |   File "x", line 1, in <module>\n'
            "  | ExceptionGroup: g (1 sub-exception)\n  +-+---------------- 1 ----------------\n"
            "    | httpx_ws.WebSocketNetworkError: boom\n    +------------------------------------\n",
            "httpx_ws.WebSocketNetworkError: boom (in ExceptionGroup: g (1 sub-exception))",
        ),
    ],
)
def test_uncaught_exception_is_read_from_the_end_of_stderr(stderr: str, expected: str | None) -> None:
    assert uncaught_exception(stderr) == expected


def test_an_output_expectation_says_when_the_head_of_a_huge_output_was_dropped(tmp_path: Path) -> None:
    code = "import sys; print('MARKER'); [sys.stdout.write('y' * 200 + '\\n') for _ in range(20000)]"
    text = f"""scenario "huge output"
client [{json.dumps(sys.executable)}, "-c", {json.dumps(code)}] {{ timeout 20s }}
expect {{
  client stdout contains "MARKER"
}}
"""
    (result,) = run_text(tmp_path, text).expectations
    assert not result.passed
    assert result.observed.endswith("(only the last 1024 KiB of stdout were kept and searched)")


def test_a_negated_output_check_cannot_pass_on_output_whose_head_was_dropped(tmp_path: Path) -> None:
    code = (
        "import sys; print('Traceback (most recent call last):', flush=True); "
        "[sys.stdout.write('y' * 200 + '\\n') for _ in range(20000)]"
    )
    text = f"""scenario "huge output hides a traceback"
client [{json.dumps(sys.executable)}, "-c", {json.dumps(code)}] {{ timeout 20s }}
expect {{
  client stdout not contains "Traceback"
}}
"""
    (result,) = run_text(tmp_path, text).expectations
    assert not result.passed
    assert "the rest cannot be shown to be free of it" in result.observed


def test_websocket_counts_are_worded_in_the_singular_for_one(tmp_path: Path) -> None:
    text = f"""scenario "one connection"
client "{sys.executable} {BEHAVE} ws-accept" {{ timeout 10s }}
fixture "drop" {{ match websocket /v1/chat events {{ "response.created" {{"id": "r1"}} }} disconnectAfterMs 150 }}
expect {{
  ws messages == 2
  ws reconnects >= 1
}}
"""
    got = {e.text: (e.passed, e.observed) for e in run_text(tmp_path, text).expectations}
    assert got["ws messages == 2"] == (False, "1 message")
    assert got["ws reconnects >= 1"] == (False, "0 reconnects (1 connection)")


def test_failed_expectations_say_what_was_expected_and_observed(tmp_path: Path) -> None:
    text = f"""scenario "precise"
client "{sys.executable} {BEHAVE} stream-accept" {{ timeout 10s }}
fixture "s" {{ match POST /v1/chat/completions response "abcdefghij" streaming {{ chunkSize 5 }} }}
expect {{
  client exits 3
  client stdout contains "nope"
  client stderr not matches "^$"
  requests POST /v1/chat/completions >= 2
  request 1 POST /v1/chat/completions json "stream" == false
  request 2 POST /v1/chat/completions json "model" present
  wait between attempts >= 1s
  ws reconnects >= 1
  ws close code == 1000
  finding no_backoff
  client finishes within 10s
}}
"""
    result = run_text(tmp_path, text)
    assert result.outcome == "failed"
    got = {e.text: (e.passed, e.expected, e.observed) for e in result.expectations}
    assert got["client exits 3"] == (False, "exit code == 3", "exit 0")
    assert got['client stdout contains "nope"'] == (False, 'stdout containing "nope"', 'stdout "abcdefghij"')
    assert got['client stderr not matches "^$"'][0] is False
    assert got["requests POST /v1/chat/completions >= 2"] == (
        False,
        ">= 2 requests to POST /v1/chat/completions",
        "1 request",
    )
    assert got['request 1 POST /v1/chat/completions json "stream" == false'] == (
        False,
        "'stream' == false",
        "request 1: true",
    )
    assert got['request 2 POST /v1/chat/completions json "model" present'] == (
        False,
        "'model' present",
        "only 1 request to POST /v1/chat/completions",
    )
    assert got["wait between attempts >= 1s"] == (False, "every wait >= 1s", "no retries happened")
    assert got["ws reconnects >= 1"] == (False, ">= 1 reconnects", "0 reconnects (0 connections)")
    assert got["ws close code == 1000"][0] is False
    assert got["finding no_backoff"] == (False, "finding no_backoff", "findings: none")
    assert got["client finishes within 10s"][0] is True
    assert all(e.location and e.location.startswith(str(tmp_path)) for e in result.expectations)


def test_a_scenario_without_a_client_is_an_error(tmp_path: Path) -> None:
    result = run_text(tmp_path, 'scenario "no client"\nfixture "f" { match POST * response "x" }\n')
    assert result.outcome == "error"
    assert result.message and "no `client` block" in result.message


def test_a_client_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    result = run_text(
        tmp_path, 'scenario "bad"\nclient "./does-not-exist --flag"\nfixture "f" { match POST * response "x" }\n'
    )
    assert result.outcome == "error"
    assert result.message and "could not start the client" in result.message
