"""Hostile text (case names, params, client output) through every report of a real `dotmock-run`: the
Markdown and HTML carry no markup of the attacker's, the JUnit is well-formed XML, the JSON parses, the
terminal shows the names as text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dotmock.dsl.catalogue import FINDING_NAMES

RUN = [sys.executable, "-m", "dotmock", "run"]

CLIENT_OUTPUT = r"<script>alert(2)</script> ]]> ``` </pre> </details> \x01 \x1b[2J <img src=y onerror=alert(3)>"
HOSTILE = r"""scenario "<script>alert(1)</script> | `x` ]]> \u0001 [bold]b[/] <img src=x onerror=alert(9)>"
params {
  | p |
  | "<img src=x onerror=alert(1)>\n# heading | cell" |
}
client ["python", "-c", "import sys; print('CLIENT_OUTPUT'); sys.exit(1)"]
fixture "f" { match POST * response "x" }
expect { client stdout contains "<b>|`" }
""".replace("CLIENT_OUTPUT", CLIENT_OUTPUT)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "h.mock").write_text(HOSTILE)
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    result = subprocess.run(
        [*RUN, "h.mock", "--junit", "r.xml", "--json", "r.json", "--markdown", "r.md", "--html", "r.html"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return folder, result


def test_the_run_fails_the_case_and_writes_every_report(reports: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, result = reports
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("r.xml", "r.json", "r.md", "r.html"):
        assert (folder / name).stat().st_size > 0


def test_markdown_holds_no_raw_html_of_the_attacker(reports: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    md = (reports[0] / "r.md").read_text()
    for raw in ("<script", "<img", "</pre> </details>", "\x01", "\x1b"):
        assert raw not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "&lt;img src=y onerror=alert(3)&gt;" in md  # the client's output is shown, escaped
    table = [line for line in md.splitlines() if line.startswith("| ")]
    cells = len(re.split(r"(?<!\\)\|", table[0]))
    for row in table[:3]:  # the summary table: a `|` in a name never adds a cell
        assert len(re.split(r"(?<!\\)\|", row)) == cells
    # the name never leaves its line: no heading made of "# heading"
    assert not any(line.startswith("#") and "heading" in line for line in md.splitlines())
    # no backtick the attacker wrote opens a code span (the report's own: finding names)
    ours = re.compile("`(?:" + "|".join(FINDING_NAMES) + ")`")
    assert not re.search(r"(?<!\\)`", ours.sub("", md))


def test_junit_is_well_formed_and_keeps_the_names(reports: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root = ET.parse(reports[0] / "r.xml").getroot()
    case = root.find(".//testcase")
    assert case is not None
    assert case.get("name", "").startswith("<script>alert(1)</script> | `x` ]]> \ufffd")
    out = case.findtext("system-out") or ""
    assert "]]>" in out and "\x01" not in out


def test_html_escapes_every_hostile_string(reports: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    page = (reports[0] / "r.html").read_text()
    assert "alert(1)</script>" not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_json_report_parses_with_the_exact_name(reports: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    data = json.loads((reports[0] / "r.json").read_text())
    assert data["cases"][0]["name"].startswith("<script>alert(1)</script> | `x` ]]> \x01 [bold]b[/]")


def test_terminal_prints_names_as_text_on_one_line(reports: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out = reports[1].stdout
    assert "[bold]b[/]" in out  # not eaten as rich markup
    assert "\x01" not in out and "\\x01" in out
    assert "\\n# heading" in out
