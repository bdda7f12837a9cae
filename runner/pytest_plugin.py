"""dotmock's pytest plugin (entry point `pytest11: dotmock`), loaded by every pytest run where dotmock is
installed; it changes nothing until asked (docs/pytest.md):

- **Collection.** `.mock` files named on pytest's command line, or under a folder named there
  (`pytest scenarios/`), or named in `testpaths` (`"scenarios/*.mock"`), are collected: each case one item,
  run as `dotmock-run` runs it (`runner.pytest_items`). `--dotmock-collect all` / `none` (ini
  `dotmock_collect`) collects every `.mock` file pytest walks past, or none.
- **The `dotmock` fixture.** `@pytest.mark.dotmock("chat.mock")` (or `text=...`) serves the scenario on a
  free loopback port for the test's own code, with the environment patched (`runner.inprocess`); after the
  test the journal is judged like a client process's, and the test fails on what would fail the case
  (`check=False` on the marker, or ini `dotmock_check = false`, turns that off). A parameterised file
  runs the test once per row. Override `dotmock_server` with a module-scoped fixture for one server per
  module; the attempt counters and the journal are reset before every test all the same.
- **Seed.** `jitterMs` draws from one seed per session: `--dotmock-seed N` (ini `dotmock_seed`), else a fresh
  one, shown in the session header and at the end of a failing jittered case's report, and shared with
  pytest-xdist workers; `@pytest.mark.dotmock(..., seed=N)` pins one test's. The same seed replays the same
  waits.
- **Reports.** `--dotmock-junit/--dotmock-json/--dotmock-markdown/--dotmock-html FILE` write dotmock's
  reports of every case and fixture test (across pytest-xdist workers: results travel on the reports).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from dotmock import __version__
from dotmock.dsl.errors import DslError, DslErrors
from dotmock.dsl.loader import load_file
from dotmock.runner.cli import parse_duration, write_reports
from dotmock.runner.inprocess import MockServer, explain, load_scenario, resolve
from dotmock.runner.pytest_items import RESULT_KEY, SEED_KEY, TIMEOUT_KEY, MockFile, collection_root, seed_note
from dotmock.runner.report_formats import FORMAT_NAMES
from dotmock.runner.results import CaseResult, RunReport
from dotmock.server.jitter import new_seed, parse_seed

MARKER = "dotmock"
COLLECT_MODES = ("auto", "all", "none")
SERVER_KEY = pytest.StashKey[MockServer]()
_ROOTS_KEY = pytest.StashKey[list[Path]]()
_MODE_KEY = pytest.StashKey[str]()
_REPORT_ATTR = "dotmock_case"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dotmock", "dotmock scenarios (.mock files) and the dotmock fixture")
    group.addoption(
        "--dotmock-collect",
        choices=COLLECT_MODES,
        default=None,
        help="collect .mock files: auto (default: those named on the command line or in testpaths, "
        "or under a folder named on the command line), all, none",
    )
    group.addoption(
        "--dotmock-timeout",
        type=parse_duration,
        default=None,
        metavar="DURATION",
        help="client timeout of collected cases whose scenario sets none (default 60s)",
    )
    group.addoption(
        "--dotmock-seed",
        type=_seed,
        default=None,
        metavar="N",
        help="the seed jitterMs draws from (default: a fresh one, shown in the header); the same seed replays "
        "the same waits",
    )
    for kind in FORMAT_NAMES:
        group.addoption(
            f"--dotmock-{kind}", metavar="FILE", default=None, help=f"write dotmock's {kind} report of the run"
        )
    parser.addini("dotmock_collect", "collect .mock files: auto, all or none", default="auto")
    parser.addini("dotmock_timeout", "client timeout of collected cases that set none", default="")
    parser.addini("dotmock_check", "the dotmock fixture fails a test whose verdict fails", type="bool", default=True)
    parser.addini("dotmock_seed", "the seed jitterMs draws from (default: a fresh one per session)", default="")


def _seed(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _session_seed(config: pytest.Config) -> int:
    """--dotmock-seed, else ini dotmock_seed, else the xdist controller's, else a fresh one."""
    given = config.getoption("dotmock_seed")
    if given is not None:
        return int(given)
    ini = str(config.getini("dotmock_seed")).strip()
    if ini:
        try:
            return parse_seed(ini)
        except ValueError as err:
            raise pytest.UsageError(f"dotmock_seed = {ini!r}: {err}") from None
    worker = getattr(config, "workerinput", None)
    if isinstance(worker, dict) and isinstance(worker.get(_WORKER_SEED), int):
        return int(worker[_WORKER_SEED])
    return new_seed()


