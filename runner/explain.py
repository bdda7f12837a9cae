"""`dotmock explain [NAME...]`: the built-in findings and the report formats, printed from where they are
defined (`dsl.catalogue.FINDING_KINDS`, `runner.report_formats.REPORT_FORMATS`), so the docs point here
instead of keeping a second list. Without a name: one line each; with names: each one in full (a finding's
severity, what the client did, the rule that raises it, the advice)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TextIO

from dotmock.dsl.catalogue import FINDING_KINDS, FINDINGS, FindingKind
from dotmock.dsl.errors import did_you_mean
from dotmock.runner.report_formats import REPORT_FORMATS, ReportFormat

_FORMATS = {f.name: f for f in REPORT_FORMATS}
_WIDTH = 100


def overview() -> str:
    """Every finding (name, severity, what the client did) and every report format (option, help)."""
    name_width = max(len(k.name) for k in FINDING_KINDS)
    lines = ["findings (`finding NAME` / `no finding NAME` in `expect`):"]
    lines += [f"  {k.name:<{name_width}}  {k.severity:<7}  {k.summary}" for k in FINDING_KINDS]
    lines += ["", "report formats (`dotmock-run --NAME FILE`, `--dotmock-NAME FILE` under pytest):"]
    lines += [f"  --{f.name:<10} {f.help}" for f in REPORT_FORMATS]
    lines += ["", "`dotmock explain NAME` tells one in full."]
    return "\n".join(lines) + "\n"


def _paragraph(label: str, text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=f"  {label}: ", subsequent_indent="    ", break_on_hyphens=False)


def finding_text(kind: FindingKind) -> str:
    lines = [f"finding {kind.name} ({kind.severity}): the client {kind.summary}"]
    lines += _paragraph("raised when", kind.rule) + _paragraph("advice", kind.advice)
    return "\n".join(lines) + "\n"


def format_text(fmt: ReportFormat) -> str:
    lines = [f"report format {fmt.name}: `--{fmt.name} FILE` (`--dotmock-{fmt.name} FILE` under pytest)"]
    lines += _paragraph("holds", fmt.doc)
    return "\n".join(lines) + "\n"


def explain(name: str) -> str | None:
    """The full text of the finding or report format `name`, or None when there is none of that name."""
    if name in FINDINGS:
        return finding_text(FINDINGS[name])
    if name in _FORMATS:
        return format_text(_FORMATS[name])
    return None


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="dotmock explain", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="a finding or a report format")
    args = parser.parse_args(argv)
    if not args.names:
        out.write(overview())
        return 0
    status = 0
    for i, name in enumerate(args.names):
        text = explain(name)
        if text is None:
            hint = did_you_mean(name, [*FINDINGS, *_FORMATS]) or "`dotmock explain` lists them"
            err.write(f"dotmock explain: no finding or report format {name!r}: {hint}\n")
            status = 2
            continue
        out.write(("\n" if i else "") + text)
    return status
