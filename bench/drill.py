"""The long hostile-input drill: `python -m bench.drill [--inputs 100000] [--minutes 20] [--rounds 20]`.

1. Parser: `--inputs` texts — mutations of every shipped scenario and token soup (tests/hostile_corpus.py),
   seeded, so a bad input is reproduced by its number — each loaded and formatted. Counts exceptions other
   than DslError (each is a defect, printed with its seed), the slowest input, inputs over 1 s. Stops early,
   saying so, when `--minutes` is spent.
2. Server: a real `dotmock serve` takes the hostile HTTP and WebSocket corpus `--rounds` times. Counts 5xx
   answers, frames left unanswered, raw frames not closed, keep-alive disconnects; the server's resident
   memory before, at its peak (sampled between rounds) and after.

Exit status 1 when a defect was found (an exception other than DslError, an input over 1 s, a 5xx, an
unanswered frame), else 0. The fast version of both runs in CI: tests/test_drill.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostile_corpus import (  # noqa: E402  (tests/ holds the corpus the fast drill shares)
    SCENARIOS,
    drill_server,
    mutate,
    parse_outcome,
    rss_bytes,
    shipped_texts,
    token_soup,
)


@dataclass
class ParserFigures:
    tried: int = 0
    defects: list[str] = field(default_factory=list)
    slowest: float = 0.0  # wall seconds
    slowest_seed: int = -1
    slowest_cpu: float = 0.0  # CPU seconds of the input that took the most CPU
    slowest_cpu_seed: int = -1
    over_1s: int = 0  # wall
    over_1s_cpu: int = 0
    loads: list[float] = field(default_factory=list)  # 1-minute load average, sampled every 1,000 inputs


def parser_drill(inputs: int, seconds: float) -> ParserFigures:
    shipped = shipped_texts()
    parse_outcome('scenario "warm"\n', str(SCENARIOS / "warm.mock"))  # the grammar is built once per process
    f = ParserFigures()
    end = time.monotonic() + seconds
    for seed in range(inputs):
        if time.monotonic() > end:
            break
        rng = random.Random(seed)
        if seed % 5 == 4:
            path, text = str(SCENARIOS / "soup.mock"), 'scenario "soup"\n' + token_soup(rng)
        else:
            path, text = shipped[seed % len(shipped)]
            text = mutate(text, rng)
        outcome = parse_outcome(text, path)
        f.tried += 1
        if outcome.error:
            f.defects.append(f"seed {seed}: {outcome.error}")
        if outcome.seconds > f.slowest:
            f.slowest, f.slowest_seed = outcome.seconds, seed
        if outcome.cpu_seconds > f.slowest_cpu:
            f.slowest_cpu, f.slowest_cpu_seed = outcome.cpu_seconds, seed
        f.over_1s_cpu += outcome.cpu_seconds > 1.0
        if outcome.seconds > 1.0:
            f.over_1s += 1
            f.defects.append(f"seed {seed}: took {outcome.seconds:.2f} s ({outcome.cpu_seconds:.2f} s of CPU)")
        if f.tried % 1_000 == 0:
            f.loads.append(os.getloadavg()[0])
        if f.tried % 10_000 == 0:
            print(
                f"  parser: {f.tried} inputs, {len(f.defects)} defects, slowest {f.slowest * 1000:.0f} ms", flush=True
            )
    return f


def server_drill(rounds: int) -> tuple[dict[str, object], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dotmock", "serve", str(SCENARIOS / "ws_streaming.mock"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        url = proc.stdout.readline().strip()
        token = ""
        for _ in range(5):
            line = proc.stderr.readline()
            if "control token" in line:
                token = line.rsplit(" ", 1)[1].strip()
                break
        before = peak = rss_bytes(proc.pid)
        totals: dict[str, int] = {"requests": 0, "ws_frames": 0, "raw_frames": 0}
        defects: list[str] = []
        disconnects = 0
        started = time.monotonic()
        for _ in range(rounds):
            figures = asyncio.run(drill_server(url, token))
            totals["requests"] += figures.requests
            totals["ws_frames"] += figures.ws_frames
            totals["raw_frames"] += figures.raw_frames
            defects += (figures.server_errors or []) + (figures.ws_unanswered or []) + (figures.raw_unclosed or [])
            disconnects += len(figures.disconnects)
            peak = max(peak, rss_bytes(proc.pid))
        after = rss_bytes(proc.pid)
        alive = proc.poll() is None
        return {
            **totals,
            "5xx_and_unanswered": len(defects),
            "keepalive_disconnects": disconnects,
            "server_alive": alive,
            "rss_before_mb": round(before / 2**20, 1),
            "rss_peak_mb": round(peak / 2**20, 1),
            "rss_after_mb": round(after / 2**20, 1),
            "seconds": round(time.monotonic() - started, 1),
        }, defects
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=100_000, help="parser inputs (default 100000)")
    p.add_argument("--minutes", type=float, default=20.0, help="time budget of the parser drill (default 20)")
    p.add_argument("--rounds", type=int, default=20, help="passes of the server corpus (default 20; 0: none)")
    args = p.parse_args(argv)
    started = time.monotonic()
    f = parser_drill(args.inputs, args.minutes * 60)
    defects = f.defects
    parse_s = time.monotonic() - started
    loads = f.loads or [os.getloadavg()[0]]
    print(
        f"parser: {f.tried} inputs in {parse_s:.0f} s{' (time budget spent)' if f.tried < args.inputs else ''}; "
        f"exceptions other than DslError: {sum(1 for d in defects if 'took' not in d)}; "
        f"inputs over 1 s: {f.over_1s} (of CPU time: {f.over_1s_cpu}); "
        f"slowest {f.slowest * 1000:.0f} ms (seed {f.slowest_seed}), "
        f"most CPU {f.slowest_cpu * 1000:.0f} ms (seed {f.slowest_cpu_seed}); "
        f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs"
    )
    figures: dict[str, object] = {"server_alive": True}
    server_defects: list[str] = []
    if args.rounds > 0:
        figures, server_defects = server_drill(args.rounds)
        print("server: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    for line in (defects + server_defects)[:50]:
        print("  defect:", line)
    return 1 if defects or server_defects or not figures["server_alive"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
