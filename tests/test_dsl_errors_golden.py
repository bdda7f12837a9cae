"""Golden error messages: every `tests/golden/errors/NAME.mock` fails to load with exactly `NAME.err`.

The rendered text is the contract users see (`path:line:col: error: ...`, the source line, the caret, the hint,
`= expected ...`). Paths are rendered relative to the repository root, so the files are loaded from there.
To regenerate after a deliberate change: `DOTMOCK_REGEN_GOLDEN=1 pytest tests/test_dsl_errors_golden.py`,
then read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_file

ROOT = Path(__file__).resolve().parent.parent
ERRORS = Path("tests/golden/errors")
CASES = sorted(p.stem for p in (ROOT / ERRORS).glob("*.mock"))


def render(name: str) -> str:
    with pytest.raises(DslError) as info:
        load_file(str(ERRORS / f"{name}.mock"))
    return info.value.render() + "\n"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_there_are_enough_golden_cases() -> None:
    assert len(CASES) >= 20
    for name in CASES:
        assert (ROOT / ERRORS / f"{name}.err").is_file(), f"{name}.mock has no {name}.err"


@pytest.mark.parametrize("name", CASES)
def test_golden_error(name: str) -> None:
    actual = render(name)
    golden = ROOT / ERRORS / f"{name}.err"
    if os.environ.get("DOTMOCK_REGEN_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CASES)
def test_golden_error_is_located_in_the_file(name: str) -> None:
    """Every error names a file of the golden set and a line that exists in it."""
    with pytest.raises(DslError) as info:
        load_file(str(ERRORS / f"{name}.mock"))
    errors = getattr(info.value, "errors", [info.value])
    for err in errors:
        assert err.path.startswith(str(ERRORS)), err.path
        lines = (ROOT / err.path).read_text(encoding="utf-8").splitlines()
        assert 1 <= err.line <= len(lines)
        assert 1 <= err.column <= len(lines[err.line - 1]) + 1
