"""What the documented literals and defaults mean in the model (the promises docs/language.md makes)."""

from __future__ import annotations

from pathlib import Path

from dotmock.dsl import load_file, load_text
from dotmock.dsl import model as m

OK = Path(__file__).resolve().parent / "golden" / "ok"


def _one(text: str) -> m.Scenario:
    (case,) = load_text(text, "v.mock").cases
    return case


def test_seed_defaults() -> None:
    case = _one('scenario "s"\nfixture "f" {\n  match POST *\n  response "x"\n  streaming { }\n}\n')
    outcome = case.fixtures[0].outcome
    assert isinstance(outcome, m.TextOutcome)
    assert outcome.streaming == m.Streaming(chunk_size=20, latency_ms=0, truncate_after_chunks=None)
    assert outcome.finish_reason == "stop" and outcome.dialect is None
    assert case.dialect == "openai" and case.name == "s"


def test_string_escapes_and_unknown_escapes_kept() -> None:
    case = load_file(str(OK / "shell_client.mock")).cases[0]
    outcome = case.fixtures[0].outcome
    assert isinstance(outcome, m.TextOutcome)
    assert outcome.text == 'Line one\nLine two \u00e9 "quoted" \\ backslash'
    assert case.fixtures[0].match.text[0].value == r"\d{2,}\s+items"  # \d and \s stay for the regex
    assert case.description == "The client is a small pipeline:\ncurl | jq, run by the shell."


def test_shell_client_keeps_the_whole_command_line() -> None:
    case = load_file(str(OK / "shell_client.mock")).cases[0]
    assert case.client is not None and case.client.shell
    assert case.client.argv == (
        'curl -sN "$OPENAI_BASE_URL/chat/completions" -d @request.json | jq -r .choices[0].message.content',
    )
    assert dict(case.client.env) == {"TAB": "a\tb"}


def test_argv_client_is_split_like_a_shell_would_but_run_without_one() -> None:
    case = _one('scenario "s"\nclient "python \\"my client.py\\" --stream" { timeout 1m }\n')
    assert case.client == m.Client(argv=("python", "my client.py", "--stream"), timeout_s=60.0)
    case = _one('scenario "s"\nclient ["python", "a b.py"] { cwd "clients" }\n')
    assert case.client == m.Client(argv=("python", "a b.py"), cwd="clients")


def test_durations_and_milliseconds() -> None:
    case = load_file(str(OK / "websocket.mock")).cases[0]
    events = case.fixtures[0].outcome.events
    assert [e.delay_s for e in events] == [0.0, 0.05, 0.2]
    assert case.client is not None and case.client.timeout_s == 60.0
    last = case.fixtures[-1]
    assert last.ws == m.WsOutcome(close_after=False, disconnect_after_ms=2000)


def test_attempt_ranges() -> None:
    case = load_file(str(OK / "streaming_retry.mock")).cases[0]
    ranges = [f.match.attempt for f in case.fixtures[:4]]
    assert ranges == [m.AttemptRange(1, 1), m.AttemptRange(2, 2), m.AttemptRange(3, 5), m.AttemptRange(6, None)]
    assert [str(r) for r in ranges] == ["1", "2", "3..5", "6.."]


def test_params_rows_become_named_cases() -> None:
    cases = load_file(str(OK / "parameterised.mock")).cases
    assert [c.name for c in cases] == [
        "cut streams [naive_chat.py, cut after 3] [client=naive_chat.py, cut=3, pause=100ms, strict=false]",
        "cut streams [resilient_chat.py, cut after 5] [client=resilient_chat.py, cut=5, pause=2s, strict=true]",
    ]
    first, second = cases
    assert first.client is not None and first.client.argv == ("python", "clients/naive_chat.py")
    cut = first.fixtures[0]
    assert cut.match.json[0].value is False and second.fixtures[0].match.json[0].value is True
    assert cut.outcome.faults[0] == m.Fault("stall", after_chunks=3, duration_s=0.1)
    assert first.expectations[2] == m.WaitExpect(">=", 0.1)
    assert first.fixtures[-1].name == "shared fallback"  # the include's fixtures take its place


def test_expectations_model() -> None:
    exp = load_file(str(OK / "streaming_retry.mock")).cases[0].expectations
    assert exp[0] == m.ExitExpect("==", 0)
    assert exp[2] == m.OutputExpect("stdout", "contains", "Traceback", negated=True)
    assert exp[5] == m.RequestCountExpect("http", "POST", "/v1/chat/completions", "==", 3)
    assert exp[9] == m.RequestFieldExpect("POST", "/v1/chat/completions", 2, "stream_options", "absent")
    assert exp[10] == m.WaitExpect(">=", None)
    assert exp[-1] == m.FindingsExpect("present", "no_backoff")
