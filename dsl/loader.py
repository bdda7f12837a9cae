"""Loading `.mock` files (and dotMock JSON fixture files) into validated scenarios."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lark import Token, Tree

from dotmock.dsl import model as m
from dotmock.dsl.build import Parts, build
from dotmock.dsl.errors import DslError, DslErrors
from dotmock.dsl.limits import (
    INCLUDE_HINT,
    MAX_BUILD_BYTES,
    MAX_INCLUDE_EXPANSIONS,
    read_source,
    unusable_include_target,
)
from dotmock.dsl.param_table import param_table
from dotmock.dsl.runnable import empty_file_error
from dotmock.dsl.syntax import parse_tree
from dotmock.dsl.validate import validate

_MAX_INCLUDE_DEPTH = 32


class _Loader:
    def __init__(self, root: Path, overrides: Mapping[str, str] | None = None) -> None:
        self.root = root.resolve()
        self.overrides = dict(overrides or {})
        self.texts: dict[str, str] = {}
        self.trees: dict[str, Tree[Token]] = {}
        self.errors: list[DslError] = []
        self.expansions = 0  # includes expanded so far, every params row counted
        self.built_bytes = 0  # text built into scenarios so far (MAX_BUILD_BYTES)

    def over_budget(self, size: int, text: str, path: str, where: m.Location | None) -> bool:
        """Count `size` bytes more to build; past MAX_BUILD_BYTES, record the error once and say so."""
        self.built_bytes += size
        if self.built_bytes <= MAX_BUILD_BYTES:
            return False
        if self.built_bytes - size <= MAX_BUILD_BYTES:
            self.errors.append(
                DslError.at(
                    f"params rows and includes build {self.built_bytes // 1024}+ KiB of scenario text; the limit "
                    f"is {MAX_BUILD_BYTES // 1024} KiB",
                    text,
                    path,
                    where.line if where else 1,
                    where.column if where else 1,
                    hint="fewer rows, or smaller files: each row that names a ${parameter} builds the whole file "
                    "again, each include its file",
                )
            )
        return True

    def read(self, path: str) -> str:
        if path not in self.texts:
            self.texts[path] = self.overrides[path] if path in self.overrides else read_source(path)
        return self.texts[path]

    def tree(self, path: str, text: str) -> Tree[Token]:
        if path not in self.trees:
            self.trees[path] = _parsed(path, text)
        return self.trees[path]

    def fixtures_of(self, parts: Parts, path: str, params: dict[str, str], stack: tuple[str, ...]) -> list[m.Fixture]:
        """The file's fixtures in first-match order, includes expanded in place."""
        out: list[m.Fixture] = []
        for item in parts.sequence:
            if isinstance(item, m.Fixture):
                out.append(item)
                continue
            target, where = item
            out.extend(self.included(target, where, path, params, stack))
        return out

    def included(
        self, target: str, where: m.Location, path: str, params: dict[str, str], stack: tuple[str, ...]
    ) -> list[m.Fixture]:
        text = self.texts.get(path, "")
        self.expansions += 1
        if self.expansions > MAX_INCLUDE_EXPANSIONS:
            if self.expansions == MAX_INCLUDE_EXPANSIONS + 1:
                self.errors.append(
                    DslError.at(
                        f"too many includes: more than {MAX_INCLUDE_EXPANSIONS} expanded (every params row counts)",
                        text,
                        path,
                        where.line,
                        where.column,
                        hint="include each shared file once; put the fixtures it shares in it",
                    )
                )
            return []
        unusable = unusable_include_target(target)
        if unusable:
            self.errors.append(DslError.at(unusable, text, path, where.line, where.column, hint=INCLUDE_HINT))
            return []
        try:
            resolved = (Path(path).parent / target).resolve()
        except (OSError, RuntimeError) as err:  # a name too long, a symlink loop
            self.errors.append(
                DslError.at(f"cannot resolve include {target!r}: {err}", text, path, where.line, where.column)
            )
            return []
        display = os.path.relpath(resolved)
        if not resolved.is_relative_to(self.root):
            self.errors.append(
                DslError.at(
                    f"include {target!r} points outside the scenario tree ({os.path.relpath(self.root)})",
                    text,
                    path,
                    where.line,
                    where.column,
                    hint="keep shared files inside the scenarios folder",
                )
            )
            return []
        if str(resolved) in stack:
            chain = " -> ".join(os.path.relpath(p) for p in (*stack, str(resolved)))
            self.errors.append(DslError.at(f"include cycle: {chain}", text, path, where.line, where.column))
            return []
        if len(stack) > _MAX_INCLUDE_DEPTH:
            self.errors.append(DslError.at("includes nest too deep", text, path, where.line, where.column))
            return []
        if resolved.suffix != ".mock":  # a link named x.mock to another file: never read (nor echo) it
            self.errors.append(
                DslError.at(
                    f"include {target!r} leads to {os.path.relpath(resolved)!r}, which is not a .mock file",
                    text,
                    path,
                    where.line,
                    where.column,
                    hint=INCLUDE_HINT,
                )
            )
            return []
        try:
            inc_text = self.read(display)
        except OSError as err:
            self.errors.append(
                DslError.at(
                    f"cannot read included file {target!r}: {err.strerror}", text, path, where.line, where.column
                )
            )
            return []
        except DslError as err:
            self.errors.append(
                DslError.at(
                    f"cannot include {target!r}: {err.message}", text, path, where.line, where.column, hint=err.hint
                )
            )
            return []
        try:
            tree = self.tree(display, inc_text)
        except DslErrors as err:
            self.errors.extend(err.errors)
            return []
        except DslError as err:
            self.errors.append(err)
            return []
        if self.over_budget(len(inc_text), text, path, where):
            return []
        parts, errors = build(tree, inc_text, display, params)
        self.errors.extend(errors)
        for what, present in (
            ("scenario", parts.name is not None),
            ("client", bool(parts.clients)),
            ("expect", parts.expect_blocks > 0),
            ("params", parts.has_params),
        ):
            if present:
                self.errors.append(
                    DslError.at(
                        f"an included file shares fixtures only; {display} has a `{what}`",
                        text,
                        path,
                        where.line,
                        where.column,
                    )
                )
        return self.fixtures_of(parts, display, params, (*stack, str(resolved)))

    def load(self, path: str, text: str) -> m.ScenarioFile:
        self.texts[path] = text
        tree = self.tree(path, text)
        if not any(isinstance(c, Tree) for c in tree.children):
            raise empty_file_error(path)
        table, table_errors = param_table(tree, text, path)
        self.errors.extend(table_errors)
        rows = table.rows if table and table.rows else [{}]
        cases: list[m.Scenario] = []
        body = _without_param_rows(tree)  # built once per row: the table itself is not rebuilt each time
        body_size = len(text) - _table_chars(tree)
        first: tuple[Parts, list[m.Fixture]] | None = None
        row_free = False  # known after the first row: whether no file read names a parameter
        if len(rows) > 1 and "${" in text and self.built_bytes + body_size * len(rows) > MAX_BUILD_BYTES:
            # This file names a parameter, so every row builds it: over the budget before the first build.
            self.over_budget(body_size * len(rows), text, path, table.location if table else None)
            return m.ScenarioFile(path, ())
        for row in rows:
            if first is not None and row_free:
                # No file read so far names a parameter: every row builds and validates the same fixtures
                # and expectations (their errors too), so the first row's are reused, not rebuilt.
                parts, fixtures = first
            else:
                if self.over_budget(body_size, text, path, table.location if table else None):
                    break
                parts, errors = build(body, text, path, row)
                self.errors.extend(errors)
                fixtures = self.fixtures_of(parts, path, row, (str(Path(path).resolve()),))
            name = parts.name or Path(path).stem
            if row:
                name += " [" + ", ".join(f"{k}={v}" for k, v in row.items()) + "]"
            scenario = m.Scenario(
                name=name,
                path=path,
                base_dir=str(Path(path).resolve().parent),
                description=parts.description,
                tags=tuple(parts.tags),
                dialect=parts.dialect or "openai",
                client=parts.clients[0] if parts.clients else None,
                fixtures=tuple(fixtures),
                expectations=tuple(parts.expectations),
                params=tuple(row.items()),
                location=parts.name_loc,
            )
            if first is None or fixtures is not first[1]:
                self.errors.extend(validate(scenario, self.texts))
                if first is None:
                    row_free = not any("${" in t for t in self.texts.values())
                first = parts, fixtures
            cases.append(scenario)
        return m.ScenarioFile(path, tuple(cases))

    def raise_if_errors(self) -> None:
        unique: dict[tuple[str, int, int, str], DslError] = {}
        for err in self.errors:
            unique.setdefault((err.path, err.line, err.column, err.message), err)
        if unique:
            ordered = sorted(unique.values(), key=lambda e: (e.path, e.line, e.column))
            raise DslErrors(ordered)


