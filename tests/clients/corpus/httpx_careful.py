"""A careful hand-written httpx client: read timeout, [DONE] required, JSON guarded, error events and HTTP
errors refused, retries (retryable statuses and broken streams only) with backoff that honours Retry-After,
and a clear message of its own when it gives up."""

import json
import os
import sys
import time

import httpx

URL = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}], "stream": True}
READ_TIMEOUT = float(os.environ.get("READ_TIMEOUT", "0.3"))


class Broken(Exception):
    pass


def one_attempt() -> str:
    text = []
    timeout = httpx.Timeout(5.0, read=READ_TIMEOUT)
    with httpx.stream("POST", URL, json=BODY, timeout=timeout) as r:
        if r.status_code != 200:
            r.read()
            raise httpx.HTTPStatusError(f"HTTP {r.status_code}", request=r.request, response=r)
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                return "".join(text)
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError as err:
                raise Broken(f"malformed chunk: {err}") from None
            if "error" in chunk:
                raise Broken(f"error event: {chunk['error'].get('message')}")
            for choice in chunk.get("choices", []):
                text.append((choice.get("delta") or {}).get("content") or "")
    raise Broken("stream ended without [DONE]")


def main() -> int:
    for attempt in range(3):
        wait = 0.2 * 2**attempt
        try:
            print(one_attempt())
            return 0
        except httpx.HTTPStatusError as err:
            status = err.response.status_code
            problem = f"HTTP {status}"
            if status < 500 and status not in (408, 409, 429):
                break
            wait = max(wait, float(err.response.headers.get("retry-after", 0) or 0))
        except (httpx.HTTPError, Broken) as err:
            problem = str(err) or type(err).__name__
        if attempt < 2:
            time.sleep(wait)
    print(f"error: no answer from the model ({problem})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
