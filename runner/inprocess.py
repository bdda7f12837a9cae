"""A scenario served to code in this process: `with serve("chat.mock") as mock: ...`, then its verdict.

The server runs on 127.0.0.1:<free port> in a thread of its own with its own event loop, so the code under
test may be sync or async (asyncio, anyio, trio): it only talks to a socket. While the block runs, the
environment a runner's client gets (`runner.case.client_environment`: base URLs of every API, dummy keys) is
set in `os.environ` and restored afterwards. The code under test is the *client*: what it did — returned, or
raised — takes the place of the client process's exit, and the journal is judged with the runner's own
findings and the scenario's `expect` block (`runner.case.record_run`).

An exception counts as a crash (`client_crashed`) when its class comes from a library the call went through
(the SDK, httpx, json, ...) or is a programming error (`KeyError`, `TypeError`, ...): it escaped the code
unhandled. Any other exception is the code's own error message, as a client that exits 1 after printing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import os
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import anyio

from dotmock.dsl import model as m
from dotmock.dsl.loader import load_file, load_text
from dotmock.runner.attempts import Call, group_calls
from dotmock.runner.case import blank_result, client_environment, record_run
from dotmock.runner.report_terminal import case_details
from dotmock.runner.results import CaseResult, ClientRun, ExpectationResult, Finding
from dotmock.server.journal import HttpExchange, Journal, WsConnection
from dotmock.server.running import RunningServer, running_server

T = TypeVar("T")


class CallTimedOut(Exception):
    """The code under test did not return within the call's timeout (`MockServer.timeout_s`)."""


START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
# After the code under test returned, exchanges the server is still ending (a stream whose reader went away)
# get this long to close before the journal is judged.
SETTLE_TIMEOUT_S = 2.0
_SETTLE_POLL_S = 0.005

# Where an exception class comes from decides whether it escaped unhandled (see the module's docstring).
LIBRARY_MODULES = frozenset(
    {
        "openai",
        "anthropic",
        "httpx",
        "httpcore",
        "httpx_ws",
        "wsproto",
        "websockets",
        "h11",
        "h2",
        "json",
        "ssl",
        "socket",
        "asyncio",
        "anyio",
        "concurrent",
        "pydantic",
        "pydantic_core",
    }
)
PROGRAMMING_ERRORS = (
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    NameError,
    ZeroDivisionError,
    UnicodeError,
    RecursionError,
    ConnectionError,
    TimeoutError,
)


def is_crash(err: BaseException) -> bool:
    """True when `err` escaped the code under test unhandled rather than being its own error message."""
    root = type(err).__module__.split(".", 1)[0]
    return root in LIBRARY_MODULES or isinstance(err, PROGRAMMING_ERRORS)


def exception_line(err: BaseException) -> str:
    """`json.decoder.JSONDecodeError: Expecting value: ...`, as a traceback's last line names it."""
    cls = type(err)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    text = str(err)
    return f"{name}: {text}" if text else name


def load_scenario(
    path: str | os.PathLike[str] | None = None,
    *,
    text: str | None = None,
    case: str | None = None,
    root: str | os.PathLike[str] | None = None,
) -> m.Scenario:
    """The one case of a `.mock` (or dotMock JSON) file or of inline `.mock` text; `case` picks one of a
    parameterised file's rows by its name (or by the part in brackets: `client=naive, cut=3`). Inline
    text includes files relative to `root` (default: the current directory)."""
    if (path is None) == (text is None):
        raise ValueError("give a scenario file or inline .mock text (text=...), not both")
    if text is not None:
        folder = str(root) if root is not None else os.getcwd()
        loaded = load_text(text, os.path.join(folder, "<inline>.mock"), root=folder)
    else:
        loaded = load_file(str(path), root=str(root) if root is not None else None)
    return pick_case(loaded, case)


def pick_case(loaded: m.ScenarioFile, case: str | None) -> m.Scenario:
    cases = loaded.cases
    if case is None:
        if len(cases) == 1:
            return cases[0]
        names = ", ".join(repr(c.name) for c in cases)
        raise ValueError(f"{loaded.path} has {len(cases)} cases ({names}): pick one with case=...")
    for c in cases:
        row = ", ".join(f"{k}={v}" for k, v in c.params)
        if case in (c.name, row):
            return c
    names = ", ".join(repr(c.name) for c in cases)
    raise ValueError(f"{loaded.path} has no case {case!r} (its cases: {names})")


