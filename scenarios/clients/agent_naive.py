"""A naive agent loop, the way a first version often looks, on the official SDKs.

- runs the first tool call of an answer only (the others of parallel calls are never answered);
- runs a call whatever its arguments (arguments that do not parse become {}), even one whose stream was cut
  off inside its arguments (the SDKs' stream helpers hand such a call over without a word);
- never asks why an answer stopped: a refusal, or an answer cut at its token limit, is printed as the answer;
- no real cap on rounds: a model that keeps asking for the same call keeps it going.

    python agent_naive.py [--api chat|responses|messages|gemini|realtime] [--stream] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import json

from agent_sdk import agent, run_tool

ROUNDS = 25


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", choices=("chat", "responses", "messages", "gemini", "realtime"), default="chat")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="What is the weather in Paris?")
    args = parser.parse_args()
    conversation = agent(args.api, args.prompt, args.stream)
    for _ in range(ROUNDS):
        turn = conversation.ask()
        if not turn.calls:
            print(turn.text)
            return 0
        call = turn.calls[0]
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            arguments = {}
        result = run_tool(call.name, arguments)
        print(f"[{call.name}] {result}")
        conversation.answer([(call.id, result, False)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
