"""Runner overhead per case: 100 trivial cases (client `true`, one fixture), at -j 1 and -j 4.

Overhead = wall time the runner spends beyond the clients' own run time: starting and stopping a server,
spawning and reaping the client, judging, in worker-seconds per case:
    (wall * jobs - sum of client durations) / cases

    python bench/bench_runner.py [--cases 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from dotmock.dsl.loader import load_text
from dotmock.runner.execute import ExecuteOptions, execute


def scenario_text(n: int) -> str:
    rows = "\n".join(f"  | {i} |" for i in range(n))
    return (
        f'scenario "trivial"\nclient "true"\nparams {{\n  | i |\n{rows}\n}}\n'
        'fixture "ok" { match POST * response "x" }\nexpect { client exits 0 }\n'
    )


def measure(n: int, jobs: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trivial.mock"
        text = scenario_text(n)
        path.write_text(text)
        cases = load_text(text, str(path)).cases
        t0 = time.monotonic()
        execution = asyncio.run(execute(cases, ExecuteOptions(jobs=jobs, handle_signals=False)))
        wall = time.monotonic() - t0
    client_time = sum(r.client.duration for r in execution.results if r.client is not None)
    passed = sum(r.outcome == "passed" for r in execution.results)
    return wall, client_time, passed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    print(f"{'jobs':>4}  {'cases':>5}  {'wall':>7}  {'clients':>8}  {'overhead/case':>13}  {'cases/s':>7}")
    for jobs in (1, 4):
        wall, clients, passed = measure(args.cases, jobs)
        overhead = (wall * jobs - clients) / args.cases
        print(
            f"{jobs:>4}  {passed:>5}  {wall:>6.2f}s  {clients:>7.2f}s  {overhead * 1000:>10.1f} ms  "
            f"{args.cases / wall:>7.1f}"
        )


if __name__ == "__main__":
    main()
