"""The client corpus: real third-party clients x every HTTP fault kind, and the verdict dotmock gives each.

Used by tests/test_client_corpus.py (which asserts every cell) and by `python -m bench.client_matrix`
(which writes docs/clients.md from the same run). Each cell is one scenario: the fault on the first attempt,
a clean answer on any retry, so a client that retries is seen to recover.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dotmock.dsl.loader import load_text
from dotmock.runner.case import CaseOptions
from dotmock.runner.execute import ExecuteOptions, execute
from dotmock.runner.results import CaseResult

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
TEXT = "Hello there, this is the whole answer."

# name: (what the client runs, how it is described)
CLIENTS: dict[str, tuple[str, str]] = {
    "python-sdk": (
        f"{sys.executable} {HERE / 'clients' / 'corpus' / 'python_sdk_chat.py'}",
        "official `openai` Python SDK (as pinned in the test extra), README-style streaming, no error handling",
    ),
    "node-sdk": (
        f"node {NODE_DIR / 'node_sdk_chat.mjs'}",
        "official `openai` npm SDK 7.59.0 on Node.js, README-style streaming, no error handling",
    ),
    "curl": (
        'curl -sN "$OPENAI_BASE_URL/chat/completions" -H "Content-Type: application/json" -d '
        + "'"
        + '{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Hello"}]}'
        + "'",
        "`curl -sN` printing the raw stream (shell command)",
    ),
    "httpx-careful": (
        f"{sys.executable} {HERE / 'clients' / 'corpus' / 'httpx_careful.py'}",
        "hand-written httpx client: 0.3 s read timeout, requires [DONE], retries with backoff and Retry-After",
    ),
}

STREAM = f'response "{TEXT}"\n  streaming {{ chunkSize 6  latencyMs 20 }}'
# name: (the first attempt's outcome, in words for the matrix)
FAULTS: dict[str, tuple[str, str]] = {
    "truncate": (
        f'response "{TEXT}"\n  streaming {{ chunkSize 6 truncateAfterChunks 2 }}',
        "stream cut after 2 chunks",
    ),
    "disconnect-chunks": (f"{STREAM}\n  fault disconnect after 2 chunks", "TCP drop after 2 chunks"),
    "disconnect-time": (f"{STREAM}\n  fault disconnect after 70ms", "TCP drop after 70 ms"),
    "stall": (f"{STREAM}\n  fault stall after 2 chunks for 1s", "1 s stall after 2 chunks"),
    "malformed": (f"{STREAM}\n  fault malformedChunk after 2 chunks", "malformed chunk after 2 chunks"),
    "error-event": (f'{STREAM}\n  fault errorEvent after 2 chunks {{ message "overloaded" }}', "error event"),
    "slow-first-token": (f"{STREAM}\n  fault slowFirstToken 1s", "first token after 1 s"),
    "429": ('error 429 { header "Retry-After" "0.3" message "slow down" }', "429, Retry-After 0.3 s"),
    "500": ('error 500 { message "boom" }', "500"),
    "400": ('error 400 { message "bad request" }', "400"),
}
# WebSocket faults, for the clients that speak WebSocket (Responses WebSocket mode on /v1/responses).
WS_TEXT = (
    'events {\n    "response.created" {"id": "r1"}\n'
    '    "response.output_text.delta" {"delta": "Partial"} after 20ms\n  }'
)
WS_CLIENTS: dict[str, tuple[str, str]] = {
    "python-sdk-ws": (
        f"{sys.executable} {HERE / 'clients' / 'corpus' / 'python_sdk_ws.py'}",
        "official `openai` Python SDK, `responses.connect()` (Responses WebSocket mode), no error handling",
    ),
    "httpx-ws-careful": (
        f"{sys.executable} {HERE.parent / 'scenarios' / 'clients' / 'resilient_ws.py'} --path /v1/responses",
        "scenarios/clients/resilient_ws.py (httpx-ws): reconnects with backoff until a terminal event",
    ),
}
WS_FAULTS: dict[str, tuple[str, str]] = {
    "ws-drop": (
        f'response "{TEXT}"\n  streaming {{ chunkSize 6  latencyMs 40 }}\n  disconnectAfterMs 100',
        "drop mid-answer",
    ),
    "ws-close-1011": (f"{WS_TEXT}\n  closeAfter\n  closeCode 1011", "close 1011 before the terminal event"),
    "ws-close-after-answer": (
        f'response "{TEXT}"\n  streaming {{ chunkSize 6 }}\n  closeAfter\n  closeCode 1011',
        "close 1011 after the whole answer",
    ),
    "ws-close-1006": (f"{WS_TEXT}\n  closeCode 1006", "drop (1006) before the terminal event"),
}
READ_TIMEOUT = "400ms"  # the scenario's read-timeout budget: the 1 s silences exceed it

# (client, fault): (the finding expected, how the client ended: "0", "nonzero", or "crash" = an uncaught
# exception). Each row is what the client observably does (its exit, its stderr, the requests it sent): the SDKs
# retry 429/500 but never a broken stream and throw on it; curl prints whatever arrives; the careful client
# retries everything retryable. A wrong rule, or a changed SDK, fails the cell.
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    **{
        (sdk, fault): expected
        for sdk in ("python-sdk", "node-sdk")
        for fault, expected in {
            "truncate": ("truncated_stream_accepted", "0"),  # no [DONE] ends the iteration silently
            "disconnect-chunks": ("client_crashed", "crash"),  # APIConnectionError / TypeError: terminated
            "disconnect-time": ("client_crashed", "crash"),
            "stall": ("no_read_timeout", "0"),  # the default read timeout is minutes: it sits through 1 s
            "malformed": ("client_crashed", "crash"),  # JSONDecodeError / SyntaxError from JSON.parse
            "error-event": ("client_crashed", "crash"),  # APIError thrown from the stream
            "slow-first-token": ("no_read_timeout", "0"),
            "429": ("fault_handled", "0"),  # retried after Retry-After, succeeded
            "500": ("fault_handled", "0"),
            "400": ("client_crashed", "crash"),  # BadRequestError, not retried
        }.items()
    },
    ("curl", "truncate"): ("truncated_stream_accepted", "0"),
    ("curl", "disconnect-chunks"): ("fault_handled", "nonzero"),  # exit 18, partial transfer
    ("curl", "disconnect-time"): ("fault_handled", "nonzero"),
    ("curl", "stall"): ("no_read_timeout", "0"),
    ("curl", "malformed"): ("malformed_chunk_ignored", "0"),
    ("curl", "error-event"): ("error_event_ignored", "0"),
    ("curl", "slow-first-token"): ("no_read_timeout", "0"),
    ("curl", "429"): ("error_accepted", "0"),  # prints the error body, exits 0
    ("curl", "500"): ("error_accepted", "0"),
    ("curl", "400"): ("error_accepted", "0"),
    **{("httpx-careful", fault): ("fault_handled", "0") for fault in FAULTS if fault != "400"},
    ("httpx-careful", "400"): ("fault_handled", "nonzero"),  # not retried, its own message
    # websockets' ConnectionClosedError escapes the SDK's `async for` on any end but a normal close.
    ("python-sdk-ws", "ws-drop"): ("client_crashed", "crash"),
    ("python-sdk-ws", "ws-close-1011"): ("client_crashed", "crash"),
    ("python-sdk-ws", "ws-close-1006"): ("client_crashed", "crash"),
    # The answer was whole (response.completed) before the odd close: nothing lost, nothing to blame.
    ("python-sdk-ws", "ws-close-after-answer"): ("fault_handled", "0"),
    **{("httpx-ws-careful", fault): ("fault_handled", "0") for fault in WS_FAULTS},
}


@dataclass(frozen=True, slots=True)
class Cell:
    client: str
    fault: str

    @property
    def name(self) -> str:
        return f"{self.client} x {self.fault}"


CELLS = [Cell(c, f) for c in CLIENTS for f in FAULTS] + [Cell(c, f) for c in WS_CLIENTS for f in WS_FAULTS]


def scenario_text(cell: Cell) -> str:
    command, _ = {**CLIENTS, **WS_CLIENTS}[cell.client]
    outcome, _ = {**FAULTS, **WS_FAULTS}[cell.fault]
    shell = "\n  shell" if cell.client == "curl" else ""
    endpoint = "websocket /v1/responses" if cell.fault in WS_FAULTS else "POST /v1/chat/completions"
    quoted = command.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'scenario "{cell.name}"\n\n'
        f'client "{quoted}" {{\n  timeout 15s\n  readTimeout {READ_TIMEOUT}{shell}\n}}\n\n'
        f'fixture "fault" {{\n  match {endpoint} {{ attempt 1 }}\n  {outcome}\n}}\n\n'
        f'fixture "recovered" {{\n  match {endpoint} {{ attempt 2.. }}\n  response "{TEXT}"\n}}\n'
    )


NODE_STAMP = NODE_DIR / "node_modules" / ".dotmock-setup"  # written by scripts/test too, same fingerprint


def _node_fingerprint() -> str:
    """scripts/test's `fingerprint tests/node/package.json tests/node/package-lock.json` (sha256sum of the
    files' sha256sum lines, 16 hex digits), so either may install and the other sees it."""
    root = NODE_DIR.parent.parent
    lines = "".join(
        f"{hashlib.sha256((root / rel).read_bytes()).hexdigest()}  {rel}\n"
        for rel in ("tests/node/package.json", "tests/node/package-lock.json")
    )
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def _node_packages_present() -> bool:
    """`npm ci` finished for the lockfile as it is: the stamp is written only after it, and `npm ci` removes
    node_modules first, so a half-installed folder (another worker installing) never counts."""
    try:
        return NODE_STAMP.read_text().strip() == _node_fingerprint()
    except OSError:
        return False


