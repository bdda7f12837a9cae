"""The verdict for real third-party clients (tests/corpus.py): the official openai SDKs for Python and Node,
curl, a careful httpx client, each against every HTTP fault kind. All cells run once, concurrently.
`python -m bench.client_matrix` publishes the same grid as docs/clients.md."""

from __future__ import annotations

import re
from pathlib import Path

from corpus import CELLS, EXPECTED, Cell, ensure_node_packages, exit_class, main_findings, run_corpus

from dotmock.runner.results import CaseResult


def test_every_cell_has_an_expectation() -> None:
    assert {(c.client, c.fault) for c in CELLS} == set(EXPECTED)


def cell_problems(cell: Cell, result: CaseResult) -> list[str]:
    """Why a cell's verdict is not the expected one (empty: right)."""
    finding, ended = EXPECTED[(cell.client, cell.fault)]
    if result.outcome not in ("passed", "failed"):
        return [f"case {result.outcome}: {result.message}"]
    found = main_findings(result)
    problems = []
    if exit_class(result) != ended:
        problems.append(f"client ended {exit_class(result)}, expected {ended}")
    if finding not in found:
        problems.append(f"expected {finding}, got {found}")
    if finding != "fault_handled" and "fault_handled" in found:
        problems.append("fault_handled beside another finding for the same fault")
    severe = any(f.severity == "error" for f in result.findings)
    if result.outcome != ("failed" if severe else "passed"):
        problems.append(f"outcome {result.outcome} with findings {found}")
    return problems


def test_every_cell_is_judged_right(tmp_path: Path) -> None:
    """One test for the whole grid, so parallel workers do not each run the corpus again."""
    results = run_corpus(tmp_path)
    # Eight cases at once on two cores can hold a 429 back past the careful client's 0.3 s read timeout, so
    # it never sees the Retry-After it is then judged on: a cell judged wrong runs again, on its own; a
    # verdict that is wrong twice fails.
    again = [cell for cell, result in results.items() if cell_problems(cell, result)]
    if again:
        (tmp_path / "again").mkdir()
        results.update(run_corpus(tmp_path / "again", again, jobs=1))
    wrong = {cell.name: p for cell, result in results.items() if (p := cell_problems(cell, result))}
    assert not wrong, "\n".join(f"{name}: {'; '.join(p)}" for name, p in wrong.items())

    curl_drop = results[Cell("curl", "disconnect-chunks")].findings[0].title
    assert curl_drop.startswith("failed (exit 18) with no error message"), curl_drop
    node_drop = results[Cell("node-sdk", "disconnect-chunks")].findings[0].title
    assert node_drop == "crashed on a dropped connection (TypeError)", node_drop
    assert "own message (exit 1)" in results[Cell("httpx-careful", "400")].findings[0].title
    after = [f.name for f in results[Cell("python-sdk-ws", "ws-close-after-answer")].findings]
    assert "ws_abnormal_close_ignored" not in after, after
    stall = results[Cell("python-sdk", "stall")].findings[0].title
    waited = re.search(r"sat through (\d+\.\d+)s", stall)
    assert "after 2 chunks" in stall and waited and float(waited.group(1)) >= 1.0, stall  # the 1 s stall, or more


def test_the_node_packages_are_pinned() -> None:
    import json

    ensure_node_packages()
    node = Path(__file__).parent / "node"
    lock = json.loads((node / "package-lock.json").read_text())
    wanted = json.loads((node / "package.json").read_text())["dependencies"]
    pins = {"openai": "7.59.0", "@anthropic-ai/sdk": "1.16.0", "@google/genai": "3.6.1", "ws": "8.23.1"}
    assert wanted == pins  # exact pins, no ranges
    for name, version in wanted.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
        installed = json.loads((node / "node_modules" / name / "package.json").read_text())
        assert installed["version"] == version


def test_the_published_matrix_matches_the_expectations() -> None:
    """docs/clients.md (python -m bench.client_matrix) shows, per cell, the finding this corpus asserts."""
    from corpus import CLIENTS, FAULTS, WS_CLIENTS, WS_FAULTS

    doc = (Path(__file__).parent.parent / "docs" / "clients.md").read_text(encoding="utf-8")
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in doc.splitlines() if line.startswith("| ")}
    for clients, faults in ((CLIENTS, FAULTS), (WS_CLIENTS, WS_FAULTS)):
        for fault, (_text, words) in faults.items():
            for client, cell in zip(clients, rows[words], strict=True):
                assert f"`{EXPECTED[(client, fault)][0]}`" in cell, (client, fault, cell)
