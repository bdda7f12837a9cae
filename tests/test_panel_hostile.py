"""The panel's validate/save endpoints under hostile input: every answer is a 4xx (or a 200 listing the
DslErrors) with a clear body, never a 500; a large text parses off the event loop, so other requests are
answered meanwhile; the served scenario and its file are unchanged by a refused save."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dotmock.dsl import load_file
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

GOOD = 'scenario "panel"\nfixture "hi" { match POST /v1/chat/completions response "hello" }\n'


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[RunningServer]:
    mock = tmp_path / "panel.mock"
    mock.write_text(GOOD)
    async with running_server(load_file(str(mock)).cases[0]) as server:
        server.app.config["DOTMOCK_ALLOW_WRITE"] = True  # the worst case: saves reach the file
        yield server


def headers(srv: RunningServer) -> dict[str, str]:
    return {"X-Dotmock-Token": srv.token, "Content-Type": "application/json"}


def deep_json(n: int) -> str:
    return f'scenario "x"\nfixture "a" {{ match POST * {{ json "k" == {"[" * n}{"]" * n} }} response "x" }}\n'


TEXTS = {
    "JSON nested 1,000 deep": deep_json(1000),
    "JSON nested 100,000 deep": deep_json(100_000)[:1_000_000],
    "blocks nested 1,000 deep": 'scenario "x"\nfixture "a" { match POST * ' + "{ " * 1000 + "} " * 1000 + "}\n",
    "include with a NUL": 'scenario "x"\ninclude "a\x00.mock"\n',
    "include with an escaped NUL": 'scenario "x"\ninclude "a\\u0000.mock"\n',
    "include of a surrogate escape": 'scenario "x"\ninclude "a\\udc80.mock"\n',
    "a line of 100,000 characters": 'scenario "x"\n' + "x" * 100_000 + "\n",
    "a number of 5,000 digits": 'scenario "x"\nfixture "a" { match POST * { json "k" == '
    + "9" * 5000
    + ' } response "x" }\n',
    "a number out of range": 'scenario "x"\nfixture "a" { match POST * { json "k" == 1e999 } response "x" }\n',
}


async def assert_unchanged(srv: RunningServer, http: httpx.AsyncClient) -> None:
    source = (await http.get(srv.base_url + "/_dotmock/source")).json()
    assert source["text"] == GOOD
    assert Path(source["disk_path"]).read_text() == GOOD
    answer = await http.post(
        srv.base_url + "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "a"}]}
    )
    assert answer.json()["choices"][0]["message"]["content"] == "hello"


@pytest.mark.parametrize("name", list(TEXTS))
async def test_hostile_texts_get_located_errors_never_a_500(srv: RunningServer, name: str) -> None:
    body = json.dumps({"text": TEXTS[name]})
    async with httpx.AsyncClient(timeout=30) as http:
        checked = await http.post(srv.base_url + "/_dotmock/validate", content=body, headers=headers(srv))
        assert checked.status_code == 200, checked.text
        result = checked.json()
        assert result["ok"] is False and result["errors"], result
        for error in result["errors"]:
            assert error["line"] >= 1 and error["message"]
            assert "Traceback" not in error["rendered"] and "RecursionError" not in error["rendered"]
        saved = await http.post(srv.base_url + "/_dotmock/source", content=body, headers=headers(srv))
        assert saved.status_code == 422, saved.text
        assert saved.json()["applied"] is False and saved.json()["errors"]
        await assert_unchanged(srv, http)


BODIES: dict[str, bytes] = {
    "JSON body nested 100,000 deep": b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "a bare deep array": b"[" * 100_000,
    "a lone surrogate in the text": b'{"text": "scenario \\"x\\ud800\\""}',
    "NaN": b'{"text": NaN}',
    "not JSON": b"scenario x",
    "not UTF-8": b'{"text": "\xff\xfe"}',
    "text is not a string": b'{"text": 7}',
}


@pytest.mark.parametrize("name", list(BODIES))
async def test_hostile_bodies_get_a_400_with_a_clear_message(srv: RunningServer, name: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for endpoint in ("validate", "source"):
            r = await http.post(srv.base_url + "/_dotmock/" + endpoint, content=BODIES[name], headers=headers(srv))
            assert r.status_code == 400, r.text
            body: dict[str, Any] = r.json()
            assert body["ok"] is False and body["message"].startswith('send JSON: {"text": "..."}')
        await assert_unchanged(srv, http)


async def test_a_text_over_the_size_limit_gets_413(srv: RunningServer) -> None:
    body = json.dumps({"text": GOOD + "#" * (2 << 20)})
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(srv.base_url + "/_dotmock/validate", content=body, headers=headers(srv))
        assert r.status_code == 413 and "KiB" in r.json()["message"]
        await assert_unchanged(srv, http)


async def test_panel_files_with_odd_names_are_404(srv: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for name in ("panel.js%00.css", "..%2fpanel.py", "%ff.js", "panel.js%00", "a" * 5000 + ".css"):
            r = await http.get(srv.base_url + "/_dotmock/static/" + name)
            assert r.status_code == 404, (name, r.status_code)
            assert r.json()["error"]["code"] == "unknown_url"


def big_valid_text() -> str:
    fixtures = "".join(
        f'fixture "f{i}" {{ match POST /v1/chat/completions {{ json "n" == {i} }} response "answer {i}" }}\n'
        for i in range(1300)  # 120 KiB and 19,500 tokens, under the file and token limits
    )
    return 'scenario "big"\n' + fixtures


async def test_a_large_text_parses_off_the_event_loop(srv: RunningServer) -> None:
    body = json.dumps({"text": big_valid_text()})
    finished: list[str] = []
    async with httpx.AsyncClient(timeout=60) as http:

        async def validate() -> None:
            r = await http.post(srv.base_url + "/_dotmock/validate", content=body, headers=headers(srv))
            assert r.status_code == 200 and r.json()["ok"] is True, r.text[:300]
            finished.append("validate")

        async def meanwhile() -> None:
            await asyncio.sleep(0.05)  # the validate request is being parsed
            r = await http.get(srv.base_url + "/_dotmock/source")
            assert r.status_code == 200
            finished.append("source")

        await asyncio.gather(validate(), meanwhile())
    assert finished == ["source", "validate"]
