"""Exit statuses CI relies on, and `dotmock check` agreeing with `dotmock-run` on what can run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = [sys.executable, "-m", "dotmock", "run"]
CHECK = [sys.executable, "-m", "dotmock", "check"]
OK_CLIENT = f"{sys.executable} -c 'print(1)'"

# No fixture: a client that asks nothing of the server passes (with one, it would be `never_called`).
RUNNABLE = f'scenario "answers"\nclient "{OK_CLIENT}"\n'
SHARED = 'fixture "f" {\n  match POST /v1/chat/completions\n  response "x"\n}\n'
NO_CLIENT = 'scenario "nothing to run"\nfixture "f" {\n  match POST /v1/chat/completions\n  response "x"\n}\n'


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_a_filter_that_matches_no_case_exits_5_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.mock").write_text(RUNNABLE)
    proc = run(*RUN, "a.mock", "-k", "answres", "--junit", "r.xml", cwd=tmp_path)
    assert proc.returncode == 5, proc.stderr
    assert "-k 'answres' matches none of the 1 case" in proc.stderr
    assert (tmp_path / "r.xml").exists()  # the reports a CI step uploads are still written
    assert run(*RUN, "a.mock", "-k", "answers", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("files", [{}, {"shared.mock": SHARED}], ids=["no .mock file", "shared fixtures only"])
def test_a_path_with_no_scenario_exits_5(tmp_path: Path, files: dict[str, str]) -> None:
    (tmp_path / "suite").mkdir()
    for name, text in files.items():
        (tmp_path / "suite" / name).write_text(text)
    proc = run(*RUN, "suite", cwd=tmp_path)
    assert proc.returncode == 5
    assert "no scenario under suite" in proc.stderr


def test_an_empty_shard_of_a_real_selection_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.mock").write_text(RUNNABLE)
    statuses = {run(*RUN, "a.mock", "--shard", f"{k}/3", cwd=tmp_path).returncode for k in (1, 2, 3)}
    assert statuses == {0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("# just a comment\n\n", "the file is empty"),
        (NO_CLIENT, "the scenario has no `client` block"),
    ],
    ids=["empty", "comments only", "no client"],
)
def test_check_rejects_what_run_cannot_run(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.mock").write_text(text)
    checked = run(*CHECK, "x.mock", cwd=tmp_path)
    ran = run(*RUN, "x.mock", cwd=tmp_path)
    assert checked.returncode == 1 and message in checked.stderr
    assert ran.returncode != 0 and message in ran.stderr + ran.stdout
    assert "1 error in 1 file; 1 file checked" in checked.stderr


def test_check_still_accepts_a_file_of_shared_fixtures(tmp_path: Path) -> None:
    (tmp_path / "shared.mock").write_text(SHARED)
    checked = run(*CHECK, "shared.mock", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "1 file ok, 0 cases\n"
