"""`dotmock fmt`: canonical layout that means the same, is stable, and keeps every comment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dotmock.dsl import ScenarioFile, load_text
from dotmock.dsl.fmt import format_text

ROOT = Path(__file__).resolve().parent.parent
OK = ROOT / "tests" / "golden" / "ok"
CORPUS = sorted(OK.glob("*.mock")) + sorted((ROOT / "scenarios").rglob("*.mock"))


def _load(text: str, path: Path) -> ScenarioFile:
    """The meaning of `text` as if it were `path` (includes resolve beside it)."""
    return load_text(text, str(path), root=str(path.parent))


def test_the_corpus_covers_the_golden_files() -> None:
    assert len(list(OK.glob("*.mock"))) >= 5


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_is_idempotent(path: Path) -> None:
    once = format_text(path.read_text(encoding="utf-8"), str(path))
    assert format_text(once, str(path)) == once


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_keeps_the_meaning(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, str(path))
    assert _load(formatted, path) == _load(text, path)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_keeps_every_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, str(path))
    comments = [
        line[line.index("#") :].strip()
        for line in text.splitlines()
        if "#" in line and not line.strip().startswith(('"', "|")) and '"#' not in line
    ]
    kept = [line.strip() for line in formatted.splitlines()]
    for comment in comments:
        assert any(line.endswith(comment) or line == comment for line in kept), comment


def test_fmt_keeps_comments_everywhere() -> None:
    text = """# head
scenario "s"  # after the name
# before the client
client "python c.py" {
  # inside the client
  timeout 5s  # trailing
  # before the closing brace
}
fixture "f" {
  match POST /v1/chat/completions {
    # inside a match block
    attempt 1
  }
  response "x"
  streaming {
    chunkSize 3  # knob comment
  }
}
params {
  # above the header
  | a |
  | 1 |  # after a row
}
# the very end
"""
    formatted = format_text(text)
    for line in text.splitlines():
        if "#" in line:
            comment = line[line.index("#") :]
            assert comment in formatted, comment
    assert format_text(formatted) == formatted


def test_fmt_keeps_a_trailing_comment_on_the_last_statement_of_its_line() -> None:
    text = (
        'client "c" { timeout 5s env A "1"  # about A\n}\nfixture "f" {\n  match POST *\n'
        '  response "x" finishReason "length"  # about the ending\n}\n'
    )
    formatted = format_text(text)
    assert '  env A "1"  # about A\n' in formatted
    assert '  finishReason "length"  # about the ending\n' in formatted
    assert format_text(formatted) == formatted


def test_fmt_keeps_a_small_block_on_one_line_when_a_comment_only_follows_it() -> None:
    text = (
        'fixture "f" {\n  match POST *\n  response "x"\n  streaming { chunkSize 3 }  # small\n'
        '  error 429 { # inside\n  message "m" }\n}\n'
    )
    formatted = format_text(text)
    assert "  streaming { chunkSize 3 }  # small\n" in formatted
    assert '  error 429 {\n    # inside\n    message "m"\n  }\n' in formatted
    assert format_text(formatted) == formatted


def test_fmt_layout_is_canonical() -> None:
    messy = (
        'scenario   "s"\nfixture "f" {   match POST   /v1/chat/completions\n response "x"\n'
        'streaming {chunkSize 15 latencyMs 80}}\n\n\n\nexpect{client exits 0}\nclient "c"'
    )
    assert format_text(messy) == (
        'scenario "s"\n'
        "\n"
        'fixture "f" {\n'
        "  match POST /v1/chat/completions\n"
        '  response "x"\n'
        "  streaming { chunkSize 15 latencyMs 80 }\n"
        "}\n"
        "\n"
        "expect {\n"
        "  client exits 0\n"
        "}\n"
        "\n"
        'client "c"\n'
    )


def _fmt_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dotmock", "fmt", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_fmt_check_exit_codes(tmp_path: Path) -> None:
    messy = tmp_path / "messy.mock"
    messy.write_text('scenario "s"\nfixture "f" { match POST *  response "x" }\n', encoding="utf-8")
    result = _fmt_cli("--check", str(messy), cwd=tmp_path)
    assert result.returncode == 1
    assert "would reformat" in result.stdout
    assert messy.read_text(encoding="utf-8").startswith('scenario "s"\nfixture')  # --check changes nothing

    assert _fmt_cli(str(messy), cwd=tmp_path).returncode == 0  # rewrites
    assert _fmt_cli("--check", str(messy), cwd=tmp_path).returncode == 0
    assert messy.read_text(encoding="utf-8") == format_text(messy.read_text(encoding="utf-8"))

    broken = tmp_path / "broken.mock"
    broken.write_text('scenario "s"\nfixture "f" {\n', encoding="utf-8")
    result = _fmt_cli("--check", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.mock:2:14: error: the file ended early" in result.stderr
