"""The README's two set-up commands are the ones CI runs: `.ci/run` ends with exactly the test command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set up.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has no set-up block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    first, second = _readme_commands()
    assert "dotmock-run scenarios/" in first
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == second


def test_without_root_the_test_command_names_what_to_install(tmp_path: Path) -> None:
    """On a machine with no Chromium (and no Node.js) and no root, it stops at once and says what to install."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    bash = shutil.which("bash") or "/bin/bash"
    proc = subprocess.run(
        [bash, str(ROOT / "scripts" / "test")],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "scripts/test: the tests need chromium" in proc.stderr
    assert "sudo apt-get install chromium" in proc.stderr
    assert not (tmp_path / ".venv").exists()
