"""A naive Gemini client, the way the google-genai quickstart reads: the SDK's defaults, no checks.

- streams with `generate_content_stream` and prints each chunk's text: whatever arrived is the answer, with
  or without a final chunk carrying its finishReason;
- no error handling of its own, and the SDK's defaults: no retries (google-genai retries only when given
  `HttpRetryOptions`), no read timeout.

    python naive_gemini.py [--prompt TEXT] [--no-stream]

The runner gives it GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY, which the SDK reads by itself.
"""

from __future__ import annotations

import argparse

from google import genai


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", default="Hello")
    parser.add_argument("--no-stream", action="store_true")
    args = parser.parse_args()
    client = genai.Client()
    if args.no_stream:
        print(client.models.generate_content(model="gemini-2.0-flash", contents=args.prompt).text)
        return
    for chunk in client.models.generate_content_stream(model="gemini-2.0-flash", contents=args.prompt):
        print(chunk.text or "", end="", flush=True)
    print()


if __name__ == "__main__":
    main()