class MockServer:
    """A scenario served from a background thread on a free loopback port (see the module's docstring).

    Use it as a context manager (`with` or `async with`), or `start()` / `stop()`. Between uses of one
    server (one test after another) `reset()` clears the journal and the attempt counters."""

    def __init__(
        self,
        scenario: m.Scenario,
        *,
        patch_env: bool = True,
        name: str | None = None,
        timeout: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.timeout = timeout
        self.seed = seed  # what `jitterMs` draws from (server.jitter); None: 0
        self.patch_env = patch_env
        self.name = name or scenario.name
        self._srv: RunningServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._saved_env: dict[str, str | None] = {}
        self._t0 = time.monotonic()
        self._started_at = 0.0
        self._ended_at: float | None = None
        self._returned: Any = None
        self._raised: BaseException | None = None
        self._called = False
        self._timed_out_call = False
        self._final: Journal | None = None

    # ------------------------------------------------------------------------------------ life cycle

    def start(self) -> MockServer:
        if self._thread is not None:
            raise RuntimeError("this dotmock server is already started")
        self._thread = threading.Thread(target=self._serve, name=f"dotmock {self.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"the dotmock server did not start within {START_TIMEOUT_S:g}s")
        if self._failure is not None:
            raise RuntimeError(f"the dotmock server failed to start: {self._failure}") from self._failure
        if self.patch_env:
            self.apply_env(os.environ)
        self.reset()
        return self

    def stop(self) -> None:
        if self.patch_env:
            self.restore_env(os.environ)
        if self._srv is not None and self._loop is not None and not self._loop.is_closed():
            self._final = self.journal  # what was seen stays readable (and judgeable) after the block
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(STOP_TIMEOUT_S)
        self._thread = None
        self._srv = self._loop = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported by start(); the thread must not die silently
            self._failure = err
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        journal = Journal(seed=self.seed)
        async with running_server(self.scenario, host="127.0.0.1", port=0, journal=journal) as srv:
            self._srv = srv
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> MockServer:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.start)

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.stop)

    def _on_loop(self, fn: Callable[[], Awaitable[T]], timeout: float = STOP_TIMEOUT_S) -> T:
        loop = self._loop
        if loop is None or self._srv is None:
            raise RuntimeError("the dotmock server is not running (use it inside `with serve(...)`)")

        async def run() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)

    @property
    def server(self) -> RunningServer:
        if self._srv is None:
            raise RuntimeError("the dotmock server is not running (use it inside `with serve(...)`)")
        return self._srv

    # ------------------------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (the OpenAI SDK's base URL is this + `/v1`: see `env`)."""
        return self.server.base_url

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def env(self) -> dict[str, str]:
        """The variables a runner's client gets, for this server: `OPENAI_BASE_URL`, keys, `DOTMOCK_URL`..."""
        own = dict(self.scenario.client.env) if self.scenario.client is not None else {}
        return {**client_environment(self.base_url, self.ws_url), **own}

    def apply_env(self, environ: dict[str, str] | os._Environ[str]) -> None:
        for key, value in self.env.items():
            self._saved_env.setdefault(key, environ.get(key))
            environ[key] = value

    def restore_env(self, environ: dict[str, str] | os._Environ[str]) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        self._saved_env.clear()

    # ------------------------------------------------------------------------------------ one use

    def reset(self) -> None:
        """Forget every request and attempt: the next use starts at attempt 1 with an empty journal."""

        async def clear() -> None:
            self.server.journal.reset()

        self._on_loop(clear)
        self._t0 = time.monotonic()
        self._started_at = self._t0
        self._ended_at = None
        self._returned = None
        self._raised = None
        self._called = False
        self._timed_out_call = False

    @property
    def timeout_s(self) -> float:
        """How long `call` / `acall` wait for the code under test: `timeout=` given to `serve` (or the
        `dotmock` marker), else the scenario's `client { timeout }`, else the runner's default. A call still
        running then is judged as a client killed at its timeout."""
        if self.timeout is not None:
            return self.timeout
        client = self.scenario.client
        if client is not None and client.timeout_s is not None:
            return client.timeout_s
        return m.DEFAULT_CLIENT_TIMEOUT_S

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the code under test: what it returns or raises is judged as the client's outcome. Exceptions
        are raised again (for `pytest.raises`). It runs in a worker thread so that a call that never returns
        ends at `timeout_s` with `CallTimedOut` (and a verdict: `no_read_timeout` on a stall it sat through,
        else `client_hung`) instead of hanging the test run; the thread is left to end when the server stops."""
        self._begin()
        box: dict[str, Any] = {}
        context = contextvars.copy_context()

        def work() -> None:
            try:
                box["value"] = context.run(fn, *args, **kwargs)
            except BaseException as err:  # handed to the caller's thread below
                box["error"] = err

        worker = threading.Thread(target=work, name=f"dotmock call {self.name}", daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            raise self._timed_out(fn)
        if "error" in box:
            self._end(None, box["error"])
            raise box["error"]
        self._end(box["value"], None)
        return cast(T, box["value"])

    async def acall(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`call` for a coroutine function (or anything returning an awaitable), on asyncio or trio: at
        `timeout_s` the awaitable is cancelled and `CallTimedOut` raised."""
        self._begin()
        value: T | None = None
        try:
            with anyio.move_on_after(self.timeout_s) as scope:
                value = await fn(*args, **kwargs)
        except BaseException as err:
            self._end(None, err)
            raise
        if scope.cancelled_caught:
            raise self._timed_out(fn)
        self._end(value, None)
        return cast(T, value)

    def _timed_out(self, fn: Callable[..., object]) -> CallTimedOut:
        self._ended_at = time.monotonic()
        self._returned, self._raised, self._timed_out_call = None, None, True
        name = getattr(fn, "__qualname__", None) or repr(fn)
        return CallTimedOut(
            f"{name} did not return within {self.timeout_s:g}s (dotmock's timeout for the call: the scenario's "
            "timeout= or client { timeout }); the verdict says why: dotmock.result()"
        )

    def _begin(self) -> None:
        if not self._called:
            self._started_at = time.monotonic()
        self._called = True

    def _end(self, value: Any, err: BaseException | None) -> None:
        self._ended_at = time.monotonic()
        self._returned, self._raised, self._timed_out_call = value, err, False

    @property
    def called(self) -> bool:
        """True once `call` / `acall` ran: the verdict is then about that code, not the whole test."""
        return self._called

    def outcome(self, returned: Any = None, raised: BaseException | None = None) -> None:
        """Say what the code under test did when it was not run through `call` / `acall`."""
        self._called = True
        self._end(returned, raised)

    # ------------------------------------------------------------------------------------ observed

    @property
    def journal(self) -> Journal:
        """A copy of what the server saw since the last reset, once its open exchanges ended."""
        if self._srv is None and self._final is not None:
            return self._final
        return self._on_loop(self._settled_copy, SETTLE_TIMEOUT_S + STOP_TIMEOUT_S)

    async def _settled_copy(self) -> Journal:
        journal = self.server.journal
        # A call that timed out is a killed client: what it left open stays open, nothing more will end.
        deadline = time.monotonic() + (0.0 if self._timed_out_call else SETTLE_TIMEOUT_S)
        while time.monotonic() < deadline and not _settled(journal):
            await asyncio.sleep(_SETTLE_POLL_S)
        copied = Journal(seed=journal.seed)
        copied.t0 = journal.t0
        copied.http = copy.deepcopy(journal.http)
        copied.websocket = copy.deepcopy(journal.websocket)
        copied.dropped_http, copied.dropped_websocket = journal.dropped_http, journal.dropped_websocket
        return copied

    @property
    def requests(self) -> list[HttpExchange]:
        """Every HTTP exchange since the last reset, in order."""
        return self.journal.http

    @property
    def connections(self) -> list[WsConnection]:
        return self.journal.websocket

    @property
    def calls(self) -> list[Call]:
        """HTTP attempts grouped into logical calls (same endpoint and body), as the runner groups them."""
        return group_calls(self.journal)

    def result(self) -> CaseResult:
        """The verdict on what the code under test did, as the runner judges a client: findings, the
        scenario's `expect` block, outcome `passed` or `failed`."""
        journal = self.journal
        ended = self._ended_at if self._ended_at is not None else time.monotonic()
        raised = self._raised
        run = ClientRun(
            argv=[self.name],
            cwd=os.getcwd(),
            exit_code=None if self._timed_out_call else 0 if raised is None else 1,
            timed_out=self._timed_out_call,
            started_at=self._started_at,
            ended_at=ended,
            stdout=_text(self._returned),
        )
        if raised is not None:
            run.stderr = "".join(traceback.format_exception(raised))
            if is_crash(raised):
                run.crashed = True
                run.exception = exception_line(raised)
            else:
                run.stderr += f"\n{exception_line(raised)}\n"
        result = blank_result(self.scenario, "error")
        result.seed = self.seed
        result.duration = ended - self._t0
        record_run(result, self.scenario, journal, run, self._t0)
        return result

    @property
    def findings(self) -> list[Finding]:
        return self.result().findings

    @property
    def expectations(self) -> list[ExpectationResult]:
        return self.result().expectations

    def assert_ok(self) -> CaseResult:
        """Raise AssertionError, with the runner's explanation, unless the verdict is `passed`."""
        result = self.result()
        if result.outcome != "passed":
            raise AssertionError(explain(result))
        return result


