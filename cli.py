"""The `dotmock` command: one entry point, each subcommand implemented by the part that owns it."""

from __future__ import annotations

import sys
from collections.abc import Callable

from dotmock.exits import EXIT_INTERRUPTED

USAGE = """usage: dotmock COMMAND [ARGS...]

commands:
  run [PATH...]          run every scenario under the paths (default scenarios/); same as dotmock-run
  serve FILE             serve one scenario's (or a dotMock JSON file's) fixtures until Ctrl-C
  record --upstream URL -o FILE.mock  proxy to a real API and write what passes as fixtures
  check [PATH...]        parse and validate .mock files, print every error
  fmt [--check] [PATH...]  rewrite .mock files in canonical layout
  import FILE.json       turn dotMock JSON fixtures into .mock text on stdout
  report merge FILE...   merge JSON reports of shards into one set of reports
  explain [NAME...]      the built-in findings and report formats; one of them in full

`dotmock COMMAND --help` shows a command's options.
"""


def _command(name: str) -> Callable[[list[str]], int] | None:
    # Imported lazily so `dotmock check` does not pay for the server's imports.
    if name == "run":
        from dotmock.runner.cli import main as run

        return run
    if name == "serve":
        from dotmock.server.cli import main as serve

        return serve
    if name == "record":
        from dotmock.server.record_cli import main as record

        return record
    if name in ("check", "fmt", "import"):
        from dotmock.dsl import cli as dsl_cli

        return {"check": dsl_cli.check_main, "fmt": dsl_cli.fmt_main, "import": dsl_cli.import_main}[name]
    if name == "report":
        from dotmock.runner.cli import report_main

        return report_main
    if name == "explain":
        from dotmock.runner.explain import main as explain

        return explain
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] == "--version":
        from dotmock import __version__

        print(f"dotmock {__version__}")
        return 0
    try:
        command = _command(args[0])
        if command is None:
            print(f"dotmock: unknown command {args[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
            return 2
        return command(args[1:])
    except KeyboardInterrupt:  # before a command installs its own handling (loading, parsing) or after it
        return _interrupted(f"dotmock {args[0]}")


def run_main(argv: list[str] | None = None) -> int:
    """`dotmock-run`: the same as `dotmock run`."""
    try:
        from dotmock.runner.cli import main as run

        return run(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return _interrupted("dotmock-run")


def _interrupted(who: str) -> int:
    print(f"\n{who}: interrupted (Ctrl-C) before it finished; nothing more was done", file=sys.stderr)
    return EXIT_INTERRUPTED


def console_main() -> None:
    sys.exit(main())


def console_run_main() -> None:
    sys.exit(run_main())
