"""A resilient Anthropic Messages client on the anthropic SDK: the answer counts only once the stream's
final message has a `stop_reason` (a stream cut before `message_stop` has none).

- a read timeout (READ_TIMEOUT, default 1s) on the stream: a stall is noticed;
- a dropped connection, a malformed event, an `error` event (overloaded_error, api_error), a 429/5xx the
  SDK gave up on, or a stream without `message_stop` mean: try again with backoff (at most MAX_ATTEMPTS);
- other errors (400, 401, 404, ...) are not retried: a clear message and exit status 1.

    python resilient_messages.py [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import anthropic
import httpx2

MAX_ATTEMPTS = 4
BASE_BACKOFF_S = 0.1
RETRYABLE = (
    anthropic.APIConnectionError,
    anthropic.RateLimitError,
    anthropic.InternalServerError,
)


class Incomplete(Exception):
    pass


def one_attempt(client: anthropic.Anthropic, prompt: str) -> str:
    with client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": prompt}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    if final.stop_reason is None:
        raise Incomplete(f"the stream ended without message_stop after {len(text)} characters")
    return text


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    timeout = anthropic.Timeout(30.0, read=float(os.environ.get("READ_TIMEOUT", "1")))
    client = anthropic.Anthropic(timeout=timeout)
    problem = "no attempt made"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            print(one_attempt(client, args.prompt))
            return 0
        except anthropic.APIStatusError as err:
            if isinstance(err, RETRYABLE) or err.status_code == 200:  # 200: an `error` event mid-stream
                problem = f"{type(err).__name__}: {err.message}"
            else:
                print(f"error: {err.status_code} {err.message}", file=sys.stderr)
                return 1
        except (
            *RETRYABLE,
            Incomplete,
            httpx2.TransportError,
            json.JSONDecodeError,
        ) as err:
            problem = f"{type(err).__name__}: {err}"
        if attempt < MAX_ATTEMPTS:
            wait = BASE_BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 4)
            print(
                f"attempt {attempt} failed ({problem}); retrying in {wait:.2f}s",
                file=sys.stderr,
            )
            time.sleep(wait)
    print(
        f"error: giving up after {MAX_ATTEMPTS} attempts; last problem: {problem}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
