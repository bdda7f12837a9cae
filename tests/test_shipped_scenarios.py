"""The README's first command, `dotmock-run scenarios/`, passes on a fresh install: every shipped scenario
with its example clients on the SDK versions the project pins (the openai SDK 3.x on httpx2 broke the
resilient client's `httpx.Timeout` once, and nothing but this run would have said so)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_every_shipped_scenario_passes(tmp_path: Path) -> None:
    report = tmp_path / "shipped.json"
    run = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", "scenarios/", "-j", "2", "--json", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    cases = json.loads(report.read_text())["cases"]
    failed = [f"{c['name']} {c.get('params') or ''}: {c['outcome']}" for c in cases if c["outcome"] != "passed"]
    assert run.returncode == 0 and not failed, "\n".join(failed) + "\n" + run.stdout[-3000:]
    assert len(cases) >= 100  # every scenario file was found and run
