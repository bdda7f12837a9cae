"""What `pip install dotmock` ships: every module of the source tree, not only what an editable install sees."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("dsl", "server", "runner")


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def _source_packages() -> set[str]:
    found = {"dotmock"}
    for part in PARTS:
        for init in (ROOT / part).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT)
            if any(piece.startswith(".") or piece == "__pycache__" for piece in relative.parts):
                continue
            found.add(".".join(("dotmock", *relative.parts)))
    return found


def test_every_source_package_is_in_the_wheel() -> None:
    missing = _source_packages() - _declared_packages()
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_declared_package_exists() -> None:
    data_folders = {"dotmock.server.static", "dotmock.runner.schemas"}
    stale = _declared_packages() - _source_packages() - data_folders
    assert not stale, f"listed in pyproject.toml but not in the tree: {sorted(stale)}"
