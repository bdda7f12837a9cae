"""`dotmock-run` / `dotmock run`, and `dotmock report merge`.

Exit status: 0 every selected case passed; 1 some case failed, errored or was not run; 2 a file did not parse
or the invocation was wrong; 5 no case was selected (no scenario under the paths, or `-k` matched none: a
typo in a CI filter must not pass); 130 the run was interrupted (Ctrl-C / SIGTERM) — the reports are written
all the same, with the cases that did not finish marked `not_run`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from typing import NoReturn

from dotmock import __version__
from dotmock.dsl.errors import DslError, DslErrors
from dotmock.dsl.files import remove_stale_temporaries
from dotmock.dsl.loader import load_path
from dotmock.dsl.model import DEFAULT_CLIENT_TIMEOUT_S, Scenario
from dotmock.dsl.values import parse_duration as duration_seconds
from dotmock.dsl.wording import count
from dotmock.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NO_CASES, EXIT_OK, EXIT_USAGE
from dotmock.runner.atomic import append_text, write_atomic
from dotmock.runner.case import CaseOptions, blank_result
from dotmock.runner.execute import ExecuteOptions, execute
from dotmock.runner.report_formats import FORMAT_NAMES, REPORT_FORMATS
from dotmock.runner.report_json import ReportFormatError, load_report, merge_reports, missing_shards
from dotmock.runner.report_markdown import render_markdown
from dotmock.runner.report_terminal import TerminalReporter
from dotmock.runner.results import CaseResult, RunReport
from dotmock.runner.selection import SelectionError, parse_shard, select
from dotmock.server.jitter import new_seed, parse_seed

DEFAULT_PATH = "scenarios"


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(f"{self.prog}: {message}\n{self.format_usage()}")


def parse_duration(text: str) -> float:
    """A `--timeout`: a duration as in `.mock` files (`30s`, `500ms`, `2m`), or a bare number of seconds."""
    spelled = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", spelled):
        spelled += "s"
    try:
        value = duration_seconds(spelled)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30s, 500ms, 2m)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the client timeout must be more than 0")
    return value


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _seed(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_report_options(p: argparse.ArgumentParser) -> None:
    for kind in REPORT_FORMATS:
        p.add_argument(f"--{kind.name}", metavar="FILE", help=kind.help)


def _report_paths(args: argparse.Namespace) -> dict[str, str | None]:
    return {name: getattr(args, name) for name in FORMAT_NAMES}


def run_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dotmock-run", description="Run .mock scenarios against their clients and judge them.")
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"files or folders (default: {DEFAULT_PATH}/)")
    p.add_argument(
        "-j", "--jobs", type=_jobs, default=os.cpu_count() or 1, help="cases run at once (default: CPU count)"
    )
    p.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="only cases whose name or tag contains the words; and/or/not/() combine them; "
        "quote a phrase with spaces: -k '\"rate limit\" and not naive'",
    )
    p.add_argument("--shard", metavar="K/N", help="run only shard K of N (stable split by case id)")
    p.add_argument(
        "--timeout",
        type=parse_duration,
        default=DEFAULT_CLIENT_TIMEOUT_S,
        metavar="DURATION",
        help=f"client timeout when the scenario sets none, e.g. 30s or 2m; a bare number is "
        f"seconds (default {DEFAULT_CLIENT_TIMEOUT_S:g}s)",
    )
    p.add_argument("--fail-fast", action="store_true", help="stop launching cases after the first failure")
    p.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="the seed jitterMs draws from (default: a fresh one); every report names the seed used, and "
        "--seed with it replays the same waits",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="details of every case, not only failures")
    _add_report_options(p)
    p.add_argument("--version", action="version", version=f"dotmock {__version__}")
    return p


def write_reports(report: RunReport, paths: dict[str, str | None]) -> bool:
    """Write every requested report (`paths`: a file, or None, by format name); True if all were written."""
    ok = True
    renderers = [(paths.get(kind.name), kind.render) for kind in REPORT_FORMATS]
    for folder in sorted({os.path.dirname(os.path.abspath(path)) for path, _ in renderers if path}):
        stale = remove_stale_temporaries(folder)
        if stale:
            n = len(stale)
            print(
                f"dotmock: removed {n} temporary file{'s' if n != 1 else ''} a killed run left in {folder}: "
                + ", ".join(stale),
                file=sys.stderr,
            )
    for path, render in renderers:
        if not path:
            continue
        try:
            write_atomic(path, render(report))
        except OSError as err:
            print(f"dotmock: cannot write {path}: {err}", file=sys.stderr)
            ok = False
        except Exception as err:  # a bug in one writer must not cost the other reports
            print(
                f"dotmock: could not render {path} ({type(err).__name__}: {err}); the other reports are written",
                file=sys.stderr,
            )
            ok = False
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            append_text(summary, render_markdown(report) + "\n")
        except Exception as err:
            print(f"dotmock: cannot append to $GITHUB_STEP_SUMMARY ({summary}): {err}", file=sys.stderr)
    return ok


def _load(paths: list[str]) -> list[Scenario]:
    files = load_path(paths)
    return [case for f in files for case in f.cases]


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = run_parser().parse_args(args_list)
        shard = parse_shard(args.shard) if args.shard else None
    except _Usage as err:
        print(str(err), end="", file=sys.stderr)
        return EXIT_USAGE
    except SelectionError as err:
        print(f"dotmock-run: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:  # --help / --version
        return int(exit_.code or 0)
    paths = args.paths or [DEFAULT_PATH]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        print(f"dotmock-run: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        every_case = _load(paths)
    except DslErrors as errs:
        for error in errs.errors:
            print(str(error), file=sys.stderr)
        print(f"\ndotmock-run: {count(len(errs.errors), 'error')}; nothing was run", file=sys.stderr)
        return EXIT_USAGE
    except DslError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    index = {c.case_id: i for i, c in enumerate(every_case)}
    try:
        cases = select(every_case, args.keyword, shard)
    except SelectionError as err:
        print(f"dotmock-run: {err}", file=sys.stderr)
        return EXIT_USAGE
    seed = args.seed if args.seed is not None else new_seed()
    options = ExecuteOptions(
        jobs=args.jobs, fail_fast=args.fail_fast, case=CaseOptions(default_timeout_s=args.timeout, seed=seed)
    )
    started = time.time()
    reporter = TerminalReporter(verbose=args.verbose, total=len(cases))
    nothing_selected = _nothing_selected(every_case, paths, args.keyword)
    if nothing_selected:
        print(f"dotmock-run: {nothing_selected}", file=sys.stderr)
    elif not cases:
        print(f"dotmock-run: shard {args.shard} has no case (of {count(len(every_case), 'case')})", file=sys.stderr)
    interrupted = False
    t0 = time.monotonic()
    results: list[CaseResult]
    with reporter:
        try:
            execution = asyncio.run(execute(cases, options, reporter.started, reporter.finished))
            results, interrupted = execution.results, execution.interrupted
        except KeyboardInterrupt:  # arrived before our handler was installed, or after it was removed
            interrupted = True
            results = [blank_result(c, "not_run", "interrupted (Ctrl-C)") for c in cases]
    for r in results:
        r.index = index.get(r.id, 0)
    report = RunReport(
        cases=results,
        started_at=started,
        duration=time.monotonic() - t0,
        interrupted=interrupted,
        jobs=args.jobs,
        shard=args.shard,
        tool_version=__version__,
        seed=seed,
    )
    wrote = write_reports(report, _report_paths(args))
    reporter.summary(report)
    if interrupted:
        return EXIT_INTERRUPTED
    if not wrote:
        return EXIT_USAGE
    if nothing_selected:
        return EXIT_NO_CASES
    return EXIT_OK if report.ok else EXIT_FAILED


def _nothing_selected(every_case: list[Scenario], paths: list[str], keyword: str | None) -> str | None:
    """Why nothing will run, when that is the user's mistake (exit 5). A `--shard` left empty is not one: a
    small suite split over many shards."""
    if not every_case:
        return f"no scenario under {', '.join(paths)} (files of shared fixtures only are not run on their own)"
    if keyword and not select(every_case, keyword, None):
        return f"-k {keyword!r} matches none of the {count(len(every_case), 'case')}"
    return None


def report_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dotmock report", description="Work with JSON reports.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    merge = sub.add_parser("merge", help="merge the JSON reports of several shards into one set of reports")
    merge.add_argument("inputs", nargs="+", metavar="REPORT.json")
    merge.add_argument("-v", "--verbose", action="store_true")
    _add_report_options(merge)
    return p


def report_main(argv: list[str] | None = None) -> int:
    try:
        args = report_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except _Usage as err:
        print(str(err), end="", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        reports = [load_report(p) for p in args.inputs]
    except ReportFormatError as err:
        print(f"dotmock report merge: {err}", file=sys.stderr)
        return EXIT_USAGE
    merged = merge_reports(reports)
    wrote = write_reports(merged, _report_paths(args))
    TerminalReporter(verbose=args.verbose).summary(merged)
    if not wrote:
        return EXIT_USAGE
    missing = missing_shards(reports)
    if missing:
        print(
            f"dotmock report merge: no report for shard {', '.join(missing)}: the merged run is incomplete",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK if merged.ok else EXIT_FAILED
