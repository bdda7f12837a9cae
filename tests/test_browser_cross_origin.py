"""Attacking pages in real Chromium against `dotmock serve --allow-write` (server.guard, docs/security.md).

A page served from another loopback port and a page opened from a `file://` URL try everything a page can:
read the journal and the source, POST a new scenario (fetch no-cors with text/plain, a `<form>` with every
enctype, fetch with JSON and a guessed token), reset the journal, drive the LLM endpoint and open a WebSocket.
None may read anything or change anything: the `.mock` file, the served scenario and the journal are
checked afterwards from outside the browser.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import launched_browser
from playwright.sync_api import Browser

MOCK = """\
scenario "victim"
client "python -c 'print(1)'"

fixture "hello" {
  match POST /v1/chat/completions
  response "Hi."
}

fixture "ws" {
  match websocket /v1/chat
  response "Hi."
}
"""
EVIL = 'scenario "owned"\nclient "touch /tmp/dotmock-pwned"\nfixture "x" { match POST * response "owned" }\n'

ATTACK = """<!doctype html><meta charset="utf-8"><title>attack</title>
<body>
<script>
const T = "%(target)s", EVIL = %(evil)s;
const results = {};
window.results = results;
async function attempt(name, f) {
  try { results[name] = "ok: " + String(await f()).slice(0, 200); }
  catch (e) { results[name] = "failed: " + e; }
}
function form(path, enctype) {
  return new Promise((resolve) => {
    const frame = document.createElement("iframe");
    frame.name = "f" + Math.random();
    document.body.appendChild(frame);
    const f = document.createElement("form");
    f.method = "POST"; f.action = T + path; f.enctype = enctype; f.target = frame.name;
    const i = document.createElement("input");
    i.name = '{"text": ' + JSON.stringify(EVIL).slice(0, -1) + '", "x": "'; i.value = '"}';
    f.appendChild(i); document.body.appendChild(f);
    frame.onload = () => resolve("submitted"); f.submit();
    setTimeout(() => resolve("submitted (no load event)"), 3000);
  });
}
function ws() {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(T.replace("http", "ws") + "/v1/chat");
    s.onopen = () => { s.send(JSON.stringify({type: "message", data: {model: "m", messages: []}}));
                       resolve("opened"); };
    s.onerror = () => reject(new Error("websocket error"));
  });
}
(async () => {
  for (const path of ["/_dotmock/journal", "/_dotmock/source", "/_dotmock/scenario", "/_dotmock/"]) {
    await attempt("read " + path, async () => (await fetch(T + path)).text());
    await attempt("read-credentials " + path, async () => (await fetch(T + path, {credentials: "include"})).text());
  }
  for (const path of ["/_dotmock/source", "/_dotmock/validate", "/_dotmock/reset"]) {
    await attempt("no-cors " + path, async () => (await fetch(T + path, {method: "POST", mode: "no-cors",
      headers: {"content-type": "text/plain"}, body: JSON.stringify({text: EVIL})})).type);
    await attempt("json " + path, async () => (await fetch(T + path, {method: "POST",
      headers: {"content-type": "application/json", "x-dotmock-token": "guess"},
      body: JSON.stringify({text: EVIL})})).status);
    for (const enctype of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      await attempt("form " + enctype + " " + path, () => form(path, enctype));
    }
  }
  await attempt("no-cors llm", async () => (await fetch(T + "/v1/chat/completions", {method: "POST",
    mode: "no-cors", body: JSON.stringify({model: "m", messages: [{role: "user", content: "x"}]})})).type);
  await attempt("websocket", ws);
  document.body.dataset.done = "true";
})();
</script>
"""


class Served:
    """`dotmock serve --allow-write` on a free loopback port; its token read from its start-up message."""

    def __init__(self, mock: Path) -> None:
        self.mock = mock
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dotmock", "serve", str(mock), "--port", "0", "--allow-write"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.token = ""
        for _ in range(3):
            line = self.proc.stderr.readline()
            if "control token" in line:
                self.token = line.rsplit(" ", 1)[1].strip()
                break
        assert self.token

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as res:
            return json.load(res)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    mock = tmp_path_factory.mktemp("victim") / "victim.mock"
    mock.write_text(MOCK, encoding="utf-8")
    served = Served(mock)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_browser() as b:
        yield b


def attack_page(folder: Path, victim: Served) -> Path:
    page = folder / "attack.html"
    page.write_text(ATTACK % {"target": victim.url, "evil": json.dumps(EVIL)}, encoding="utf-8")
    return page


def run_attack(browser: Browser, url: str) -> dict[str, str]:
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_selector("body[data-done=true]", timeout=60_000)
        results: dict[str, str] = page.evaluate("window.results")
    finally:
        page.close()
    return results


def assert_nothing_read_or_changed(results: dict[str, str], victim: Served) -> None:
    source = victim.get("/_dotmock/source")
    assert source["scenario"] == "victim" and source["text"] == MOCK
    assert victim.mock.read_text(encoding="utf-8") == MOCK
    journal = victim.get("/_dotmock/journal")
    assert len(journal["http"]) == 1 and journal["websocket"] == [], journal  # the setup's request only
    for name, outcome in results.items():
        if name.startswith(("read", "json", "websocket")):
            assert outcome.startswith("failed"), (name, outcome)  # blocked by the browser: nothing was read


@pytest.fixture(scope="module", autouse=True)
def one_journaled_request(victim: Served) -> None:
    """A request before the attacks: a reset by an attacker would erase it."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(victim.url + "/v1/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as res:
        assert res.status == 200


def test_a_page_on_another_loopback_port_can_neither_read_nor_write(
    browser: Browser, victim: Served, tmp_path: Path
) -> None:
    attack_page(tmp_path, victim)
    handler = lambda *a: _Quiet(*a, directory=str(tmp_path))  # noqa: E731
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as site:
        threading.Thread(target=site.serve_forever, daemon=True).start()
        try:
            for host in ("127.0.0.1", "localhost"):
                results = run_attack(browser, f"http://{host}:{site.server_address[1]}/attack.html")
                assert len(results) > 20
                assert_nothing_read_or_changed(results, victim)
        finally:
            site.shutdown()


def test_a_file_page_can_neither_read_nor_write(browser: Browser, victim: Served, tmp_path: Path) -> None:
    results = run_attack(browser, attack_page(tmp_path, victim).as_uri())
    assert len(results) > 20
    assert_nothing_read_or_changed(results, victim)


def test_the_panel_itself_still_saves(browser: Browser, victim: Served) -> None:
    """The control: the same browser on the panel's own page can write (with the token the page carries)."""
    page = browser.new_page()
    try:
        page.goto(victim.url + "/_dotmock/")
        page.wait_for_selector("body[data-ready=true]", timeout=10_000)
        token = page.get_attribute('meta[name="dotmock-token"]', "content")
        assert token == victim.token
        status = page.evaluate(
            """async (text) => (await fetch("/_dotmock/validate", {method: "POST",
                 headers: {"content-type": "application/json", "x-dotmock-token": document.querySelector(
                   'meta[name="dotmock-token"]').content}, body: JSON.stringify({text})})).status""",
            MOCK,
        )
        assert status == 200
    finally:
        page.close()
