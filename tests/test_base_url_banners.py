"""`dotmock serve` and `dotmock record` print every SDK's base-URL variable (`server.apis.base_url_variables`)
as one `export ...` line: pasted into a shell, it points the official openai, anthropic and google-genai SDKs
at the server (or through the proxy), and nothing else does (the test's environment has no base URL of its
own). Real servers on 127.0.0.1, real SDKs in a child process."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from dotmock.dsl.catalogue import API_KINDS
from dotmock.dsl.loader import load_file
from dotmock.server.apis import base_url_exports, base_url_variables

MOCK = 'scenario "any sdk"\n\nfixture "hi" {\n  match POST *\n  response "hi from dotmock"\n}\n'
# One call on each SDK, each reading only its own base-URL variable from the environment.
SDKS = """
import anthropic, openai
from google import genai

print(openai.OpenAI(max_retries=0).chat.completions.create(
    model="m", messages=[{"role": "user", "content": "openai"}]).choices[0].message.content)
print(anthropic.Anthropic(max_retries=0).messages.create(
    model="m", max_tokens=16, messages=[{"role": "user", "content": "anthropic"}]).content[0].text)
gemini = genai.Client()  # held: a Client collected mid-call closes its httpx client under the request
print(gemini.models.generate_content(model="m", contents="gemini").text)
"""
PATHS = ["/v1/chat/completions", "/v1/messages", "/v1/models/m:generateContent"]  # google-genai 3.6 asks v1


def test_the_variables_are_every_apis_once() -> None:
    variables = base_url_variables("http://127.0.0.1:9")
    assert variables == {
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9",
    }
    assert set(variables) == {kind.base_url_env for kind in API_KINDS}
    assert base_url_exports("http://127.0.0.1:9") == (
        "export OPENAI_BASE_URL=http://127.0.0.1:9/v1 ANTHROPIC_BASE_URL=http://127.0.0.1:9 "
        "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:9"
    )


@contextmanager
def _started(argv: list[str]) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """A dotmock command, its base URL (stdout's first line) and the `export` line of its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dotmock", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() is not None else "")
        line = proc.stderr.readline()
        while line and not line.startswith("export "):
            line = proc.stderr.readline()
        yield proc, url, line.rstrip("\n")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _run_the_sdks_after(export_line: str) -> list[str]:
    """The SDKs' answers in a shell that ran the pasted line; their keys are dummies, no base URL is inherited."""
    inherited = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    keys = {"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test", "GEMINI_API_KEY": "g-test"}
    script = f"{export_line}\nexec {shlex.quote(sys.executable)} -c {shlex.quote(SDKS)}"
    done = subprocess.run(
        ["sh", "-c", script], env={**inherited, **keys}, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_serve_prints_a_line_that_points_every_sdk_at_it(tmp_path: Path) -> None:
    path = tmp_path / "any.mock"
    path.write_text(MOCK, encoding="utf-8")
    with _started(["serve", str(path), "--port", "0"]) as (_proc, url, line):
        assert line == base_url_exports(url)
        assert _run_the_sdks_after(line) == ["hi from dotmock"] * 3
        journal = httpx.get(url + "/_dotmock/journal", timeout=10).json()
    assert [e["path"] for e in journal["http"]] == PATHS


def test_record_prints_a_line_that_sends_every_sdk_through_the_proxy(tmp_path: Path) -> None:
    upstream_file = tmp_path / "upstream.mock"
    upstream_file.write_text(MOCK, encoding="utf-8")
    out = tmp_path / "recorded.mock"
    with _started(["serve", str(upstream_file), "--port", "0"]) as (_up, upstream, _line):
        with _started(["record", "--upstream", upstream, "-o", str(out)]) as (proxy, url, line):
            assert line == base_url_exports(url) and url != upstream
            assert _run_the_sdks_after(line) == ["hi from dotmock"] * 3
        assert proxy.returncode == 0
    recorded = load_file(str(out)).cases[0].fixtures
    assert [f.match.path for f in recorded] == PATHS
