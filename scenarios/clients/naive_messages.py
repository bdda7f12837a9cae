"""A naive Anthropic Messages client, as the anthropic SDK's README shows it: stream one answer with the
`messages.stream()` helper and print its text.

No error handling: a dropped connection, a malformed event or an `error` event escapes as an uncaught
exception; a stream that ends without `message_stop` is printed as if whole (the helper does not mind).

    python naive_messages.py [--prompt TEXT]
"""

from __future__ import annotations

import argparse

import anthropic


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    client = anthropic.Anthropic()  # ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY from the environment
    with client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": args.prompt}],
    ) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
