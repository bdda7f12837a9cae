"""The language's limits (dsl/limits.py, docs/language.md "Limits"): every hostile text ends in a located
DslError — never a RecursionError, a UnicodeError or a parse that goes on for seconds — in `load_text`,
`dotmock fmt` and `dotmock import` alike."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dotmock.dsl import DslError, DslErrors, load_text
from dotmock.dsl.fmt import format_text
from dotmock.dsl.json_import import json_to_mock
from dotmock.dsl.limits import (
    MAX_BUILD_BYTES,
    MAX_FILE_BYTES,
    MAX_LINE_CHARS,
    MAX_NESTING,
    MAX_PARAM_ROWS,
    MAX_TOKENS,
    check_text,
    token_count,
)
from dotmock.dsl.syntax import MAX_RECOVERY_STEPS


def json_nested(n: int) -> str:
    sep = "\n" if n > 10_000 else ""  # keep lines under the line limit
    opened, closed = sep.join("[" * n), sep.join("]" * n)
    return f'scenario "x"\nfixture "a" {{ match POST * {{ json "k" == {opened}{closed} }} response "x" }}\n'


def messages(err: DslError) -> list[str]:
    return [e.message for e in (err.errors if isinstance(err, DslErrors) else [err])]


@pytest.mark.parametrize("parse", [load_text, format_text], ids=["load", "fmt"])
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 1_000, 50_000])
def test_deep_json_is_a_located_error(parse: object, depth: int) -> None:
    with pytest.raises(DslError) as caught:
        parse(json_nested(depth), "x.mock")
    assert caught.value.message == f"nesting deeper than {MAX_NESTING} levels"
    assert caught.value.line >= 2 and caught.value.column >= 1


def test_json_nested_within_the_limit_loads() -> None:
    depth = MAX_NESTING - 4  # the fixture and match blocks count too
    value = load_text(json_nested(depth), "x.mock").cases[0].fixtures[0].match.json[0].value
    levels = 0
    while isinstance(value, list):
        levels += 1
        value = value[0] if value else None
    assert levels == depth


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('scenario "x"\n' + "x" * (MAX_LINE_CHARS + 1) + "\n", f"line 2 is longer than {MAX_LINE_CHARS} characters"),
        ("# " + "a" * 1000 + "\n" + ("#\n" * (MAX_FILE_BYTES // 2)), f"the limit is {MAX_FILE_BYTES // 1024} KiB"),
        ('scenario "x\ud800"\n', "a lone surrogate (U+D800) is not text"),
        ('scenario "x"\nfixture "a" { match POST * { json "k" == 1e999 } response "x" }\n', "out of range"),
        ('scenario "x"\nfixture "a" { match POST * { json "k" == ' + "9" * 5000 + ' } response "x" }\n', "too long"),
        ('scenario "x"\ninclude "a\x00.mock"\n', "include path contains a NUL character"),
        ('scenario "x"\ninclude "a\\udc80.mock"\n', "include path contains a lone surrogate (not text)"),
    ],
)
def test_limits_end_in_a_clear_dsl_error(text: str, message: str) -> None:
    with pytest.raises(DslError) as caught:
        load_text(text, "x.mock")
    assert any(message in m for m in messages(caught.value)), messages(caught.value)


def test_a_params_table_over_the_row_limit_is_refused_and_one_within_loads() -> None:
    def table(rows: int) -> str:
        body = "".join(f" | {i} | v{i} |\n" for i in range(rows))
        return (
            f'scenario "x ${{a}}"\nparams {{\n | a | b |\n{body}}}\nfixture "f" {{ match POST * response "${{b}}" }}\n'
        )

    assert len(load_text(table(MAX_PARAM_ROWS), "x.mock").cases) == MAX_PARAM_ROWS
    with pytest.raises(DslError, match=f"at most {MAX_PARAM_ROWS} are allowed"):
        load_text(table(MAX_PARAM_ROWS + 1), "x.mock")


@pytest.mark.parametrize(
    "junk",
    [
        "foo\n" * 15_000,  # under MAX_TOKENS: recovery, not the token pre-scan, ends these
        "\n".join(str(i) for i in range(15_000)),
        "{ " * 15_000,
        "} " * 15_000,
        ('= [ " , : #\n' * 20_000),
    ],
    ids=["words", "numbers", "braces", "closers", "punctuation"],
)
def test_error_recovery_gives_up_with_a_clear_error(junk: str) -> None:
    with pytest.raises(DslError) as caught:
        load_text('scenario "x"\n' + junk + "\n", "x.mock")
    found = messages(caught.value)
    assert 1 <= len(found) <= 21
    assert all(isinstance(m, str) and m for m in found)
    assert len(junk.split()) > MAX_RECOVERY_STEPS
    stopped = ("too many mistakes", f"nesting deeper than {MAX_NESTING}")
    assert any(m.startswith(stopped) for m in found) or len(found) >= 20, found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000, "nesting deeper than 64 levels"),
        ('[{"name": "a", "response": "x", "body": NaN}]', "NaN is not a JSON value"),
        ('[{"name": "a", "response": "x", "body": 1e999}]', "out of range"),
    ],
)
def test_import_refuses_hostile_json_with_a_dsl_error(text: str, message: str) -> None:
    with pytest.raises(DslError, match=message):
        json_to_mock(text, "x.json")


@pytest.mark.parametrize("command", [["fmt", "--check"], ["fmt"], ["check"], ["import"]])
def test_commands_report_invalid_utf8_clearly(tmp_path: Path, command: list[str]) -> None:
    name = "bad.json" if command == ["import"] else "bad.mock"
    bad = tmp_path / name
    bad.write_bytes(b'scenario "x"\n\xff\xfe\n')
    run = subprocess.run(
        [sys.executable, "-m", "dotmock", *command, str(bad)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"{name}:2:1: error: the file is not UTF-8 text (byte 0xff at offset 13)" in run.stderr
    assert bad.read_bytes() == b'scenario "x"\n\xff\xfe\n'


def test_a_run_of_a_file_that_does_not_parse_exits_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.mock"
    deep.write_text(json_nested(1000))
    run = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", str(deep)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "nesting deeper than 64 levels" in run.stderr


def test_rows_and_includes_that_build_too_much_text_are_refused(tmp_path: Path) -> None:
    """A file that names a parameter is built once per row, an included file once per include: past
    MAX_BUILD_BYTES of built text the load ends in one located error, not in a build N times the file."""
    fixtures = "".join(
        f'fixture "f{i} ${{a}}" {{ match POST * {{ model "m{i}" }} response "x" }}\n' for i in range(900)
    )
    rows = "".join(f" | {i} |\n" for i in range(20))
    text = f'scenario "x"\nparams {{\n | a |\n{rows}}}\n{fixtures}'
    assert len(text) * 10 > MAX_BUILD_BYTES  # 20 rows of it are over the budget, 2 are not
    with pytest.raises(DslError) as caught:
        load_text(text, str(tmp_path / "x.mock"))
    built = [e for e in messages(caught.value) if "params rows and includes build" in e]
    assert len(built) == 1 and built[0].endswith(f"KiB of scenario text; the limit is {MAX_BUILD_BYTES // 1024} KiB")
    assert caught.value.line == 2  # at the params table
    two_rows = f'scenario "x"\nparams {{\n | a |\n | 1 |\n | 2 |\n}}\n{fixtures}'
    assert len(load_text(two_rows, str(tmp_path / "x.mock")).cases) == 2

    shared = tmp_path / "shared.mock"
    shared.write_text(fixtures.replace("${a}", "s"), encoding="utf-8")
    many = 'scenario "y"\n' + "".join('include "shared.mock"\n' for _ in range(40))
    with pytest.raises(DslError) as caught:
        load_text(many, str(tmp_path / "y.mock"))
    assert sum("params rows and includes build" in e for e in messages(caught.value)) == 1


def test_a_file_whose_rows_exceed_the_budget_is_refused_before_any_row_is_built(tmp_path: Path) -> None:
    """rows x file size over MAX_BUILD_BYTES, for a file that names a parameter, is known before the first
    build: the only error is the budget's; a mistake in the body, which any build reports, is not."""
    body = "".join(f'fixture "f{i} ${{a}}" {{ match POST * {{ model "m{i}" }} response "x" }}\n' for i in range(900))
    body += 'fixture "bad" {\n  match POST *\n  response "x"\n  streaming { chunkSize 0 }\n}\n'
    one_row = f'scenario "x"\nparams {{\n | a |\n | 1 |\n}}\n{body}'
    with pytest.raises(DslError) as caught:
        load_text(one_row, str(tmp_path / "x.mock"))
    assert not any("params rows and includes build" in e for e in messages(caught.value))  # the body's mistake
    rows = "".join(f" | {i} |\n" for i in range(20))
    with pytest.raises(DslError) as caught:
        load_text(f'scenario "x"\nparams {{\n | a |\n{rows}}}\n{body}', str(tmp_path / "x.mock"))
    found = messages(caught.value)
    assert len(found) == 1 and found[0].startswith("params rows and includes build"), found


