"""`jitterMs` from pytest is reproducible: one seed per session (`--dotmock-seed N`, ini `dotmock_seed`, else
a fresh one shown in the header), shared with pytest-xdist workers, pinned per test by the marker's `seed=`,
and named at the end of a failing jittered case's report, so the very same waits can be had again. Judged
from the waits the server journaled (`gaps_ms`), written out by the tests pytester runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = '''
import json
import os

import httpx
import pytest

SCENARIO = """
fixture "jittered" {
  match POST /v1/chat/completions
  response "Chunks on an uneven beat."
  streaming { chunkSize 4 latencyMs 5 jitterMs 4 }
}
expect { requests POST /v1/chat/completions == 2 }
"""


def _gaps(dotmock, name):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    httpx.post(dotmock.base_url + "/v1/chat/completions", json=body, timeout=10)
    (exchange,) = dotmock.journal.http
    with open(os.path.join(os.environ["GAPS_DIR"], name + ".json"), "w") as out:
        json.dump(exchange.gaps_ms, out)


@pytest.mark.dotmock(text=SCENARIO)
def test_session_seed(dotmock):
    _gaps(dotmock, "session")


@pytest.mark.dotmock(text=SCENARIO, seed=5)
def test_pinned_seed(dotmock):
    _gaps(dotmock, "pinned")
'''

CASE = """scenario "jittered case"
client "python -c pass"
fixture "jittered" {
  match POST /v1/chat/completions
  response "x"
  streaming { jitterMs 3 }
}
expect { requests POST /v1/chat/completions == 1 }
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(test_jitter_seed=TESTS)
    pytester.makefile(".mock", case=CASE)
    monkeypatch.setenv("GAPS_DIR", str(pytester.path))
    return pytester


def _gaps(path: Path, name: str) -> list[float]:
    gaps: list[float] = json.loads((path / f"{name}.json").read_text())
    return gaps


def _header_seed(lines: list[str]) -> int:
    found = [re.search(r"dotmock: jitterMs seed (\d+) \(--dotmock-seed \1 replays", line) for line in lines]
    (seed,) = [int(m[1]) for m in found if m]
    return seed


def test_the_seed_replays_the_same_waits_across_xdist_workers_and_is_named_on_failure(suite: pytest.Pytester) -> None:
    # A fresh seed, spread over two xdist workers: the controller's header names it, every worker draws from it.
    # -rN: no short summary, which repeats each failure's whole message when CI is set (pytest's running_on_ci).
    first = suite.runpytest_subprocess("-p", "no:cacheprovider", "-rN", "-n", "2", "test_jitter_seed.py", "case.mock")
    first.assert_outcomes(failed=3)  # the scenarios expect another number of requests: each fails on its verdict
    seed = _header_seed(first.outlines)
    session, pinned = _gaps(suite.path, "session"), _gaps(suite.path, "pinned")
    text = first.stdout.str()
    assert text.count(f"dotmock: jitterMs drew from seed {seed}: `pytest --dotmock-seed {seed}` replays") == 2
    assert "dotmock: jitterMs drew from seed 5: `pytest --dotmock-seed 5` replays the same waits" in text
    assert (session == pinned) == (seed == 5)  # another seed, other waits

    # That seed again, in one process: the very same waits.
    again = suite.runpytest("-p", "no:cacheprovider", "--dotmock-seed", str(seed), "test_jitter_seed.py")
    again.assert_outcomes(failed=2)
    assert _header_seed(again.outlines) == seed
    assert _gaps(suite.path, "session") == session and _gaps(suite.path, "pinned") == pinned


def test_a_bad_seed_is_refused(suite: pytest.Pytester) -> None:
    bad = suite.runpytest("-p", "no:cacheprovider", "--dotmock-seed", "-3", "case.mock")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "a seed is a whole number" in bad.stderr.str()
