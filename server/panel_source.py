"""The test panel's fixture editor, server side: the scenario's `.mock` text, live validation with the same
`file:line:col` errors as `dotmock check`, and applying an edited text to the running server.

A dotMock JSON fixture file is shown as its `.mock` translation (`dotmock import`); saving it applies in
memory only, since writing `.mock` text over a JSON file would change its format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotmock.dsl import DslError, DslErrors, load_text
from dotmock.dsl.model import Scenario


@dataclass(slots=True)
class EditorSource:
    """What the editor shows and where a save would go."""

    path: str  # the path errors are reported against (the .mock file, or the JSON file's .mock twin)
    text: str
    disk_path: str | None  # the file a save may overwrite; None: never written (JSON source, or no file)
    note: str | None = None  # shown above the editor (e.g. "translated from JSON")


def initial_source(scenario: Scenario) -> EditorSource:
    """The text the served scenario came from, read from its file."""
    path = scenario.path
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return EditorSource(path=path, text="", disk_path=None, note=f"cannot read {path}: {err}")
    if path.endswith(".json"):
        from dotmock.dsl.json_import import json_to_mock

        twin = str(Path(path).with_suffix(".mock"))
        try:
            text = json_to_mock(raw, path)
        except DslError as err:
            return EditorSource(path=twin, text="", disk_path=None, note=f"cannot translate {path}: {err.message}")
        return EditorSource(
            path=twin,
            text=text,
            disk_path=None,
            note=f"translated from the dotMock JSON file {path}; saves apply in memory only",
        )
    return EditorSource(path=path, text=raw, disk_path=path)


def error_json(err: DslError) -> dict[str, Any]:
    return {
        "path": err.path,
        "line": err.line,
        "column": err.column,
        "width": err.width,
        "message": err.message,
        "hint": err.hint,
        "expected": list(err.expected),
        "headline": err.headline,
        "rendered": err.render(),
    }


def errors_of(err: DslError) -> list[DslError]:
    return list(err.errors) if isinstance(err, DslErrors) else [err]


@dataclass(slots=True)
class Checked:
    """The result of parsing an edited text: the first case to serve, or every error."""

    scenario: Scenario | None
    errors: list[dict[str, Any]]
    cases: int = 0


def check_text(text: str, path: str) -> Checked:
    """Parse and validate `text` as the file `path` (includes resolve beside it), as `dotmock check` does."""
    try:
        loaded = load_text(text, path)
    except DslError as err:
        return Checked(None, [error_json(e) for e in errors_of(err)])
    if not loaded.cases:
        return Checked(
            None,
            [
                {
                    "path": path,
                    "line": 1,
                    "column": 1,
                    "width": 1,
                    "message": "no scenario to serve",
                    "hint": None,
                    "expected": [],
                    "headline": f"{path}:1:1: error: no scenario to serve",
                    "rendered": f"{path}:1:1: error: no scenario to serve",
                }
            ],
        )
    return Checked(loaded.cases[0], [], len(loaded.cases))
