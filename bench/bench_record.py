"""Benchmark: how faithfully `dotmock record` + replay reproduce a stream's cadence.

    python -m bench.bench_record              # about 10 s
    python -m bench.bench_record --streams 40 --chunks 30

An upstream dotmock server streams `--streams` chat completions of `--chunks` chunks with uneven, known gaps
(a 150 ms first token, then 20/35/50 ms in turn). They are read once through the recording proxy, the
recording is written and loaded, and the same streams are read from a server replaying it. The client is
httpx, reading SSE lines as they arrive.

Reported: the chunk boundaries (identical or not), and per gap, p50 / p95 / max of
- baseline: |gap seen through the proxy - gap seen straight from the upstream| (what the proxy adds),
- replay: |gap seen from the replay - gap seen through the proxy while recording| (record + replay),
so the replay's error reads against the scheduling noise of the same machine in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import running_server

PATTERN_MS = (20, 35, 50)


def upstream_mock(streams: int, chunks: int) -> str:
    blocks = ['scenario "bench upstream"']
    for s in range(streams):
        gaps = [150, *[PATTERN_MS[i % len(PATTERN_MS)] for i in range(chunks - 1)]]
        lines = "\n".join(f'    "w{i:02d} " after {g}ms' for i, g in enumerate(gaps))
        blocks.append(
            f'fixture "s{s}" {{\n  match POST /v1/chat/completions {{ message contains "stream {s}." }}\n'
            f"  cadence {{\n{lines}\n  }}\n}}"
        )
    return "\n\n".join(blocks) + "\n"


async def read(http: httpx.AsyncClient, base_url: str, s: int) -> list[tuple[str, float]]:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": f"stream {s}."}]}
    out = []
    start = time.monotonic()
    async with http.stream("POST", base_url + "/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                delta = (json.loads(line[6:])["choices"] or [{}])[0].get("delta", {}).get("content")
                if delta:
                    out.append((delta, time.monotonic() - start))
    return out


def gaps(timed: list[tuple[str, float]]) -> list[float]:
    times = [t for _, t in timed]
    return [b - a for a, b in zip([0.0, *times], times, strict=False)]


def errors(a: list[list[tuple[str, float]]], b: list[list[tuple[str, float]]]) -> list[float]:
    return [abs(x - y) * 1000 for sa, sb in zip(a, b, strict=True) for x, y in zip(gaps(sa), gaps(sb), strict=True)]


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"| {name} | {statistics.median(ordered):.2f} | {p95:.2f} | {ordered[-1]:.2f} |"


async def main(streams: int, chunks: int) -> None:
    records: list[Recorded] = []
    async with running_server(load_text(upstream_mock(streams, chunks), "up.mock").cases[0]) as upstream:
        async with httpx.AsyncClient(timeout=30) as http:
            direct = [await read(http, upstream.base_url, s) for s in range(streams)]
            async with running_proxy(upstream.base_url, records.append) as proxy:
                proxied = [await read(http, proxy.base_url, s) for s in range(streams)]
    text = format_text(merge(None, fixtures_text(records), header="# bench"), "bench.mock")
    async with running_server(load_text(text, "bench.mock").cases[0]) as replay:
        async with httpx.AsyncClient(timeout=30) as http:
            replayed = [await read(http, replay.base_url, s) for s in range(streams)]
    same = all([c for c, _ in a] == [c for c, _ in b] for a, b in zip(proxied, replayed, strict=True))
    print(f"{streams} streams x {chunks} chunks; chunk boundaries identical after replay: {same}")
    print("| gap error (ms) | p50 | p95 | max |\n| --- | ---: | ---: | ---: |")
    print(summary("baseline: through the proxy vs straight", errors(direct, proxied)))
    print(summary("replay vs recording", errors(proxied, replayed)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.streams, args.chunks))
