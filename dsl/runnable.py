"""What makes a loaded file something `dotmock-run` can run: the rules `dotmock check` and the runner share,
so `check` never passes a file that `run` then rejects."""

from __future__ import annotations

from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError

NO_CLIENT = "the scenario has no `client` block, so there is nothing to run against the mock"
NO_CLIENT_HINT = 'add `client "python my_client.py"`, or serve the fixtures by hand with `dotmock serve`'
# Without a client, an `expect` block is for the pytest fixture, where the test's own code is the client.
EXPECT_WITHOUT_CLIENT = "expectations need a client to judge: add a `client` line"
EXPECT_WITHOUT_CLIENT_HINT = (
    'e.g. client "python clients/chat.py"; or judge your own code with the pytest fixture (docs/pytest.md)'
)
EMPTY_FILE = "the file is empty: it has no scenario, fixture or expectation"
EMPTY_FILE_HINT = 'start with `scenario "name"`, a `client "..."` and a `fixture` (docs/language.md), or delete it'


def empty_file_error(path: str) -> DslError:
    return DslError(EMPTY_FILE, path=path, hint=EMPTY_FILE_HINT)


def no_client_problem(scenario: m.Scenario) -> tuple[str, str, m.Location | None]:
    """Message, hint and place for a case without a client (it has `expect` lines, or nothing to judge)."""
    if scenario.expectations:
        return EXPECT_WITHOUT_CLIENT, EXPECT_WITHOUT_CLIENT_HINT, scenario.expectations[0].location
    return NO_CLIENT, NO_CLIENT_HINT, scenario.location


def not_runnable(file: m.ScenarioFile, text: str) -> list[DslError]:
    """Problems that stop every case of a scenario file from running (reported once per file, not per row)."""
    first = file.cases[0] if file.cases else None
    if first is None or first.client is not None:
        return []
    message, hint, where = no_client_problem(first)
    line, column = (where.line, where.column) if where else (1, 1)
    return [DslError.at(message, text, file.path, line, column, hint=hint)]
