"""Crashes are told from a client's own error message in every language clients are written in.

The samples in tests/data/crashes/ are what each runtime printed (Node.js 20, Java 17 and Rust 1.95 were run
here to make them; the Go, Ruby, .NET, Kotlin and Deno ones follow those runtimes' documented format).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from dotmock.runner.crash import uncaught_exception
from dotmock.runner.process import ClientSpec, run_client
from dotmock.runner.results import ClientRun

SAMPLES = Path(__file__).resolve().parent / "data" / "crashes"

CRASHES = {
    "python_traceback.txt": "APIConnectionError",
    # the crash, then an `Exception ignored in:` report printed at shutdown (litellm's streams do this)
    "python_then_ignored_at_exit.txt": "RuntimeError",
    "node_fetch_terminated.txt": "TypeError",
    "node_json_parse.txt": "SyntaxError",
    "node_unhandled_rejection.txt": "UnhandledPromiseRejection",
    "deno_uncaught.txt": "TypeError",
    "go_panic.txt": "panic",
    "go_nil_pointer.txt": "panic",
    "java_connect_refused.txt": "ConnectException",
    "kotlin_uncaught.txt": "IOException",
    "rust_unwrap.txt": "panic",
    "ruby_uncaught.txt": "EOFError",
    "ruby_json.txt": "JSON::ParserError",
    "dotnet_unhandled.txt": "HttpRequestException",
}
OWN_MESSAGES = ["own_message.txt", "node_own_message.txt", "own_message_then_ignored_at_exit.txt"]


def test_every_sample_is_classified() -> None:
    assert {p.name for p in SAMPLES.glob("*.txt")} == set(CRASHES) | set(OWN_MESSAGES)


@pytest.mark.parametrize(("sample", "name"), sorted(CRASHES.items()))
def test_an_uncaught_exception_is_a_crash_named_by_its_class(sample: str, name: str) -> None:
    exception = uncaught_exception((SAMPLES / sample).read_text(encoding="utf-8"))
    assert exception is not None
    assert ClientRun(argv=[], exception=exception).exception_name == name


@pytest.mark.parametrize("sample", OWN_MESSAGES)
def test_a_message_the_client_chose_to_print_is_not_a_crash(sample: str) -> None:
    assert uncaught_exception((SAMPLES / sample).read_text(encoding="utf-8")) is None


def test_a_crash_quoted_inside_the_clients_own_message_is_not_one() -> None:
    text = (SAMPLES / "node_json_parse.txt").read_text(encoding="utf-8")
    assert uncaught_exception(text + "\nretrying once more; then giving up with exit 3\n") is None


def test_a_real_node_crash_is_recognised_end_to_end(tmp_path: Path) -> None:
    script = tmp_path / "crash.js"
    script.write_text('JSON.parse("{\\"choices\\": [oops");\n')
    run = asyncio.run(run_client(ClientSpec(argv=["node", str(script)], cwd=str(tmp_path), timeout_s=20)))
    assert run.exit_code == 1 and run.crashed
    assert run.exception_name == "SyntaxError"


def test_death_by_signal_is_a_crash_named_by_the_signal() -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    run = asyncio.run(run_client(ClientSpec(argv=[sys.executable, "-c", code], cwd=".", timeout_s=20)))
    assert run.crashed and run.signal == "SIGSEGV"
