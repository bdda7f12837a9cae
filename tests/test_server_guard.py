"""server.guard: loopback Host names only, no foreign origins, token + JSON on control writes (docs/security.md).

Every panel and control endpoint, the LLM endpoints and the WebSocket handshake are tried the way an attacking
page's browser would send them (foreign Host, another origin, `Origin: null`, text/plain and form bodies,
missing or forged token), against a real server on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from dotmock.dsl import load_file
from dotmock.server.guard import split_host
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

MOCK = """\
scenario "guarded"

fixture "hello" {
  match POST /v1/chat/completions
  response "Hi."
}

fixture "ws hello" {
  match websocket /v1/chat
  response "Hi."
}
"""
EVIL = """\
scenario "evil"
client "touch /tmp/pwned"

fixture "x" {
  match POST /v1/chat/completions
  response "owned"
}
"""
CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
READS = ["/_dotmock/journal", "/_dotmock/source", "/_dotmock/scenario", "/_dotmock/static/panel.js"]
WRITES = ["/_dotmock/source", "/_dotmock/validate", "/_dotmock/reset"]


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[RunningServer]:
    path = tmp_path / "guarded.mock"
    path.write_text(MOCK, encoding="utf-8")
    async with running_server(load_file(str(path)).cases[0]) as server:
        server.app.config["DOTMOCK_ALLOW_WRITE"] = True  # as `dotmock serve --allow-write`: the worst case
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/json"
    assert "access-control-allow-origin" not in response.headers
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


async def scenario_unchanged(srv: RunningServer, http: httpx.AsyncClient) -> None:
    source = (await http.get(srv.base_url + "/_dotmock/source")).json()
    assert source["scenario"] == "guarded" and source["text"] == MOCK
    assert Path(source["disk_path"]).read_text(encoding="utf-8") == MOCK


def own(srv: RunningServer, **extra: str) -> dict[str, str]:
    return {"X-Dotmock-Token": srv.token, "Content-Type": "application/json", **extra}


async def test_the_token_and_json_let_a_script_write(srv: RunningServer, http: httpx.AsyncClient) -> None:
    ok = await http.post(srv.base_url + "/_dotmock/validate", json={"text": MOCK}, headers=own(srv))
    assert ok.status_code == 200 and ok.json()["ok"] is True
    reset = await http.post(srv.base_url + "/_dotmock/reset", content=b"{}", headers=own(srv))
    assert reset.json() == {"ok": True}


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Content-Type": "application/json"}, "token_required"),
        ({"Content-Type": "application/json", "X-Dotmock-Token": "guess"}, "token_invalid"),
        ({"Content-Type": "application/json", "X-Dotmock-Token": ""}, "token_invalid"),
        ({"Content-Type": "text/plain"}, "token_required"),
        ({"Content-Type": "text/plain", "X-Dotmock-Token": "TOKEN"}, "json_required"),
        ({"Content-Type": "application/x-www-form-urlencoded", "X-Dotmock-Token": "TOKEN"}, "json_required"),
        ({"Content-Type": "multipart/form-data; boundary=x", "X-Dotmock-Token": "TOKEN"}, "json_required"),
        ({"X-Dotmock-Token": "TOKEN"}, "json_required"),
    ],
)
async def test_control_writes_without_token_or_json_are_refused(
    srv: RunningServer, http: httpx.AsyncClient, path: str, headers: dict[str, str], code: str
) -> None:
    headers = {k: (srv.token if v == "TOKEN" else v) for k, v in headers.items()}
    response = await http.post(srv.base_url + path, content=json.dumps({"text": EVIL}), headers=headers)
    refused(response, code)
    await scenario_unchanged(srv, http)


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize(
    "browser",
    [
        {"Origin": "http://127.0.0.1:1"},  # a page on another loopback port
        {"Origin": "http://localhost:8000"},
        {"Origin": "null"},  # a file:// page, a sandboxed frame
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "same-site"},  # another port of the same host, Origin stripped by a proxy
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "none"},
    ],
)
async def test_cross_origin_writes_are_refused_even_with_the_token(
    srv: RunningServer, http: httpx.AsyncClient, path: str, browser: dict[str, str]
) -> None:
    response = await http.post(srv.base_url + path, json={"text": EVIL}, headers=own(srv, **browser))
    refused(response, "cross_origin_refused")
    await scenario_unchanged(srv, http)


async def test_a_form_or_text_plain_csrf_post_changes_nothing(srv: RunningServer, http: httpx.AsyncClient) -> None:
    """What a page's <form method=post> or fetch(mode: no-cors) sends: no custom header, a 'simple' type."""
    for kind, body in [
        ("text/plain", '{"text": ' + repr(EVIL).replace("'", '"') + "}"),
        ("application/x-www-form-urlencoded", "text=" + EVIL),
    ]:
        for origin in ("http://127.0.0.1:9", "null"):
            headers = {"Content-Type": kind, "Origin": origin, "Sec-Fetch-Site": "same-site"}
            refused(
                await http.post(srv.base_url + "/_dotmock/source", content=body, headers=headers),
                "cross_origin_refused",
            )
    await scenario_unchanged(srv, http)


