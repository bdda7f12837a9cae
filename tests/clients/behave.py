"""A purpose-built client for the runner's tests: each MODE behaves one precise way (good or bad).

    python behave.py MODE [ARGS...]

Talks plain HTTP (httpx) or WebSocket (httpx-ws) to $DOTMOCK_URL so every behaviour is explicit.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import httpx

URL = os.environ.get("DOTMOCK_URL", "http://127.0.0.1:9")
BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}


def post(stream: bool = False, timeout: float = 10.0) -> httpx.Response:
    return httpx.post(URL + "/v1/chat/completions", json={**BODY, "stream": stream}, timeout=timeout)


def retry_fixed(attempts: int, delay: float, only_retryable: bool = False) -> int:
    """Same request up to `attempts` times with a fixed `delay` (ignores Retry-After)."""
    for i in range(attempts):
        r = post()
        if r.status_code == 200:
            print(r.json()["choices"][0]["message"]["content"])
            return 0
        if only_retryable and r.status_code < 500 and r.status_code not in (408, 409, 429):
            break
        if i < attempts - 1:
            time.sleep(delay)
    print(f"error: gave up, last status {r.status_code}", file=sys.stderr)
    return 1


def retry_good(attempts: int = 4) -> int:
    """Exponential backoff, honours Retry-After, never retries other 4xx."""
    for i in range(attempts):
        r = post()
        if r.status_code == 200:
            print(r.json()["choices"][0]["message"]["content"])
            return 0
        if r.status_code < 500 and r.status_code not in (408, 409, 429):
            print(f"error: refused with {r.status_code}", file=sys.stderr)
            return 2
        # Waits of 0.2s, 0.4s, 0.8s: growth well above the scheduling noise of a loaded machine.
        wait = max(0.2 * 2**i, float(r.headers.get("retry-after", 0) or 0))
        if i < attempts - 1:
            time.sleep(wait)
    print("error: gave up", file=sys.stderr)
    return 1


def read_stream(strict: bool, guard_json: bool, read_timeout: float | None = None) -> tuple[str, str | None]:
    """(text, problem) of one streamed call; problem None when it ended properly."""
    text, done = [], False
    timeout = httpx.Timeout(10.0, read=read_timeout)
    with httpx.stream("POST", URL + "/v1/chat/completions", json={**BODY, "stream": True}, timeout=timeout) as r:
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                done = True
                break
            if guard_json:
                try:
                    chunk = json.loads(data)
                except json.JSONDecodeError:
                    if strict:
                        return "".join(text), "malformed chunk"
                    continue
            else:
                chunk = json.loads(data)
            if "error" in chunk:
                if strict:
                    return "".join(text), "error event"
                continue
            for choice in chunk.get("choices", []):
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text), None if done else "no [DONE]"


def stream_mode(mode: str) -> int:
    if mode == "stream-accept":  # uses whatever arrived, skips what it cannot parse
        text, _ = read_stream(strict=False, guard_json=True)
        print(text)
        return 0
    if mode == "stream-crash":  # json.loads unguarded
        text, _ = read_stream(strict=False, guard_json=False)
        print(text)
        return 0
    if mode == "stream-strict":  # refuses an incomplete stream with its own message
        text, problem = read_stream(strict=True, guard_json=True)
        if problem:
            print(f"error: incomplete answer ({problem})", file=sys.stderr)
            return 1
        print(text)
        return 0
    if mode == "stream-retry":  # read timeout + retry on any problem
        for _ in range(3):
            try:
                text, problem = read_stream(strict=True, guard_json=True, read_timeout=0.5)
            except httpx.HTTPError as err:
                problem = str(err) or type(err).__name__
            if problem is None:
                print(text)
                return 0
            time.sleep(0.1)
        print("error: gave up", file=sys.stderr)
        return 1
    raise SystemExit(f"unknown mode {mode}")


async def ws_mode(mode: str) -> int:
    from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, aconnect_ws

    url = URL + "/v1/chat"
    message = {"type": "message", "data": BODY}
    ended = "?"
    try:
        async with httpx.AsyncClient() as http, aconnect_ws(url, http) as ws:
            await ws.send_json(message)
            while True:
                event = await ws.receive_json(timeout=5)
                if event.get("type") in ("done", "response.completed"):
                    ended = "complete"
                    break
    except* (WebSocketDisconnect, WebSocketNetworkError) as group:
        ended = type(group.exceptions[0]).__name__
    if mode == "ws-exit1" and ended != "complete":
        print(f"error: the connection ended early ({ended})", file=sys.stderr)
        return 1
    print(ended)
    return 0


def spawn(hang: bool) -> int:
    """Children and a grandchild that outlive this process unless someone reaps them."""
    pids_file = sys.argv[2]
    kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
    grand = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess,sys,time; p=subprocess.Popen([sys.executable,'-c',"
            "'import time; time.sleep(600)']); print(p.pid, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    grandchild = int(grand.stdout.readline())
    with open(pids_file, "w") as fh:
        fh.write(" ".join(str(p) for p in [*(k.pid for k in kids), grand.pid, grandchild]))
    print("spawned", flush=True)
    if hang:
        time.sleep(600)
    return 0


def detach(hang: bool) -> int:
    """A daemon the classic way: fork, setsid, fork again, close stdio; it writes its pid and sleeps, outside
    this client's session and process group. With `hang` the client then waits forever itself. Without a
    PIDS_FILE argument the pid goes to a temporary file, removed once read."""
    pids_file = sys.argv[2] if len(sys.argv) > 2 else os.path.join(tempfile.gettempdir(), f"detach-{os.getpid()}")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            with open(pids_file + ".tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.replace(pids_file + ".tmp", pids_file)
            time.sleep(600)
        os._exit(0)
    os.wait()
    while not os.path.exists(pids_file):
        time.sleep(0.01)
    print("detached", flush=True)
    if len(sys.argv) <= 2:
        os.unlink(pids_file)
    if hang:
        time.sleep(600)
    return 0


def main() -> int:
    mode = sys.argv[1]
    args = sys.argv[2:]
    if mode == "ok":
        return retry_fixed(1, 0)
    if mode == "retry-fixed":
        return retry_fixed(int(args[0]), float(args[1]))
    if mode == "retry-good":
        return retry_good()
    if mode == "swallow":  # the Vercel AI SDK's streamText: the error goes to a logging callback, exit 0
        print(f"error: HTTP {post().status_code}", file=sys.stderr)
        return 0
    if mode == "astray":  # a base URL without its /v1: an SDK raising on the 404 of a path nothing serves
        httpx.post(URL + args[0], json=BODY, timeout=10).raise_for_status()
        return 0
    if mode == "models":  # a health check that only lists the models
        httpx.get(URL + "/v1/models", timeout=10).raise_for_status()
        return 0
    if mode == "print-any":  # curl without --fail: whatever came back is the answer
        print(post().text)
        return 0
    if mode.startswith("stream-"):
        return stream_mode(mode)
    if mode.startswith("ws-"):
        return asyncio.run(ws_mode(mode))
    if mode == "hang":
        print("waiting forever", flush=True)
        time.sleep(600)
    if mode == "ignore-term-hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ignoring SIGTERM", flush=True)
        time.sleep(600)
    if mode == "crash":
        raise ValueError("something unexpected")
    if mode == "post-crash":  # an agent framework raising on what it was answered (a refusal, a cut answer)
        post()
        raise ValueError("the model refused")
    if mode == "crash-stay":  # litellm-style: a non-daemon background thread outlives the uncaught exception
        threading.Thread(target=time.sleep, args=(600,)).start()
        raise ValueError("something unexpected")
    if mode == "abort":
        os.abort()
    if mode in ("spawn", "spawn-hang"):
        return spawn(mode == "spawn-hang")
    if mode in ("detach", "detach-hang"):
        return detach(mode == "detach-hang")
    if mode == "exit":
        print(args[1] if len(args) > 1 else "", file=sys.stderr)
        return int(args[0])
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main())
