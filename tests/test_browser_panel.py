"""The browser test panel (`dotmock serve` -> /_dotmock/) driven in headless Chromium.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) or
DOTMOCK_CHROMIUM=/path: without it these tests fail, they are not skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import launched_browser, screenshot_path
from playwright.sync_api import Browser, Page

WAIT_MS = 10_000

SCENARIO = """\
# Poked from the browser by tests/test_browser_panel.py.
scenario "panel demo"

fixture "typing" {
  match POST /v1/chat/completions { message contains "Hello" }
  response "Hello there, this answer arrives a few characters at a time."
  streaming { chunkSize 8 latencyMs 60 }
}

fixture "cut short" {
  match POST /v1/chat/completions { message contains "cut" }
  response "This is a long response that will be cut short..."
  streaming { chunkSize 15 latencyMs 40 truncateAfterChunks 3 }
}

fixture "rate limited" {
  match POST /v1/chat/completions { message contains "busy" }
  error 429 { message "Rate limit reached" header "Retry-After" "2" }
}

fixture "server dies" {
  match websocket /v1/chat { message contains "drop" }
  events {
    "response.created" {"id": "resp_2"}
    "response.text.delta" {"delta": "Hel"} after 20ms
    "response.text.delta" {"delta": "lo"} after 500ms
  }
  disconnectAfterMs 150
}

