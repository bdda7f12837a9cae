"""A hand-rolled client, the way many in-house wrappers look: plain httpx, its own retry loop, its own SSE
reading. Each flag is one common mistake, for the scenarios that show how dotmock reports it.

    python hand_rolled.py --retries N --wait SECONDS [--retry-any-status] [--stream] [--prompt TEXT]

- the retry loop waits a fixed `--wait` between attempts and never reads Retry-After;
- `--retry-any-status` retries every error status, 400 included;
- with `--stream`, lines whose data is not JSON are skipped ("be lenient in what you accept"), and the
  stream ending is taken as the end of the answer.
On giving up it prints its own error message and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import httpx


def read_stream(response: httpx.Response) -> str:
    text = []
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            continue  # the mistake: a broken chunk is skipped as if nothing was lost
        for choice in chunk.get("choices", []):
            text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--wait", type=float, default=0.1)
    parser.add_argument("--retry-any-status", action="store_true")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    url = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": args.prompt}], "stream": args.stream}
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    with httpx.Client(timeout=httpx.Timeout(10.0)) as http:
        for attempt in range(1 + args.retries):
            if attempt:
                time.sleep(args.wait)
            with http.stream("POST", url, json=body, headers=headers) as response:
                if response.status_code == 200:
                    if args.stream:
                        print(read_stream(response))
                    else:
                        response.read()
                        print(response.json()["choices"][0]["message"]["content"])
                    return 0
                response.read()
                retryable = response.status_code in (408, 409, 429) or response.status_code >= 500
                if not (retryable or args.retry_any_status):
                    break
    print(f"hand_rolled: gave up after {attempt + 1} attempt(s): HTTP {response.status_code}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
