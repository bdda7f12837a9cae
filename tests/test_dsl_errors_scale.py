"""Errors stay cheap and readable at scale: each of thousands of errors is located without rescanning the
file (dsl/errors.py `line_of`), a file is parsed once by `dotmock check`, and an error on a very long line
echoes only the stretch around its caret (at most ECHO_CHARS), with the caret still under the mistake.
Speed is measured in bench/bench_check.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_text
from dotmock.dsl.cli import check_main
from dotmock.dsl.errors import ECHO_CHARS, DslErrors, line_of

SAME = 'fixture "same" {\n  match POST /v1/chat/completions { message contains "hi" }\n  response "hello"\n}\n'


def test_every_duplicate_of_a_thousand_is_reported_at_its_own_line() -> None:
    text = 'scenario "dup"\nclient "python c.py"\n' + SAME * 1000  # 14,000 tokens, under MAX_TOKENS
    with pytest.raises(DslErrors) as caught:
        load_text(text, "dup.mock")
    named = [e for e in caught.value.errors if "two fixtures are named 'same'" in e.message]
    assert [e.line for e in named] == [3 + 4 * i for i in range(1, 1000)]
    assert all(e.source_line == 'fixture "same" {' for e in named)


@pytest.mark.parametrize(
    "text", ["a\nbb\n\nccc", "a\r\nbb\r\n\r\nccc\r\n", "", "\n", "only", "x\n" * 5, "tab\there\nlast"]
)
def test_line_of_reads_lines_as_the_parser_counts_them(text: str) -> None:
    lines = text.split("\n")
    for number in range(0, len(lines) + 3):
        expected = lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else ""
        assert line_of(text, number) == expected, (text, number)


@pytest.mark.parametrize("column", [1, 50, 79, 80, 81, 5_000, 16_000, 31_990])
def test_an_error_on_a_long_line_echoes_only_the_stretch_around_its_caret(column: int) -> None:
    line = "".join(chr(ord("a") + i % 26) for i in range(32_000))
    err = DslError.at("something wrong here", "first\n" + line + "\nlast", "long.mock", 2, column, width=3)
    rendered = err.render().splitlines()
    source, carets = rendered[2], rendered[3]
    gutter = "  | "
    assert source.startswith("2 | ") and carets.startswith(gutter)
    shown = source[len("2 | ") :]
    assert len(shown) <= ECHO_CHARS
    start = carets.index("^") - len(gutter)
    assert shown[start : start + 3] == line[column - 1 : column + 2]  # the caret is under the mistake
    assert (column - 1 >= ECHO_CHARS * 2 // 3) == shown.startswith("…")
    assert max(len(r) for r in rendered[1:]) < ECHO_CHARS + 20


def test_check_of_a_long_line_prints_a_short_echo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "long.mock"
    path.write_text('scenario "x"\nclient "python c.py"\n' + "fixture " + "a" * 30_000 + " {\n}\n")
    assert check_main([str(path)]) == 1
    err = capsys.readouterr().err
    assert "long.mock:3:" in err
    assert max(len(line) for line in err.splitlines()) < 400