def _without_param_rows(tree: Tree[Token]) -> Tree[Token]:
    """`tree` with its params tables emptied (read already by `param_table`), so building the scenario for
    each of N rows costs the size of the rest of the file, not N times the table."""
    if not any(isinstance(c, Tree) and c.data == "params" for c in tree.children):
        return tree
    children = [Tree("params", [], c.meta) if isinstance(c, Tree) and c.data == "params" else c for c in tree.children]
    return Tree(tree.data, children, tree.meta)


def _table_chars(tree: Tree[Token]) -> int:
    """How much of the text the params tables take (they are not rebuilt per row)."""
    return sum(
        c.meta.end_pos - c.meta.start_pos
        for c in tree.children
        if isinstance(c, Tree) and c.data == "params" and not c.meta.empty
    )


@dataclass(frozen=True, slots=True)
class Sourced:
    """A loaded file and the text of every file it was built from: itself first, then its includes (by the
    paths errors name them with)."""

    file: m.ScenarioFile
    texts: dict[str, str]


def load_sourced(
    text: str, path: str = "<text>", *, root: str | None = None, overrides: Mapping[str, str] | None = None
) -> Sourced:
    """`load_text`, also returning the texts read; `overrides` gives included files' texts in place of what is
    on disk (the panel's editor checks an edited include this way). Raises `DslErrors`."""
    loader = _Loader(Path(root) if root else Path(path).parent, overrides)
    try:
        result = loader.load(path, text)
    except DslErrors as err:
        loader.errors.extend(err.errors)
        loader.raise_if_errors()
        raise
    except DslError as err:
        loader.errors.append(err)
        loader.raise_if_errors()
        raise
    loader.raise_if_errors()
    return Sourced(result, dict(loader.texts))


