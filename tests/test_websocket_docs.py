"""docs/websocket.md's Python client snippet works against the real server, drop included."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from dotmock.dsl.model import Fixture, Match, Scenario, WsEvent, WsOutcome
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[1] / "docs" / "websocket.md"


async def test_the_httpx_ws_snippet_prints_the_events_and_notices_the_drop(tmp_path: Path) -> None:
    snippet = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]
    script = tmp_path / "client.py"
    script.write_text(snippet)
    events = (WsEvent("response.created", {"id": "resp_1"}), WsEvent("response.text.delta", {"delta": "Hel"}, 0.05))
    fixture = Fixture("seed", Match("websocket", None, "/v1/chat"), WsOutcome(events=events, disconnect_after_ms=200))
    scenario = Scenario(name="doc", path="doc.mock", base_dir=".", fixtures=(fixture,))
    async with running_server(scenario) as srv:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            env={**os.environ, "DOTMOCK_WS_URL": srv.ws_url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().splitlines() == [
        "response.created {'id': 'resp_1'}",
        "response.text.delta {'delta': 'Hel'}",
        "connection dropped (1006): reconnect and resend",
    ]
