"""`dotmock explain`: the findings and report formats told from where they are defined, so the docs keep no
list of them (a new finding is its catalogue entry and its rule; a new format its module and registry entry)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dotmock.dsl.catalogue import FINDING_KINDS, FindingKind
from dotmock.runner.explain import main
from dotmock.runner.report_formats import REPORT_FORMATS, ReportFormat

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def _unwrapped(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_overview_lists_every_finding_and_every_format() -> None:
    status, out, _ = _run()
    assert status == 0
    for kind in FINDING_KINDS:
        assert re.search(rf"^  {kind.name} +{kind.severity} +{re.escape(kind.summary)}$", out, re.M), kind.name
    for fmt in REPORT_FORMATS:
        assert re.search(rf"^  --{fmt.name} +{re.escape(fmt.help)}$", out, re.M), fmt.name


@pytest.mark.parametrize("kind", FINDING_KINDS, ids=lambda k: k.name)
def test_a_finding_in_full_has_its_rule_and_advice(kind: FindingKind) -> None:
    status, out, _ = _run(kind.name)
    assert status == 0 and out.startswith(f"finding {kind.name} ({kind.severity}): the client {kind.summary}\n")
    assert f"raised when: {kind.rule}" in _unwrapped(out) and f"advice: {kind.advice}" in _unwrapped(out)
    assert all(len(line) <= 100 for line in out.splitlines()[1:])


@pytest.mark.parametrize("fmt", REPORT_FORMATS, ids=lambda f: f.name)
def test_a_format_in_full_says_what_it_holds(fmt: ReportFormat) -> None:
    status, out, _ = _run(fmt.name)
    assert status == 0 and f"`--{fmt.name} FILE`" in out and f"holds: {fmt.doc}" in _unwrapped(out)


def test_an_unknown_name_is_refused_with_a_did_you_mean() -> None:
    status, out, err = _run("tool_lop", "junit")
    assert status == 2 and "report format junit" in out
    assert err == "dotmock explain: no finding or report format 'tool_lop': did you mean 'tool_loop'?\n"


def test_the_docs_example_is_the_real_output() -> None:
    text = (DOCS / "language.md").read_text(encoding="utf-8")
    shown = re.search(r"```text\n\$ dotmock explain (\w+)\n(.*?)```", text, re.S)
    assert shown is not None
    assert _run(shown.group(1))[1] == shown.group(2)


def test_the_dotmock_command_runs_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dotmock", "explain", "fault_handled"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("finding fault_handled (info):")


def test_no_docs_page_keeps_a_list_of_findings_or_formats() -> None:
    for page in [DOCS.parent / "README.md", *DOCS.glob("*.md")]:
        text = page.read_text(encoding="utf-8")
        for kind in FINDING_KINDS:
            assert f"| `{kind.name}` |" not in text, (page.name, kind.name)
        assert "--junit F] [--json F]" not in text and "`--dotmock-junit`, `--dotmock-json`" not in text, page.name
