"""`.mock` files as pytest items: one item per case (each parameter row its own), run as `dotmock-run` runs
it (`runner.case.run_case`: fresh server, the client process, the verdict). Ids are the case names, tags
are markers, and a failure reads like the terminal report."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr

from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError, DslErrors
from dotmock.dsl.loader import is_include_only, load_file
from dotmock.runner.case import CaseOptions, run_case
from dotmock.runner.inprocess import explain
from dotmock.runner.results import CaseResult

RESULT_KEY = pytest.StashKey[CaseResult]()
TAG_MARKER_DOC = "a dotmock scenario tag"


class CaseFailed(Exception):
    """A case whose verdict is not `passed`; its report is `explain(result)`."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(f"{result.name}: {result.outcome}")
        self.result = result


class MockFile(pytest.File):
    """A `.mock` file: its cases, or none for a file that only shares fixtures or has no client to run."""

    root: str | None = None  # the folder includes must stay inside (the path pytest was pointed at)

    def collect(self) -> Iterable[MockCase]:
        if is_include_only(str(self.path)):
            return
        loaded = load_file(str(self.path), root=self.root)
        for case in loaded.cases:
            if case.client is None:
                continue  # served to a test's own code by the `dotmock` fixture, not run by itself
            item = MockCase.from_parent(self, name=case.name, scenario=case)
            for tag in case.tags:
                register_marker(self.config, tag)
                item.add_marker(tag)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        err = excinfo.value
        if isinstance(err, DslErrors):
            return "\n".join(str(e) for e in err.errors) + f"\n{len(err.errors)} error(s) in {self.path}"
        if isinstance(err, DslError):
            return str(err)
        return super().repr_failure(excinfo)


class MockCase(pytest.Item):
    def __init__(self, *, scenario: m.Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        timeout = self.config.stash.get(TIMEOUT_KEY, m.DEFAULT_CLIENT_TIMEOUT_S)
        seed = self.config.stash.get(SEED_KEY, None)
        result = asyncio.run(run_case(self.scenario, CaseOptions(default_timeout_s=timeout, seed=seed)))
        self.stash[RESULT_KEY] = result
        if result.outcome != "passed":
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CaseFailed):
            return explain(excinfo.value.result) + seed_note(self.scenario, excinfo.value.result.seed)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        loc = self.scenario.location
        return self.path, (loc.line - 1 if loc is not None else 0), f"dotmock: {self.name}"


TIMEOUT_KEY = pytest.StashKey[float]()
SEED_KEY = pytest.StashKey[int]()  # the session's seed for `jitterMs` (`--dotmock-seed`, else a fresh one)


def uses_jitter(scenario: m.Scenario) -> bool:
    return any(isinstance(f.outcome, m.TextOutcome) and f.outcome.streaming.jitter_ms > 0 for f in scenario.fixtures)


def seed_note(scenario: m.Scenario, seed: int | None) -> str:
    """The line a failure report ends with when the scenario's waits are jittered: how to get the same waits."""
    if seed is None or not uses_jitter(scenario):
        return ""
    return f"\ndotmock: jitterMs drew from seed {seed}: `pytest --dotmock-seed {seed}` replays the same waits"


def register_marker(config: pytest.Config, name: str) -> None:
    """Make a tag a known marker (so `--strict-markers` and `-m` accept it)."""
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    if name not in known:
        config.addinivalue_line("markers", f"{name}: {TAG_MARKER_DOC}")


def collection_root(path: Path, roots: list[Path]) -> str:
    """The deepest folder pytest was pointed at that holds `path` (includes stay inside it), else its folder."""
    best: Path | None = None
    for root in roots:
        if root.is_dir() and path.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return str(best if best is not None else path.parent)
