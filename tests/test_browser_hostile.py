"""Attacking pages in real Chromium against the WebSocket endpoints and `dotmock record` (server.guard,
docs/security.md), beside tests/test_browser_cross_origin.py (the panel and control endpoints).

A page on another loopback port opens every WebSocket endpoint of `dotmock serve` and of a `dotmock record`
proxy in front of it — plain, and with the subprotocols the openai SDK's realtime client sends in a browser
(`openai-insecure-api-key.KEY`) — and calls the proxy over HTTP. A DNS-rebinding page (a name the browser
resolves to 127.0.0.1, so its requests are same-origin for the browser) reads the journal and the source and
drives the proxy. Nothing may open, nothing may be read, nothing may reach the upstream or the recording.
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

fixture "hello" {
  match POST /v1/chat/completions
  response "Hi."
}

fixture "ws" {
  match websocket /v1/chat
  response "Hi."
}

fixture "responses ws" {
  match websocket /v1/responses
  response "Hi."
}

fixture "realtime" {
  match websocket /v1/realtime
  response "Hi."
}
"""
WS_PATHS = ["/v1/chat", "/v1/responses", "/v1/realtime?model=gpt-realtime"]
REBIND = "rebind.test"

ATTACK = """<!doctype html><meta charset="utf-8"><body><script>
const results = {}; window.results = results;
function ws(url, protocols) {
  return new Promise((resolve) => {
    let s;
    try { s = new WebSocket(url, protocols); } catch (e) { resolve("failed: " + e); return; }
    s.onopen = () => s.send(JSON.stringify({type: "response.create", response: {}}));
    s.onmessage = (m) => { resolve("ok: read " + String(m.data).slice(0, 80)); s.close(); };
    s.onerror = () => resolve("failed: websocket error");
    setTimeout(() => resolve("failed: timeout"), 5000);
  });
}
async function read(url) {
  try { const r = await fetch(url, {method: "POST", headers: {"content-type": "text/plain"},
          body: JSON.stringify({model: "m", messages: [{role: "user", content: "x"}]})});
        return "ok: " + r.status + " " + (await r.text()).slice(0, 80); }
  catch (e) { return "failed: " + e; }
}
(async () => {
  for (const base of %(bases)s) {
    for (const path of %(paths)s) {
      results["ws " + base + path] = await ws(base.replace("http", "ws") + path);
      results["ws-key " + base + path] = await ws(base.replace("http", "ws") + path,
        ["realtime", "openai-insecure-api-key.sk-attacker", "openai-beta.realtime-v1"]);
    }
    results["http " + base] = await read(base + "/v1/chat/completions");
  }
  document.body.dataset.done = "true";
})();
</script>
"""


class Started:
    """A dotmock command on a free loopback port: its URL is the first line it prints."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dotmock", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as res:
            return json.load(res)

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=20)
        return err


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Started, Started, Path]]:
    folder = tmp_path_factory.mktemp("victim")
    (folder / "victim.mock").write_text(MOCK, encoding="utf-8")
    served = Started("serve", str(folder / "victim.mock"), "--port", "0")
    recording = folder / "recorded.mock"
    proxy = Started("record", "--upstream", served.url, "-o", str(recording))
    try:
        yield served, proxy, recording
    finally:
        proxy.stop()
        served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_browser([f"--host-resolver-rules=MAP {REBIND} 127.0.0.1"]) as b:
        yield b


def assert_untouched(served: Started, recording: Path) -> None:
    journal = served.get("/_dotmock/journal")
    assert journal["http"] == [] and journal["websocket"] == [], journal  # nothing reached the upstream
    assert not recording.exists() or "\nfixture " not in recording.read_text(encoding="utf-8")


def test_a_foreign_page_opens_no_websocket_of_serve_or_record(
    browser: Browser, victim: tuple[Started, Started, Path], tmp_path: Path
) -> None:
    served, proxy, recording = victim
    bases = [served.url, proxy.url]
    (tmp_path / "attack.html").write_text(
        ATTACK % {"bases": json.dumps(bases), "paths": json.dumps(WS_PATHS)}, encoding="utf-8"
    )
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as site:
        threading.Thread(target=site.serve_forever, daemon=True).start()
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{site.server_address[1]}/attack.html")
            page.wait_for_function("document.body.dataset.done === 'true'", timeout=90_000)
            results: dict[str, str] = page.evaluate("window.results")
            page.close()
        finally:
            site.shutdown()
    assert len(results) == len(bases) * (2 * len(WS_PATHS) + 1)
    for name, outcome in results.items():
        assert outcome.startswith("failed"), (name, outcome)
    assert_untouched(served, recording)


def test_a_rebinding_page_reads_nothing_and_drives_no_upstream(
    browser: Browser, victim: tuple[Started, Started, Path]
) -> None:
    """The attacker's name resolves to 127.0.0.1: for the browser, the page and dotmock are one origin, so
    only the Host rule stands between them."""
    served, proxy, recording = victim
    for target in (served, proxy):
        page = browser.new_page()
        try:
            opened = page.goto(f"http://{REBIND}:{target.port}/_dotmock/")
            assert opened is not None and opened.status == 403
            outcome = page.evaluate(
                """async () => {
                  const out = {};
                  for (const path of ["/_dotmock/journal", "/_dotmock/source", "/_dotmock/scenario"]) {
                    const r = await fetch(path); out[path] = r.status + " " + (await r.json()).error.code;
                  }
                  const r = await fetch("/v1/chat/completions", {method: "POST",
                    headers: {"content-type": "application/json"},
                    body: JSON.stringify({model: "m", messages: [{role: "user", content: "x"}]})});
                  out.llm = r.status + " " + (await r.json()).error.code;
                  out.ws = await new Promise((resolve) => {
                    const s = new WebSocket("ws://" + location.host + "/v1/chat");
                    s.onopen = () => resolve("opened"); s.onerror = () => resolve("failed");
                  });
                  return out;
                }"""
            )
        finally:
            page.close()
        assert outcome.pop("ws") == "failed"
        for name, answer in outcome.items():
            assert answer == "403 host_not_allowed", (target.url, name, answer)
    assert_untouched(served, recording)
