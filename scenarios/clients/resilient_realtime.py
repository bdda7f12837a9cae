"""A resilient Realtime client on the openai SDK: the answer counts only once `response.done` arrives with
status `completed`.

- a read timeout on every event (READ_TIMEOUT, default 1s): a stalled or cut-short response is noticed;
- an `error` event, a failed response, a frame that is not JSON, a drop or any close before `response.done`
  mean: reconnect with backoff and ask again on a new session (at most MAX_ATTEMPTS connections);
- when done it closes the connection itself (code 1000);
- after MAX_ATTEMPTS it gives up with a clear message and exit status 1.

    python resilient_realtime.py [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys

from openai import AsyncOpenAI, OpenAIError
from websockets.exceptions import ConnectionClosed

MAX_ATTEMPTS = 4
BASE_BACKOFF_S = 0.1


class Incomplete(Exception):
    pass


async def one_attempt(client: AsyncOpenAI, prompt: str, read_timeout: float) -> str:
    text: list[str] = []
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
        )
        await conn.response.create()
        while True:
            event = await asyncio.wait_for(conn.recv(), read_timeout)  # raises ConnectionClosed at the end
            if event.type == "error":
                raise Incomplete(f"error event: {event.error.message}")
            if event.type == "response.output_text.delta":
                text.append(event.delta)
            elif event.type == "response.done":
                if event.response.status != "completed":
                    raise Incomplete(f"response {event.response.status}")
                return "".join(text)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    read_timeout = float(os.environ.get("READ_TIMEOUT", "1"))
    client = AsyncOpenAI()
    problem = "no attempt made"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            print(await one_attempt(client, args.prompt, read_timeout))
            return 0
        except (ConnectionClosed, TimeoutError, Incomplete, OpenAIError, json.JSONDecodeError, OSError) as err:
            problem = f"{type(err).__name__}: {err}"
        if attempt < MAX_ATTEMPTS:
            wait = BASE_BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 4)
            print(f"connection {attempt} failed ({problem}); reconnecting in {wait:.2f}s", file=sys.stderr)
            await asyncio.sleep(wait)
    print(f"error: giving up after {MAX_ATTEMPTS} connections; last problem: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
