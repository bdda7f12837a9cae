"""The servers `bench/perf.py` compares: dotmock (`dotmock serve`), two baselines the bench writes itself (a bare
Quart app and a bare ASGI callable, both on hypercorn), and, with `--anchors`, AIMock and LLMock installed in a
throwaway folder. Every server serves the same two answers: "fast" (1,000 characters in 20-character chunks, no
latency) and "paced" (20 chunks of 20 characters, 50 ms apart), picked by the user message.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TEXT_FAST = ("The quick brown fox jumps over the lazy dog. " * 23)[:1000]
CHUNK = 20
PACED_CHUNKS = 20
LATENCY_MS = 50
TEXT_PACED = ("Paced streaming text for the benchmark. " * 11)[: PACED_CHUNKS * CHUNK]
ANCHORS_DIR = Path(os.environ.get("DOTMOCK_ANCHORS", "/tmp/anchors"))
AIMOCK_CLI = ANCHORS_DIR / "aimock/node_modules/@copilotkit/aimock/dist/cli.js"
LLMOCK_BIN = ANCHORS_DIR / "llvenv/bin/llmock"
STARTUP_TIMEOUT_S = 30.0


def request_body(prompt: str, stream: bool, max_tokens: bool = False) -> bytes:
    """A Chat Completions body; with `max_tokens`, also a valid Anthropic Messages body."""
    body = {"model": "bench", "stream": stream, "messages": [{"role": "user", "content": prompt}]}
    return json.dumps(body | ({"max_tokens": 1024} if max_tokens else {})).encode()


@dataclass
class Server:
    name: str
    argv: list[str]
    cwd: Path
    note: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"{self.name} exited during startup: {err[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on port {self.port} within {STARTUP_TIMEOUT_S} s")

    def peak_rss_kib(self) -> int:
        """VmHWM: the process's peak resident set so far."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (steady under other processes' load)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, 15)  # its own session: children (if any) go too
            proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        except ProcessLookupError:
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------------------ dotmock


def _mock_text(text: str) -> str:
    return json.dumps(text)


DOTMOCK_SCENARIO = f"""scenario "perf"
fixture "fast" {{
  match POST * {{ message contains "fast" }}
  response {_mock_text(TEXT_FAST)}
  streaming {{ chunkSize {CHUNK}  latencyMs 0 }}
}}
fixture "paced" {{
  match POST /v1/chat/completions {{ message contains "paced" }}
  response {_mock_text(TEXT_PACED)}
  streaming {{ chunkSize {CHUNK}  latencyMs {LATENCY_MS} }}
}}
"""


def dotmock(tmp: Path) -> Server:
    path = tmp / "perf.mock"
    path.write_text(DOTMOCK_SCENARIO)
    port = free_port()
    exe = Path(sys.executable).with_name("dotmock")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "dotmock"]
    return Server("dotmock", [*argv, "serve", str(path), "--port", str(port)], tmp, "dotmock serve", port=port)


# ------------------------------------------------------------------------------------------------ baselines

# Both baselines render the frames once at import and sleep between paced chunks, as a plain app would.
_COMMON = f"""
import asyncio, json, sys, time
TEXT_FAST = {TEXT_FAST!r}
TEXT_PACED = {TEXT_PACED!r}
CHUNK = {CHUNK}
LATENCY_S = {LATENCY_MS / 1000}
HEAD = (b'data: {{"id":"chatcmpl-base","object":"chat.completion.chunk","created":1,"model":"bench",'
        b'"choices":[{{"index":0,"delta":')

def frames(text):
    out = [(False, HEAD + b'{{"role":"assistant"}},"finish_reason":null}}]}}\\n\\n')]
    for i in range(0, len(text), CHUNK):
        piece = json.dumps(text[i:i + CHUNK]).encode()
        out.append((True, HEAD + b'{{"content":' + piece + b'}},"finish_reason":null}}]}}\\n\\n'))
    out.append((False, HEAD + b'{{}},"finish_reason":"stop"}}]}}\\n\\n'))
    out.append((False, b"data: [DONE]\\n\\n"))
    return out

FAST, PACED = frames(TEXT_FAST), frames(TEXT_PACED)

def completion(text):
    return json.dumps({{"id": "chatcmpl-base", "object": "chat.completion", "created": 1, "model": "bench",
                       "choices": [{{"index": 0, "message": {{"role": "assistant", "content": text}},
                                    "finish_reason": "stop"}}]}}).encode()

JSON_FAST, JSON_PACED = completion(TEXT_FAST), completion(TEXT_PACED)

async def paced_frames(paced, chosen):
    first = True
    for content, frame in chosen:
        if paced and content and not first:
            await asyncio.sleep(LATENCY_S)
        first = first and not content
        yield frame

def run(app, port):
    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    config = Config()
    config.bind = [f"127.0.0.1:{{port}}"]
    config.backlog = 2048
    config.accesslog = None
    try:
        import uvloop
        uvloop.run(serve(app, config))
    except ImportError:
        asyncio.run(serve(app, config))
"""

