"""`dotmock check` as a user runs it, and what error output may never contain."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_text
from dotmock.dsl.fmt import format_text

ROOT = Path(__file__).resolve().parent.parent
ERRORS = ROOT / "tests" / "golden" / "errors"
OK = ROOT / "tests" / "golden" / "ok"

# Lark's exception and internal names, and Python's own: none may reach a user.
_LEAKS = re.compile(
    r"__ANON|Traceback|Unexpected(Token|Characters|EOF|Input)|LarkError|VisitError|\$END|Tree\(|Token\("
)


def dotmock(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dotmock", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_check_prints_every_error_of_a_file_and_exits_1() -> None:
    result = dotmock("check", "tests/golden/errors/several_syntax_errors.mock")
    assert result.returncode == 1
    assert result.stderr.count(": error: ") == 3
    for where in (
        ":4:3: error: unexpected 'timeot'",
        ":9:3: error: unexpected 'respons'",
        ":14:16: error: unexpected 'zero'",
    ):
        assert f"tests/golden/errors/several_syntax_errors.mock{where}" in result.stderr
    assert "3 errors in 1 file;" in result.stderr
    assert not _LEAKS.search(result.stderr + result.stdout)


def test_check_reports_every_bad_file_of_a_folder() -> None:
    result = dotmock("check", "tests/golden/errors")
    assert result.returncode == 1
    assert not _LEAKS.search(result.stderr + result.stdout)
    reported = {line.split(":")[0] for line in result.stderr.splitlines() if ": error: " in line}
    # every scenario file of the folder is reported (include-only helpers are checked through their users)
    scenarios = {f"tests/golden/errors/{p.name}" for p in ERRORS.glob("*.mock")}
    assert scenarios - {"tests/golden/errors/include_cycle.mock"} <= reported
    assert "tests/golden/errors/include_cycle/b.mock" in reported


def test_check_exits_0_on_good_files() -> None:
    result = dotmock("check", "tests/golden/ok")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ files? ok, \d+ cases?\n", result.stdout), result.stdout
    assert result.stderr == ""


def test_check_validates_a_shared_fixtures_file_before_any_scenario_includes_it(tmp_path: Path) -> None:
    (tmp_path / "shared.mock").write_text(
        'fixture "a" {\n  match POST /v1/chat/completions\n  response "${greeting}"\n  streaming { chunkSize 0 }\n}\n'
    )
    result = dotmock("check", str(tmp_path))
    assert result.returncode == 1
    assert "shared.mock:4:25: error: chunkSize must be between 1 and 1000000 characters, got 0" in result.stderr
    assert "greeting" not in result.stderr  # parameters belong to the scenario that includes the file


def test_check_exits_1_on_a_missing_path() -> None:
    result = dotmock("check", "tests/golden/no-such-folder")
    assert result.returncode == 1
    assert "no such file or folder" in result.stderr


@pytest.mark.parametrize("path", sorted(ERRORS.glob("*.mock")), ids=lambda p: p.stem)
def test_no_error_output_leaks_internals(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for source in (text, text.replace("{", "", 1), text.replace("}", "", 1), text[: len(text) // 2]):
        for call in (load_text, format_text):
            try:
                call(source, "x.mock")
            except DslError as err:
                assert not _LEAKS.search(err.render()), err.render()


def test_fmt_check_diff_shows_the_change(tmp_path: Path) -> None:
    file = tmp_path / "loose.mock"
    file.write_text('scenario   "loose"\nfixture "f" {\n  match POST /v1/chat/completions\n  response "x"\n}\n')
    result = dotmock("fmt", "--check", "--diff", str(file))
    assert result.returncode == 1
    assert f"--- {file}\n" in result.stdout and f"+++ {file} (formatted)\n" in result.stdout
    assert '-scenario   "loose"\n+scenario "loose"\n' in result.stdout
    assert file.read_text().startswith('scenario   "loose"')  # --check changes nothing


def test_expectations_without_a_client_are_for_the_pytest_fixture_only() -> None:
    """`dotmock check` (and `dotmock-run`) refuse them where they point; loading them works, for `serve`."""
    path = "tests/data/expect_without_client.mock"
    result = dotmock("check", path)
    assert result.returncode == 1
    assert f"{path}:9:3: error: expectations need a client to judge: add a `client` line" in result.stderr
    assert "or judge your own code with the pytest fixture (docs/pytest.md)" in result.stderr
    run = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", path], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "expectations need a client to judge" in run.stdout + run.stderr
