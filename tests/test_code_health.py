"""Rules CI keeps that ruff and mypy do not: every type-ignore comment in the checked layers says why it must
stay, and tests/ (not type-checked: see [tool.mypy] in pyproject.toml) carry none, since there they silence nothing."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?(?P<why>.*)$")


def _ignores(folder: str) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hit = IGNORE.search(line)
            if hit:
                found.append((f"{path.relative_to(REPO)}:{n}", n, hit.group("why").strip()))
    return found


def test_every_type_ignore_in_the_checked_layers_says_why() -> None:
    unexplained = [where for folder in ("dsl", "server", "runner") for where, _, why in _ignores(folder) if not why]
    assert unexplained == [], "add `# why` after the ignore, or type the code so it needs none"


def test_tests_and_bench_carry_no_type_ignore() -> None:
    assert [where for folder in ("tests", "bench") for where, _, _ in _ignores(folder)] == []
