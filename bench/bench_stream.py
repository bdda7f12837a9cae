"""Benchmark: dotmock's SSE streaming against a bare Quart/hypercorn app serving the same bytes.

    python bench/bench_stream.py            # defaults: ~20 s in all
    python bench/bench_stream.py --streams 4000 --concurrency 128 --paced 500

Two measurements, each against both servers (each a subprocess on 127.0.0.1):
1. throughput: streams/second for a 1,000-character answer in 20-character chunks with no latency;
2. pacing: hundreds of concurrent streams at 50 ms between chunks: the error of every inter-chunk gap
   (|gap - 50 ms|) and each stream's end drift (last chunk's arrival vs first + n * 50 ms), p50/p99.

The baseline renders the same frames once up front and yields them one by one, sleeping 50 ms between
paced chunks (what a plain app does); dotmock does its full work per request (validation, matching, journal,
rendering, pacing against absolute deadlines, coalescing). The load client is raw asyncio (one connection
per stream), so the client costs as little as possible; it runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

TEXT_FAST = ("The quick brown fox jumps over the lazy dog. " * 23)[:1000]
PACED_CHUNKS = 20
CHUNK = 20
LATENCY_S = 0.05
TEXT_PACED = ("Paced streaming text for the benchmark. " * 11)[: PACED_CHUNKS * CHUNK]
CONTENT_TOKEN = b'"content":'


def _body(prompt: str) -> bytes:
    return json.dumps({"model": "bench", "stream": True, "messages": [{"role": "user", "content": prompt}]}).encode()


# ------------------------------------------------------------------------------------------------ servers


def _dotmock_scenario():
    from dotmock.dsl.model import Fixture, Match, Scenario, Streaming, TextOutcome, TextRule

    def fixture(name: str, text: str, latency_ms: int) -> Fixture:
        match = Match("http", "POST", "/v1/chat/completions", text=(TextRule("contains", name),))
        return Fixture(name, match, TextOutcome(text, Streaming(chunk_size=CHUNK, latency_ms=latency_ms)))

    return Scenario(
        name="bench",
        path="bench.mock",
        base_dir=".",
        fixtures=(fixture("fast", TEXT_FAST, 0), fixture("paced", TEXT_PACED, int(LATENCY_S * 1000))),
    )


async def _serve_dotmock() -> None:
    from dotmock.server.running import running_server

    async with running_server(_dotmock_scenario()) as srv:
        print(srv.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


def _frames(text: str) -> list[tuple[bool, bytes]]:
    from dotmock.server.apis.chat_completions import ChatRenderer
    from dotmock.server.events import encode_sse_event
    from dotmock.server.payloads import Reply
    from dotmock.server.streaming import split_text

    renderer = ChatRenderer(Reply(model="bench", prompt_tokens=3), "stop", include_usage=False)
    frames = [(False, encode_sse_event(e)) for e in renderer.opening()]
    frames += [(True, encode_sse_event(renderer.delta(piece))) for piece in split_text(text, CHUNK)]
    return frames + [(False, encode_sse_event(e)) for e in renderer.closing()]


async def _serve_baseline() -> None:
    from quart import Quart, Response, request

    from dotmock.server.running import bind_socket, hypercorn_config, serve_app

    fast, paced = _frames(TEXT_FAST), _frames(TEXT_PACED)
    app = Quart("baseline")

    @app.post("/v1/chat/completions")
    async def chat() -> Response:
        body = await request.get_json()
        is_paced = "paced" in body["messages"][-1]["content"]

        async def frames():
            first = True
            for content, frame in paced if is_paced else fast:
                if is_paced and content and not first:
                    await asyncio.sleep(LATENCY_S)
                first = first and not content
                yield frame

        response = Response(frames(), content_type="text/event-stream; charset=utf-8")
        response.timeout = None
        return response

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_app(app, sock, hypercorn_config("127.0.0.1", port, graceful_timeout=0.5, quiet=True), stop)
    )
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    stop.set()
    await task


# ------------------------------------------------------------------------------------------------ client


@dataclass
class StreamResult:
    ok: bool
    arrivals: list[float]


async def one_stream(port: int, body: bytes, expect_chunks: int) -> StreamResult:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    arrivals: list[float] = []
    tail = b""
    head_ok: bool | None = None
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = time.monotonic()
            if head_ok is None:
                head_ok = data.startswith(b"HTTP/1.1 200")
            window = tail + data
            arrivals.extend([now] * (window.count(CONTENT_TOKEN) - tail.count(CONTENT_TOKEN)))
            tail = window[-(len(CONTENT_TOKEN) - 1) :]
            if window.endswith(b"0\r\n\r\n"):
                break
    finally:
        writer.close()
    return StreamResult(bool(head_ok) and len(arrivals) == expect_chunks, arrivals)


async def throughput(port: int, total: int, concurrency: int, max_seconds: float) -> tuple[float, int, int]:
    """(streams per second, completed, failed) for the fast stream."""
    body = _body("fast please")
    expect = len(TEXT_FAST) // CHUNK
    done = failed = 0
    next_index = 0
    deadline = time.monotonic() + max_seconds

    async def worker() -> None:
        nonlocal done, failed, next_index
        while next_index < total and time.monotonic() < deadline:
            next_index += 1
            try:
                result = await one_stream(port, body, expect)
            except OSError:
                failed += 1
                continue
            if result.ok:
                done += 1
            else:
                failed += 1

    await one_stream(port, body, expect)  # warm up
    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.monotonic() - start), done, failed


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def pacing(port: int, streams: int, max_seconds: float) -> dict[str, float]:
    body = _body("paced please")
    results = await asyncio.wait_for(
        asyncio.gather(*(one_stream(port, body, PACED_CHUNKS) for _ in range(streams)), return_exceptions=True),
        max_seconds,
    )
    gaps: list[float] = []
    drifts: list[float] = []
    ok = 0
    for result in results:
        if not isinstance(result, StreamResult) or not result.ok:
            continue
        ok += 1
        a = result.arrivals
        gaps += [abs((a[i + 1] - a[i]) - LATENCY_S) * 1000 for i in range(len(a) - 1)]
        drifts.append(((a[-1] - a[0]) - (len(a) - 1) * LATENCY_S) * 1000)
    return {
        "ok": ok,
        "gap_p50_ms": _pct(gaps, 0.5),
        "gap_p99_ms": _pct(gaps, 0.99),
        "drift_p50_ms": _pct(drifts, 0.5),
        "drift_p99_ms": _pct(drifts, 0.99),
        "gap_mean_ms": statistics.fmean(gaps) if gaps else float("nan"),
    }


# ------------------------------------------------------------------------------------------------ main


def start_server(kind: str, uvloop: bool) -> tuple[subprocess.Popen[str], int]:
    argv = [sys.executable, __file__, "--serve", kind] + (["--uvloop"] if uvloop else [])
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        raise SystemExit(f"{kind} server did not start: {line!r}")
    return proc, int(line)


def stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def measure_all(ports: dict[str, int], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Throughput in alternating rounds (best round counts: a shared machine only ever slows a run down),
    then pacing once per server."""
    figures: dict[str, dict[str, float]] = {kind: {"streams_per_s": 0.0, "done": 0, "failed": 0} for kind in ports}
    per_round = max(1, args.streams // args.rounds)
    for _ in range(args.rounds):
        for kind, port in ports.items():
            rate, done, failed = await throughput(port, per_round, args.concurrency, args.max_seconds)
            fig = figures[kind]
            fig["streams_per_s"] = max(fig["streams_per_s"], rate)
            fig["done"] += done
            fig["failed"] += failed
    for kind, port in ports.items():
        figures[kind].update(await pacing(port, args.paced, args.max_seconds))
    return figures


def _run(coro, uvloop: bool):
    if uvloop:
        import uvloop as _uvloop

        return _uvloop.run(coro)
    return asyncio.run(coro)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=2000, help="fast streams to run per server (default 2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent fast streams (default 64)")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating throughput rounds per server; the best counts (default 4)"
    )
    parser.add_argument("--paced", type=int, default=300, help="concurrent paced streams (default 300)")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="bound for each measurement")
    parser.add_argument("--uvloop", action="store_true", help="run the servers (and client) on uvloop")
    parser.add_argument("--serve", choices=["dotmock", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _run(_serve_dotmock() if args.serve == "dotmock" else _serve_baseline(), args.uvloop)
        return 0
    procs: list[subprocess.Popen[str]] = []
    ports: dict[str, int] = {}
    try:
        for kind in ("baseline", "dotmock"):
            proc, ports[kind] = start_server(kind, args.uvloop)
            procs.append(proc)
        figures = _run(measure_all(ports, args), args.uvloop)
    finally:
        for proc in procs:
            stop_server(proc)
    base, mock = figures["baseline"], figures["dotmock"]
    print(
        f"fast stream: {len(TEXT_FAST)} chars in {CHUNK}-char chunks, no latency; {args.streams} streams "
        f"per server, {args.concurrency} at a time, best of {args.rounds} alternating rounds"
    )
    print(f"paced stream: {PACED_CHUNKS} chunks {int(LATENCY_S * 1000)} ms apart, {args.paced} concurrent streams")
    print(f"{'':24}{'baseline':>12}{'dotmock':>12}{'ratio':>10}")
    rows = [
        ("streams/s", "streams_per_s"),
        ("failed", "failed"),
        ("paced streams ok", "ok"),
        ("gap error p50 (ms)", "gap_p50_ms"),
        ("gap error p99 (ms)", "gap_p99_ms"),
        ("end drift p50 (ms)", "drift_p50_ms"),
        ("end drift p99 (ms)", "drift_p99_ms"),
    ]
    for label, key in rows:
        b, m = base[key], mock[key]
        ratio = f"{m / b:10.2f}" if b else f"{'-':>10}"
        print(f"{label:24}{b:12.2f}{m:12.2f}{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
