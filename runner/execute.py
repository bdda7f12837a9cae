"""Running many cases at once: up to `jobs` servers and clients in one event loop.

Each case has its own server, port and client process, so verdicts do not depend on `jobs`. SIGINT (and
SIGTERM) stop launching new cases and terminate the running clients (their cases become `not_run`), and
the run returns normally so the reports are still written. `--fail-fast` stops launching after the first
case that did not pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dotmock.dsl.model import Scenario
from dotmock.runner.case import CaseOptions, blank_result, run_case
from dotmock.runner.results import CaseResult


@dataclass(slots=True)
class ExecuteOptions:
    jobs: int = 1
    fail_fast: bool = False
    case: CaseOptions = field(default_factory=CaseOptions)
    handle_signals: bool = True


@dataclass(slots=True)
class Execution:
    results: list[CaseResult]
    interrupted: bool
    duration: float


async def execute(
    cases: Sequence[Scenario],
    options: ExecuteOptions,
    on_start: Callable[[Scenario], None] | None = None,
    on_done: Callable[[CaseResult], None] | None = None,
) -> Execution:
    """Run `cases` (results in the same order). Returns after every case ran or was marked not run."""
    t0 = time.monotonic()
    stop = asyncio.Event()  # interrupted: terminate running clients too
    halted = False  # fail-fast: only stop launching
    interrupted = False
    sem = asyncio.Semaphore(max(1, options.jobs))
    results: list[CaseResult | None] = [None] * len(cases)

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if options.handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)

    async def one(i: int, scenario: Scenario) -> None:
        nonlocal halted
        async with sem:
            if stop.is_set() or halted:
                why = (
                    "interrupted (Ctrl-C) before it started"
                    if stop.is_set()
                    else "not run: --fail-fast stopped the run after a failure"
                )
                results[i] = blank_result(scenario, "not_run", why)
                return
            if on_start is not None:
                on_start(scenario)
            try:
                result = await run_case(scenario, options.case, stop)
            except Exception as err:  # a bug of ours must not take the other cases down
                result = blank_result(
                    scenario, "error", f"internal error: {type(err).__name__}: {err}\n" + traceback.format_exc(limit=5)
                )
            results[i] = result
            if options.fail_fast and result.outcome in ("failed", "error"):
                halted = True
            if on_done is not None:
                on_done(result)

    try:
        await asyncio.gather(*(one(i, s) for i, s in enumerate(cases)))
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    final = [r if r is not None else blank_result(cases[i], "not_run", "not run") for i, r in enumerate(results)]
    return Execution(final, interrupted, time.monotonic() - t0)
