"""Agents with one precise mistake, for the runner's tests, on the shipped SDK adapters
(scenarios/clients/agent_sdk.py).

    python agent_modes.py MODE [--api chat|responses|messages] [--prompt TEXT] [--rounds N]

MODE: wrong-id (answers each call with a result under a call id the model never made), no-answer (prints
the calls it got and exits 0 without running them), all (answers every call, then stops after --rounds
rounds, default 30).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scenarios" / "clients"))

from agent_sdk import agent, run_tool


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("wrong-id", "no-answer", "all"))
    parser.add_argument("--api", default="chat")
    parser.add_argument("--prompt", default="What is the weather?")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    conversation = agent(args.api, args.prompt, False)
    for _ in range(args.rounds):
        turn = conversation.ask()
        if not turn.calls:
            print(turn.text)
            return 0
        if args.mode == "no-answer":
            print(", ".join(f"{c.name}({c.arguments})" for c in turn.calls))
            return 0
        results = []
        for call in turn.calls:
            call_id = call.id + "_x" if args.mode == "wrong-id" else call.id
            results.append((call_id, run_tool(call.name, json.loads(call.arguments)), False))
        conversation.answer(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
