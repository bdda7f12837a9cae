"""`dotmock check` on big files: `python bench/bench_check.py [--sizes 250,500,1000] [--repeat 3]`.

For each size N, two files are written to a temporary folder and checked in-process (`check_main`, output
discarded), best of `--repeat`:

- N distinct fixtures (a valid file): the parse, build and validate cost per fixture;
- the same fixture N times: N - 1 "two fixtures are named" errors, each located, rendered and printed.

Printed: milliseconds per fixture, and the ratio of each size's per-fixture time to the smallest size's
(1.0 is linear; a check that rescans the file per error grows with N).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from dotmock.dsl.cli import check_main

DISTINCT = (
    'fixture "f{i}" {{\n  match POST /v1/chat/completions {{ message contains "hi {i}" }}\n  response "hello {i}"\n}}\n'
)
SAME = 'fixture "same" {\n  match POST /v1/chat/completions { message contains "hi" }\n  response "hello"\n}\n'
HEAD = 'scenario "big"\nclient "python c.py"\n'


def best(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            check_main([str(path)])
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="250,500,1000", help="fixture counts (default 250,500,1000)")
    p.add_argument("--repeat", type=int, default=3, help="runs per file, the best counts (default 3)")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            valid = Path(tmp) / f"valid{n}.mock"
            valid.write_text(HEAD + "".join(DISTINCT.format(i=i) for i in range(n)), encoding="utf-8")
            dup = Path(tmp) / f"dup{n}.mock"
            dup.write_text(HEAD + SAME * n, encoding="utf-8")
            rows.append((n, best(valid, args.repeat) / n * 1000, best(dup, args.repeat) / n * 1000))
    base_valid, base_dup = rows[0][1], rows[0][2]
    print("| fixtures | valid ms/fixture | ratio | duplicated ms/fixture | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n, v, d in rows:
        print(f"| {n:,} | {v:.3f} | {v / base_valid:.2f} | {d:.3f} | {d / base_dup:.2f} |")


if __name__ == "__main__":
    main()
