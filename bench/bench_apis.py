"""The same SSE stream on each provider API of one `dotmock serve`: Anthropic Messages streams/s as a ratio
of Chat Completions streams/s, measured in the same run, rounds interleaved so drift hits both alike.

Two figures per API: wall-clock streams/s (what a client sees; on a shared machine it swings with everyone
else's load) and streams per second of the server process's own CPU time (utime + stime from /proc: what
the server spends per stream, steady under outside load). The ratio to Chat is given for both.

    python bench/bench_apis.py            # 5 rounds of 4 s per API
    python bench/bench_apis.py --quick    # 2 rounds of 2 s

Each stream is 1,000 characters in 20-character chunks, no latency (bench/perf_servers.py's "fast" fixture,
matched on every API), 50 concurrent connections (wrk if installed, else an asyncio client); a stream counts
only when it ended with its API's terminator (`[DONE]`, `message_stop`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf_client as client
import perf_servers as servers

APIS = {  # name: (path, request body)
    "chat": ("/v1/chat/completions", servers.request_body("fast please", True)),
    "messages": ("/v1/messages", servers.request_body("fast please", True, max_tokens=True)),
}


def rate(port: int, path: str, body: bytes, seconds: int) -> client.Rate:
    if client.WRK is not None:
        return client.wrk_rate(port, body, seconds, path=path)
    return asyncio.run(client.asyncio_rate(port, body, seconds, path=path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per API (default 5, quick 2)")
    args = parser.parse_args()
    rounds, seconds = (2, 2) if args.quick else (5, 4)
    rounds = args.rounds or rounds
    per_api: dict[str, list[float]] = {name: [] for name in APIS}
    per_cpu: dict[str, list[float]] = {name: [] for name in APIS}
    with tempfile.TemporaryDirectory(prefix="dotmock-apis-") as tmp:
        server = servers.dotmock(Path(tmp))
        server.start()
        try:
            for name, (path, body) in APIS.items():  # sanity: a whole stream with its terminator
                parsed = asyncio.run(client.one_stream(server.port, body, 10, path)).parse()
                if parsed.status != 200 or not parsed.done or not parsed.content_times:
                    print(f"{name}: status {parsed.status}, terminator {parsed.done}", file=sys.stderr)
                    return 1
            for _ in range(rounds):
                for name, (path, body) in APIS.items():
                    before = server.cpu_seconds()
                    measured = rate(server.port, path, body, seconds)
                    spent = server.cpu_seconds() - before
                    per_api[name].append(measured.per_s)
                    per_cpu[name].append(measured.requests / spent if spent > 0 else math.nan)
                    print(
                        f"  {name}: {measured.per_s:,.0f} streams/s, {per_cpu[name][-1]:,.0f} per server CPU s "
                        f"({measured.errors} errors)",
                        file=sys.stderr,
                    )
        finally:
            server.stop()
    chat, chat_cpu = statistics.median(per_api["chat"]), statistics.median(per_cpu["chat"])
    print("| API | SSE streams/s (median) | / Chat | streams per server CPU s (median) | / Chat |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in APIS:
        wall, cpu = statistics.median(per_api[name]), statistics.median(per_cpu[name])
        print(f"| {name} | {wall:,.0f} | {wall / chat:.2f} | {cpu:,.0f} | {cpu / chat_cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