async def test_the_panels_own_origin_is_accepted(srv: RunningServer, http: httpx.AsyncClient) -> None:
    for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}"):
        origin = {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
        response = await http.post(srv.base_url + "/_dotmock/validate", json={"text": MOCK}, headers=own(srv, **origin))
        assert response.status_code == 200, response.text
        read = await http.get(
            srv.base_url + "/_dotmock/journal", headers={"Host": host, "Sec-Fetch-Site": "same-origin"}
        )
        assert read.status_code == 200


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(
    "browser",
    [
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
    ],
)
async def test_cross_origin_reads_are_refused(
    srv: RunningServer, http: httpx.AsyncClient, path: str, browser: dict[str, str]
) -> None:
    refused(await http.get(srv.base_url + path, headers=browser), "cross_origin_refused")


async def test_a_typed_address_and_a_link_open_the_panel(srv: RunningServer, http: httpx.AsyncClient) -> None:
    typed = await http.get(srv.base_url + "/_dotmock/journal", headers={"Sec-Fetch-Site": "none"})
    assert typed.status_code == 200
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    page = await http.get(srv.base_url + "/_dotmock/", headers=link)
    assert page.status_code == 200
    assert f'<meta name="dotmock-token" content="{srv.token}">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    framed = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "iframe"}
    refused(await http.get(srv.base_url + "/_dotmock/", headers=framed), "cross_origin_refused")


FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:80",
    "attacker.test:" + "8000",
    "127.0.0.1.nip.io",
    "localhost.evil",
    "x",
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
async def test_a_foreign_host_is_refused_everywhere(srv: RunningServer, http: httpx.AsyncClient, host: str) -> None:
    """DNS rebinding: the attacker's name resolves to 127.0.0.1, so the browser sends Host: <their name>."""
    for path in [*READS, "/_dotmock/"]:
        refused(await http.get(srv.base_url + path, headers={"Host": host}), "host_not_allowed")
    for path in WRITES:
        response = await http.post(srv.base_url + path, json={"text": EVIL}, headers=own(srv, Host=host))
        refused(response, "host_not_allowed")
    for path in ("/v1/chat/completions", "/v1/responses"):
        refused(await http.post(srv.base_url + path, json=CHAT_BODY, headers={"Host": host}), "host_not_allowed")
    assert srv.journal.http == []  # refused requests never reach the app
    await scenario_unchanged(srv, http)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.2", "LOCALHOST"])
async def test_loopback_names_with_any_port_are_answered(
    srv: RunningServer, http: httpx.AsyncClient, host: str
) -> None:
    for value in (host, f"{host}:{srv.port}", f"{host}:1"):
        response = await http.post(srv.base_url + "/v1/chat/completions", json=CHAT_BODY, headers={"Host": value})
        assert response.status_code == 200, (value, response.text)


async def test_llm_endpoints_refuse_foreign_pages_but_not_sdks(srv: RunningServer, http: httpx.AsyncClient) -> None:
    ok = await http.post(srv.base_url + "/v1/chat/completions", json=CHAT_BODY)
    assert ok.status_code == 200
    csrf = {"Origin": "http://localhost:3000", "Content-Type": "text/plain"}
    refused(
        await http.post(srv.base_url + "/v1/chat/completions", content=json.dumps(CHAT_BODY), headers=csrf),
        "cross_origin_refused",
    )
    assert len(srv.journal.http) == 1


async def ws_refused(srv: RunningServer, headers: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(WebSocketUpgradeError) as caught:
            async with aconnect_ws(srv.base_url + "/v1/chat", http, headers=headers):
                pass
        assert caught.value.response.status_code == 403
        upgrade = {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            **headers,
        }
        response = await http.get(srv.base_url + "/v1/chat", headers=upgrade)
    assert response.status_code == 403
    return dict(response.json()["error"])


async def test_websocket_handshakes_follow_the_same_rules(srv: RunningServer) -> None:
    assert (await ws_refused(srv, {"Host": "evil.example"}))["code"] == "host_not_allowed"
    assert (await ws_refused(srv, {"Origin": "http://127.0.0.1:1"}))["code"] == "cross_origin_refused"
    assert (await ws_refused(srv, {"Origin": "null"}))["code"] == "cross_origin_refused"
    assert srv.journal.websocket == []
    same = {"Origin": f"http://127.0.0.1:{srv.port}"}
    async with httpx.AsyncClient(timeout=10) as http, aconnect_ws(srv.base_url + "/v1/chat", http, headers=same) as ws:
        await ws.send_json({"type": "message", "data": CHAT_BODY})
        assert (await ws.receive_json())["type"]
    assert len(srv.journal.websocket) == 1


async def test_an_allowed_host_is_answered(tmp_path: Path) -> None:
    path = tmp_path / "guarded.mock"
    path.write_text(MOCK, encoding="utf-8")
    async with (
        running_server(load_file(str(path)).cases[0], allowed_hosts=["mock.internal"]) as srv,
        httpx.AsyncClient(timeout=10) as http,
    ):
        for host in ("mock.internal", "mock.internal:8000", "MOCK.internal"):
            response = await http.get(srv.base_url + "/_dotmock/journal", headers={"Host": host})
            assert response.status_code == 200, host
        refused(
            await http.get(srv.base_url + "/_dotmock/journal", headers={"Host": "other.internal"}), "host_not_allowed"
        )


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", "8000")),
        ("[::1]:80", ("::1", "80")),
        ("[::1]", ("::1", "")),
        ("LocalHost", ("localhost", "")),
        ("::1", None),  # an IPv6 address must be bracketed
        ("[::1", None),
        ("[evil]:80", None),
        ("a:b", None),
        ("a:1:2", None),
        (":80", None),
        ("a:123456", None),
    ],
)
def test_split_host(value: str, parts: tuple[str, str] | None) -> None:
    assert split_host(value) == parts


