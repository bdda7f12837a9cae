"""A naive LLM client, the way many first versions look: official `openai` SDK, its defaults, no checks.

- no finish_reason / response.completed check: whatever text arrived is the answer;
- no error handling of its own (the SDK's default retries still apply: 2 retries on 408/409/429/5xx and
  connection errors, honouring Retry-After);
- no timeout beyond the SDK's default 10 minutes.

    python naive_chat.py [--api chat|responses] [--stream] [--prompt TEXT]

The runner gives it OPENAI_BASE_URL and OPENAI_API_KEY, which the SDK reads by itself.
"""

from __future__ import annotations

import argparse

import openai


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", choices=("chat", "responses"), default="chat")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="Hello")
    args = parser.parse_args()
    client = openai.OpenAI()
    if args.api == "chat":
        messages = [{"role": "user", "content": args.prompt}]
        if args.stream:
            stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
            text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        else:
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            text = reply.choices[0].message.content or ""
    elif args.stream:
        events = client.responses.create(model="gpt-4o-mini", input=args.prompt, stream=True)
        # Both dialects: the SDK's response.output_text.delta, and the seed's response.text.delta.
        text = "".join(getattr(e, "delta", "") or "" for e in events if (e.type or "").endswith("text.delta"))
    else:
        text = client.responses.create(model="gpt-4o-mini", input=args.prompt).output_text
    print(text)


if __name__ == "__main__":
    main()
