"""A naive WebSocket client (httpx-ws): sends one message, prints the text deltas until the connection ends.

It treats the end of the connection as the end of the answer, whatever way it ended (a close with any
code, or a drop without a close frame), and never reconnects. With `--fail-on-drop` it at least notices an
abnormal end and fails with its own message, but still does not reconnect.

    python naive_ws.py [--path /v1/chat] [--prompt TEXT] [--fail-on-drop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

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
    parser.add_argument("--fail-on-drop", action="store_true")
    args = parser.parse_args()
    # httpx speaks http(s):// and upgrades the connection itself.
    url = os.environ["DOTMOCK_WS_URL"].replace("ws://", "http://", 1) + args.path
    message = {
        "type": "message",
        "data": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": args.prompt}]},
    }
    text: list[str] = []
    try:
        async with httpx.AsyncClient() as http, aconnect_ws(url, http) as ws:
            await ws.send_json(message)
            while True:
                event = await ws.receive_json()
                text.append(delta_of(event))
                if event.get("type") in TERMINAL:
                    break
    except* WebSocketNetworkError:
        if args.fail_on_drop:
            print("naive_ws: the connection dropped before the answer was complete", file=sys.stderr)
            sys.exit(1)
    except* WebSocketDisconnect as group:
        codes = [getattr(e, "code", None) for e in group.exceptions]
        if args.fail_on_drop and any(code not in (1000, 1001) for code in codes):
            print(f"naive_ws: the server closed the connection with {codes[0]}", file=sys.stderr)
            sys.exit(1)
    print("".join(text))


if __name__ == "__main__":
    asyncio.run(main())
