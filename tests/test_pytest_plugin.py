"""The pytest plugin, driven by pytest's own `pytester`: .mock collection (ids, markers, -k, -m, failures'
text, reports, xdist) and the `dotmock` fixture serving real scenarios to the official openai SDK."""

from __future__ import annotations

import json
import os

import pytest

pytest_plugins = ["pytester"]

CLIENT = """
import sys
import openai

client = openai.OpenAI(max_retries=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
stream = client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
"""

CUT = """
fixture "cut" {
  match POST /v1/chat/completions
  response "This is a long response that will be cut short"
  streaming { chunkSize 10 latencyMs 1 truncateAfterChunks 2 }
}
"""

GOOD = """
scenario "whole answer"
tags streaming, happy
client "python client.py"
fixture "ok" {
  match POST /v1/chat/completions
  response "All of it."
  streaming { chunkSize 4 }
}
expect {
  client exits 0
  client stdout contains "All of it."
  no findings
}
"""

NAIVE = (
    """
scenario "cut, naive"
tags streaming, naive
client "python client.py"
"""
    + CUT
    + """
expect {
  client stdout contains "never printed"
}
"""
)

PARAMS = """
scenario "retries"
tags retry
params {
  | status | retries |
  | 500    | 2       |
  | 503    | 1       |
}
client "python client.py ${retries}"
fixture "fails once" {
  match POST /v1/chat/completions { attempt 1 }
  error ${status} { message "boom" }
}
fixture "then works" {
  match POST /v1/chat/completions { attempt 2.. }
  response "fine"
}
expect {
  client exits 0
  requests POST /v1/chat/completions == 2
}
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".py", client=CLIENT)
    scen = pytester.mkdir("scenarios")
    (scen / "client.py").write_text(CLIENT)
    (scen / "good.mock").write_text(GOOD)
    (scen / "naive.mock").write_text(NAIVE)
    (scen / "params.mock").write_text(PARAMS)
    (scen / "shared.mock").write_text(CUT)  # include-only: no item
    return pytester


def test_collects_cases_with_ids_and_tag_markers(suite: pytest.Pytester) -> None:
    out = suite.runpytest("scenarios", "--co", "-q")
    ids = [line for line in out.outlines if "::" in line]
    assert sorted(ids) == [
        "scenarios/good.mock::whole answer",
        "scenarios/naive.mock::cut, naive",
        "scenarios/params.mock::retries [status=500, retries=2]",
        "scenarios/params.mock::retries [status=503, retries=1]",
    ]
    assert [line for line in suite.runpytest("scenarios", "--co", "-q", "-m", "naive").outlines if "::" in line] == [
        "scenarios/naive.mock::cut, naive"
    ]
    picked = suite.runpytest("scenarios", "--co", "-q", "-k", "503 or whole", "--strict-markers").outlines
    assert sorted(line for line in picked if "::" in line) == [
        "scenarios/good.mock::whole answer",
        "scenarios/params.mock::retries [status=503, retries=1]",
    ]


def test_runs_cases_and_renders_failures_like_the_terminal_report(suite: pytest.Pytester) -> None:
    junit = suite.path / "junit.xml"
    html = suite.path / "dotmock.html"
    report = suite.path / "dotmock.json"
    out = suite.runpytest(
        "scenarios", f"--junitxml={junit}", f"--dotmock-html={html}", f"--dotmock-json={report}", "-p", "no:randomly"
    )
    out.assert_outcomes(passed=3, failed=1)
    text = out.stdout.str()
    assert "FAIL client stdout contains" in text
    assert 'expected: stdout containing "never printed"' in text
    assert "error: truncated_stream_accepted" in text and "advice:" in text
    assert "naive.mock:" in text  # the expectation's file:line:col
    assert 'name="cut, naive"' in junit.read_text()
    assert html.read_text().startswith("<!DOCTYPE html>")
    data = json.loads(report.read_text())
    outcomes = sorted((c["name"], c["outcome"]) for c in data["cases"])
    assert outcomes == [
        ("cut, naive", "failed"),
        ("retries [status=500, retries=2]", "passed"),
        ("retries [status=503, retries=1]", "passed"),
        ("whole answer", "passed"),
    ]
    # --lf reruns exactly the failed case
    again = suite.runpytest("scenarios", "--lf")
    again.assert_outcomes(failed=1, passed=0)


def test_xdist_gives_the_same_verdicts(suite: pytest.Pytester) -> None:
    report = suite.path / "x.json"
    out = suite.runpytest("scenarios", "-n", "2", f"--dotmock-json={report}")
    out.assert_outcomes(passed=3, failed=1)
    cases = json.loads(report.read_text())["cases"]
    assert sorted((c["name"], c["outcome"]) for c in cases)[0] == ("cut, naive", "failed")
    assert len(cases) == 4


def test_a_suite_that_does_not_name_mock_files_is_unchanged(suite: pytest.Pytester) -> None:
    suite.makeini("[pytest]\ntestpaths = tests scenarios\n")
    suite.mkdir("tests")
    (suite.path / "tests" / "test_plain.py").write_text("def test_one():\n    assert True\n")
    (suite.path / "tests" / "broken.mock").write_text("scenario {")  # test data, say
    out = suite.runpytest("-q")
    out.assert_outcomes(passed=1)
    assert ".mock" not in out.stdout.str()
    # named on the command line, the folder's .mock files are collected (and a broken one is an error)
    suite.runpytest("-q", "tests").assert_outcomes(errors=1)
    suite.runpytest("-q", "tests", "--dotmock-collect", "none").assert_outcomes(passed=1)


def test_a_broken_mock_file_is_a_collection_error_with_its_location(pytester: pytest.Pytester) -> None:
    pytester.makefile(".mock", bad='scenario "x"\nclient "python c.py"\nfixture "f" {\n  match POST /v1/chat\n')
    out = pytester.runpytest("bad.mock")
    assert out.ret == pytest.ExitCode.INTERRUPTED
    assert "bad.mock:" in out.stdout.str() and "error" in out.stdout.str()


FIXTURE_TESTS = f'''
import asyncio
import os

import openai
import pytest

CUT = """{CUT}"""
WHOLE = """
fixture "ok" {{
  match POST /v1/chat/completions
  response "All of it, in pieces."
  streaming {{ chunkSize 5 }}
}}
"""
FLAKY = """
fixture "first fails" {{
  match POST /v1/chat/completions {{ attempt 1 }}
  error 500 {{ message "boom" }}
}}
fixture "then works" {{
  match POST /v1/chat/completions {{ attempt 2.. }}
  response "fine"
}}
"""


def naive():
    with openai.OpenAI(max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{{"role": "user", "content": "Hello"}}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


async def naive_async():
    async with openai.AsyncOpenAI(max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{{"role": "user", "content": "Hello"}}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


@pytest.mark.dotmock(text=CUT)
def test_naive_accepts_a_cut_stream(dotmock):
    assert naive().startswith("This is a long")


@pytest.mark.dotmock(text=CUT, check=False)
def test_findings_are_readable(dotmock):
    dotmock.call(naive)
    assert [f.name for f in dotmock.findings] == ["truncated_stream_accepted"]
    assert len(dotmock.requests) == 1


@pytest.mark.dotmock(text=WHOLE)
def test_whole_stream_passes_and_env_points_here(dotmock):
    assert os.environ["OPENAI_BASE_URL"] == dotmock.base_url + "/v1"
    assert dotmock.call(naive) == "All of it, in pieces."
    assert dotmock.result().outcome == "passed"


def test_env_is_restored():
    assert os.environ.get("OPENAI_BASE_URL") == "http://untouched.invalid/v1"


@pytest.mark.dotmock(text=WHOLE)
def test_async_client_on_asyncio(dotmock):
    assert asyncio.run(dotmock.acall(naive_async)) == "All of it, in pieces."


@pytest.mark.anyio
@pytest.mark.dotmock(text=WHOLE)
async def test_async_client_on_anyio(dotmock):
    assert await naive_async() == "All of it, in pieces."


@pytest.mark.dotmock(text=FLAKY)
def test_an_sdk_error_escaping_is_a_crash(dotmock):
    with pytest.raises(openai.InternalServerError):
        dotmock.call(naive)
'''


def test_fixture_judges_the_tests_own_code(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://untouched.invalid/v1")
    pytester.makeconftest('import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return "asyncio"\n')
    pytester.makepyfile(test_wrapper=FIXTURE_TESTS)
    # in a process of its own: the async clients' loops must not outlive it inside this one
    out = pytester.runpytest_subprocess("-p", "anyio", "-v", "-p", "no:cacheprovider")
    out.assert_outcomes(passed=5, failed=2)
    text = out.stdout.str()
    out.stdout.fnmatch_lines(
        ["*test_naive_accepts_a_cut_stream FAILED*", "*test_an_sdk_error_escaping_is_a_crash FAILED*"]
    )
    assert "truncated_stream_accepted: accepted a stream of POST /v1/chat/completions that was cut" in text
    assert "client_crashed: crashed on an HTTP 500 (InternalServerError)" in text
    assert os.environ["OPENAI_BASE_URL"] == "http://untouched.invalid/v1"


MODULE_TESTS = '''
import openai
import pytest

from dotmock.runner.inprocess import serve

FLAKY = """
fixture "first fails" {
  match POST /v1/chat/completions { attempt 1 }
  error 503 { message "busy" }
}
fixture "then works" {
  match POST /v1/chat/completions { attempt 2.. }
  response "fine"
}
"""
PORTS = []


@pytest.fixture(scope="module")
def dotmock_server():
    with serve(text=FLAKY, patch_env=False) as server:
        yield server


def ask():
    with openai.OpenAI(max_retries=2) as client:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    return reply.choices[0].message.content


@pytest.mark.parametrize("n", [1, 2])
def test_each_test_starts_at_attempt_one(dotmock, n):
    PORTS.append(dotmock.port)
    assert dotmock.call(ask) == "fine"
    assert [a.exchange.attempt for c in dotmock.calls for a in c.attempts] == [1, 2]
    assert [f.name for f in dotmock.findings] == ["fault_handled"]
    assert len(set(PORTS)) == 1
'''


def test_one_server_per_module_with_counters_reset(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_module_scope=MODULE_TESTS)
    pytester.runpytest().assert_outcomes(passed=2)


def test_context_manager_outside_pytest(tmp_path: os.PathLike[str]) -> None:
    import openai

    from dotmock.runner.inprocess import serve

    before = os.environ.get("OPENAI_BASE_URL")
    with serve(text=CUT) as mock, openai.OpenAI(max_retries=0) as client:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
        assert reply.choices[0].message.content == "This is a long response that will be cut short"
    assert os.environ.get("OPENAI_BASE_URL") == before
    assert mock.result().outcome == "passed"  # judged after the block too: a JSON answer is whole
    assert [x.path for x in mock.requests] == ["/v1/chat/completions"]
    with pytest.raises(RuntimeError, match="not running"):
        _ = mock.base_url


def test_the_shipped_example_folder_passes(pytester: pytest.Pytester) -> None:
    import shutil
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "pytest"
    for f in example.iterdir():
        if f.suffix in (".py", ".mock"):
            shutil.copy(f, pytester.path / f.name)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=7)
