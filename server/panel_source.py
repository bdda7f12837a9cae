"""The test panel's fixture editor, server side: the scenario's `.mock` text, live validation with the same
`file:line:col` errors as `dotmock check`, and applying an edited text to the running server.

A dotMock JSON fixture file is shown as its `.mock` translation (`dotmock import`); saving it applies in
memory only, since writing `.mock` text over a JSON file would change its format.

The files the scenario includes are editable too: an edit of one is checked as part of the whole scenario
(the scenario file and the other includes as they are served). Only a file the served scenario was built from
can be named, so a request cannot read or write any other path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotmock.dsl import DslError, DslErrors
from dotmock.dsl.loader import load_sourced
from dotmock.dsl.model import Scenario


@dataclass(slots=True)
class EditorSource:
    """What the editor shows and where a save would go."""

    path: str  # the path errors are reported against (the .mock file, or the JSON file's .mock twin)
    text: str
    disk_path: str | None  # the file a save may overwrite; None: never written (JSON source, or no file)
    note: str | None = None  # shown above the editor (e.g. "translated from JSON")
    includes: dict[str, str] = field(default_factory=dict)  # included file -> the text being served

    def text_of(self, file: str) -> str | None:
        """The served text of `file` (the scenario file or one of its includes); None for any other name."""
        if file == self.path:
            return self.text
        return self.includes.get(file)

    def disk_path_of(self, file: str) -> str | None:
        """Where a save of `file` may be written: the scenario file's own path, an include's path."""
        if file == self.path:
            return self.disk_path
        return file if file in self.includes and self.disk_path is not None else None

    def apply(self, checked: Checked) -> None:
        """Remember the texts a successful save was built from (an edit may add or drop includes)."""
        self.text = checked.texts.get(self.path, self.text)
        self.includes = {p: t for p, t in checked.texts.items() if p != self.path}


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
    source = EditorSource(path=path, text=raw, disk_path=path)
    checked = check_text(raw, path)
    source.includes = {p: t for p, t in checked.texts.items() if p != path}
    return source


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
    texts: dict[str, str] = field(default_factory=dict)  # every file the scenario was built from


def check_text(text: str, path: str, includes: dict[str, str] | None = None) -> Checked:
    """Parse and validate `text` as the file `path` (includes resolve beside it, `includes` standing in for
    their files on disk), as `dotmock check` does."""
    try:
        sourced = load_sourced(text, path, overrides=includes)
    except DslError as err:
        return Checked(None, [error_json(e) for e in errors_of(err)])
    loaded = sourced.file
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
    return Checked(loaded.cases[0], [], len(loaded.cases), sourced.texts)


def check_edit(source: EditorSource, file: str, text: str) -> Checked:
    """Check the scenario with `file` (the scenario file or one of its includes) edited to `text`."""
    if file == source.path:
        return check_text(text, source.path, source.includes)
    return check_text(source.text, source.path, {**source.includes, file: text})