def test_rows_of_a_file_naming_no_parameter_share_one_build() -> None:
    """Rows that change nothing in the text give the same fixtures (one object, built once), each row its
    own named case; a mistake in the body is reported once, not once per row."""
    rows = "".join(f" | {i} |\n" for i in range(MAX_PARAM_ROWS))
    text = f'scenario "x"\nparams {{\n | a |\n{rows}}}\nfixture "f" {{ match POST * response "r" }}\n'
    cases = load_text(text, "x.mock").cases
    assert len(cases) == MAX_PARAM_ROWS and cases[7].name == "x [a=7]" and cases[7].params == (("a", "7"),)
    assert cases[0].fixtures == cases[-1].fixtures and cases[-1].fixtures[0].name == "f"
    bad = text + 'fixture "f" { match POST * response "r" }\n'
    with pytest.raises(DslError) as caught:
        load_text(bad, "x.mock")
    found = messages(caught.value)
    assert found[0] == "two fixtures are named 'f'" and len(found) == 2 and "can never answer" in found[1]


def test_token_count_is_what_the_pre_scan_holds_a_file_to() -> None:
    """`token_count` (what `dotmock record` lays its files out by) is the count the loader refuses a file on:
    a string or a comment is one token however long, each bracket, comma and colon one."""
    assert token_count('"a b \\" c" # d e\n{x: [1, 2]}') == 11
    check_text("x\n" * MAX_TOKENS, "full.mock")
    with pytest.raises(DslError, match="words and symbols"):
        check_text("x\n" * MAX_TOKENS + "x", "over.mock")


