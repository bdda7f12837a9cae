"""The fast drill (the long one: `python -m bench.drill`): Hypothesis drives mutations of every shipped
scenario and token soup through the parser and the formatter — only DslError may come out — and a real
`dotmock serve` takes the hostile HTTP and WebSocket corpus with no 5xx, every bad frame answered, and its
memory bounded afterwards."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hostile_corpus import SCENARIOS, drill_server, mutate, parse_outcome, rss_bytes, shipped_texts, token_soup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SHIPPED = shipped_texts()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@FUZZ
@given(index=st.integers(0, len(SHIPPED) - 1), seed=st.integers(0, 2**32 - 1))
def test_mutated_shipped_scenarios_give_only_dsl_errors(index: int, seed: int) -> None:
    path, text = SHIPPED[index]
    outcome = parse_outcome(mutate(text, random.Random(seed)), path)
    assert outcome.error is None, (path, seed, outcome.error)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_token_soup_gives_only_dsl_errors(seed: int) -> None:
    outcome = parse_outcome('scenario "soup"\n' + token_soup(random.Random(seed)), str(SCENARIOS / "soup.mock"))
    assert outcome.error is None, (seed, outcome.error)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(text=st.text(max_size=300))
def test_arbitrary_text_gives_only_dsl_errors(text: str) -> None:
    outcome = parse_outcome(text, str(SCENARIOS / "text.mock"))
    assert outcome.error is None, (text, outcome.error)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dotmock", "serve", str(SCENARIOS / "ws_streaming.mock"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip()
        token = ""
        for _ in range(5):
            line = proc.stderr.readline()
            if "control token" in line:
                token = line.rsplit(" ", 1)[1].strip()
                break
        assert url.startswith("http://127.0.0.1:") and token
        yield proc, url, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.anyio
async def test_a_real_server_takes_the_hostile_corpus(served: tuple[subprocess.Popen[str], str, str]) -> None:
    proc, url, token = served
    figures = await drill_server(url, token, rounds=2)
    assert figures.server_errors == []
    assert figures.ws_unanswered == []
    assert figures.raw_unclosed == []
    assert proc.poll() is None
    import httpx

    async with httpx.AsyncClient(timeout=30) as http:
        journal = json.loads((await http.get(url + "/_dotmock/journal")).text, parse_constant=lambda w: 1 / 0)
    assert journal["http"]
    assert rss_bytes(proc.pid) < 400 * 1024 * 1024  # after ~2 x 150 hostile inputs of up to 600 KB each
