"""A request no fixture matched is the scenario's mistake: the case is an error that says which request and
which fixture came nearest, and the client gets no finding for traffic the scenario did not plan."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from dotmock.dsl import load_text
from dotmock.runner.case import CaseOptions, run_case

CLIENT = Path(__file__).resolve().parent / "clients" / "behave.py"


def test_an_unmatched_request_is_a_scenario_error_not_a_client_crash(tmp_path: Path) -> None:
    text = (
        'scenario "typo in the match"\n'
        f'client "{sys.executable} {CLIENT} retry-fixed 1 0" {{ timeout 10s }}\n'
        'fixture "greeting" {\n  match POST /v1/chat/completions { message contains "Goodbye" }\n'
        '  response "hi"\n}\n'
    )
    path = tmp_path / "typo.mock"
    path.write_text(text)
    scenario = load_text(text, str(path)).cases[0]
    result = asyncio.run(run_case(scenario, CaseOptions()))
    assert result.outcome == "error"
    assert result.findings == []
    assert result.message is not None
    assert result.message.startswith("scenario error: a request matched no fixture")
    assert "POST /v1/chat/completions" in result.message and "'greeting'" in result.message
    assert "Goodbye" in result.message  # why the nearest fixture missed
