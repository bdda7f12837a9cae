"""A resilient WebSocket client (httpx-ws): the answer counts only once a terminal event arrives.

- a drop, a close before the terminal event, an error event or a read timeout (READ_TIMEOUT, default 1s)
  means: reconnect with backoff and send the message again (at most MAX_ATTEMPTS connections);
- when done it closes the connection itself with code 1000;
- after MAX_ATTEMPTS it gives up with a clear message and exit status 1.

    python resilient_ws.py [--path /v1/chat] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys

import httpx
from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, aconnect_ws

MAX_ATTEMPTS = 4
BASE_BACKOFF_S = 0.1
TERMINAL = ("done", "response.completed", "response.done")
FAILED = ("error", "response.failed")


class Incomplete(Exception):
    pass


def delta_of(event: dict) -> str:
    data = event.get("data") if isinstance(event.get("data"), dict) else event
    if "choices" in data:
        return "".join((c.get("delta") or {}).get("content") or "" for c in data["choices"])
    return data.get("delta") or "" if str(event.get("type", "")).endswith("delta") else ""


async def one_attempt(url: str, message: dict, read_timeout: float) -> str:
    text: list[str] = []
    async with httpx.AsyncClient() as http, aconnect_ws(url, http) as ws:
        await ws.send_json(message)
        while True:
            event = await ws.receive_json(timeout=read_timeout)
            kind = event.get("type")
            if kind in FAILED:
                raise Incomplete(f"{kind} event: {event}")
            text.append(delta_of(event))
            if kind in TERMINAL:
                await ws.close(1000)
                return "".join(text)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default="/v1/chat")
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    url = os.environ["DOTMOCK_WS_URL"].replace("ws://", "http://", 1) + args.path
    read_timeout = float(os.environ.get("READ_TIMEOUT", "1"))
    message = {
        "type": "message",
        "data": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": args.prompt}]},
    }
    problem = "no attempt made"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            print(await one_attempt(url, message, read_timeout))
            return 0
        except* (
            WebSocketDisconnect,
            WebSocketNetworkError,
            TimeoutError,
            Incomplete,
            httpx.HTTPError,
            ValueError,
        ) as group:
            problem = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
        if attempt < MAX_ATTEMPTS:
            wait = BASE_BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 4)
            print(f"connection {attempt} failed ({problem}); reconnecting in {wait:.2f}s", file=sys.stderr)
            await asyncio.sleep(wait)
    print(f"error: giving up after {MAX_ATTEMPTS} connections; last problem: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
