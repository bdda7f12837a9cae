"""Messages of the command line that point the way: one line per problem, naming what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOTMOCK = [sys.executable, "-m", "dotmock"]


def dotmock(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DOTMOCK, *args], cwd=cwd, capture_output=True, text=True, timeout=30)


def test_serve_a_folder_says_to_name_a_file(tmp_path: Path) -> None:
    proc = dotmock("serve", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"dotmock serve: {tmp_path}: is a directory: name one .mock file (or a dotMock JSON fixture file) to serve\n"
    )


def test_a_missing_file_is_one_message(tmp_path: Path) -> None:
    for command, expected in (
        ("check", "dotmock check: nope.mock: no such file or folder\n"),
        ("serve", "dotmock serve: nope.mock: no such file\n"),
        ("run", "dotmock-run: no such file or folder: nope.mock\n"),
    ):
        proc = dotmock(command, "nope.mock", cwd=tmp_path)
        assert proc.returncode != 0
        assert proc.stderr == expected, command


def test_both_commands_tell_their_version(tmp_path: Path) -> None:
    from dotmock import __version__

    assert dotmock("--version", cwd=tmp_path).stdout.strip() == f"dotmock {__version__}"
    assert dotmock("run", "--version", cwd=tmp_path).stdout.strip() == f"dotmock {__version__}"
