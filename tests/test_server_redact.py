"""Credentials sent to dotmock are redacted in the journal (server.redact), so no report and no panel endpoint
shows them: a real-looking key goes through HTTP (the openai SDK) and WebSocket, then every report format,
the journal endpoint and the panel's endpoints are searched for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws

from dotmock.dsl import load_text
from dotmock.server.redact import (
    Secrets,
    redact_headers,
    redact_query,
    redact_secret,
    redact_subprotocols,
    redact_target,
    secrets_of,
)
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

KEY = "sk-proj-REALLOOKINGsecretKEY0123456789abcdWXYZ"
GOOGLE = "AIzaSyREALLOOKINGgoogleKEY98765qrst"
COOKIE = "session=COOKIEsecretVALUE424242zz"
SIGNATURE = "AMZsignatureSECRET0123456789"
SECRETS = [KEY, GOOGLE, "COOKIEsecretVALUE424242", "REALLOOKING", SIGNATURE]

CLIENT = f"""\
import asyncio, os, httpx, openai
from httpx_ws import aconnect_ws

KEY, GOOGLE, COOKIE = {KEY!r}, {GOOGLE!r}, {COOKIE!r}
extra = {{"x-api-key": KEY, "x-goog-api-key": GOOGLE, "api-key": KEY, "cookie": COOKIE,
         "proxy-authorization": "Basic " + KEY, "x-custom-auth-token": KEY}}
client = openai.OpenAI(api_key=KEY, base_url=os.environ["OPENAI_BASE_URL"], default_headers=extra, max_retries=0)
hello = [{{"role": "user", "content": "Hello"}}]
print(client.chat.completions.create(model="m", messages=hello).choices[0].message.content)

async def ws():
    async with httpx.AsyncClient() as http, aconnect_ws(
        os.environ["DOTMOCK_WS_URL"] + "/v1/chat?key=" + GOOGLE, http,
        headers={{"Authorization": "Bearer " + KEY, **extra}},
    ) as sock:
        await sock.send_json({{"type": "message", "data": {{"model": "m", "messages": hello}}}})
        print((await sock.receive_json())["type"])
    # the openai SDK's realtime client in a browser: the key in the subprotocols; a signed URL's query
    async with httpx.AsyncClient() as http, aconnect_ws(
        os.environ["DOTMOCK_WS_URL"] + "/v1/realtime?model=gpt-realtime", http,
        subprotocols=["realtime", "openai-insecure-api-key." + KEY, "openai-beta.realtime-v1"],
    ) as sock:
        print((await sock.receive_json())["type"])
    await http_get(os.environ["DOTMOCK_URL"] + "/v1/models?X-Amz-Signature=" + {SIGNATURE!r} + "&client_secret=" + KEY)
async def http_get(url):
    async with httpx.AsyncClient() as http:
        print((await http.get(url)).status_code)
asyncio.run(ws())
# a careless client prints what it sent: the runner quotes its output as evidence
print("debug: Authorization: Bearer " + KEY, "x-goog-api-key:", GOOGLE)
import sys
print("error: the key " + KEY + " was refused", file=sys.stderr)
"""

FIXTURES = """
fixture "http" {
  match POST /v1/chat/completions { header "Authorization" contains "Bearer sk-proj-" }
  response "matched on the real header"
}

fixture "ws" {
  match websocket /v1/chat
  response "hello over ws"
}
"""
MOCK = (
    """\