def explain(result: CaseResult) -> str:
    """The terminal report's lines for one case: expectations expected vs observed, findings with advice."""
    head = f"dotmock: {result.name} {result.outcome} ({result.file})"
    return "\n".join([head, *case_details(result)])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else repr(value)


def _settled(journal: Journal) -> bool:
    return all(x.ended_at is not None for x in journal.http) and all(c.closed_at is not None for c in journal.websocket)


def serve(
    path: str | os.PathLike[str] | None = None,
    *,
    text: str | None = None,
    case: str | None = None,
    patch_env: bool = True,
    root: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    seed: int | None = None,
) -> MockServer:
    """Serve a scenario file (or inline `.mock` text) for code in this process:

    with serve("chat.mock") as mock:
        answer = mock.call(summarise, "Hello")   # reads OPENAI_BASE_URL, set for the block
    mock.result()  # CaseResult: findings, expectations, outcome
    """
    scenario = load_scenario(path, text=text, case=case, root=root)
    return MockServer(scenario, patch_env=patch_env, timeout=timeout, seed=seed)


def resolve(path: str | os.PathLike[str], *bases: Path) -> Path:
    """`path` itself when absolute, else the first of `bases`/path that exists (else bases[0]/path)."""
    p = Path(path)
    if p.is_absolute() or not bases:
        return p
    for base in bases:
        if (base / p).exists():
            return base / p
    return bases[0] / p
