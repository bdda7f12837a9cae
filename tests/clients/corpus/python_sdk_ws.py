"""The official openai Python SDK's Responses WebSocket mode as its docs show it: one response, print the text.
No error handling of its own."""

import asyncio

from openai import AsyncOpenAI


async def main() -> None:
    client = AsyncOpenAI()
    async with client.responses.connect() as connection:
        await connection.response.create(model="gpt-4o-mini", input="Hello")
        async for event in connection:
            if event.type == "response.output_text.delta":
                print(event.delta, end="", flush=True)
            elif event.type == "response.completed":
                break
    print()


asyncio.run(main())