_WORKER_SEED = "dotmock_seed"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker draws from the controller's seed."""
    node.workerinput[_WORKER_SEED] = node.config.stash[SEED_KEY]


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash[SEED_KEY]
    return f"dotmock: jitterMs seed {seed} (--dotmock-seed {seed} replays the same waits)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path=None, *, text=None, case=None, check=True, seed=None): the scenario the dotmock fixture "
        "serves (a .mock file relative to the test file, or inline .mock text); check=False: do not fail the "
        "test on its verdict; seed=N: the seed its jitterMs draws from (default: the session's)",
    )
    mode = config.getoption("dotmock_collect") or str(config.getini("dotmock_collect")).strip() or "auto"
    if mode not in COLLECT_MODES:
        raise pytest.UsageError(f"dotmock_collect = {mode!r}: expected one of {', '.join(COLLECT_MODES)}")
    config.stash[_MODE_KEY] = mode
    config.stash[SEED_KEY] = _session_seed(config)
    config.stash[_ROOTS_KEY] = _named_paths(config)
    timeout = config.getoption("dotmock_timeout")
    ini_timeout = str(config.getini("dotmock_timeout")).strip()
    if timeout is None and ini_timeout:
        try:
            timeout = parse_duration(ini_timeout)
        except Exception as err:
            raise pytest.UsageError(f"dotmock_timeout = {ini_timeout!r}: {err}") from None
    if timeout is not None:
        config.stash[TIMEOUT_KEY] = timeout
    config.pluginmanager.register(_Reports(config), "dotmock-reports")


def _named_paths(config: pytest.Config) -> list[Path]:
    """The paths pytest was pointed at that opt `.mock` files in: command-line paths, `.mock` testpaths."""
    source = config.args_source
    if source == pytest.Config.ArgsSource.ARGS:
        named = [a.split("::", 1)[0] for a in config.args]
    elif source == pytest.Config.ArgsSource.TESTPATHS:
        named = [a for a in config.args if a.endswith(".mock")]
    else:
        named = []
    base = config.invocation_params.dir
    return [(base / p).resolve() for p in named]


def _wanted(config: pytest.Config, path: Path) -> bool:
    mode = config.stash[_MODE_KEY]
    if mode == "none":
        return False
    if mode == "all":
        return True
    real = path.resolve()
    return any(real == root or real.is_relative_to(root) for root in config.stash[_ROOTS_KEY])


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> MockFile | None:
    if file_path.suffix != ".mock" or not _wanted(parent.config, file_path):
        return None
    node: MockFile = MockFile.from_parent(parent, path=file_path)
    node.root = collection_root(file_path.resolve(), parent.config.stash[_ROOTS_KEY])
    return node


# ---------------------------------------------------------------------------------------------- fixture


def _marker(node: pytest.Item | pytest.Collector) -> pytest.Mark | None:
    return node.get_closest_marker(MARKER)


