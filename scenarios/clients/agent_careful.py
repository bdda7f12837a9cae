"""A careful agent loop on the official SDKs: the naive one's mistakes, avoided.

- answers every tool call of an answer, parallel ones included, each with its own call id;
- runs a call only when its arguments parse as a JSON object; otherwise it sends back a result that says
  so (flagged is_error on Anthropic), so the model can correct itself;
- an answer that was cut (the stream ended before the answer said how it stopped, or broke off) is asked
  for again, at most ATTEMPTS times, and never used;
- a refusal, or an answer cut at the token limit, is reported as an error (exit 2), not printed as an answer;
- stops when the model asks again for a call it already ran with the same arguments, and after MAX_ROUNDS
  rounds (exit 3).

    python agent_careful.py [--api chat|responses|messages|gemini|realtime] [--stream] [--prompt TEXT]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agent_sdk import Turn, agent, run_tool

ATTEMPTS = 3
MAX_ROUNDS = 6


class Unreadable(Exception):
    """No whole answer after ATTEMPTS tries."""


def ask(conversation: Any) -> Turn:
    mark = conversation.checkpoint()
    problem = ""
    for _attempt in range(ATTEMPTS):
        try:
            turn: Turn = conversation.ask()
        except Exception as err:  # a broken answer, whatever the SDK raised for it
            problem = f"{type(err).__name__}: {err}"
        else:
            if turn.stop is not None:
                return turn
            problem = "the answer ended before it said how it stopped"
        conversation.rewind(mark)
    raise Unreadable(problem)


def canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", choices=("chat", "responses", "messages", "gemini", "realtime"), default="chat")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="What is the weather in Paris?")
    args = parser.parse_args()
    conversation = agent(args.api, args.prompt, args.stream, max_retries=2)
    ran: set[tuple[str, str]] = set()
    for _round in range(MAX_ROUNDS):
        try:
            turn = ask(conversation)
        except Unreadable as err:
            print(f"error: no readable answer from the model ({err})", file=sys.stderr)
            return 1
        if turn.stop == "refusal":
            print(f"error: the model refused: {turn.refusal}", file=sys.stderr)
            return 2
        if turn.stop == "length":
            print("error: the answer was cut at the token limit", file=sys.stderr)
            return 2
        if not turn.calls:
            print(turn.text)
            return 0
        results: list[tuple[str, str, bool]] = []
        for call in turn.calls:
            key = (call.name, canonical(call.arguments))
            if key in ran:
                print(f"error: the model asked again for {call.name}({call.arguments}); stopping", file=sys.stderr)
                return 3
            ran.add(key)
            try:
                arguments = json.loads(call.arguments)
                if not isinstance(arguments, dict):
                    raise ValueError("not an object")
            except ValueError:
                results.append((call.id, f"error: the arguments {call.arguments!r} are not valid JSON", True))
                continue
            result = run_tool(call.name, arguments)
            print(f"[{call.name}] {result}")
            results.append((call.id, result, False))
        conversation.answer(results)
    print(f"error: no final answer after {MAX_ROUNDS} rounds", file=sys.stderr)
    return 3


if __name__ == "__main__":
    raise SystemExit(main())
