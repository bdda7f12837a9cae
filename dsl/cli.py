"""`dotmock check`, `dotmock fmt`, `dotmock import`: the language's own commands."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from dotmock.dsl.errors import DslError, DslErrors
from dotmock.dsl.files import write_text_atomically
from dotmock.dsl.fmt import format_text
from dotmock.dsl.json_import import json_to_mock
from dotmock.dsl.limits import read_source
from dotmock.dsl.loader import discover, is_include_only, load_file
from dotmock.dsl.runnable import not_runnable
from dotmock.dsl.structured_check import structured_warnings
from dotmock.dsl.wording import count


def _errors_of(err: DslError) -> list[DslError]:
    return list(err.errors) if isinstance(err, DslErrors) else [err]


def _shared_file_errors(file: str, root: str) -> list[DslError]:
    """A file of shared fixtures is checked on its own too (knob ranges, names, reachability), so a mistake
    is found even before a scenario includes it. `${name}` references are left to the including scenario's
    parameters."""
    try:
        load_file(file, root=root)
    except DslError as err:
        return [e for e in _errors_of(err) if not e.message.startswith("unknown parameter")]
    return []


def check_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dotmock check", description="Parse and validate .mock files.")
    parser.add_argument("paths", nargs="*", default=["scenarios"], help="files or folders (default: scenarios/)")
    args = parser.parse_args(argv)
    files = discover(args.paths)
    missing = [p for p in args.paths if not Path(p).exists()]
    for p in missing:
        print(f"dotmock check: {p}: no such file or folder", file=sys.stderr)
    errors: list[DslError] = []
    warnings: dict[tuple[str, int, int, str], DslError] = {}
    cases = 0
    checked = 0
    for file, root in files:
        if not Path(file).exists():
            continue
        checked += 1
        try:
            if is_include_only(file):
                errors.extend(_shared_file_errors(file, root))
                continue
            loaded = load_file(file, root=root)
            cases += len(loaded.cases)
            if file.endswith(".mock"):
                source = read_source(file)
                errors.extend(not_runnable(loaded, source))
                for case in loaded.cases:
                    for warning in structured_warnings(case, {file: source}):
                        key = (warning.path, warning.line, warning.column, warning.message)
                        warnings.setdefault(key, warning)
        except DslError as err:
            errors.extend(_errors_of(err))
    for error in [*errors, *warnings.values()]:
        print(error.render(), end="\n\n", file=sys.stderr)
    bad_files = len({e.path for e in errors})
    if errors:
        print(
            f"{count(len(errors), 'error')} in {count(bad_files, 'file')}; {count(checked, 'file')} checked",
            file=sys.stderr,
        )
        return 1
    if missing:
        return 1
    if not checked:
        print(f"dotmock check: no .mock files under {', '.join(args.paths)}", file=sys.stderr)
        return 1
    noted = f" ({count(len(warnings), 'warning')})" if warnings else ""
    print(f"{count(checked, 'file')} ok, {count(cases, 'case')}{noted}")
    return 0


def fmt_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dotmock fmt", description="Rewrite .mock files in canonical layout.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    parser.add_argument("--diff", action="store_true", help="with --check: show each change as a unified diff")
    parser.add_argument("paths", nargs="*", default=["scenarios"], help="files or folders (default: scenarios/)")
    args = parser.parse_args(argv)
    status = 0
    changed = 0
    for file, _root in discover(args.paths):
        try:
            text = read_source(file).replace("\r\n", "\n")  # as text mode reads it: fmt writes \n endings
            formatted = format_text(text, file)
        except OSError as err:
            print(f"dotmock fmt: {file}: {err.strerror}", file=sys.stderr)
            status = 1
            continue
        except DslError as err:
            print(err.render(), end="\n\n", file=sys.stderr)
            status = 1
            continue
        if formatted == text:
            continue
        changed += 1
        if args.check:
            print(f"would reformat {file}")
            if args.diff:
                sys.stdout.writelines(
                    difflib.unified_diff(
                        text.splitlines(keepends=True), formatted.splitlines(keepends=True), file, f"{file} (formatted)"
                    )
                )
            status = 1
        else:
            write_text_atomically(file, formatted)
            print(f"reformatted {file}")
    if args.check and status == 0:
        print("all files formatted")
    elif not args.check and changed == 0 and status == 0:
        print("nothing to change")
    return status


def import_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="dotmock import", description="Turn dotMock JSON fixtures into .mock text on stdout."
    )
    parser.add_argument("file", help='a JSON file: one fixture object, a list, or {"fixtures": [...]}')
    args = parser.parse_args(argv)
    try:
        text = read_source(args.file)
        sys.stdout.write(json_to_mock(text, args.file))
    except OSError as err:
        print(f"dotmock import: {args.file}: {err.strerror}", file=sys.stderr)
        return 2
    except DslError as err:
        print(err.render(), file=sys.stderr)
        return 1
    return 0
