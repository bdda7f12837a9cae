"""`dotmock record` under attack: the client's credentials go to the `--upstream` and nowhere else.

A raw request target the proxy used to paste after the upstream's origin (`@other-host/x`, an absolute URL,
`*`, `..` segments) could move the request to another host with the client's `x-api-key`, climb out of the
upstream's path, or crash the proxy (500). Each is now a 400 from the proxy itself and reaches no server; a
real path with encoded characters goes upstream as it was sent. The command line refuses upstream URLs with
credentials, a query or a fragment, and warns about plain http to another machine (docs/security.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from dotmock.server.record_proxy import running_proxy

pytestmark = pytest.mark.anyio
KEY = "sk-ant-api03-NEVER-ELSEWHERE-1234567890"


class _Upstream(http.server.ThreadingHTTPServer):
    seen: list[tuple[str, str | None]]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Upstream

    def _answer(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        self.server.seen.append((self.path, self.headers.get("x-api-key")))
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[_Upstream, _Upstream]]:
    """The configured upstream and another server on the machine that must never be reached."""
    made = []
    for _ in range(2):
        srv = _Upstream(("127.0.0.1", 0), _Handler)
        srv.seen = []
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        made.append(srv)
    yield made[0], made[1]
    for srv in made:
        srv.shutdown()
        srv.server_close()


def _raw(port: int, target: str) -> tuple[int, bytes]:
    """One request with `target` written as is (an SDK or a browser never sends these; anything else may)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-api-key: {KEY}\r\n"
            "content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize("prefix", ["", "/base"])
async def test_targets_that_leave_the_upstream_are_refused(servers: tuple[_Upstream, _Upstream], prefix: str) -> None:
    upstream, other = servers
    elsewhere = f"127.0.0.1:{other.server_port}"
    async with running_proxy(f"http://127.0.0.1:{upstream.server_port}{prefix}", lambda _: None) as srv:
        for target in (
            f"@{elsewhere}/stolen",  # pasted after the origin: the URL's host became `elsewhere`
            f"http://{elsewhere}/stolen",  # absolute form: was a 500
            "*",  # was a 500
            "/base/../../stolen",
            "/v1/%2e%2e/%2E%2E/stolen",
            "/v1/./x",
        ):
            status, body = await asyncio.to_thread(_raw, srv.port, target)
            assert status == 400, (target, status, body)
            assert "origin-form" in json.loads(body)["error"]["message"]
        assert other.seen == []
        assert upstream.seen == []
        # Real paths, encoded characters kept as sent (a %3F is not a query, a %2F not a new segment)
        for target in ("/v1/chat/completions", "/v1//x/y?key=1", "/v1/a%3Fb%23c%2Fd"):
            status, body = await asyncio.to_thread(_raw, srv.port, target)
            assert (status, json.loads(body)["path"]) == (200, prefix + target)
        assert [key for _, key in upstream.seen] == [KEY] * 3
        assert other.seen == []


async def test_websocket_target_that_leaves_the_upstream_is_refused(servers: tuple[_Upstream, _Upstream]) -> None:
    upstream, other = servers
    async with running_proxy(f"http://127.0.0.1:{upstream.server_port}/base", lambda _: None) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(
                f"GET @127.0.0.1:{other.server_port}/v1/chat HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\nx-api-key: {KEY}\r\n\r\n".encode()
            )
            status = await asyncio.to_thread(s.recv, 4096)
        assert status.split(b"\r\n")[0].split(b" ")[1] == b"403"
        async with httpx.AsyncClient() as client:
            with pytest.raises(WebSocketUpgradeError):  # a real path goes upstream (a plain HTTP server: no WebSocket)
                async with aconnect_ws(f"{srv.base_url}/v1/chat", client):
                    pass
    assert other.seen == []
    assert [path for path, _ in upstream.seen] == ["/base/v1/chat"]


@pytest.mark.parametrize(
    ("upstream", "said"),
    [
        ("ftp://api.openai.com", "http:// or https://"),
        ("https://user:secret@api.openai.com", "no user name or password"),
        ("https://api.openai.com/?x=1", "no query or fragment"),
        ("https://api.openai.com#v1", "no query or fragment"),
        ("https://", "names no host"),
    ],
)
def test_upstream_urls_refused(upstream: str, said: str, tmp_path: Path) -> None:
    out = tmp_path / "r.mock"
    cmd = [sys.executable, "-m", "dotmock", "record", "--upstream", upstream, "-o", str(out), "--", "true"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert said in run.stderr
    assert not out.exists()


def test_plain_http_to_another_machine_warns(tmp_path: Path) -> None:
    out = tmp_path / "r.mock"
    for upstream, warned in (("http://192.0.2.1", True), ("http://127.0.0.1:9", False), ("https://192.0.2.1", False)):
        cmd = [sys.executable, "-m", "dotmock", "record", "--upstream", upstream, "-o", str(out), "--", "true"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert ("keys travel unencrypted" in run.stderr) is warned, (upstream, run.stderr)


class _Counting(http.server.BaseHTTPRequestHandler):
    """Reads a chunked or sized body without holding it: its size and digest, and the headers it came with."""

    protocol_version = "HTTP/1.1"
    server: _Upstream

    def do_POST(self) -> None:
        digest, size = hashlib.sha256(), 0
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while n := int(self.rfile.readline().split(b";")[0], 16):
                digest.update(self.rfile.read(n))
                size += n
                self.rfile.readline()
            self.rfile.readline()
        else:
            left = int(self.headers.get("content-length") or 0)
            while left:
                piece = self.rfile.read(min(left, 1 << 20))
                digest.update(piece)
                size += len(piece)
                left -= len(piece)
        self.server.seen.append((f"{size} {digest.hexdigest()}", self.headers.get("proxy-authorization")))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_body_too_big_to_record_is_streamed_upstream_not_held(tmp_path: Path) -> None:
    """A request body over what a recording can hold (an upload, or a body that never ends) used to be read
    whole into the proxy's memory before it went upstream; now it is streamed on as it comes, whole and
    unchanged, and the exchange is passed on without a fixture. Proxy-Authorization is not forwarded."""
    upstream = _Upstream(("127.0.0.1", 0), _Counting)
    upstream.seen = []
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    out = tmp_path / "big.mock"
    cmd = [sys.executable, "-m", "dotmock", "record", "--upstream", f"http://127.0.0.1:{upstream.server_port}"]
    proc = subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
        piece = b"x" * (1 << 20)
        mib = 96
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(
                f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
                "proxy-authorization: Basic cHJveHk6c2VjcmV0\r\ntransfer-encoding: chunked\r\n\r\n".encode()
            )
            peaks, sending = [0.0], threading.Event()
            sending.set()

            def sample() -> None:
                while sending.is_set():
                    peaks[0] = max(peaks[0], _rss_mb(proc.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            for _ in range(mib):
                s.sendall(b"100000\r\n" + piece + b"\r\n")
            s.sendall(b"0\r\n\r\n")
            answer = s.recv(65536)
            sending.clear()
            sampler.join()
            peak = peaks[0]
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert upstream.seen == [(f"{mib << 20} {hashlib.sha256(piece * mib).hexdigest()}", None)]
        assert peak < 150, f"the proxy held the body: {peak:.0f} MB resident"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        upstream.shutdown()
        upstream.server_close()
    assert "passed on without recording: POST /v1/chat/completions (a body over 10 MiB)" in err, err
    assert "\nfixture " not in out.read_text(encoding="utf-8")