async def test_control_answers_are_not_cached_sniffed_or_embeddable(
    srv: RunningServer, http: httpx.AsyncClient
) -> None:
    """Every answer under /_dotmock/ (reads, the panel, its files, a 404, a 405, a write) carries the headers
    that keep another origin from loading it as a script or image, a cache from keeping the journal, a
    browser from sniffing JSON as HTML; the API paths' answers are left as the providers send them."""
    answers = [
        await http.get(srv.base_url + path) for path in [*READS, "/_dotmock/", "/_dotmock/nope", "/_dotmock/reset"]
    ]
    answers.append(await http.post(srv.base_url + "/_dotmock/reset", json={}, headers=own(srv)))
    assert [a.status_code for a in answers] == [200] * 5 + [404, 405, 200]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url
        assert answer.headers["cache-control"] == "no-store", answer.url
        assert answer.headers["cross-origin-resource-policy"] == "same-origin", answer.url
        assert answer.headers["cross-origin-opener-policy"] == "same-origin", answer.url
    api = await http.post(srv.base_url + "/v1/chat/completions", json=CHAT_BODY)
    assert api.status_code == 200 and "cross-origin-resource-policy" not in api.headers


async def test_a_websocket_handshake_to_the_panel_page_follows_the_origin_rule(srv: RunningServer) -> None:
    """Opening the panel page by navigation is the one exception to the Origin rule; a WebSocket handshake to
    the same path is not a navigation."""
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": "http://evil.example",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(srv.base_url + "/_dotmock/", headers=upgrade)
    assert response.status_code == 403 and response.json()["error"]["code"] == "cross_origin_refused"
