"""`dotmock serve --watch`: an edit of the scenario or of a file it includes is served at once (HTTP, WebSocket
and the test panel follow); a bad edit prints its error and the previous scenario goes on."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl import load_file
from dotmock.server.running import running_server
from dotmock.server.watch import watch

pytestmark = pytest.mark.anyio

MAIN = (
    'scenario "watched"\ninclude "shared.mock"\n\n'
    'fixture "chat" {\n  match POST /v1/chat/completions\n  response "%s"\n}\n'
)
SHARED = 'fixture "ws" {\n  match websocket /v1/chat\n  events {\n    "said" {"text": "%s"}\n  }\n}\n'
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def answer(http: httpx.AsyncClient, base_url: str) -> str:
    response = await http.post(base_url + "/v1/chat/completions", json=BODY)
    return str(response.json()["choices"][0]["message"]["content"])


# A reload is a file read and a parse in a worker thread: on a loaded machine (the suite's workers, other
# jobs) that takes seconds, so the tests wait for it up to PATIENCE_S, returning as soon as it is seen.
PATIENCE_S = 20.0


async def eventually(check, want: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        if await check() == want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never saw {want!r}")


async def test_edits_are_served_and_a_bad_edit_keeps_the_old_scenario(tmp_path: Path) -> None:
    main, shared = tmp_path / "main.mock", tmp_path / "shared.mock"
    main.write_text(MAIN % "one", encoding="utf-8")
    shared.write_text(SHARED % "ws one", encoding="utf-8")
    said: list[str] = []
    async with running_server(load_file(str(main)).cases[0]) as srv, httpx.AsyncClient(timeout=5) as http:
        task = asyncio.ensure_future(watch(str(main), srv.app.config["DOTMOCK_SCENARIO"], said.append, interval=0.02))
        try:
            assert await answer(http, srv.base_url) == "one"
            main.write_text(MAIN % "two", encoding="utf-8")
            await eventually(lambda: answer(http, srv.base_url), "two")
            source = (await http.get(srv.base_url + "/_dotmock/source")).json()
            assert '"two"' in source["text"]  # the panel's editor follows

            main.write_text(MAIN.replace("response", "respnse") % "three", encoding="utf-8")
            # write_text truncates, then writes: the watcher may read the file empty in between (an error of
            # its own, "the file is empty"), and then the misspelt one.
            deadline = time.monotonic() + PATIENCE_S
            while time.monotonic() < deadline and not any("main.mock:6:3" in s for s in said):
                await asyncio.sleep(0.02)
            error = next(s for s in said if "main.mock:6:3" in s)
            assert "has errors" in error and "still serving the previous scenario" in error
            assert await answer(http, srv.base_url) == "two"

            shared.write_text(SHARED % "ws two", encoding="utf-8")
            main.write_text(MAIN % "three", encoding="utf-8")
            await eventually(lambda: answer(http, srv.base_url), "three")

            async def ws_text() -> str:
                async with aconnect_ws(srv.ws_url + "/v1/chat", http) as ws:
                    await ws.send_json({"type": "message", "data": BODY})
                    return str((await ws.receive_json(timeout=5))["data"]["text"])

            assert await ws_text() == "ws two"  # an included file's edit, over WebSocket
            shared.write_text(SHARED % "ws three", encoding="utf-8")
            await eventually(ws_text, "ws three")
            assert any(s.startswith("dotmock: reloaded") for s in said)
        finally:
            task.cancel()


async def test_the_command_reloads(tmp_path: Path) -> None:
    main, shared = tmp_path / "main.mock", tmp_path / "shared.mock"
    main.write_text(MAIN % "before", encoding="utf-8")
    shared.write_text(SHARED % "x", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dotmock",
        "serve",
        str(main),
        "--watch",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        async with httpx.AsyncClient(timeout=5) as http:
            assert await answer(http, base_url) == "before"
            main.write_text(MAIN % "after", encoding="utf-8")
            await eventually(lambda: answer(http, base_url), "after")
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert "dotmock: reloaded" in stderr.decode()


async def test_an_edit_made_before_the_watch_began_is_served(tmp_path: Path) -> None:
    """`serve --watch` loads the file, then starts watching: a save in between (or while the watcher takes its
    first look) must not become the state the watcher believes is served."""
    main, shared = tmp_path / "main.mock", tmp_path / "shared.mock"
    main.write_text(MAIN % "one", encoding="utf-8")
    shared.write_text(SHARED % "ws one", encoding="utf-8")
    scenario = load_file(str(main)).cases[0]
    main.write_text(MAIN % "two", encoding="utf-8")  # saved after the load, before the watch
    said: list[str] = []
    async with running_server(scenario) as srv, httpx.AsyncClient(timeout=5) as http:
        task = asyncio.ensure_future(watch(str(main), srv.app.config["DOTMOCK_SCENARIO"], said.append, interval=0.02))
        try:
            await eventually(lambda: answer(http, srv.base_url), "two")
            main.write_text(MAIN % "six", encoding="utf-8")
            await eventually(lambda: answer(http, srv.base_url), "six")
        finally:
            task.cancel()


async def test_an_edit_made_as_soon_as_the_watch_starts_is_seen(tmp_path: Path) -> None:
    # An edit made right after the watcher's first step (a busy machine delays its digest thread) must be
    # served, whether the digest reads it (then the start-up load serves it) or not (then the next round does).
    main, shared = tmp_path / "main.mock", tmp_path / "shared.mock"
    main.write_text(MAIN % "one", encoding="utf-8")
    shared.write_text(SHARED % "x", encoding="utf-8")
    said: list[str] = []
    async with running_server(load_file(str(main)).cases[0]) as srv, httpx.AsyncClient(timeout=5) as http:
        task = asyncio.ensure_future(watch(str(main), srv.app.config["DOTMOCK_SCENARIO"], said.append, interval=0.02))
        try:
            await asyncio.sleep(0)
            main.write_text(MAIN % "two", encoding="utf-8")
            await eventually(lambda: answer(http, srv.base_url), "two")
        finally:
            task.cancel()