def _marker_source(mark: pytest.Mark, test_path: Path, rootdir: Path) -> tuple[Path | None, str | None]:
    path = mark.args[0] if mark.args else mark.kwargs.get("path")
    text = mark.kwargs.get("text")
    if (path is None) == (text is None):
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} needs a scenario file or inline text=..., one of them ({test_path})"
        )
    if path is None:
        return None, str(text)
    return resolve(str(path), test_path.parent, rootdir), None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test served a parameterised file runs once per row (ids: the rows, `client=naive,cut=3`)."""
    if "dotmock_case" not in metafunc.fixturenames:
        return
    mark = metafunc.definition.get_closest_marker(MARKER)
    if mark is None or mark.kwargs.get("case") is not None:
        return
    path, _ = _marker_source(mark, metafunc.definition.path, metafunc.config.rootpath)
    if path is None:
        return
    try:
        cases = load_file(str(path)).cases
    except DslErrors as err:
        pytest.fail("\n".join(str(e) for e in err.errors), pytrace=False)
    except DslError as err:
        pytest.fail(str(err), pytrace=False)
    if len(cases) > 1:
        ids = [",".join(f"{k}={v}" for k, v in c.params) or c.name for c in cases]
        metafunc.parametrize("dotmock_case", [c.name for c in cases], ids=ids)


@pytest.fixture
def dotmock_case() -> str | None:
    """The case of a parameterised scenario file a test is served (parametrised by the plugin)."""
    return None


@pytest.fixture
def dotmock_server(request: pytest.FixtureRequest, dotmock_case: str | None) -> Iterator[MockServer]:
    """The server the `dotmock` fixture hands to a test: one per test, for the test's `dotmock` marker.
    Override it with a module-scoped fixture yielding `dotmock.runner.inprocess.serve(...)` for one per module."""
    mark = _marker(request.node)
    if mark is None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: the dotmock fixture needs a scenario: "
            f'@pytest.mark.{MARKER}("file.mock") or @pytest.mark.{MARKER}(text="..."), or a dotmock_server fixture'
        )
    path, text = _marker_source(mark, request.path, request.config.rootpath)
    case = mark.kwargs.get("case") or dotmock_case
    try:
        scenario = load_scenario(path, text=text, case=case, root=request.path.parent if text is not None else None)
    except DslErrors as err:
        pytest.fail("\n".join(str(e) for e in err.errors), pytrace=False)
    except (DslError, ValueError) as err:
        pytest.fail(str(err), pytrace=False)
    timeout = mark.kwargs.get("timeout")
    if timeout is not None and not isinstance(timeout, int | float):
        raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.{MARKER}(timeout=...) takes seconds (a number)")
    seed = mark.kwargs.get("seed", request.config.stash[SEED_KEY])
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.{MARKER}(seed=...) takes a whole number")
    with MockServer(scenario, patch_env=False, name=request.node.nodeid, timeout=timeout, seed=seed) as server:
        yield server


@pytest.fixture
def dotmock(request: pytest.FixtureRequest, dotmock_server: MockServer) -> Iterator[MockServer]:
    """The scenario served for this test: `base_url`, `env` (set in os.environ for the test), `call` /
    `acall` for the code under test, then `journal`, `calls`, `result()`, `findings`, `assert_ok()`."""
    server = dotmock_server
    server.reset()
    server.name = request.node.nodeid
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server.env.items():
            patch.setenv(key, value)
        request.node.stash[SERVER_KEY] = server
        try:
            yield server
        finally:
            del request.node.stash[SERVER_KEY]


def _check(item: pytest.Item) -> bool:
    mark = _marker(item)
    if mark is not None and "check" in mark.kwargs:
        return bool(mark.kwargs["check"])
    return bool(item.config.getini("dotmock_check"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    try:
        outcome = yield
    except BaseException as err:
        _judge(item, err)
        raise
    _judge(item, None)
    return outcome


def _judge(item: pytest.Item, err: BaseException | None) -> None:
    """The verdict on a test that used the `dotmock` fixture; fail it if its verdict fails (and `check`)."""
    server = item.stash.get(SERVER_KEY, None)
    if server is None or isinstance(err, pytest.skip.Exception | KeyboardInterrupt):
        return
    if not server.called:
        server.outcome(raised=err)  # no `call`: the test's own code as a whole is the client
    result = server.result()
    result.id = item.nodeid
    result.name = item.nodeid
    item.stash[RESULT_KEY] = result
    if result.outcome == "passed":
        return
    text = explain(result) + seed_note(server.scenario, server.seed)
    if err is None and _check(item):
        raise pytest.fail.Exception(text, pytrace=False)
    item.add_report_section("call", "dotmock", text)


# ---------------------------------------------------------------------------------------------- reports


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if call.when == "call":
        result = item.stash.get(RESULT_KEY, None)
        if result is not None:
            setattr(report, _REPORT_ATTR, result.to_json())  # travels to the xdist controller with the report
    return report


class _Reports:
    """Collects every judged case off the test reports (on the xdist controller too) and writes
    dotmock's reports at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, _REPORT_ATTR, None)
        if isinstance(data, dict):
            self.results.append(data)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if hasattr(config, "workerinput"):
            return  # an xdist worker: its results went to the controller on the reports
        paths = {kind: config.getoption(f"dotmock_{kind}") for kind in FORMAT_NAMES}
        if not any(paths.values()):
            return
        cases = sorted((CaseResult.from_json(d) for d in self.results), key=lambda c: c.id)
        for i, case in enumerate(cases):
            case.index = i
        workers = getattr(config.option, "numprocesses", None)
        report = RunReport(
            cases=cases,
            started_at=self.started,
            duration=time.time() - self.started,
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
            jobs=workers if isinstance(workers, int) and workers > 0 else 1,
            tool_version=__version__,
        )
        if not write_reports(report, paths):
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