_QUART = (
    _COMMON
    + """
from quart import Quart, Response, request
app = Quart("baseline")

@app.post("/v1/chat/completions")
async def chat():
    body = await request.get_json()
    paced = "paced" in body["messages"][-1]["content"]
    if not body.get("stream"):
        return Response(JSON_PACED if paced else JSON_FAST, content_type="application/json")
    response = Response(paced_frames(paced, PACED if paced else FAST), content_type="text/event-stream")
    response.timeout = None
    return response

run(app, int(sys.argv[1]))
"""
)

_ASGI = (
    _COMMON
    + """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v1/chat/completions":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            break
    body = json.loads(raw)
    paced = "paced" in body["messages"][-1]["content"]
    if not body.get("stream"):
        payload = JSON_PACED if paced else JSON_FAST
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    async for frame in paced_frames(paced, PACED if paced else FAST):
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})

run(app, int(sys.argv[1]))
"""
)


def bare_quart(tmp: Path) -> Server:
    (tmp / "bare_quart.py").write_text(_QUART)
    port = free_port()
    return Server(
        "bare Quart", [sys.executable, "bare_quart.py", str(port)], tmp, "Quart on hypercorn (uvloop)", port=port
    )


def bare_asgi(tmp: Path) -> Server:
    (tmp / "bare_asgi.py").write_text(_ASGI)
    port = free_port()
    return Server(
        "bare ASGI", [sys.executable, "bare_asgi.py", str(port)], tmp, "ASGI callable on hypercorn (uvloop)", port=port
    )


# ------------------------------------------------------------------------------------------------ anchors


def aimock(tmp: Path) -> Server | None:
    node = shutil.which("node")
    if node is None or not AIMOCK_CLI.exists():
        return None
    fixtures = {
        "fixtures": [
            {"match": {"userMessage": "fast"}, "response": {"content": TEXT_FAST}, "chunkSize": CHUNK, "latency": 0},
            {
                "match": {"userMessage": "paced"},
                "response": {"content": TEXT_PACED},
                "chunkSize": CHUNK,
                "latency": LATENCY_MS,
            },
        ]
    }
    path = tmp / "aimock.json"
    path.write_text(json.dumps(fixtures))
    port = free_port()
    version = json.loads((AIMOCK_CLI.parent.parent / "package.json").read_text())["version"]
    return Server(
        "AIMock",
        [node, str(AIMOCK_CLI), "-p", str(port), "-h", "127.0.0.1", "-f", str(path), "--log-level", "silent"],
        tmp,
        f"AIMock {version} (Node {_node_version(node)})",
        port=port,
    )


def _node_version(node: str) -> str:
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def llmock(tmp: Path, paced: bool) -> Server | None:
    """LLMock answers with its own short texts in word-sized pieces (no fixture text, no chunk size), and its
    chunk delay is server-wide: one instance serves unpaced, another paced streams."""
    if not LLMOCK_BIN.exists():
        return None
    port = free_port()
    argv = [
        str(LLMOCK_BIN),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--response-style",
        "echo",
        "--stream-chunk-delay-ms",
        str(LATENCY_MS if paced else 0),
    ]
    version = (
        subprocess.run(
            [str(LLMOCK_BIN.with_name("pip")), "show", "llmock"], capture_output=True, text=True, check=False
        )
        .stdout.split("Version:")[-1]
        .split()[0]
    )
    return Server("LLMock" + (" (paced)" if paced else ""), argv, tmp, f"LLMock {version} (uvicorn)", port=port)
