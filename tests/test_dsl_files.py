"""Atomic writes (reports, `dotmock fmt`, the panel's save) keep permissions as a person expects."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dotmock.dsl.files import write_text_atomically


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_umask_permissions_not_mkstemps_private_ones(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "reports" / "report.json"
        write_text_atomically(str(target), "{}")
    finally:
        os.umask(old)
    assert target.read_text() == "{}"
    assert mode(target) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary file left behind


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "scenario.mock"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomically(str(target), "new")
    assert target.read_text() == "new"
    assert mode(target) == 0o640
