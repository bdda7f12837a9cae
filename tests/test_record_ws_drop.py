"""`dotmock record` and a WebSocket upstream that drops (no close frame): the proxy drops the client's
connection the same way (never a 1011 close frame), and the `.mock` it writes replays the drop as the matching
fault: `closeCode 1006` for a drop right after the last event, `disconnectAfterMs` for one mid-answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, aconnect_ws

from dotmock.dsl.cli import check_main
from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

UPSTREAM = """scenario "dropping upstream"

fixture "dropped after its events" {
  match websocket /v1/chat { message contains "after" }
  events {
    "response.created" {"id": "r1"}
    "response.text.delta" {"delta": "Hel"} after 20ms
  }
  closeCode 1006
}

fixture "dropped mid-answer" {
  match websocket /v1/chat { message contains "mid" }
  events {
    "response.created" {"id": "r2"}
    "response.text.delta" {"delta": "Hel"} after 30ms
    "response.text.delta" {"delta": "lo"} after 500ms
  }
  disconnectAfterMs 250
}

fixture "closed" {
  match websocket /v1/chat { message contains "close" }
  events {
    "response.created" {"id": "r3"}
  }
  closeAfter
  closeCode 4001
}
"""


async def _talk(ws_url: str, text: str) -> tuple[list[Any], str]:
    """The frames a client gets for one message, and how the connection ended: `drop` (no close frame) or
    `close <code>`."""
    frames: list[Any] = []
    async with httpx.AsyncClient(timeout=10) as http:
        async with aconnect_ws(ws_url + "/v1/chat", http) as ws:
            message = {"model": "m", "messages": [{"role": "user", "content": text}]}
            await ws.send_json({"type": "message", "data": message})
            try:
                while True:
                    frames.append(await ws.receive_json(timeout=5))
            except WebSocketNetworkError:
                return frames, "drop"
            except WebSocketDisconnect as err:
                return frames, f"close {err.code}"
    raise AssertionError("unreachable")


async def test_a_dropped_upstream_is_dropped_for_the_client_and_replayed_as_a_drop(tmp_path: Path) -> None:
    records: list[Recorded] = []
    live: dict[str, tuple[list[Any], str]] = {}
    async with running_server(load_text(UPSTREAM, "up.mock").cases[0]) as upstream:
        direct = {text: await _talk(upstream.ws_url, text) for text in ("after", "mid", "close")}
        async with running_proxy(upstream.base_url, records.append) as proxy:
            for text in ("after", "mid", "close"):
                live[text] = await _talk("ws" + proxy.base_url[4:], text)
    assert live == direct  # through the proxy exactly as without it: the drops are drops, not 1011
    assert [end for _, end in live.values()] == ["drop", "drop", "close 4001"]
    assert len(live["mid"][0]) == 2  # the third event was due after the drop

    text = format_text(merge(None, fixtures_text(records), header="# recorded\n"), "r.mock")
    path = tmp_path / "r.mock"
    path.write_text(text, encoding="utf-8")
    assert check_main([str(path)]) == 0
    blocks = text.split("\nfixture ")[1:]
    assert "closeCode 1006" in blocks[0] and "disconnectAfterMs" not in blocks[0]
    assert "disconnectAfterMs 2" in blocks[1] and "closeCode" not in blocks[1]  # 250 ms and a little
    assert "closeCode 4001" in blocks[2]

    async with running_server(load_text(text, str(path)).cases[0]) as replay:
        again = {t: await _talk(replay.ws_url, t) for t in ("after", "mid", "close")}
        faults = [c.faults for c in replay.journal.websocket]
    assert again == live
    assert faults == [["closeCode1006"], ["disconnectAfterMs"], []]


BINARY = """fixture "binary" {
  match websocket /v1/chat
  events {
    "response.created" {"id": "r1"}
    binary "AAEC/w==" after 20ms
  }
  closeAfter
}
"""


async def _frames(ws_url: str) -> list[Any]:
    """Every frame of the answer, a text one as its JSON, a binary one as its bytes, until the close."""
    out: list[Any] = []
    async with httpx.AsyncClient(timeout=10) as http:
        async with aconnect_ws(ws_url + "/v1/chat", http) as ws:
            await ws.send_json({"type": "message", "data": {"model": "m", "messages": []}})
            with pytest.raises(WebSocketDisconnect):
                while True:
                    frame = await ws.receive(timeout=5)
                    out.append(json.loads(frame.data) if isinstance(frame.data, str) else bytes(frame.data))
    return out


async def test_a_binary_frame_is_recorded_as_a_binary_event_and_replayed() -> None:
    records: list[Recorded] = []
    async with running_server(load_text(BINARY, "b.mock").cases[0]) as upstream:
        async with running_proxy(upstream.base_url, records.append) as proxy:
            live = await _frames("ws" + proxy.base_url[4:])
    assert live == [{"type": "response.created", "data": {"id": "r1"}}, b"\x00\x01\x02\xff"]
    text = format_text(merge(None, fixtures_text(records), header="# recorded\n"), "b.mock")
    assert 'binary "AAEC/w=="' in text and "not recorded" not in text
    async with running_server(load_text(text, "b.mock").cases[0]) as replay:
        assert await _frames(replay.ws_url) == live


def test_check_refuses_a_binary_frame_not_in_base64(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.mock"
    path.write_text('fixture "f" {\n  match websocket /v1/chat\n  events {\n    binary "not base64!"\n  }\n}\n')
    assert check_main([str(path)]) != 0
    err = capsys.readouterr().err
    assert "bad.mock:4:12" in err and "a binary frame's bytes are written in base64" in err
