"""How fast `.mock` files load: `python bench/bench_parse.py [--files 1000] [--repeat 3]`.

Writes N typical scenario files (params table, client, four fixtures with match rules, streaming knobs, a
fault, an error with headers, a WebSocket event sequence, an expect block) to a temporary folder, then times:

- `load_file` on every file: read, parse, build the model for every params row, validate;
- Lark's raw parse alone (the same grammar, no model) on the same texts;
- `json.loads` on an equivalent JSON description of each scenario (the same facts as dotMock-style JSON).

Prints files/s and ms per 100 files for each, and the ratios, so the figure reads against a same-run baseline
on the same machine. The target: well under 1 s per 100 files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dotmock.dsl import load_file
from dotmock.dsl.syntax import parser

_TEMPLATE = """# Generated scenario {i}: a cut stream, a rate limit, a recovery, a dropped socket.
scenario "resilience {i}"
description "Generated for the parse benchmark."
tags bench, streaming, retry

params {{
  | client              | cut |
  | "naive_chat.py"     | {cut} |
  | "resilient_chat.py" | {cut2} |
}}

client "python clients/${{client}} --stream" {{
  env OPENAI_MAX_RETRIES "3"
  timeout 30s
}}

fixture "cut short" {{
  match POST /v1/chat/completions {{ model "gpt-4o-mini"  message contains "Hello {i}"  attempt 1 }}
  response "This is a long response that will be cut short... ({i})"
  streaming {{ chunkSize 15  latencyMs 80  truncateAfterChunks ${{cut}} }}
}}

fixture "rate limited" {{
  match POST /v1/chat/completions {{ attempt 2 }}
  error 429 {{
    message "Rate limit reached"
    type "rate_limit_error"
    header "Retry-After" "1"
  }}
}}

fixture "recovered" {{
  match POST /v1/chat/completions {{ attempt 3.. }}
  response "This is a long response that arrives in full."
  fault slowFirstToken 200ms
}}

fixture "socket drops" {{
  match websocket /v1/chat
  events {{
    "response.created"    {{"id": "resp_{i}"}}
    "response.text.delta" {{"delta": "Hel"}}  after 50ms
  }}
  disconnectAfterMs 200
}}

expect {{
  client exits 0
  client stdout contains "arrives in full"
  requests POST /v1/chat/completions <= 3
  wait between attempts >= retry-after
  no finding truncated_stream_accepted
}}
"""


def _json_equivalent(i: int, cut: int, cut2: int) -> str:
    """The same scenario as JSON (what a JSON-based description of it would hold)."""
    fixtures = [
        {
            "name": "cut short",
            "method": "POST",
            "path": "/v1/chat/completions",
            "model": "gpt-4o-mini",
            "contains": f"Hello {i}",
            "attempt": 1,
            "response": f"This is a long response that will be cut short... ({i})",
            "streaming": {"chunkSize": 15, "latencyMs": 80, "truncateAfterChunks": "${cut}"},
        },
        {
            "name": "rate limited",
            "path": "/v1/chat/completions",
            "attempt": 2,
            "status": 429,
            "error": {"message": "Rate limit reached", "type": "rate_limit_error"},
            "headers": {"Retry-After": "1"},
        },
        {
            "name": "recovered",
            "path": "/v1/chat/completions",
            "attempt": "3..",
            "response": "This is a long response that arrives in full.",
            "faults": [{"slowFirstToken": 200}],
        },
        {
            "name": "socket drops",
            "path": "/v1/chat",
            "events": [
                {"type": "response.created", "data": {"id": f"resp_{i}"}},
                {"type": "response.text.delta", "data": {"delta": "Hel"}, "delay": 50},
            ],
            "disconnectAfterMs": 200,
        },
    ]
    scenario = {
        "scenario": f"resilience {i}",
        "description": "Generated for the parse benchmark.",
        "tags": ["bench", "streaming", "retry"],
        "params": [{"client": "naive_chat.py", "cut": cut}, {"client": "resilient_chat.py", "cut": cut2}],
        "client": {
            "command": "python clients/${client} --stream",
            "env": {"OPENAI_MAX_RETRIES": "3"},
            "timeout": "30s",
        },
        "fixtures": fixtures,
        "expect": [
            {"exits": 0},
            {"stdout_contains": "arrives in full"},
            {"requests": ["POST", "/v1/chat/completions", "<=", 3]},
            {"wait": [">=", "retry-after"]},
            {"no_finding": "truncated_stream_accepted"},
        ],
    }
    return json.dumps(scenario, indent=2)


def _best_of(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--files", type=int, default=1000, help="how many scenario files (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported (default 3)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dotmock-bench-") as tmp:
        folder = Path(tmp)
        paths: list[str] = []
        texts: list[str] = []
        jsons: list[str] = []
        for i in range(args.files):
            cut, cut2 = 1 + i % 5, 3 + i % 7
            text = _TEMPLATE.format(i=i, cut=cut, cut2=cut2)
            path = folder / f"scenario_{i:04d}.mock"
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
            texts.append(text)
            jsons.append(_json_equivalent(i, cut, cut2))

        lark = parser()
        cases = sum(len(load_file(p).cases) for p in paths[:5])  # warm up (grammar compiled, caches filled)
        assert cases == 10, cases

        def load_all() -> None:
            for p in paths:
                load_file(p)

        def lark_all() -> None:
            for t in texts:
                lark.parse(t)

        def json_all() -> None:
            for j in jsons:
                json.loads(j)

        t_load = _best_of(args.repeat, load_all)
        t_lark = _best_of(args.repeat, lark_all)
        t_json = _best_of(args.repeat, json_all)

    n = args.files
    size = statistics.mean(len(t) for t in texts)
    print(f"{n} scenario files, {size:.0f} characters each on average, 2 params rows each; best of {args.repeat}")
    rows = [
        ("load_file (parse + model + validate)", t_load),
        ("Lark raw parse only", t_lark),
        ("json.loads of an equivalent JSON", t_json),
    ]
    for label, seconds in rows:
        print(f"  {label:<38} {n / seconds:>9.0f} files/s   {seconds / n * 100 * 1000:>8.2f} ms per 100 files")
    print(f"  load_file / Lark parse = {t_load / t_lark:.1f}x   load_file / json.loads = {t_load / t_json:.0f}x")
    per_100 = t_load / n * 100
    verdict = f"{1 / per_100:.1f}x under the target" if per_100 < 1 else "OVER the target"
    print(f"  target: < 1 s per 100 files -> {per_100 * 1000:.0f} ms per 100 files ({verdict})")
    return 0 if per_100 < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
