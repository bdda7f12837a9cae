"""Every built-in finding: raised by a client built to trigger it, not raised by one built to avoid it.

Real servers, real client processes (tests/clients/behave.py and the shipped example clients). All cases
run once, concurrently, in a module fixture; each test reads its verdicts.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from dotmock.dsl.loader import load_text
from dotmock.runner.case import CaseOptions
from dotmock.runner.execute import ExecuteOptions, execute
from dotmock.runner.results import CaseResult

HERE = Path(__file__).parent
BEHAVE = f"{sys.executable} {HERE / 'clients' / 'behave.py'}"
RESILIENT_WS = f"{sys.executable} {HERE.parent / 'scenarios' / 'clients' / 'resilient_ws.py'}"

OK = 'fixture "ok" { match POST /v1/chat/completions { attempt 2.. } response "fine" }'
ALWAYS_500 = 'fixture "down" { match POST /v1/chat/completions error 500 { message "down" } }'
FIXTURES = {
    "429": 'fixture "limited" { match POST /v1/chat/completions { attempt 1 } '
    'error 429 { header "Retry-After" "1.5" message "slow down" } }\n' + OK,
    "400": 'fixture "bad" { match POST /v1/chat/completions { attempt 1 } error 400 { message "bad" } }\n' + OK,
    "500": ALWAYS_500,
    "500-once": 'fixture "once" { match POST /v1/chat/completions { attempt 1 } error 500 { message "x" } }\n' + OK,
    "truncate": 'fixture "cut" { match POST /v1/chat/completions response "0123456789abcdefghij" '
    "streaming { chunkSize 5 truncateAfterChunks 2 } }",
    "malformed": 'fixture "bad chunk" { match POST /v1/chat/completions response "0123456789abcdefghij" '
    "streaming { chunkSize 5 } fault malformedChunk after 2 chunks }",
    "stall": 'fixture "stall" { match POST /v1/chat/completions { attempt 1 } response "0123456789abcdefghij" '
    "streaming { chunkSize 5 } fault stall after 2 chunks }\n"
    'fixture "ok" { match POST /v1/chat/completions { attempt 2.. } response "fine" }',
    "error-event": 'fixture "err" { match POST /v1/chat/completions response "0123456789abcdefghij" '
    'streaming { chunkSize 5 } fault errorEvent after 2 chunks { message "overloaded" } }',
    "ws-drop": 'fixture "drop" { match websocket /v1/chat { attempt 1 } '
    'events { "response.created" {"id": "r1"} "response.text.delta" {"delta": "Hel"} after 20ms } '
    "disconnectAfterMs 150 }\n"
    'fixture "ok" { match websocket /v1/chat { attempt 2.. } '
    'events { "response.text.delta" {"delta": "Hello"} "response.completed" {"id": "r2"} } }',
    "stall-ends": 'fixture "stall" { match POST /v1/chat/completions response "0123456789abcdefghij" '
    "streaming { chunkSize 5 } fault stall after 2 chunks for 1200ms }",
    "none": OK,
    "refusal": 'fixture "no" { match POST /v1/chat/completions refusal "I cannot help with that." }',
}

# name: (fixtures, client command, timeout)
CASES: dict[str, tuple[str, str, str]] = {
    "retry_after_ignored+": ("429", f"{BEHAVE} retry-fixed 3 0.05", "10s"),
    "retry_after_ignored-": ("429", f"{BEHAVE} retry-good", "10s"),
    "retried_non_retryable+": ("400", f"{BEHAVE} retry-fixed 2 0.05", "10s"),
    "retried_non_retryable-": ("400", f"{BEHAVE} retry-good", "10s"),
    "retry_storm+": ("500", f"{BEHAVE} retry-fixed 8 0", "10s"),
    "retry_storm-": ("500", f"{BEHAVE} retry-good", "10s"),
    "no_backoff+": ("500", f"{BEHAVE} retry-fixed 3 0.1", "10s"),
    "no_backoff-": ("500", f"{BEHAVE} retry-good", "10s"),
    "gave_up+": ("500", f"{BEHAVE} retry-good", "10s"),
    "gave_up-": ("500-once", f"{BEHAVE} retry-good", "10s"),
    "truncated_stream_accepted+": ("truncate", f"{BEHAVE} stream-accept", "10s"),
    "truncated_stream_accepted-": ("truncate", f"{BEHAVE} stream-strict", "10s"),
    "malformed_chunk_ignored+": ("malformed", f"{BEHAVE} stream-accept", "10s"),
    "malformed_chunk_ignored-": ("malformed", f"{BEHAVE} stream-strict", "10s"),
    "malformed_chunk_crash": ("malformed", f"{BEHAVE} stream-crash", "10s"),
    "no_read_timeout+": ("stall", f"{BEHAVE} stream-accept", "4s"),  # time to start under load
    "no_read_timeout-": ("stall", f"{BEHAVE} stream-retry", "10s"),
    "client_crashed+": ("none", f"{BEHAVE} crash", "10s"),
    "client_crashed_signal+": ("none", f"{BEHAVE} abort", "10s"),
    "client_crashed-": ("none", f"{BEHAVE} exit 1 'error: my own message'", "10s"),
    "client_crashed+on_refusal": ("refusal", f"{BEHAVE} post-crash", "10s"),
    "client_crashed+then_stayed": ("none", f"{BEHAVE} crash-stay", "3s"),
    # a command whose $VARIABLE no shell expanded: the client never reached the server
    "never_called+": ("none", f"{BEHAVE} exit 0 $OPENAI_BASE_URL", "10s"),
    "never_called-": ("500-once", f"{BEHAVE} retry-good", "10s"),
    # a base URL without its /v1: every request a 404 of a path nothing serves; the crash on it is not the point
    "never_called+astray": ("none", f"{BEHAVE} astray /chat/completions", "10s"),
    "never_called-models": ("none", f"{BEHAVE} models", "10s"),
    "client_hung+": ("none", f"{BEHAVE} hang", "1s"),
    "client_hung-": ("none", f"{BEHAVE} exit 0", "10s"),
    "ws_no_reconnect+": ("ws-drop", f"{BEHAVE} ws-exit1", "10s"),
    "ws_no_reconnect-": ("ws-drop", RESILIENT_WS, "10s"),
    "ws_abnormal_close_ignored+": ("ws-drop", f"{BEHAVE} ws-accept", "10s"),
    "ws_abnormal_close_ignored-": ("ws-drop", RESILIENT_WS, "10s"),
    "error_event_ignored+": ("error-event", f"{BEHAVE} stream-accept", "10s"),
    "error_event_ignored-": ("error-event", f"{BEHAVE} stream-strict", "10s"),
    "fault_handled+": ("truncate", f"{BEHAVE} stream-strict", "10s"),
    "fault_handled-": ("malformed", f"{BEHAVE} stream-crash", "10s"),
    # A stall the client sat through to the end is judged from the journal's silence, not from a kill.
    "no_read_timeout+sat_through": ("stall-ends", f"{BEHAVE} stream-accept", "10s readTimeout 400ms"),
    "no_read_timeout-within_budget": ("stall-ends", f"{BEHAVE} stream-accept", "10s readTimeout 3s"),
    # curl-style: print the error body and exit 0.
    "error_accepted+": ("500", f"{BEHAVE} print-any", "10s"),
    "error_accepted+swallowed": ("500", f"{BEHAVE} swallow", "10s"),
    "error_accepted-": ("500", f"{BEHAVE} retry-good", "10s"),
    # A daemon (fork, setsid, fork) still running when the client exited.
    "processes_left_behind+": ("none", f"{BEHAVE} detach", "10s"),
    "processes_left_behind-": ("none", f"{BEHAVE} exit 0", "10s"),
}


def scenario_text(name: str, fixtures: str, command: str, timeout: str) -> str:
    return f'scenario "{name}"\nclient "{command}" {{ timeout {timeout} }}\n{FIXTURES[fixtures]}\n'


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    folder = tmp_path_factory.mktemp("findings")
    scenarios = []
    for name, (fixtures, command, timeout) in CASES.items():
        path = folder / f"{len(scenarios):02d}.mock"
        text = scenario_text(name, fixtures, command.replace("'", '\\"'), timeout)
        path.write_text(text)
        scenarios.extend(load_text(text, str(path)).cases)
    options = ExecuteOptions(jobs=6, case=CaseOptions(grace_s=0.5), handle_signals=False)
    execution = asyncio.run(execute(scenarios, options))
    return {r.name: r for r in execution.results}


def names(result: CaseResult) -> list[str]:
    return [f.name for f in result.findings]


def finding(result: CaseResult, name: str):
    return next(f for f in result.findings if f.name == name)


# Triggered and avoided by agents on the official SDKs in tests/test_agent_findings.py.
AGENT_FINDINGS = {"tool_run_on_broken_call", "tool_call_lost", "tool_loop", "stop_reason_ignored"}
AGENT_FINDINGS |= {"schema_violation_accepted"}  # tests/test_schema_violation.py
TRIGGERED = sorted({n.split("+")[0].replace("_signal", "") for n in CASES if "+" in n})


@pytest.mark.parametrize("kind", TRIGGERED)
def test_finding_is_raised_by_the_client_built_to_trigger_it(results: dict[str, CaseResult], kind: str) -> None:
    result = results[f"{kind}+"]
    assert kind in names(result), (result.findings, result.client)


@pytest.mark.parametrize("kind", TRIGGERED)
def test_finding_is_not_raised_by_the_client_built_to_avoid_it(results: dict[str, CaseResult], kind: str) -> None:
    result = results[f"{kind}-"]
    assert result.outcome != "error", result.message
    assert kind not in names(result), (result.findings, result.client)


def test_every_finding_kind_is_covered() -> None:
    from dotmock.dsl.catalogue import FINDING_NAMES

    assert set(TRIGGERED) | AGENT_FINDINGS == set(FINDING_NAMES)


def test_titles_say_what_happened(results: dict[str, CaseResult]) -> None:
    crash = finding(results["malformed_chunk_crash"], "client_crashed")
    assert crash.title == "crashed on a malformed chunk (JSONDecodeError)"
    assert "malformed_chunk_ignored" not in names(results["malformed_chunk_crash"])
    assert finding(results["client_crashed_signal+"], "client_crashed").title.startswith("was killed by SIGABRT")
    assert finding(results["client_crashed+on_refusal"], "client_crashed").title == "crashed on a refusal (ValueError)"
    gave_up = finding(results["gave_up+"], "gave_up")
    assert gave_up.title == "retried POST /v1/chat/completions 3 times, then gave up loudly (exit 1)"
    assert gave_up.severity == "warning"
    ignored = finding(results["retry_after_ignored+"], "retry_after_ignored")
    assert "Retry-After 1.5s" in ignored.title
    handled = finding(results["fault_handled+"], "fault_handled")
    assert handled.severity == "info" and "own message (exit 1)" in handled.title


def test_an_error_taken_as_the_answer_says_whether_it_was_printed_or_swallowed(
    results: dict[str, CaseResult],
) -> None:
    printed = finding(results["error_accepted+"], "error_accepted").title
    assert printed == "exited 0 with the HTTP 500 of POST /v1/chat/completions as its answer (no retry after it)"
    swallowed = finding(results["error_accepted+swallowed"], "error_accepted").title
    assert swallowed == (
        "swallowed the HTTP 500 of POST /v1/chat/completions: printed no answer and exited 0 (said so on stderr only)"
    )


def test_a_client_that_never_reached_dotmock_is_told_so(results: dict[str, CaseResult]) -> None:
    never = finding(results["never_called+"], "never_called")
    assert never.title == "made no request to dotmock (exit 0): nothing of the scenario was tested"
    assert "$OPENAI_BASE_URL" in never.evidence[0] and "add shell to the client block" in never.evidence[0]
    assert results["never_called+"].outcome == "failed"
    astray = results["never_called+astray"]
    assert names(astray) == ["never_called"], astray.findings
    assert finding(astray, "never_called").title == (
        "made 1 request to dotmock, none to a URL it serves (POST /chat/completions: dotmock serves POST "
        "/v1/chat/completions: the client's base URL lacks /v1), and ended (exit 1, HTTPStatusError): nothing "
        "of the scenario was tested"
    )
    assert astray.outcome == "failed"
    assert names(results["never_called-models"]) == [] and results["never_called-models"].outcome == "passed"
    # a crash or a hang before any request is that crash or hang, said so; not a second finding
    crashed = results["client_crashed+"]
    assert names(crashed) == ["client_crashed"], crashed.findings
    assert finding(crashed, "client_crashed").title.endswith(", before any request to dotmock")
    assert finding(results["client_hung+"], "client_hung").title.endswith(", before any request to dotmock")


def test_a_crash_the_process_outlived_is_a_crash_not_a_hang(results: dict[str, CaseResult]) -> None:
    result = results["client_crashed+then_stayed"]
    assert result.client.timed_out
    assert "client_hung" not in names(result), result.findings
    crash = finding(result, "client_crashed")
    assert crash.title.startswith("crashed (ValueError), then did not exit and was killed at the timeout"), crash.title
    assert result.client.exception == "ValueError: something unexpected"


def test_a_hang_on_a_stall_is_one_finding_not_two(results: dict[str, CaseResult]) -> None:
    result = results["no_read_timeout+"]
    assert "client_hung" not in names(result)
    assert result.client is not None and result.client.timed_out


def test_verdicts_fail_only_on_unexpected_error_findings(results: dict[str, CaseResult]) -> None:
    assert results["truncated_stream_accepted+"].outcome == "failed"
    assert results["gave_up+"].outcome == "passed"  # a warning alone does not fail a case
    assert results["truncated_stream_accepted-"].outcome == "passed"


def test_a_stall_sat_through_is_no_read_timeout_even_when_it_ended(results: dict[str, CaseResult]) -> None:
    sat = results["no_read_timeout+sat_through"]
    assert sat.client is not None and sat.client.exit_code == 0 and not sat.client.timed_out
    assert names(sat) == ["no_read_timeout"]  # not "rode out": one finding, no fault_handled beside it
    assert "a read timeout would have fired after 0.40s" in finding(sat, "no_read_timeout").title
    within = results["no_read_timeout-within_budget"]
    assert names(within) == ["fault_handled"]


def test_an_error_printed_as_the_answer_is_error_accepted(results: dict[str, CaseResult]) -> None:
    accepted = results["error_accepted+"]
    assert accepted.outcome == "failed" and names(accepted) == ["error_accepted"]
    assert "HTTP 500" in finding(accepted, "error_accepted").title
    assert "error_accepted" not in names(results["error_accepted-"])


def test_a_warning_is_never_paired_with_fault_handled(results: dict[str, CaseResult]) -> None:
    for result in results.values():
        found = names(result)
        if "fault_handled" in found:
            said = [f for f in result.findings if f.severity in ("error", "warning") and f.name != "no_backoff"]
            assert not said, result.name
