"""A naive WebSocket client (httpx-ws): sends one message, prints the text deltas until the connection ends.

It treats the end of the connection as the end of the answer, whatever way it ended (a close with any
code, or a drop without a close frame), and never reconnects.

    python naive_ws.py [--path /v1/chat] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import os

import httpx
from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, aconnect_ws

TERMINAL = ("done", "response.completed", "response.done")


def delta_of(event: dict) -> str:
    data = event.get("data") if isinstance(event.get("data"), dict) else event
    if "choices" in data:  # a chat.completion.chunk
        return "".join((c.get("delta") or {}).get("content") or "" for c in data["choices"])
    return data.get("delta") or "" if str(event.get("type", "")).endswith("delta") else ""


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default="/v1/chat")
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    # httpx speaks http(s):// and upgrades the connection itself.
    url = os.environ["DOTMOCK_WS_URL"].replace("ws://", "http://", 1) + args.path
    message = {"type": "message", "data": {"model": "gpt-4o-mini",
                                           "messages": [{"role": "user", "content": args.prompt}]}}
    text: list[str] = []
    try:
        async with httpx.AsyncClient() as http, aconnect_ws(url, http) as ws:
            await ws.send_json(message)
            while True:
                event = await ws.receive_json()
                text.append(delta_of(event))
                if event.get("type") in TERMINAL:
                    break
    except* (WebSocketDisconnect, WebSocketNetworkError):
        pass  # the connection ended: that must be the end of the answer
    print("".join(text))


if __name__ == "__main__":
    asyncio.run(main())