scenario "leaky ${expect}"
client "python leaky.py"
params {
  | expect |
  | 0      |
  | 3      |
}
"""
    + FIXTURES
    + "\nexpect { client exits ${expect} }\n"
)


def test_a_key_sent_over_http_and_websocket_is_in_no_report(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(CLIENT, encoding="utf-8")
    (tmp_path / "leaky.mock").write_text(MOCK, encoding="utf-8")
    reports = ["r.xml", "r.json", "r.md", "r.html"]
    args = ["--junit", "r.xml", "--json", "r.json", "--markdown", "r.md", "--html", "r.html", "-v"]
    proc = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", "leaky.mock", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GITHUB_STEP_SUMMARY": ""},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one row passes, the other expects exit 3
    assert "matched on the real header" in proc.stdout + (tmp_path / "r.json").read_text()
    outputs = {name: (tmp_path / name).read_text(encoding="utf-8") for name in reports}
    outputs["terminal"] = proc.stdout + proc.stderr
    for name, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, (name, secret)
    journal = outputs["r.json"]
    assert "Bearer ***…WXYZ" in journal  # the marker and the last 4 characters
    assert "***…qrst" in journal and "***…42zz" in journal
    assert "openai-insecure-api-key.***…WXYZ" in journal
    assert "debug: Authorization: Bearer ***…WXYZ" in outputs["terminal"] + journal  # the quoted output, scrubbed
    assert "error: the key ***…WXYZ was refused" in outputs["terminal"]


async def test_the_journal_and_panel_endpoints_show_only_redacted_values(tmp_path: Path) -> None:
    scenario = load_text('scenario "served"\n' + FIXTURES, str(tmp_path / "s.mock"))
    async with running_server(scenario.cases[0]) as srv, httpx.AsyncClient(timeout=10) as http:
        headers = {"Authorization": f"Bearer {KEY}", "x-goog-api-key": GOOGLE, "Cookie": COOKIE}
        body = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
        answer = await http.post(srv.base_url + f"/v1/chat/completions?key={GOOGLE}", json=body, headers=headers)
        assert answer.status_code == 200 and "matched on the real header" in answer.text
        async with aconnect_ws(srv.ws_url.replace("ws:", "http:") + f"/v1/chat?key={GOOGLE}", http, headers=headers):
            pass
        for path in ("/_dotmock/journal", "/_dotmock/scenario", "/_dotmock/source"):
            text = (await http.get(srv.base_url + path)).text
            assert KEY not in text and GOOGLE not in text and "COOKIEsecret" not in text, path
        journal = (await http.get(srv.base_url + "/_dotmock/journal")).json()
        assert journal["http"][0]["headers"]["authorization"] == "Bearer ***…WXYZ"
        assert journal["websocket"][0]["headers"]["x-goog-api-key"] == "***…qrst"
        assert journal["websocket"][0]["headers"]["cookie"] == "***…42zz"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (f"Bearer {KEY}", "Bearer ***…WXYZ"),
        (KEY, "***…WXYZ"),
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic ***…ZA=="),
        ("Bearer short", "Bearer ***"),
        ("dummy", "***"),
        ("", ""),
    ],
)
def test_redact_secret(value: str, shown: str) -> None:
    assert redact_secret(value) == shown


def test_redact_headers_keeps_the_others() -> None:
    headers = {
        "authorization": f"Bearer {KEY}",
        "x-stainless-retry-count": "1",
        "idempotency-key": "stainless-retry-1234567890",
        "openai-api-key": KEY,
        "x-auth-token": KEY,
        "content-type": "application/json",
    }
    assert redact_headers(headers) == {
        "authorization": "Bearer ***…WXYZ",
        "x-stainless-retry-count": "1",
        "idempotency-key": "stainless-retry-1234567890",
        "openai-api-key": "***…WXYZ",
        "x-auth-token": "***…WXYZ",
        "content-type": "application/json",
    }


def test_redact_subprotocols() -> None:
    sent = f"realtime, openai-insecure-api-key.{KEY}, openai-beta.realtime-v1, openai-organization.org-1"
    assert redact_headers({"sec-websocket-protocol": sent}) == {
        "sec-websocket-protocol": "realtime, openai-insecure-api-key.***…WXYZ, openai-beta.realtime-v1, "
        "openai-organization.org-1"
    }
    assert redact_subprotocols(f"token, {KEY}") == "token, ***…WXYZ"  # Deepgram's browser form
    assert redact_subprotocols("chat, superchat") == "chat, superchat"


def test_secrets_scrubbed_from_text() -> None:
    secrets = Secrets()
    secrets.note(
        {"authorization": f"Bearer {KEY}", "sec-websocket-protocol": f"openai-insecure-api-key.{GOOGLE}"},
        f"X-Amz-Signature={SIGNATURE}&alt=sse&key=short",
    )
    assert secrets_of({"cookie": COOKIE}) >= {"COOKIEsecretVALUE424242zz"}
    text = f"sent {KEY} and {GOOGLE}, signed {SIGNATURE}; key short; model gpt-4o"
    assert secrets.scrub(text) == "sent ***…WXYZ and ***…qrst, signed ***…6789; key short; model gpt-4o"


def test_redact_query() -> None:
    assert redact_query(f"alt=sse&key={GOOGLE}") == "alt=sse&key=***…qrst"
    for name in ("api_key", "api-key", "X-Amz-Signature", "X-Amz-Credential", "client_secret", "refresh_token", "sig"):
        assert redact_query(f"a=1&{name}={GOOGLE}") == f"a=1&{name}=***…qrst", name
    assert redact_query("alt=sse&model=gpt-4o&max_tokens=5&keyword=x") == "alt=sse&model=gpt-4o&max_tokens=5&keyword=x"
    assert redact_target(f"/v1beta/models/x:streamGenerateContent?key={GOOGLE}&alt=sse") == (
        "/v1beta/models/x:streamGenerateContent?key=***…qrst&alt=sse"
    )
    assert redact_target("/v1/chat") == "/v1/chat"