fixture "custom close" {
  match websocket /v1/chat
  events {
    "response.created" {"id": "resp_1"}
    "response.text.delta" {"delta": "Hel"} after 30ms
    "response.text.delta" {"delta": "lo"} after 30ms
    "response.completed" {"id": "resp_1"} after 10ms
  }
  closeAfter
  closeCode 4001
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_browser() as b:
        yield b


class Served:
    """A `dotmock serve` subprocess on 127.0.0.1 with a free port."""

    def __init__(self, mock: Path, *extra: str) -> None:
        self.mock = mock
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dotmock", "serve", mock.name, "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            cwd=str(mock.parent),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise AssertionError(f"dotmock serve did not start: {line!r}")
        self.url = line

    def journal(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_dotmock/journal", timeout=5) as res:
            return json.load(res)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def serve(tmp: Path, *extra: str) -> Served:
    mock = tmp / "panel_demo.mock"
    mock.write_text(SCENARIO, encoding="utf-8")
    return Served(mock, *extra)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    srv = serve(tmp_path_factory.mktemp("panel"))
    try:
        yield srv
    finally:
        srv.stop()


def open_panel(browser: Browser, server: Served, width: int = 1400, height: int = 1000) -> Page:
    # bypass_csp: the panel's own policy forbids eval, which Playwright's wait_for_function needs.
    page = browser.new_page(bypass_csp=True, viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server.url + "/_dotmock/")
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert not errors, errors
    return page


def choose(page: Page, protocol: str) -> None:
    page.click(f"label:has(#proto-{protocol})")


def send_http(page: Page, message: str, *, stream: bool = True) -> None:
    choose(page, "http")
    page.fill("#message", message)
    page.set_checked("#stream", stream, force=True)
    page.click("#send")
    page.wait_for_selector("#stream-mark:not([hidden])", timeout=WAIT_MS)


def frame_labels(page: Page) -> list[str]:
    return page.eval_on_selector_all("#frames tr.frame", "rows => rows.map(r => r.cells[4].textContent)")


def test_panel_lists_fixtures_and_is_not_journaled(browser: Browser, server: Served) -> None:
    before = server.journal()
    page = open_panel(browser, server)
    try:
        names = page.eval_on_selector_all("#fixtures li.fixture", "els => els.map(e => e.dataset.name)")
        assert names == ["typing", "cut short", "rate limited", "server dies", "custom close"]
        cut = page.text_content('#fixtures li[data-name="cut short"]') or ""
        assert 'message contains "cut"' in cut and "truncateAfterChunks 3" in cut and "latencyMs 40" in cut
        limited = page.text_content('#fixtures li[data-name="rate limited"]') or ""
        assert "error 429" in limited and "Retry-After: 2" in limited
        dies = page.text_content('#fixtures li[data-name="server dies"]') or ""
        assert "websocket /v1/chat" in dies and "disconnectAfterMs 150" in dies
        assert "closeCode 4001" in (page.text_content('#fixtures li[data-name="custom close"]') or "")
        # Loading the panel (page, scripts, scenario, source, validation) is not client traffic.
        after = server.journal()
        assert len(after["http"]) == len(before["http"]) and len(after["websocket"]) == len(before["websocket"])
    finally:
        page.close()


def test_sse_preview_grows_chunk_by_chunk(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server)
    try:
        # Record the preview's text length at every DOM change, with the time it happened.
        page.evaluate("""() => {
            window.__growth = [];
            const el = document.getElementById('preview-text');
            new MutationObserver(() => window.__growth.push([performance.now(), el.textContent.length]))
                .observe(el, {childList: true, characterData: true, subtree: true});
        }""")
        send_http(page, "Hello")
        assert page.get_attribute("#stream-mark", "data-kind") == "complete"
        full = "Hello there, this answer arrives a few characters at a time."
        assert page.text_content("#preview-text") == full
        growth = [(t, n) for t, n in page.evaluate("window.__growth") if n > 0]
        lengths = [n for _, n in growth]
        assert lengths == sorted(lengths) and len(set(lengths)) >= 6, growth  # 8 chunks of 8 characters
        assert growth[-1][0] - growth[0][0] >= 250, growth  # latencyMs 60 between chunks: it grew over time
        labels = frame_labels(page)
        assert labels.count("[DONE]") == 1
        exchange = server.journal()["http"][-1]
        assert exchange["completed"] and exchange["fixture"] == "typing"
        assert int(page.get_attribute("#frame-count", "data-chunks") or -1) == exchange["chunks_sent"] == 8
        # role chunk + 8 content chunks + finish chunk + [DONE]
        assert int(page.get_attribute("#frame-count", "data-frames") or -1) == 11
    finally:
        page.close()


def test_truncated_stream_is_marked(browser: Browser, server: Served, tmp_path: Path) -> None:
    page = open_panel(browser, server)
    try:
        send_http(page, "please cut")
        mark = page.locator("#stream-mark")
        assert mark.is_visible() and mark.get_attribute("data-kind") == "truncated"
        assert "truncated" in (mark.text_content() or "") and "no [DONE]" in (mark.text_content() or "")
        labels = frame_labels(page)
        assert "[DONE]" not in labels and "truncated" in labels
        assert page.locator("#frames tr.frame.truncated").is_visible()
        assert page.text_content("#preview-text") == "This is a long response that will be cut shor"
        exchange = server.journal()["http"][-1]
        assert exchange["faults"] == ["truncate"] and not exchange["completed"]
        assert int(page.get_attribute("#frame-count", "data-chunks") or -1) == exchange["chunks_sent"] == 3
        # The README's screenshot: a stream cut short, its frames, and the editor.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(screenshot_path("panel.png", tmp_path)), full_page=True)
    finally:
        page.close()


def test_error_answer_shows_status_and_retry_after(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server)
    try:
        send_http(page, "busy now", stream=False)
        assert page.get_attribute("#stream-mark", "data-kind") == "error"
        assert "HTTP 429" in (page.text_content("#stream-mark") or "")
        assert "Retry-After 2" in (page.text_content("#stream-mark") or "")
        assert "Rate limit reached" in (page.text_content("#preview-text") or "")
    finally:
        page.close()


def test_websocket_exchange_with_custom_close_code(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server)
    try:
        choose(page, "ws")
        assert page.eval_on_selector_all("#endpoint option", "os => os.map(o => o.value)") == [
            "/v1/chat",
            "/v1/responses",
        ]
        page.fill("#message", "Hello")
        page.click("#send")
        page.wait_for_selector("#ws-state[data-state=closed]", timeout=WAIT_MS)
        assert page.text_content("#ws-state") == "closed 4001"
        assert "code 4001" in (page.text_content("#stream-mark") or "")
        assert page.text_content("#preview-text") == "Hello"
        sent = page.eval_on_selector_all("#frames tr.frame.out", "rows => rows.map(r => r.title)")
        assert [json.loads(s) for s in sent] == [
            {"type": "message", "data": {"model": "your-model", "messages": [{"role": "user", "content": "Hello"}]}}
        ]
        connection = server.journal()["websocket"][-1]
        assert connection["close_code_sent"] == 4001
        assert int(page.get_attribute("#frame-count", "data-frames") or -1) == len(connection["frames"]) == 5
    finally:
        page.close()


def test_websocket_drop_shows_1006(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server)
    try:
        choose(page, "ws")
        page.fill("#message", "drop it")
        page.click("#send")  # connects, then sends
        page.wait_for_selector("#ws-state[data-state=closed]", timeout=WAIT_MS)
        state = page.text_content("#ws-state")
        assert state == "closed 1006", f"{state}: `dotmock serve` did not drop the connection without a close frame"
        assert page.get_attribute("#stream-mark", "data-kind") == "dropped"
        assert "1006" in (page.text_content("#stream-mark") or "")
        connection = server.journal()["websocket"][-1]
        assert connection["dropped"] and connection["faults"] == ["disconnectAfterMs"]
        assert int(page.get_attribute("#frame-count", "data-frames") or -1) == len(connection["frames"]) == 3
    finally:
        page.close()


def test_editor_shows_errors_and_applies_changes(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server)
    try:
        original = page.input_value("#editor")
        assert original == server.mock.read_text(encoding="utf-8")
        lines = original.split("\n")
        n = next(i for i, line in enumerate(lines, 1) if "chunkSize 8" in line)
        page.fill("#editor", original.replace("chunkSize 8", "chunkSiz 8"))
        page.wait_for_selector("#editor-errors li.error", timeout=WAIT_MS)
        headline = page.text_content("#editor-errors li.error .headline") or ""
        assert headline.startswith(f"{server.mock.name}:{n}:15: error:"), headline
        assert "did you mean 'chunkSize'?" in (page.text_content("#editor-errors") or "")
        assert page.eval_on_selector_all("#editor-gutter .err", "els => els.map(e => e.dataset.line)") == [str(n)]
        assert page.text_content("#editor-backdrop .line.err mark") == "chunkSiz"
        # Saving a broken text applies nothing.
        page.click("#editor-save")
        page.wait_for_selector("#editor-status[data-kind=error]", timeout=WAIT_MS)

        changed = original.replace("Hello there, this answer", "Howdy, this answer")
        page.fill("#editor", changed)
        page.wait_for_selector("#editor-box[data-valid=true]", timeout=WAIT_MS)
        assert page.locator("#editor-errors li").count() == 0
        page.click("#editor-save")
        page.wait_for_selector("#editor-status[data-kind=memory]", timeout=WAIT_MS)
        assert "in memory" in (page.text_content("#editor-status") or "")
        assert server.mock.read_text(encoding="utf-8") == original  # not started with --allow-write
        send_http(page, "Hello")
        assert page.text_content("#preview-text") == "Howdy, this answer arrives a few characters at a time."
        assert server.journal()["http"][-1]["fixture"] == "typing"
        # Put the scenario back for the other tests.
        page.fill("#editor", original)
        page.click("#editor-save")
        page.wait_for_selector("#editor-status[data-kind=memory]", timeout=WAIT_MS)
    finally:
        page.close()


def test_editor_writes_the_file_with_allow_write(browser: Browser, tmp_path: Path) -> None:
    srv = serve(tmp_path, "--allow-write")
    try:
        page = open_panel(browser, srv)
        try:
            changed = SCENARIO.replace("chunkSize 8 latencyMs 60", "chunkSize 30 latencyMs 0").replace(
                "closeCode 4001", "closeCode 4002"
            )
            page.fill("#editor", changed)
            page.click("#editor-save")
            page.wait_for_selector("#editor-status[data-kind=ok]", timeout=WAIT_MS)
            assert "written to" in (page.text_content("#editor-status") or "")
            assert srv.mock.read_text(encoding="utf-8") == changed
            send_http(page, "Hello")
            assert int(page.get_attribute("#frame-count", "data-chunks") or -1) == 2  # 61 characters, 30 a chunk
            choose(page, "ws")  # the WebSocket endpoints serve the edited scenario too
            page.fill("#message", "Hello")
            page.click("#send")
            page.wait_for_selector("#ws-state[data-state=closed]", timeout=WAIT_MS)
            assert page.text_content("#ws-state") == "closed 4002"
        finally:
            page.close()
    finally:
        srv.stop()


def test_reset_button_starts_attempts_again_and_the_journal_follows_by_itself(tmp_path: Path, browser: Browser) -> None:
    mock = tmp_path / "attempts.mock"
    mock.write_text(
        'scenario "attempts"\n'
        'fixture "first" {\n  match POST /v1/chat/completions { attempt 1 }\n  error 500\n}\n'
        'fixture "later" {\n  match POST /v1/chat/completions { attempt 2.. }\n  response "second time lucky"\n}\n',
        encoding="utf-8",
    )
    srv = Served(mock)
    try:
        page = open_panel(browser, srv)
        # A request from another client (the same call the panel makes next): the summary shows it by itself.
        body = json.dumps({"model": "your-model", "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(
            srv.url + "/v1/chat/completions", data=body, headers={"content-type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5)
        page.wait_for_selector("#journal-summary:has-text('1 HTTP exchange,')", timeout=WAIT_MS)
        send_http(page, "hi", stream=False)
        assert "second time lucky" in (page.text_content("#preview-text") or "")
        page.click("#reset")
        page.wait_for_selector("#journal-summary:has-text('0 HTTP exchanges')", timeout=WAIT_MS)
        assert srv.journal()["http"] == []
        send_http(page, "hi", stream=False)  # attempt 1 again: the 500
        assert "HTTP 500" in (page.text_content("#stream-mark") or "")
        page.close()
    finally:
        srv.stop()


def test_status_line_tells_how_the_stream_ended(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server)
    try:
        send_http(page, "Hello")
        page.wait_for_selector("#preview-status:has-text('stream complete at')", timeout=WAIT_MS)
        assert "[DONE]" in (page.text_content("#preview-status") or "")
        send_http(page, "cut")
        page.wait_for_selector("#preview-status:has-text('without [DONE]')", timeout=WAIT_MS)
    finally:
        page.close()


def test_a_websocket_only_scenario_opens_on_websocket(tmp_path: Path, browser: Browser) -> None:
    mock = tmp_path / "ws_only.mock"
    mock.write_text(
        'scenario "sockets only"\nfixture "socket" {\n  match websocket /v1/responses\n  response "hi"\n}\n',
        encoding="utf-8",
    )
    srv = Served(mock)
    try:
        page = open_panel(browser, srv)
        assert page.is_checked("#proto-ws")
        assert page.input_value("#endpoint") == "/v1/responses"
        assert page.is_visible("#ws-connect") and not page.is_visible("#stream")
        page.close()
    finally:
        srv.stop()


def test_raw_frames_read_on_a_phone(browser: Browser, server: Served) -> None:
    page = open_panel(browser, server, width=390, height=844)
    try:
        send_http(page, "Hello")
        page.wait_for_selector("#preview-status:has-text('stream complete')", timeout=WAIT_MS)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        wrap = page.locator("#frames-card .table-wrap")
        assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth + 1")
        row = page.locator("#frames tr.frame").nth(1)
        data_cell = row.locator("td").last
        box, row_box = data_cell.bounding_box() or {}, row.bounding_box() or {}
        assert box.get("width", 0) >= 0.8 * row_box.get("width", 1)  # the data gets the row's whole width
    finally:
        page.close()


HEADLINE = """\
scenario "headline"

include "shared/answers.mock"

fixture "local" {
  match POST /v1/chat/completions { message contains "local" }
  response "From the scenario file."
}
"""

SHARED = """\
fixture "shared answer" {
  match POST /v1/chat/completions { message contains "Hello" }
  response "From the shared file."
  streaming { chunkSize 40 }
}
"""


def test_included_files_are_editable_in_the_editor(tmp_path: Path, browser: Browser) -> None:
    """The headline example keeps its fixtures in an include: they can be edited, checked and saved there."""
    (tmp_path / "shared").mkdir()
    included = tmp_path / "shared" / "answers.mock"
    included.write_text(SHARED, encoding="utf-8")
    mock = tmp_path / "headline.mock"
    mock.write_text(HEADLINE, encoding="utf-8")
    srv = Served(mock, "--allow-write")
    try:
        page = open_panel(browser, srv)
        try:
            files = page.eval_on_selector_all("#editor-file option", "os => os.map(o => o.value)")
            assert files == ["headline.mock", "shared/answers.mock"]
            page.select_option("#editor-file", "shared/answers.mock")
            assert page.input_value("#editor") == SHARED
            assert page.text_content("#editor-path") == "shared/answers.mock"
            # A mistake in the include is found, located and drawn in the include's own text.
            page.fill("#editor", SHARED.replace("chunkSize 40", "chunkSiz 40"))
            page.wait_for_selector("#editor-errors li.error", timeout=WAIT_MS)
            headline = page.text_content("#editor-errors li.error .headline") or ""
            assert headline.startswith("shared/answers.mock:4:15: error:"), headline
            assert page.eval_on_selector_all("#editor-gutter .err", "els => els.map(e => e.dataset.line)") == ["4"]
            # Unsaved edits survive a look at the other file.
            page.select_option("#editor-file", "headline.mock")
            assert page.input_value("#editor") == HEADLINE
            page.select_option("#editor-file", "shared/answers.mock")
            assert "chunkSiz 40" in page.input_value("#editor")
            fixed = SHARED.replace("From the shared file.", "Edited in the panel.")
            page.fill("#editor", fixed)
            page.wait_for_selector("#editor-box[data-valid=true]", timeout=WAIT_MS)
            page.click("#editor-save")
            page.wait_for_selector("#editor-status[data-kind=ok]", timeout=WAIT_MS)
            assert "written to shared/answers.mock" in (page.text_content("#editor-status") or "")
            assert included.read_text(encoding="utf-8") == fixed
            assert mock.read_text(encoding="utf-8") == HEADLINE
            send_http(page, "Hello")
            assert page.text_content("#preview-text") == "Edited in the panel."
        finally:
            page.close()
    finally:
        srv.stop()


def test_the_editor_reads_and_writes_only_the_scenarios_own_files(tmp_path: Path) -> None:
    """A request naming any other path (the token is the page's, so a local page cannot get this far
    anyway) gets a 404, and nothing is written."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "answers.mock").write_text(SHARED, encoding="utf-8")
    outside = tmp_path / "other.mock"
    outside.write_text(SHARED, encoding="utf-8")
    mock = tmp_path / "headline.mock"
    mock.write_text(HEADLINE, encoding="utf-8")
    srv = Served(mock, "--allow-write", "--token", "t0ken")
    try:
        for file in ("other.mock", "../headline.mock", "/etc/passwd", "shared/../other.mock"):
            request = urllib.request.Request(
                srv.url + "/_dotmock/source",
                data=json.dumps(
                    {"text": 'fixture "x" { match POST /v1/chat/completions\n response "y" }\n', "file": file}
                ).encode(),
                headers={"content-type": "application/json", "x-dotmock-token": "t0ken"},
                method="POST",
            )
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(request, timeout=5)
            assert info.value.code == 404, file
        assert outside.read_text(encoding="utf-8") == SHARED
    finally:
        srv.stop()


AGENT_SCENARIO = """\
scenario "panel agent"

fixture "tool calls" {
  match POST /v1/chat/completions
  response "Checking."
  toolCall "get_weather" id "call_w" {"city": "Paris"}
  toolCall "get_time" id "call_t" {"tz": "UTC"}
  streaming { chunkSize 6 latencyMs 5 }
}

fixture "tool calls over WebSocket" {
  match websocket /v1/responses
  toolCall "get_weather" id "call_w" {"city": "Paris"}
  streaming { chunkSize 6 }
  closeAfter
}
"""
# A Gemini stream's chunks: a text part, then a whole functionCall with the finishReason (server.apis.gemini).
GEMINI_CHUNKS = [
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking."}]}}]},
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
                },
                "finishReason": "STOP",
            }
        ]
    },
]


def test_preview_shows_tool_calls_streamed_and_whole(browser: Browser, tmp_path: Path) -> None:
    mock = tmp_path / "agent.mock"
    mock.write_text(AGENT_SCENARIO, encoding="utf-8")
    agent_server = Served(mock)
    try:
        page = open_panel(browser, agent_server)
        try:
            send_http(page, "weather?")
            shown = page.text_content("#preview-text") or ""
            assert shown == 'Checking.\n⚙ get_weather [call_w] {"city": "Paris"}\n⚙ get_time [call_t] {"tz": "UTC"}'
            labels = frame_labels(page)
            assert any("tool call get_weather" in label for label in labels)
            assert page.get_attribute("#stream-mark", "data-kind") == "complete"
            exchange = agent_server.journal()["http"][-1]
            assert int(page.get_attribute("#frame-count", "data-chunks") or -1) == exchange["chunks_sent"]
            send_http(page, "weather?", stream=False)
            whole = page.text_content("#preview-text") or ""
            assert whole == 'Checking.\n⚙ get_weather [call_w] {"city": "Paris"}\n⚙ get_time [call_t] {"tz": "UTC"}'
            # WebSocket: the Responses events' function_call item and its argument deltas, as over SSE
            choose(page, "ws")
            page.select_option("#endpoint", "/v1/responses")
            page.fill("#message", "weather?")
            page.click("#send")
            page.wait_for_selector("#ws-state[data-state=closed]", timeout=WAIT_MS)
            assert page.text_content("#preview-text") == '\n⚙ get_weather [call_w] {"city": "Paris"}'
            assert any("tool call get_weather" in label for label in frame_labels(page))
            assert page.get_attribute("#stream-mark", "data-kind") == "closed"
            (sent,) = agent_server.journal()["websocket"][-1]["exchanges"]
            assert sent["tool_calls"][0]["sent_chars"] == len('{"city": "Paris"}')
            # Gemini: a chunk's functionCall part is a whole call (the panel's own reading of a frame)
            meanings = page.evaluate(
                """async (chunks) => {
                  const { interpret } = await import("/_dotmock/static/sse.js");
                  return chunks.map((c) => interpret(null, JSON.stringify(c)));
                }""",
                GEMINI_CHUNKS,
            )
            assert meanings[0] == {"kind": "content", "label": "chunk", "text": "Checking.", "ends": False}
            assert meanings[1] == {
                "kind": "call",
                "label": "chunk (functionCall get_weather, finish: STOP)",
                "text": '\n⚙ get_weather [no id] {"city":"Paris"}',
                "ends": True,
            }
        finally:
            page.close()
    finally:
        agent_server.stop()
