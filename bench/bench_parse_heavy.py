"""The drill's heaviest parser inputs: `python -m bench.bench_parse_heavy [--inputs 20000] [--min-kib 64]`.

Regenerates the inputs `python -m bench.drill` feeds the parser (the same seeds: mutations of the shipped
scenarios and token soup), keeps those of at least `--min-kib` KiB (every input that ever took over 0.3 s of
CPU is one of them: parsing is linear, so the small ones are fast), and times `load_text` + `format_text` on
each in CPU seconds, twice in the same run: with the limits as shipped, and without MAX_TOKENS (the limit
of 20,000 tokens per file). Prints, for each pass, how many inputs took over 1 s and over 0.5 s of CPU, the
most CPU one took (and its seed), and the ratio of the two passes, and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostile_corpus import SCENARIOS, mutate, parse_outcome, shipped_texts, token_soup  # noqa: E402

from dotmock.dsl import limits  # noqa: E402


def drill_input(seed: int, shipped: list[tuple[str, str]]) -> tuple[str, str]:
    """bench/drill.py's input number `seed`: (path, text)."""
    rng = random.Random(seed)
    if seed % 5 == 4:
        return str(SCENARIOS / "soup.mock"), 'scenario "soup"\n' + token_soup(rng)
    path, text = shipped[seed % len(shipped)]
    return path, mutate(text, rng)


def timed(inputs: list[tuple[int, str, str]]) -> list[tuple[float, int]]:
    return [(parse_outcome(text, path).cpu_seconds, seed) for seed, path, text in inputs]


def summary(name: str, cpu: list[tuple[float, int]]) -> str:
    worst, seed = max(cpu)
    over_1 = sum(c > 1.0 for c, _ in cpu)
    over_half = sum(c > 0.5 for c, _ in cpu)
    total = sum(c for c, _ in cpu)
    return (
        f"{name}: over 1 s of CPU: {over_1}, over 0.5 s: {over_half}, most {worst:.2f} s (seed {seed}), "
        f"all {total:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=20_000, help="drill seeds to regenerate (default 20000)")
    p.add_argument("--min-kib", type=int, default=64, help="time only inputs of at least this size (default 64)")
    args = p.parse_args(argv)
    shipped = shipped_texts()
    parse_outcome('scenario "warm"\n', str(SCENARIOS / "warm.mock"))  # both grammars built before timing
    heavy = []
    for seed in range(args.inputs):
        path, text = drill_input(seed, shipped)
        if len(text.encode("utf-8", "surrogatepass")) >= args.min_kib * 1024:
            heavy.append((seed, path, text))
    print(f"{len(heavy)} of {args.inputs} drill inputs are {args.min_kib} KiB or more", flush=True)
    load_before = os.getloadavg()[0]
    shipped_limit = limits.MAX_TOKENS
    now = timed(heavy)
    limits.MAX_TOKENS = 10**9
    try:
        without = timed(heavy)
    finally:
        limits.MAX_TOKENS = shipped_limit
    print(summary(f"limits as shipped (MAX_TOKENS {shipped_limit:,})", now))
    print(summary("without MAX_TOKENS", without))
    ratio = max(now)[0] / max(without)[0]
    overall = sum(c for c, _ in now) / sum(c for c, _ in without)
    print(
        f"most CPU, shipped / without: {ratio:.2f}; all inputs: {overall:.2f}"
        f"; load average {load_before:.1f}-{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs ({time.strftime('%H:%M')})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
