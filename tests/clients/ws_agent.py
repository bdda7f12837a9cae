"""An agent loop over WebSocket on the official openai SDK: Responses WebSocket mode (`responses.connect()`,
the whole history sent as `input` each round) or Realtime (`realtime.connect()`, the results sent as
`function_call_output` items of the session's conversation, then `response.create`).

    python ws_agent.py naive|careful [--api responses|realtime] [--prompt TEXT]

naive: runs the first call of an answer only, runs it whatever its arguments (invalid JSON becomes {}, a
Responses stream that ended before response.completed gives the calls it had so far), no real cap on
rounds. careful: answers every call with its own id, sends an error result for arguments that do not
parse, asks again (a new connection) for a Responses answer that never completed, and stops when the model
asks again for a call it already ran (exit 3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import openai

ROUNDS = 6  # the loop cases' limit is 3


def run_tool(name: str, args: Any) -> str:
    city = args.get("city", "somewhere") if isinstance(args, dict) else "somewhere"
    return f"21 degrees and sunny in {city}" if name == "get_weather" else f"14:05 in {city}"


def results_for(mode: str, calls: list[Any], ran: set[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """(call id, output) for the calls, as the mode answers them; None: the careful agent stops."""
    out = []
    for call in calls if mode == "careful" else calls[:1]:
        try:
            args = json.loads(call.arguments or "")
            valid = isinstance(args, dict)
        except ValueError:
            args, valid = {}, False
        if mode == "careful":
            key = (call.name, json.dumps(args, sort_keys=True) if valid else call.arguments)
            if key in ran:
                return None
            ran.add(key)
            if not valid:
                out.append((call.call_id, f"error: the arguments {call.arguments!r} are not valid JSON"))
                continue
        out.append((call.call_id, run_tool(call.name, args)))
        print(f"[{call.name}] {out[-1][1]}")
    return out


@dataclass
class Call:
    call_id: str
    name: str
    arguments: str


def ask_responses(client: openai.OpenAI, items: list[Any]) -> tuple[Any, list[Call]]:
    """One round on its own connection: the final response (None when the stream ended without
    response.completed) and the calls as they came in the events."""
    calls: dict[str, Call] = {}
    with client.responses.connect() as connection:
        connection.response.create(model="m", input=items)
        try:
            for event in connection:
                if event.type == "response.output_item.added" and event.item.type == "function_call":
                    calls[event.item.id or ""] = Call(event.item.call_id, event.item.name, "")
                elif event.type == "response.function_call_arguments.delta":
                    calls[event.item_id].arguments += event.delta
                elif event.type == "response.completed":
                    return event.response, list(calls.values())
        except Exception as err:  # a dropped connection
            print(f"the connection ended: {type(err).__name__}", file=sys.stderr)
    return None, list(calls.values())


def responses_loop(client: openai.OpenAI, mode: str, prompt: str) -> int:
    """naive: a stream that ended early is used as it is (the calls so far); careful: asked again."""
    ran: set[tuple[str, str]] = set()
    items: list[Any] = [{"role": "user", "content": prompt}]
    for _ in range(ROUNDS):
        for _attempt in range(3):
            response, calls = ask_responses(client, items)
            if response is not None or mode == "naive":
                break
        if response is not None:
            calls = [Call(i.call_id, i.name, i.arguments) for i in response.output if i.type == "function_call"]
        if not calls:
            print(response.output_text if response is not None else "")
            return 0
        results = results_for(mode, calls, ran)
        if results is None:
            print("error: the model asked again for a call it already ran; stopping", file=sys.stderr)
            return 3
        items += [
            {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments} for c in calls
        ]
        items += [{"type": "function_call_output", "call_id": i, "output": o} for i, o in results]
    return 0


def realtime_loop(client: openai.OpenAI, mode: str, prompt: str) -> int:
    ran: set[tuple[str, str]] = set()
    with client.realtime.connect(model="gpt-realtime") as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        content = [{"type": "input_text", "text": prompt}]
        conn.conversation.item.create(item={"type": "message", "role": "user", "content": content})
        for _ in range(ROUNDS):
            conn.response.create()
            done = next(e for e in conn if e.type == "response.done")
            output = done.response.output or []
            calls = [item for item in output if item.type == "function_call"]
            if not calls:
                print("".join(part.text or "" for item in output for part in item.content or []))
                return 0
            results = results_for(mode, calls, ran)
            if results is None:
                print("error: the model asked again for a call it already ran; stopping", file=sys.stderr)
                return 3
            for call_id, output_text in results:
                item = {"type": "function_call_output", "call_id": call_id, "output": output_text}
                conn.conversation.item.create(item=item)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("naive", "careful"))
    parser.add_argument("--api", choices=("responses", "realtime"), default="responses")
    parser.add_argument("--prompt", default="What is the weather in Paris?")
    args = parser.parse_args()
    base = os.environ["OPENAI_BASE_URL"]
    client = openai.OpenAI(max_retries=0, timeout=5.0, websocket_base_url=base.replace("http", "ws", 1))
    loop = responses_loop if args.api == "responses" else realtime_loop
    return loop(client, args.mode, args.prompt)


if __name__ == "__main__":
    raise SystemExit(main())
