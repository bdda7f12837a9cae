"""User regexes (`matches`) are bounded (dsl/user_regex.py): shapes known to backtrack without bound are
refused at load time with a hint, and every search at match time has a budget, so a hostile pattern and
body never freeze the server's loop. Real servers, real clients, real hostile patterns."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import httpx
import pytest

from dotmock.dsl import DslError, load_text
from dotmock.dsl.user_regex import RegexTimeout, problem, search
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

EXPONENTIAL = "a" * 40 + "b"  # (a+)+$ and (a|a)+$ take ~2^40 steps on it: days, unbounded


def scenario(rule: str, extra: str = "") -> str:
    return (
        'scenario "regex"\n\n'
        f'fixture "hostile" {{\n  match POST /v1/chat/completions {{ {rule} }}\n  response "hostile"\n}}\n'
        f"{extra}"
    )


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ('message matches "(a+)+$"', "'+' inside '+'"),
        ('message matches "(\\w+\\s?)*$"', "'+' inside '*'"),
        ('message matches "(x{1,9})+y"', "'{1,9}' inside '+'"),
        ('header "X-Tenant" matches "(a*)*b"', "'*' inside '*'"),
        ('json "messages.0.content" matches "((ab)+)+c"', "'+' inside '+'"),
        ('message matches "(a)\\1"', "backreferences"),
        ('message matches "(?P<q>.)(?P=q)"', "backreferences"),
        ('toolResult "lookup" matches "(.+)+!"', "'+' inside '+'"),
    ],
)
def test_an_unbounded_shape_is_refused_at_load_time_with_a_hint(rule: str, words: str) -> None:
    with pytest.raises(DslError) as caught:
        load_text(scenario(rule), "hostile.mock")
    text = str(caught.value)
    assert "hostile.mock:4:" in text and words in text, text
    assert "possessive" in text or "repeated text itself" in text, text  # the hint, after the caret


def test_dotmock_check_names_the_pattern_and_exits_nonzero(tmp_path: Path) -> None:
    (tmp_path / "bad.mock").write_text(scenario('message matches "(a+)+$"'))
    done = subprocess.run(
        [sys.executable, "-m", "dotmock", "check", "bad.mock"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "bad.mock:4:" in done.stdout + done.stderr and "exponential time" in done.stdout + done.stderr


@pytest.mark.parametrize("pattern", ["\\d+\\s*items", "(ab)+c", "(foo|bar)+", "^refund.*order \\d{4,}$", "(?>a+)+$"])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert problem(pattern) is None
    load_text(scenario(f'message matches "{pattern}"'), "ok.mock")


def test_a_pattern_python_warns_about_is_refused_and_no_warning_escapes() -> None:
    """`[[` in a set: Python's FutureWarning ("Possible nested set"), once printed from dsl/checks.py."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DslError) as caught:
            load_text(scenario('message matches "[[a-z]]+"'), "nested.mock")
    assert "future Python" in str(caught.value) and "\\[" in str(caught.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_text(scenario('message matches "[\\\\[a-z\\\\]]+"'), "escaped.mock")


def test_a_search_past_its_budget_stops_on_the_main_thread_and_off_it() -> None:
    with pytest.raises(RegexTimeout, match=r"gave up after 0\.05s on 41 characters"):
        search("(a|a)+$", EXPONENTIAL, budget_s=0.05)
    assert search("a.c", "xxabcx") and not search("q", "abc")
    outcome: list[object] = []

    def off_main() -> None:  # a server in a thread (the pytest plugin): the helper process, killed at the budget
        try:
            search("(a|a)+$", EXPONENTIAL, budget_s=0.05)
        except RegexTimeout as err:
            outcome.append(err)
        outcome.append(search("a.c", "xxabcx"))

    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join(30)
    assert isinstance(outcome[0], RegexTimeout) and outcome[1] is True


async def test_a_hostile_body_against_an_accepted_pattern_never_freezes_the_server() -> None:
    """`(a|a)+$` passes the load-time rule (no nested repeat) but is exponential: while one request meets it,
    a stream on another fixture is served, and the hostile request gets a 404 saying the search gave up."""
    other = 'fixture "other" {\n  match POST /v1/chat/completions { message contains "hello" }\n  response "fine"\n}\n'
    loaded = load_text(scenario('message matches "(a|a)+$"', other), "accepted.mock")
    async with running_server(loaded.cases[0]) as srv, httpx.AsyncClient(base_url=srv.base_url, timeout=30) as http:

        async def ask(text: str) -> httpx.Response:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
            return await http.post("/v1/chat/completions", json=body)

        hostile, fine = await asyncio.gather(ask(EXPONENTIAL), ask("hello"))
        assert fine.status_code == 200 and fine.json()["choices"][0]["message"]["content"] == "fine"
        assert hostile.status_code == 404, hostile.text
        assert "gave up after" in hostile.text and "(a|a)+$" in hostile.text, hostile.text
        again = await ask("hello there, aaaa")
        assert again.status_code == 200


def test_a_client_output_expectation_on_a_hostile_pattern_fails_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "out.mock").write_text(
        'scenario "output"\n'
        f'client "python -c \\"print(\'{EXPONENTIAL}\')\\""\n'
        'fixture "any" {\n  match POST /v1/chat/completions\n  response "x"\n}\n'
        'expect {\n  client stdout matches "(a|a)+$"\n}\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", "out.mock"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gave up after" in done.stdout, done.stdout