def load_text(text: str, path: str = "<text>", *, root: str | None = None) -> m.ScenarioFile:
    """Parse and validate `.mock` text. Raises `DslErrors` listing every problem found."""
    return load_sourced(text, path, root=root).file


def load_file(path: str, *, root: str | None = None) -> m.ScenarioFile:
    """Load a `.mock` file, or a dotMock JSON fixture file (`.json`). Raises DslError(s)."""
    try:
        text = read_source(path)
    except OSError as err:
        raise DslError(f"cannot read the file: {err.strerror}", path=path) from None
    if path.endswith(".json"):
        from dotmock.dsl.json_import import scenario_file_from_json

        return scenario_file_from_json(text, path)
    return load_text(text, path, root=root)


def discover(paths: Iterable[str]) -> list[tuple[str, str]]:
    """`(file, root)` for every `.mock` file under `paths`: a folder is searched recursively and is the
    root that includes must stay inside; a file given by name is taken as it is, its folder the root."""
    found: list[tuple[str, str]] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for file in sorted(p.rglob("*.mock")):
                found.append((str(file), str(p)))
        else:
            found.append((str(p), str(p.parent)))
    return found


# The tree `is_include_only` parsed, for the load of the same file that follows it (discovery, then loading,
# would otherwise parse every file twice). Handed over once: a large tree is not kept longer.
_handover: list[tuple[str, str, Tree[Token]]] = []


def _parsed(path: str, text: str) -> Tree[Token]:
    if _handover:
        held_path, held_text, tree = _handover.pop()
        if held_path == path and held_text == text:
            return tree
    return parse_tree(text, path)


def is_include_only(path: str) -> bool:
    """A file of fixtures with no `scenario`, `client` or `expect` only shares them with files that include
    it: discovery does not run it as a scenario of its own. An empty file is not one (it is an error)."""
    try:
        text = read_source(path)
    except (OSError, DslError):
        return False
    try:
        tree = parse_tree(text, path)
    except DslError:
        return False
    _handover[:] = [(path, text, tree)]
    kinds = {c.data for c in tree.children if isinstance(c, Tree)}
    return bool(kinds) and not kinds & {"scenario_name", "client", "expect"}


def load_path(paths: Iterable[str]) -> list[m.ScenarioFile]:
    """Load every scenario file under `paths` (include-only files are skipped). Raises `DslErrors` with
    every problem of every file."""
    files: list[m.ScenarioFile] = []
    errors: list[DslError] = []
    for file, root in discover(paths):
        if is_include_only(file):
            continue
        try:
            files.append(load_file(file, root=root))
        except DslErrors as err:
            errors.extend(err.errors)
        except DslError as err:
            errors.append(err)
    if errors:
        raise DslErrors(errors)
    return files
