"""One case: a fresh mock server on 127.0.0.1:0, the client run against it, and the verdict.

The server is stopped and its port released whatever happens (the `running_server` context), and the
verdict is taken after it stopped, so every exchange in the journal has ended.
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
from dataclasses import dataclass
from typing import Any

from dotmock.dsl import model as m
from dotmock.dsl.runnable import no_client_problem
from dotmock.runner.attempts import faults_injected, group_calls, ws_calls
from dotmock.runner.process import DEFAULT_GRACE_S, ClientSpec, run_client
from dotmock.runner.results import CaseResult, ClientRun, Outcome
from dotmock.runner.verdict import judge
from dotmock.server.apis import APIS, base_url_variables
from dotmock.server.journal import Journal
from dotmock.server.running import running_server

DUMMY_API_KEY = "sk-dotmock-not-a-real-key"


@dataclass(frozen=True, slots=True)
class CaseOptions:
    default_timeout_s: float = m.DEFAULT_CLIENT_TIMEOUT_S
    grace_s: float = DEFAULT_GRACE_S
    seed: int | None = None  # the run's seed for `jitterMs` (server.jitter); reported with each case


def blank_result(scenario: m.Scenario, outcome: Outcome, message: str | None = None) -> CaseResult:
    return CaseResult(
        id=scenario.case_id,
        file=scenario.path,
        name=scenario.name,
        params=dict(scenario.params),
        tags=list(scenario.tags),
        outcome=outcome,
        message=message,
        started_at=time.time(),
    )


def client_environment(base_url: str, ws_url: str) -> dict[str, str]:
    """How a client finds the mock: the base URL of every API it serves, dummy keys, dotmock's own URLs.
    The one list: the runner's client processes and the pytest fixture (`runner.inprocess`) both read it."""
    keys = {name: DUMMY_API_KEY for api in APIS for name in api.kind.key_envs}
    return {**base_url_variables(base_url), **keys, "DOTMOCK_URL": base_url, "DOTMOCK_WS_URL": ws_url}


def client_spec(scenario: m.Scenario, client: m.Client, base_url: str, ws_url: str, options: CaseOptions) -> ClientSpec:
    cwd = os.path.normpath(os.path.join(scenario.base_dir, client.cwd or "."))
    env = {**client_environment(base_url, ws_url), **dict(client.env)}
    timeout = client.timeout_s if client.timeout_s is not None else options.default_timeout_s
    return ClientSpec(
        argv=list(client.argv), cwd=cwd, env=env, timeout_s=timeout, shell=client.shell, grace_s=options.grace_s
    )


def _journal_json(journal: Journal, t0: float) -> dict[str, Any]:
    shifted = copy.copy(journal)  # same records, times relative to the case start instead of the server's
    shifted.t0 = t0
    return shifted.to_json()


async def run_case(scenario: m.Scenario, options: CaseOptions, stop: asyncio.Event | None = None) -> CaseResult:
    """Run one case to its verdict. Never raises for a problem of the case itself: that is an `error`."""
    result = blank_result(scenario, "error")
    t0 = time.monotonic()
    client = scenario.client
    if client is None:
        message, hint, _ = no_client_problem(scenario)
        result.message = f"{message} ({hint})"
        return result
    run: ClientRun | None = None
    journal: Journal | None = None
    try:
        result.seed = options.seed
        async with running_server(scenario, host="127.0.0.1", port=0, journal=Journal(seed=options.seed)) as srv:
            journal = srv.journal
            spec = client_spec(scenario, client, srv.base_url, srv.ws_url, options)
            run = await run_client(spec, stop=stop)
    except Exception as err:  # the server could not start or stop: the case cannot be judged
        result.message = f"the mock server failed: {type(err).__name__}: {err}"
    result.duration = time.monotonic() - t0
    if run is None or journal is None:
        return result
    record_run(result, scenario, journal, run, t0)
    return result


def record_run(result: CaseResult, scenario: m.Scenario, journal: Journal, run: ClientRun, t0: float) -> None:
    """Fill `result` from a finished client run: journal, calls, faults met, and the verdict (times from `t0`).
    The runner's cases and the pytest fixture's tests (`runner.inprocess`) are judged here alike."""
    # The credentials the client sent are redacted in the journal; scrubbed from its output too, before any
    # rule, finding or report quotes it (server.redact.Secrets)
    run.stdout, run.stderr = journal.secrets.scrub(run.stdout), journal.secrets.scrub(run.stderr)
    if run.exception is not None:
        run.exception = journal.secrets.scrub(run.exception)
    result.client = run
    result.journal = _journal_json(journal, t0)
    result.calls = [c.to_json(t0) for c in group_calls(journal)] + ws_calls(journal, t0)
    result.faults = faults_injected(journal, t0)
    if run.spawn_error:
        argv = list(scenario.client.argv) if scenario.client is not None else run.argv
        result.message = f"could not start the client {argv!r} in {run.cwd}: {run.spawn_error}"
    elif run.interrupted:
        result.outcome = "not_run"
        result.message = "interrupted (Ctrl-C) while the client was running"
    elif result.message is None:
        verdict = judge(scenario, journal, run)
        result.outcome = verdict.outcome
        result.expectations = verdict.expectations
        result.findings = verdict.findings
        result.message = verdict.message
    run.started_at = round(run.started_at - t0, 6)
    run.ended_at = round(run.ended_at - t0, 6)
