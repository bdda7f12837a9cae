"""Performance: dotmock against bare Quart/ASGI baselines and, with `--anchors`, AIMock and LLMock.

    python bench/perf.py              # dotmock + the two baselines, about 2 minutes
    python bench/perf.py --anchors    # + AIMock and LLMock (installed under /tmp/anchors beforehand)
    python bench/perf.py --quick      # 5-second rate runs instead of 15

Each server runs as its own subprocess on 127.0.0.1 and is measured alone, one after the other, with the same
tools: chat JSON req/s and SSE streams/s (1,000 characters in 20-character chunks, no latency) with
`wrk -t2 -c50` (an asyncio client if wrk is missing; for dotmock also the same stream on Anthropic Messages and
its ratio to Chat's), then paced streams (20 chunks 50 ms apart) opened 200
and 1,000 at once by an asyncio client: |gap - 50 ms| p50/p99 between content chunks as the client sees them,
each stream's span (first to last content chunk) against 19 x 50 ms, time to first byte. Peak RSS is the
server process's VmHWM, read after the paced runs (1,000 streams) and again at the end. Prints a Markdown
table, then dotmock's ratio to each other server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import perf_client as client
import perf_servers as servers

STREAM_TIMEOUT_S = 30.0
TTFB_STREAMS = 40
TTFB_SPACING_S = 0.025
PACED_PROMPT = "paced please, one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
Figures = dict[str, float]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


async def _rate(port: int, body: bytes, seconds: int, path: str = client.CHAT_PATH) -> client.Rate:
    if client.WRK is not None:
        return await asyncio.to_thread(client.wrk_rate, port, body, seconds, 50, path)
    return await client.asyncio_rate(port, body, seconds, path=path)


def _pacing(streams: list[client.Stream], prefix: str) -> Figures:
    latency = servers.LATENCY_MS / 1000
    gaps: list[float] = []
    spans: list[float] = []
    ttfbs: list[float] = []
    ok = 0
    for stream in streams:
        parsed = stream.parse()
        ttfbs.append(parsed.ttfb_s * 1000)
        times = parsed.content_times
        if parsed.status != 200 or len(times) < 2:
            continue
        ok += 1
        gaps += [abs((b - a) - latency) * 1000 for a, b in itertools.pairwise(times)]
        expected = (len(times) - 1) * latency
        spans.append(abs((times[-1] - times[0]) - expected) / expected * 100)
    return {
        f"{prefix}_ok": ok,
        f"{prefix}_gap_p50": _pct(gaps, 0.5),
        f"{prefix}_gap_p99": _pct(gaps, 0.99),
        f"{prefix}_span_p50": _pct(spans, 0.5),
        f"{prefix}_span_p99": _pct(spans, 0.99),
        f"{prefix}_ttfb_p50": _pct(ttfbs, 0.5),
    }


async def _ttfb(port: int) -> Figures:
    """Light load: paced streams started 25 ms apart; the first byte's and the first chunk's delay."""
    body = servers.request_body(PACED_PROMPT, True)
    tasks = []
    for _ in range(TTFB_STREAMS):
        tasks.append(asyncio.create_task(client.one_stream(port, body, STREAM_TIMEOUT_S)))
        await asyncio.sleep(TTFB_SPACING_S)
    parsed = [s.parse() for s in await asyncio.gather(*tasks)]
    first = [
        (p.content_times[0] - s.sent_at) * 1000
        for p, s in zip(parsed, [t.result() for t in tasks], strict=True)
        if p.content_times
    ]
    return {"ttfb_p50": _pct([p.ttfb_s * 1000 for p in parsed], 0.5), "first_chunk_p50": _pct(first, 0.5)}


async def _sanity(server: servers.Server) -> str | None:
    fast = (await client.one_stream(server.port, servers.request_body("fast please", True), 10)).parse()
    if fast.status != 200 or not fast.done or not fast.content_times:
        return f"fast stream: status {fast.status}, {len(fast.content_times)} chunks, terminator {fast.done}"
    plain = (await client.one_stream(server.port, servers.request_body("fast please", False), 10)).parse()
    if plain.status != 200:
        return f"JSON answer: status {plain.status}"
    return None


async def measure_rates(server: servers.Server, seconds: int) -> Figures:
    cpu = server.cpu_seconds()
    streams = await _rate(server.port, servers.request_body("fast please", True), seconds)
    chat_cpu, cpu = server.cpu_seconds() - cpu, server.cpu_seconds()
    plain = await _rate(server.port, servers.request_body("fast please", False), seconds)
    figures = {
        "json_rps": plain.per_s,
        "json_errors": plain.errors,
        "streams_ps": streams.per_s,
        "stream_errors": streams.errors,
    }
    if server.name == "dotmock":  # the same stream on Anthropic Messages, right after Chat's (bench/bench_apis.py)
        body = servers.request_body("fast please", True, max_tokens=True)
        cpu = server.cpu_seconds()
        messages = await _rate(server.port, body, seconds, "/v1/messages")
        messages_cpu = server.cpu_seconds() - cpu
        figures["messages_streams_ps"] = messages.per_s
        figures["messages_vs_chat"] = messages.per_s / streams.per_s if streams.per_s else math.nan
        # per second of the server's own CPU time: what each stream costs it, whatever else shares the machine
        per_cpu = (
            (messages.requests / messages_cpu) / (streams.requests / chat_cpu)
            if messages_cpu and chat_cpu
            else math.nan
        )
        figures["messages_vs_chat_cpu"] = per_cpu
    return figures


async def measure_pacing(server: servers.Server) -> Figures:
    body = servers.request_body(PACED_PROMPT, True)
    figures = await _ttfb(server.port)
    for count in (200, 1000):
        figures |= _pacing(await client.many_streams(server.port, body, count, STREAM_TIMEOUT_S), f"c{count}")
        await asyncio.sleep(0.5)
    return figures


def run_server(make: Callable[[], servers.Server | None], phases: set[str], seconds: int) -> tuple[str, Figures]:
    server = make()
    if server is None:
        return "", {}
    print(f"  {server.name}: {server.note} ...", file=sys.stderr, flush=True)
    server.start()
    try:
        problem = _run(_sanity(server))
        if problem:
            print(f"  {server.name}: sanity check failed: {problem}", file=sys.stderr)
        figures: Figures = {}
        if "pacing" in phases:
            figures |= _run(measure_pacing(server))
            figures["rss_paced_mib"] = server.peak_rss_kib() / 1024
        if "rates" in phases:
            figures |= _run(measure_rates(server, seconds))
        figures["rss_peak_mib"] = server.peak_rss_kib() / 1024
        return server.note, figures
    finally:
        server.stop()


ROWS = [  # key, label, format, higher is better
    ("json_rps", "chat JSON req/s (wrk -c50)", "{:,.0f}", True),
    ("streams_ps", "SSE streams/s, no latency (wrk -c50)", "{:,.0f}", True),
    ("messages_streams_ps", "Anthropic Messages SSE streams/s, same", "{:,.0f}", True),
    ("messages_vs_chat", "Messages / Chat streams/s (same run)", "{:.2f}", True),
    ("messages_vs_chat_cpu", "Messages / Chat streams per server CPU s", "{:.2f}", True),
    ("ttfb_p50", "TTFB p50 ms (light load)", "{:.2f}", False),
    ("first_chunk_p50", "first chunk p50 ms (light load)", "{:.2f}", False),
    ("c200_gap_p50", "200 streams: p50 gap error ms", "{:.2f}", False),
    ("c200_gap_p99", "200 streams: p99 gap error ms", "{:.2f}", False),
    ("c200_span_p99", "200 streams: p99 span drift %", "{:.2f}", False),
    ("c200_ttfb_p50", "200 streams: TTFB p50 ms (burst)", "{:.1f}", False),
    ("c1000_ok", "1,000 streams: complete", "{:.0f}", True),
    ("c1000_gap_p50", "1,000 streams: p50 gap error ms", "{:.2f}", False),
    ("c1000_gap_p99", "1,000 streams: p99 gap error ms", "{:.2f}", False),
    ("c1000_span_p99", "1,000 streams: p99 span drift %", "{:.2f}", False),
    ("c1000_ttfb_p50", "1,000 streams: TTFB p50 ms (burst)", "{:.1f}", False),
    ("rss_paced_mib", "peak RSS MiB through 1,000 paced", "{:.1f}", False),
    ("rss_peak_mib", "peak RSS MiB at the end", "{:.1f}", False),
    ("json_errors", "wrk errors (JSON)", "{:.0f}", False),
    ("stream_errors", "wrk errors (streams)", "{:.0f}", False),
]


def _fmt(fmt: str, value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def print_table(results: dict[str, Figures]) -> None:
    names = list(results)
    print("| | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for key, label, fmt, _ in ROWS:
        print(f"| {label} | " + " | ".join(_fmt(fmt, results[n].get(key)) for n in names) + " |")
    others = [n for n in names if n != "dotmock"]
    if "dotmock" not in results or not others:
        return
    print("\ndotmock / other (higher is better for rates, lower for errors, times and memory):\n")
    print("| | " + " | ".join(f"vs {n}" for n in others) + " |")
    print("| --- |" + " ---: |" * len(others))
    for key, label, _, _ in ROWS[:-3]:
        cells = []
        for n in others:
            mine, theirs = results["dotmock"].get(key), results[n].get(key)
            ok = mine is not None and theirs and not math.isnan(mine) and not math.isnan(theirs)
            cells.append(f"{mine / theirs:.2f}" if ok else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")


def machine_facts(notes: dict[str, str]) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    wrk = (
        subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
        if client.WRK
        else "wrk missing: asyncio client"
    )
    lines = [
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {os.cpu_count()} CPUs, {cpu}, Linux {platform.release()}, Python {platform.python_version()}",
        f"- load tool: {wrk.strip()}",
    ]
    lines += [f"- {name}: {note}" for name, note in notes.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--anchors", action="store_true", help="also measure AIMock and LLMock (from /tmp/anchors)")
    parser.add_argument("--quick", action="store_true", help="5-second rate runs instead of 15")
    parser.add_argument("--only", help="comma-separated server names to run (dotmock,quart,asgi,aimock,llmock)")
    args = parser.parse_args()
    seconds = 5 if args.quick else 15
    both = {"rates", "pacing"}
    with tempfile.TemporaryDirectory(prefix="dotmock-perf-") as tmp_name:
        tmp = Path(tmp_name)
        plan: list[tuple[str, Callable[[], servers.Server | None], set[str]]] = [
            ("dotmock", lambda: servers.dotmock(tmp), both),
            ("bare Quart", lambda: servers.bare_quart(tmp), both),
            ("bare ASGI", lambda: servers.bare_asgi(tmp), both),
        ]
        if args.anchors:
            plan += [
                ("AIMock", lambda: servers.aimock(tmp), both),
                ("LLMock", lambda: servers.llmock(tmp, paced=False), {"rates"}),
                ("LLMock", lambda: servers.llmock(tmp, paced=True), {"pacing"}),
            ]
        wanted = {w.strip().lower() for w in args.only.split(",")} if args.only else None
        results: dict[str, Figures] = {}
        notes: dict[str, str] = {}
        started = time.monotonic()
        for name, make, phases in plan:
            if wanted and not any(w in name.lower() for w in wanted):
                continue
            note, figures = run_server(make, phases, seconds)
            if not figures:
                print(f"  {name}: not installed, skipped", file=sys.stderr)
                continue
            previous = results.get(name, {})
            for key in ("rss_paced_mib", "rss_peak_mib"):  # LLMock runs twice: keep the larger
                if key in previous and key in figures:
                    figures[key] = max(previous[key], figures[key])
            results[name] = previous | figures
            notes[name] = note
    print(machine_facts(notes))
    print(
        f"- bench wall time: {time.monotonic() - started:.0f} s; "
        f"rates over {seconds} s each; loop of the client: {'uvloop' if _has_uvloop() else 'asyncio'}\n"
    )
    print_table(results)
    return 0


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
