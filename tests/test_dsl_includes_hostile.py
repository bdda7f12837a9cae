"""`include` reads only `.mock` files of the scenario tree and never shows another file's content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_file, load_text

SECRET = "OPENAI_API_KEY=sk-live-0123456789abcdef"
FIXTURE = 'fixture "f" { match POST * response "x" }\n'


def _errors(path: Path) -> str:
    with pytest.raises(DslError) as info:
        load_file(str(path), root=str(path.parent))
    return info.value.render()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(SECRET + "\n")
    (tmp_path / "notes.txt").write_text(SECRET + "\n")
    return tmp_path


@pytest.mark.parametrize("target", [".env", "notes.txt", "sub/../notes.txt"])
def test_including_a_file_that_is_not_mock_is_refused_without_reading_it(tree: Path, target: str) -> None:
    (tree / "s.mock").write_text(f'scenario "s"\ninclude "{target}"\n{FIXTURE}')
    shown = _errors(tree / "s.mock")
    assert "is not a .mock file" in shown
    assert "sk-live" not in shown and "OPENAI_API_KEY" not in shown


def test_a_mock_named_link_to_a_secret_is_refused(tree: Path) -> None:
    os.symlink(tree / ".env", tree / "shared.mock")
    (tree / "s.mock").write_text(f'scenario "s"\ninclude "shared.mock"\n{FIXTURE}')
    shown = _errors(tree / "s.mock")
    assert "which is not a .mock file" in shown
    assert "sk-live" not in shown


def test_dotmock_check_on_the_tree_never_prints_the_secret(tree: Path) -> None:
    (tree / "s.mock").write_text(f'scenario "s"\ninclude ".env"\ninclude "notes.txt"\n{FIXTURE}')
    result = subprocess.run(
        [sys.executable, "-m", "dotmock", "check", str(tree)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "sk-live" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("a\x00b.mock", "NUL"),
        ("\ud800.mock", "lone surrogate"),
        ("\udc80x.mock", "lone surrogate"),
        ("", "names no file"),
        ("x" * 5000 + ".mock", "longer than"),
    ],
)
def test_include_paths_no_file_can_have_are_dsl_errors(tmp_path: Path, target: str, message: str) -> None:
    text = 'scenario "s"\ninclude "' + target.replace("\x00", "\\u0000") + '"\n' + FIXTURE
    if "\ud800" in target or "\udc80" in target:  # only a string from the panel or an API can hold one
        text = 'scenario "s"\ninclude "' + target + '"\n' + FIXTURE
    with pytest.raises(DslError) as info:
        load_text(text, str(tmp_path / "s.mock"))
    assert message in info.value.render()


def test_a_fifo_named_mock_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.mock")
    (tmp_path / "s.mock").write_text(f'scenario "s"\ninclude "pipe.mock"\n{FIXTURE}')
    assert "not a regular file" in _errors(tmp_path / "s.mock")


def test_an_included_file_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "bad.mock").write_bytes(b'fixture "g" {\n  response "\xff\xfe"\n}\n')
    (tmp_path / "s.mock").write_text(f'scenario "s"\ninclude "bad.mock"\n{FIXTURE}')
    shown = _errors(tmp_path / "s.mock")
    assert "s.mock:2:9" in shown and "not UTF-8" in shown
