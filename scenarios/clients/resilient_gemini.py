"""A resilient Gemini client: the same call as naive_gemini.py, written to survive real provider behaviour.

- an answer counts only when its last chunk carries a finishReason (STOP); a stream that ends without one
  is retried, never used;
- retries 408/429/5xx, error chunks mid-stream, dropped and timed-out connections and unparseable chunks,
  with exponential backoff and jitter, waiting at least the RetryInfo `retryDelay` a 429 carries (the SDK's
  own retries ignore it, so this client does its own); never retries other 4xx; gives up after
  MAX_ATTEMPTS with a clear message and exit status 1;
- sets a read timeout (READ_TIMEOUT seconds, default 1), so a stalled stream is noticed.

    python resilient_gemini.py [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any

import httpx
from google import genai
from google.genai import errors, types

MAX_ATTEMPTS = 4
BASE_BACKOFF_S = 0.1
MAX_RETRY_DELAY_S = 30.0
RETRYABLE = (408, 429)


class Incomplete(Exception):
    """The stream ended without a chunk carrying its finishReason."""


def retry_delay(err: errors.APIError) -> float:
    """The RetryInfo retryDelay of a Google error body (`"2s"`), or 0."""
    details: Any = err.details
    body = details.get("error", details) if isinstance(details, dict) else {}
    for detail in body.get("details", []) if isinstance(body, dict) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            try:
                return min(MAX_RETRY_DELAY_S, float(str(detail.get("retryDelay", "0s")).rstrip("s")))
            except ValueError:
                return 0.0
    return 0.0


def ask(client: genai.Client, prompt: str) -> str:
    parts, finish = [], None
    for chunk in client.models.generate_content_stream(model="gemini-2.0-flash", contents=prompt):
        parts.append(chunk.text or "")
        for candidate in chunk.candidates or []:
            finish = candidate.finish_reason or finish
    if finish != types.FinishReason.STOP:
        raise Incomplete(f"the stream ended with finishReason {finish}")
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    read_timeout_ms = int(float(os.environ.get("READ_TIMEOUT", "1")) * 1000)
    client = genai.Client(http_options=types.HttpOptions(timeout=read_timeout_ms))
    problem = "no attempt made"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = BASE_BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 4)
        try:
            print(ask(client, args.prompt))
            return 0
        except errors.APIError as err:
            if err.code < 500 and err.code not in RETRYABLE:
                print(f"error: the API refused the request ({err.code} {err.status}): {err.message}", file=sys.stderr)
                return 2
            problem = f"{err.code} {err.status}"
            wait = max(wait, retry_delay(err))
        except (httpx.HTTPError, errors.UnknownApiResponseError, json.JSONDecodeError, Incomplete) as err:
            problem = f"{type(err).__name__}: {err}"
        except Exception as err:  # google-genai lets httpx2's transport errors out as they are
            if type(err).__module__.split(".")[0] not in ("httpx2", "httpcore2", "httpcore"):
                raise
            problem = f"{type(err).__name__}: {err}"
        if attempt < MAX_ATTEMPTS:
            print(f"attempt {attempt} failed ({problem}); retrying in {wait:.2f}s", file=sys.stderr)
            time.sleep(wait)
    print(f"error: giving up after {MAX_ATTEMPTS} attempts; last problem: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