@pytest.mark.parametrize("parse", [load_text, format_text], ids=["load", "fmt"])
def test_a_file_of_too_many_tokens_is_refused_at_the_first_one_over(parse: Callable[[str, str], object]) -> None:
    """Parsing costs per token: 1,500 dense fixtures (21,000 tokens, 120 KiB) are refused before the parser
    runs, at the token past MAX_TOKENS; 6,000 recorded chunks (18,000 tokens) and a long string load."""
    fixture = (
        'fixture "f{i}" {{\n  match POST /v1/chat/completions {{ message contains "hi {i}" }}\n  response "x"\n}}\n'
    )
    dense = 'scenario "dense"\n' + "".join(fixture.format(i=i) for i in range(1_500))
    assert len(dense.encode()) < MAX_FILE_BYTES
    with pytest.raises(DslError) as caught:
        parse(dense, "dense.mock")
    assert messages(caught.value) == [f"the file has more than {MAX_TOKENS:,} words and symbols; the limit is 20,000"]
    first = 2 + 4 * ((MAX_TOKENS - 2) // 14)  # the fixture holding token MAX_TOKENS + 1: 14 a fixture, 2 before
    assert first <= caught.value.line < first + 4
    chunks = "".join(f'    "w{i} " after 20ms\n' for i in range(6_000))
    recorded = (
        f'scenario "recorded"\nfixture "r" {{\n  match POST /v1/chat/completions\n  cadence {{\n{chunks}  }}\n}}\n'
    )
    parse(recorded, "recorded.mock")
    long_text = ("word " * 10 + "\n") * 3_000  # 150 KiB, 30,000 words, one token
    parse(f'scenario "long"\nfixture "l" {{\n  match POST *\n  response """{long_text}"""\n}}\n', "l.mock")
