"""The guard's rules on every endpoint added since it landed, tried as an attacking page would: every HTTP API
path of the catalogue (Gemini `:generateContent` paths, `count_tokens` included) and every WebSocket path
(Realtime included) refuse a foreign `Host` and a foreign `Origin` before the app sees them; the
`dotmock record` proxy, which forwards to a real upstream, does the same (docs/security.md)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from dotmock.dsl import load_text
from dotmock.dsl.catalogue import HTTP_ENDPOINTS, WS_ENDPOINTS
from dotmock.server.record_proxy import Recorded, running_proxy
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

MOCK = """\
scenario "every endpoint"

fixture "http" {
  match POST *
  response "Hi."
}

fixture "ws" {
  match websocket *
  response "Hi."
}
"""
CHAT = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
PATHS = [p.replace("{model}", "gemini-2.0-flash") for p in HTTP_ENDPOINTS]
FOREIGN = [
    ({"Host": "evil.example"}, "host_not_allowed"),
    ({"Origin": "http://127.0.0.1:1"}, "cross_origin_refused"),
    ({"Origin": "null"}, "cross_origin_refused"),
    ({"Sec-Fetch-Site": "cross-site"}, "cross_origin_refused"),
]
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@pytest.fixture
async def srv() -> Any:
    async with running_server(load_text(MOCK, "every.mock").cases[0]) as server:
        yield server


def refused_code(response: httpx.Response) -> str:
    assert response.status_code == 403, (response.request.url, response.status_code, response.text[:200])
    return str(response.json()["error"]["code"])


async def test_every_http_api_path_refuses_foreign_pages(srv: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in PATHS:
            for headers, code in FOREIGN:
                r = await http.post(srv.base_url + path, content=json.dumps(CHAT), headers=headers)
                assert refused_code(r) == code, path
        assert srv.journal.http == []
        for path in PATHS:  # and each reaches the app for an SDK (no Origin, loopback Host), as before
            r = await http.post(srv.base_url + path, json=CHAT)  # (Gemini without a key: its own 403)
            assert r.status_code < 500 and not any(code in r.text for _, code in FOREIGN), path
    assert len(srv.journal.http) == len(PATHS)


async def test_every_websocket_path_refuses_foreign_pages(srv: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in WS_ENDPOINTS:
            for headers, code in FOREIGN:
                with pytest.raises(WebSocketUpgradeError) as caught:
                    async with aconnect_ws(srv.base_url + path + "?model=m", http, headers=headers):
                        pass
                assert caught.value.response.status_code == 403, (path, headers)
                r = await http.get(srv.base_url + path + "?model=m", headers={**UPGRADE, **headers})
                assert refused_code(r) == code, (path, headers)
        assert srv.journal.websocket == []
        same = {"Origin": f"http://127.0.0.1:{srv.port}"}  # the panel's own origin may: its composer opens them
        async with aconnect_ws(srv.base_url + "/v1/realtime?model=m", http, headers=same) as ws:
            assert (await ws.receive_json())["type"] == "session.created"
    assert len(srv.journal.websocket) == 1


async def test_the_record_proxy_refuses_foreign_pages_and_forwards_nothing() -> None:
    records: list[Recorded] = []
    async with running_server(load_text(MOCK, "up.mock").cases[0]) as upstream:
        async with running_proxy(upstream.base_url, records.append) as proxy, httpx.AsyncClient(timeout=10) as http:
            for headers, code in FOREIGN:
                r = await http.post(proxy.base_url + "/v1/chat/completions", json=CHAT, headers=headers)
                assert refused_code(r) == code
                r = await http.get(proxy.base_url + "/_dotmock/journal", headers=headers)
                assert refused_code(r) == code
                r = await http.get(proxy.base_url + "/v1/realtime?model=m", headers={**UPGRADE, **headers})
                assert refused_code(r) == code
            assert upstream.journal.http == [] and upstream.journal.websocket == [] and records == []
            r = await http.post(proxy.base_url + "/v1/chat/completions", json=CHAT)  # an SDK's request
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "Hi."
    assert len(upstream.journal.http) == 1 and len(records) == 1


async def test_the_panel_file_api_names_only_the_served_files(srv: RunningServer) -> None:
    headers = {"X-Dotmock-Token": srv.token, "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        listed = (await http.get(srv.base_url + "/_dotmock/source")).json()["files"]
        for name in ("../../etc/passwd", "/etc/passwd", "../every.mock", "every.mock/../x.mock", "x\x00.mock"):
            for route in ("/_dotmock/validate", "/_dotmock/source"):
                body = json.dumps({"text": MOCK, "file": name})
                r = await http.post(srv.base_url + route, content=body, headers=headers)
                assert r.status_code == 404 and "is not one of the files" in r.json()["message"], (name, route)
        assert (await http.get(srv.base_url + "/_dotmock/source")).json()["files"] == listed
