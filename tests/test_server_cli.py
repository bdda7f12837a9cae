"""`dotmock serve` as a user runs it: a subprocess, the seed's curl request, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dotmock.server.cli import main

MOCK = """\
scenario "curl demo"

fixture "cut short" {
  match POST /v1/chat/completions { message contains "Hello" }
  response "This is a long response that will be cut short..."
  streaming { chunkSize 15  latencyMs 80  truncateAfterChunks 3 }
}
"""

# The seed's curl command: curl -N -X POST .../v1/chat/completions -H "Content-Type: application/json" -d '...'
CURL_BODY = '{"model": "your-model", "stream": true, "messages": [{"role": "user", "content": "Hello"}]}'


@contextmanager
def serve(path: Path, *extra: str, sig: int = signal.SIGINT) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dotmock", "serve", str(path), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() is not None else "")
        yield proc, url
        proc.send_signal(sig)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def content_chunks(raw: str) -> list[str]:
    out = []
    for line in raw.split("\n"):
        if line.startswith("data: {"):
            delta = json.loads(line[6:])["choices"][0]["delta"]
            if "content" in delta:
                out.append(delta["content"])
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_the_seeds_curl_then_exits_cleanly(tmp_path: Path, sig: int) -> None:
    path = tmp_path / "demo.mock"
    path.write_text(MOCK)
    with serve(path, sig=sig) as (proc, url):
        start = time.monotonic()
        with httpx.stream(
            "POST",
            url + "/v1/chat/completions",
            content=CURL_BODY,
            headers={"Content-Type": "application/json"},
            timeout=10,
        ) as response:
            raw = "".join(response.iter_text())
        elapsed = time.monotonic() - start
        assert response.status_code == 200
        assert content_chunks(raw) == ["This is a long ", "response that w", "ill be cut shor"]
        assert "[DONE]" not in raw
        assert elapsed >= 0.15
        journal = httpx.get(url + "/_dotmock/journal").json()
        assert journal["http"][0]["faults"] == ["truncate"]
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr.read()


def test_serve_a_dotmock_json_fixture_file(tmp_path: Path) -> None:
    path = tmp_path / "fixtures.json"
    path.write_text(
        json.dumps(
            {
                "response": "This is a long response that will be cut short...",
                "streaming": {"chunkSize": 15, "latencyMs": 10, "truncateAfterChunks": 3},
            }
        )
    )
    with serve(path) as (proc, url):
        with httpx.stream("POST", url + "/v1/chat/completions", content=CURL_BODY, timeout=10) as response:
            raw = "".join(response.iter_text())
        assert content_chunks(raw) == ["This is a long ", "response that w", "ill be cut shor"]
    assert proc.returncode == 0


def test_a_file_that_does_not_parse_exits_2_with_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.mock"
    path.write_text(
        'scenario "bad"\nfixture "x" {\n  match POST /v1/chat/completions\n  response "hi"\n'
        "  streaming { chunksize 15 }\n}\n"
    )
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5:" in err and "chunkSize" in err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.mock")]) == 2
    assert "nope.mock" in capsys.readouterr().err


PLAIN_MOCK = """\
scenario "plain"

fixture "hello" {
  match POST /v1/chat/completions { message contains "Hello" }
  response "Hi."
}
"""


def _hello(url: str, n: int) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": f"Hello {n}"}]}
    assert httpx.post(url + "/v1/chat/completions", json=body, timeout=10).status_code == 200


def test_serve_keeps_the_newest_journal_entries_and_counts_the_dropped(tmp_path: Path) -> None:
    path = tmp_path / "plain.mock"
    path.write_text(PLAIN_MOCK)
    with serve(path, "--journal-limit", "3", "--token", "s3cret") as (_, url):
        for n in range(5):
            _hello(url, n)
        journal = httpx.get(url + "/_dotmock/journal").json()
        assert [e["body"]["messages"][0]["content"] for e in journal["http"]] == ["Hello 2", "Hello 3", "Hello 4"]
        assert [e["id"] for e in journal["http"]] == [3, 4, 5]
        assert journal["limit"] == 3
        assert journal["dropped"] == {"http": 2, "websocket": 0}
        assert httpx.post(url + "/_dotmock/reset", json={}, headers={"X-Dotmock-Token": "s3cret"}).status_code == 200
        _hello(url, 5)
        journal = httpx.get(url + "/_dotmock/journal").json()
        assert len(journal["http"]) == 1 and journal["dropped"] == {"http": 0, "websocket": 0}


def test_serve_journal_is_capped_by_default_and_0_lifts_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "plain.mock"
    path.write_text(PLAIN_MOCK)
    with serve(path) as (_, url):
        _hello(url, 0)
        journal = httpx.get(url + "/_dotmock/journal").json()
        assert journal["limit"] == 10_000 and journal["dropped"] == {"http": 0, "websocket": 0}
    with serve(path, "--journal-limit", "0") as (_, url):
        _hello(url, 0)
        journal = httpx.get(url + "/_dotmock/journal").json()
        assert len(journal["http"]) == 1 and "limit" not in journal and "dropped" not in journal


def test_a_negative_journal_limit_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.mock"
    path.write_text(PLAIN_MOCK)
    with pytest.raises(SystemExit) as exit_info:
        main([str(path), "--journal-limit", "-1"])
    assert exit_info.value.code == 2
    assert "--journal-limit" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str) -> None:
    path = tmp_path / "plain.mock"
    path.write_text(PLAIN_MOCK)
    with pytest.raises(SystemExit) as exit_info:
        main([str(path), "--port", port])
    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err
