"""Memory of a `dotmock serve` under big payloads: `python bench/bench_memory.py [--ws 200] [--http 40]`.

Two servers are started as subprocesses, one with the default journal byte budget and one with
`--journal-bytes 0` (the journal keeps every payload whole, as it did before the budget), and each takes:

1. WebSocket: one connection sends `--ws` messages of 1 MiB as fast as the server takes them while the
   fixture answers each with a paced stream (so the server falls behind and frames queue up), and reads
   every answer;
2. HTTP: `--http` request bodies of 8 MiB, one after another;
3. `GET /_dotmock/journal`, read to the end, while the server's resident memory is sampled every 5 ms.

Printed per server: resident memory (RSS) after start, after the WebSocket messages, after the HTTP
bodies, its peak while serving the journal, and the journal's size on the wire; the last column is
unbounded / bounded (how many times more memory the whole-payload journal needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import websockets

MiB = 1024 * 1024

SCENARIO = """scenario "big payloads"
fixture "http" {
  match POST /v1/chat/completions
  response "ok"
}
fixture "ws" {
  match websocket *
  response "Typed out one small chunk at a time."
  streaming { chunkSize 6 latencyMs 2 }
}
"""


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """The highest RSS of `pid` seen while the block runs (sampled every 5 ms in a thread)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss(self.pid))


async def ws_phase(ws_url: str, count: int) -> int:
    """Send `count` 1 MiB messages while reading the answers; returns the number of terminal events."""
    message = json.dumps(
        {"type": "message", "data": {"model": "m", "messages": [{"role": "user", "content": "x" * MiB}]}}
    )
    done = 0
    async with websockets.connect(ws_url + "/v1/chat", max_size=None, open_timeout=10) as ws:

        async def send_all() -> None:
            for _ in range(count):
                await ws.send(message)

        sender = asyncio.create_task(send_all())
        async with asyncio.timeout(120):
            while done < count:
                event = json.loads(await ws.recv())
                if event.get("type") in ("done", "error"):
                    done += 1
        await sender
    return done


def http_phase(url: str, count: int) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "y" * (8 * MiB - 100)}]})
    with httpx.Client(timeout=60) as http:
        for _ in range(count):
            http.post(url + "/v1/chat/completions", content=body, headers={"content-type": "application/json"})


def journal_size(url: str) -> int:
    size = 0
    with httpx.Client(timeout=120) as http, http.stream("GET", url + "/_dotmock/journal") as res:
        for part in res.iter_bytes():
            size += len(part)
    return size


def measure(path: Path, extra: list[str], ws: int, bodies: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dotmock", "serve", str(path), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        time.sleep(0.3)
        figures: dict[str, float] = {"start": rss(proc.pid)}
        with Sampler(proc.pid) as ws_peak:
            answered = asyncio.run(ws_phase(url.replace("http://", "ws://", 1), ws))
        assert answered == ws, f"{answered} of {ws} WebSocket messages answered"
        figures["ws_peak"], figures["after_ws"] = ws_peak.peak, rss(proc.pid)
        with Sampler(proc.pid) as http_peak:
            http_phase(url, bodies)
        figures["http_peak"], figures["after_http"] = http_peak.peak, rss(proc.pid)
        with Sampler(proc.pid) as get_peak:
            figures["journal_bytes"] = journal_size(url)
        figures["journal_get_peak"] = get_peak.peak
        return figures
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ws", type=int, default=200, help="WebSocket messages of 1 MiB (default 200)")
    p.add_argument("--http", type=int, default=40, help="HTTP bodies of 8 MiB (default 40)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mock"
        path.write_text(SCENARIO, encoding="utf-8")
        bounded = measure(path, [], args.ws, args.http)
        unbounded = measure(path, ["--journal-bytes", "0"], args.ws, args.http)
    rows = [
        ("RSS after start", "start"),
        (f"RSS peak during {args.ws} WebSocket messages of 1 MiB", "ws_peak"),
        ("RSS after them", "after_ws"),
        (f"RSS peak during {args.http} HTTP bodies of 8 MiB", "http_peak"),
        ("RSS after them", "after_http"),
        ("RSS peak while serving the journal", "journal_get_peak"),
        ("journal size on the wire", "journal_bytes"),
    ]
    print("| MB | bounded (default) | unbounded (--journal-bytes 0) | unbounded / bounded |")
    print("| --- | ---: | ---: | ---: |")
    for label, key in rows:
        b, u = bounded[key] / MiB, unbounded[key] / MiB
        print(f"| {label} | {b:,.1f} | {u:,.1f} | {u / b if b else float('nan'):.1f} |")


if __name__ == "__main__":
    main()
