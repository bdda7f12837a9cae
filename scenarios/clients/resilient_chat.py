"""A resilient LLM client: the same calls as naive_chat.py, written to survive real provider behaviour.

- checks that an answer is complete: finish_reason "stop" (chat) or a response.completed event (responses);
  a stream that ends without it is retried, never used;
- retries 408/409/429/5xx, dropped and timed-out connections, malformed chunks and error events, with
  exponential backoff and jitter, waiting at least the Retry-After the server sends; never retries other
  4xx; gives up after MAX_ATTEMPTS with a clear message and exit status 1;
- sets a read timeout (READ_TIMEOUT seconds, default 1), so a stalled stream is noticed;
- does its own retries (SDK max_retries=0), so every attempt follows one policy.

    python resilient_chat.py [--api chat|responses] [--stream] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import httpx
import openai

try:  # the openai SDK 3.x runs on httpx2: a broken stream surfaces as its errors, not httpx's
    import httpx2

    TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:
    TRANSPORT_ERRORS = (httpx.HTTPError,)

MAX_ATTEMPTS = 4
BASE_BACKOFF_S = 0.1
MAX_RETRY_AFTER_S = 30.0
RETRYABLE = (408, 409, 429)


class Incomplete(Exception):
    """The answer ended without its terminator, or carried an error event."""


def retry_after(err: openai.APIStatusError) -> float | None:
    headers = err.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            value = float(headers.get(name, "")) * scale
        except ValueError:
            continue
        if 0 < value <= MAX_RETRY_AFTER_S:
            return value
    return None


def chat(client: openai.OpenAI, prompt: str, stream: bool) -> str:
    messages = [{"role": "user", "content": prompt}]
    if not stream:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        if reply.choices[0].finish_reason != "stop":
            raise Incomplete(f"finish_reason {reply.choices[0].finish_reason!r}")
        return reply.choices[0].message.content or ""
    parts, finish = [], None
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True):
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    if finish != "stop":
        raise Incomplete("the stream ended without finish_reason 'stop'")
    return "".join(parts)


def responses(client: openai.OpenAI, prompt: str, stream: bool) -> str:
    if not stream:
        reply = client.responses.create(model="gpt-4o-mini", input=prompt)
        if reply.status != "completed":
            raise Incomplete(f"response status {reply.status!r}")
        return reply.output_text
    parts, completed = [], False
    for event in client.responses.create(model="gpt-4o-mini", input=prompt, stream=True):
        kind = event.type or ""  # the seed dialect's response.created has no "type" field
        if kind in ("error", "response.failed", "response.incomplete"):
            raise Incomplete(f"{kind} event in the stream")
        if kind.endswith("text.delta"):  # response.output_text.delta, or the seed's response.text.delta
            parts.append(getattr(event, "delta", "") or "")
        # The seed dialect's response.completed carries no "type" (the SDK ignores `event:` names): the
        # response object itself says it is complete.
        completed = completed or kind == "response.completed" or getattr(event, "status", None) == "completed"
    if not completed:
        raise Incomplete("the stream ended without response.completed")
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", choices=("chat", "responses"), default="chat")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    read_timeout = float(os.environ.get("READ_TIMEOUT", "1"))
    client = openai.OpenAI(max_retries=0, timeout=openai.Timeout(5.0, read=read_timeout))
    call = chat if args.api == "chat" else responses
    problem = "no attempt made"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = BASE_BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 4)
        try:
            print(call(client, args.prompt, args.stream))
            return 0
        except openai.APIStatusError as err:
            if err.status_code < 500 and err.status_code not in RETRYABLE:
                print(f"error: the API refused the request (HTTP {err.status_code}): {err.message}", file=sys.stderr)
                return 2
            problem = f"HTTP {err.status_code}"
            wait = max(wait, retry_after(err) or 0.0)
        except (openai.APIConnectionError, openai.APIError, *TRANSPORT_ERRORS, json.JSONDecodeError, Incomplete) as err:
            problem = f"{type(err).__name__}: {err}"
        if attempt < MAX_ATTEMPTS:
            print(f"attempt {attempt} failed ({problem}); retrying in {wait:.2f}s", file=sys.stderr)
            time.sleep(wait)
    print(f"error: giving up after {MAX_ATTEMPTS} attempts; last problem: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