def ensure_node_packages() -> None:
    """`npm ci` in tests/node when its packages are missing or stale (a fresh checkout running plain pytest);
    one process at a time (xdist workers share the folder)."""
    if _node_packages_present():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the client corpus needs Node.js and npm (Debian: apt-get install nodejs npm)")
    with open(NODE_DIR / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _node_packages_present():
            subprocess.run(
                [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--loglevel=error"],
                check=True,
                capture_output=True,
            )
            NODE_STAMP.write_text(_node_fingerprint() + "\n")


def run_corpus(folder: Path, cells: list[Cell] | None = None, jobs: int = 8) -> dict[Cell, CaseResult]:
    """Every cell run once, concurrently; the results by cell."""
    ensure_node_packages()
    cells = CELLS if cells is None else cells
    scenarios = []
    for i, cell in enumerate(cells):
        path = folder / f"{i:02d}.mock"
        text = scenario_text(cell)
        path.write_text(text)
        scenarios.extend(load_text(text, str(path)).cases)
    options = ExecuteOptions(jobs=jobs, case=CaseOptions(grace_s=0.5), handle_signals=False)
    execution = asyncio.run(execute(scenarios, options))
    by_name = {r.name: r for r in execution.results}
    return {cell: by_name[cell.name] for cell in cells}


def exit_class(result: CaseResult) -> str:
    run = result.client
    assert run is not None
    if run.crashed:
        return "crash"
    return "0" if run.exited_ok else "nonzero"


def main_findings(result: CaseResult) -> list[str]:
    return [f.name for f in result.findings]
