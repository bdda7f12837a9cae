"""The code under test: a small wrapper over the official openai SDK, as an application would have it.

`summarise` streams the answer and refuses a stream that ended without its finish_reason (the provider cut
it), retrying once; `summarise_async` is the same on the async client.
"""

from __future__ import annotations

import openai


class IncompleteAnswer(Exception):
    """The stream ended without a finish_reason twice."""


def _collect(chunks: object) -> tuple[str, bool]:
    text, finished = [], False
    for chunk in chunks:  # type: ignore[attr-defined]
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
            finished = finished or chunk.choices[0].finish_reason is not None
    return "".join(text), finished


def summarise(text: str, *, attempts: int = 2) -> str:
    with openai.OpenAI(max_retries=2, timeout=5.0) as client:
        for _ in range(attempts):
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Summarise: {text}"}], stream=True
            )
            answer, finished = _collect(stream)
            if finished:
                return answer
    raise IncompleteAnswer(f"the answer was cut short {attempts} times")


async def summarise_async(text: str) -> str:
    async with openai.AsyncOpenAI(max_retries=2, timeout=5.0) as client:
        for _ in range(2):
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Summarise: {text}"}], stream=True
            )
            parts, finished = [], False
            async for chunk in stream:
                if chunk.choices:
                    parts.append(chunk.choices[0].delta.content or "")
                    finished = finished or chunk.choices[0].finish_reason is not None
            if finished:
                return "".join(parts)
    raise IncompleteAnswer("the answer was cut short twice")
