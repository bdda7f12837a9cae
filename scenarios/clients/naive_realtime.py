"""A naive Realtime client, as the openai SDK's README shows it: `client.realtime.connect()`, one text
question, print the text deltas until `response.done`.

No error handling and no read timeout: a drop or an odd close code escapes as websockets'
`ConnectionClosedError`, a normal close before `response.done` silently ends the loop (and the partial
text is printed as if whole), a response that never finishes is waited on forever.

    python naive_realtime.py [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import asyncio

from openai import AsyncOpenAI


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    client = AsyncOpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": args.prompt}]}
        )
        await conn.response.create()
        async for event in conn:
            if event.type == "response.output_text.delta":
                print(event.delta, end="", flush=True)
            elif event.type == "response.done":
                break
    print()


if __name__ == "__main__":
    asyncio.run(main())
