"""What the in-process fixture buys: the same 100 cases run by pytest through the `dotmock` fixture (the
test's own function calls the openai SDK) and as collected `.mock` cases (the same call in a client
process), in one run; time per case and the ratio.

Both sides: one streamed chat completion, one fresh server per case, the verdict. Both run as
`pytest -q -p no:cacheprovider` in a subprocess, so pytest's own start-up is in both totals.

    python bench/bench_pytest.py [--cases 100]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURE = """
fixture "ok" {
  match POST /v1/chat/completions
  response "All of it, in pieces."
  streaming { chunkSize 5 }
}
"""

CALL = """
import openai


def ask():
    with openai.OpenAI(max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
"""


def write(folder: Path, n: int) -> None:
    (folder / "ask.py").write_text(CALL + "\n\nif __name__ == '__main__':\n    print(ask())\n")
    (folder / "ok.mock").write_text(FIXTURE)
    (folder / "test_fixture.py").write_text(
        "import pytest\nfrom ask import ask\n\n\n"
        f"@pytest.mark.parametrize('i', range({n}))\n"
        "@pytest.mark.dotmock('ok.mock')\n"
        "def test_ask(dotmock, i):\n    assert dotmock.call(ask) == 'All of it, in pieces.'\n"
    )
    rows = "\n".join(f"  | {i} |" for i in range(n))
    scen = folder / "scenarios"
    scen.mkdir()
    (scen / "ask.py").write_text((folder / "ask.py").read_text())
    (scen / "ask.mock").write_text(
        f'scenario "ask"\nclient "python ask.py"\nparams {{\n  | i |\n{rows}\n}}\n'
        + FIXTURE
        + 'expect {\n  client stdout contains "All of it, in pieces."\n  no findings\n}\n'
    )


def run(folder: Path, *args: str) -> float:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    n = args.cases
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write(folder, n)
        fixture_s = run(folder, "test_fixture.py")
        subprocess_s = run(folder, "scenarios")
    print(f"{n} cases, one streamed chat completion each, one fresh server per case (pytest start-up included)")
    print("| | total | per case |\n| --- | ---: | ---: |")
    print(f"| `.mock` cases (client process) | {subprocess_s:.2f} s | {1000 * subprocess_s / n:.1f} ms |")
    print(f"| `dotmock` fixture (in-process) | {fixture_s:.2f} s | {1000 * fixture_s / n:.1f} ms |")
    print(f"| ratio (process / in-process) | | {subprocess_s / fixture_s:.1f}x |")


if __name__ == "__main__":
    main()
