"""Running the client under test: its own session, bounded output capture, timeout, and a full clean-up.

The client starts in a new session (`start_new_session`), so it and everything it spawns can be signalled
as one group. At its timeout (or when the run is interrupted) the group gets SIGTERM, then SIGKILL after a
grace period. Whatever way the client ended, any process still in its session is then killed and reaped:
the runner makes itself a child subreaper (Linux), so orphaned grandchildren are re-parented to it instead
of to PID 1 (which in containers often never reaps) and can be waited for here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass, field

from dotmock.runner.crash import uncaught_exception
from dotmock.runner.results import ClientRun

MAX_OUTPUT_BYTES = 1 << 20  # per stream; the head is dropped beyond this
DEFAULT_GRACE_S = 2.0
_PR_SET_CHILD_SUBREAPER = 36
_subreaper_done = False


@dataclass(slots=True)
class ClientSpec:
    argv: list[str]  # one element, the command line, when `shell`
    cwd: str
    env: dict[str, str] = field(default_factory=dict)  # added to the runner's own environment
    timeout_s: float = 60.0
    shell: bool = False
    grace_s: float = DEFAULT_GRACE_S


def become_subreaper() -> None:
    """Ask Linux to re-parent orphaned descendants to this process (no-op elsewhere, or if refused)."""
    global _subreaper_done
    if _subreaper_done or not sys.platform.startswith("linux"):
        return
    _subreaper_done = True
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class _Tail:
    """The last MAX_OUTPUT_BYTES of a stream."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            del self.data[: len(self.data) - self.limit]
            self.truncated = True

    def text(self) -> str:
        data = self.data
        if len(data) > self.limit:
            data = data[-self.limit :]
            self.truncated = True
        return bytes(data).decode("utf-8", errors="replace")


async def _pump(stream: asyncio.StreamReader | None, sink: _Tail) -> None:
    if stream is None:
        return
    while chunk := await stream.read(65536):
        sink.add(chunk)


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, session) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[1]), int(fields[3])
    except (IndexError, ValueError):
        return None


def session_members(sid: int) -> dict[int, tuple[str, int]]:
    """Every process (zombies included) of session `sid`: pid -> (state, ppid)."""
    out: dict[int, tuple[str, int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        stat = _proc_stat(int(name))
        if stat is not None and stat[2] == sid:
            out[int(name)] = (stat[0], stat[1])
    return out


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def sweep_session(sid: int, *, deadline_s: float = 2.0) -> int:
    """Kill and reap whatever is left of session `sid` once its leader has ended; returns how many
    processes were found alive. Only processes in that session are touched."""
    if not sys.platform.startswith("linux"):
        _signal_group(sid, signal.SIGKILL)
        return 0
    me = os.getpid()
    alive_seen: set[int] = set()
    end = time.monotonic() + deadline_s
    while True:
        members = session_members(sid)
        if not members:
            return len(alive_seen)
        for pid, (state, ppid) in members.items():
            if state != "Z":
                alive_seen.add(pid)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if ppid == me:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)
        if time.monotonic() > end:
            return len(alive_seen)
        await asyncio.sleep(0.01)


def _resolve_argv(spec: ClientSpec) -> list[str]:
    argv = list(spec.argv)
    # `python` in a scenario means the interpreter the runner runs on: the venv with the SDKs in it.
    if not spec.shell and argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


async def run_client(
    spec: ClientSpec, *, stop: asyncio.Event | None = None, max_output: int = MAX_OUTPUT_BYTES
) -> ClientRun:
    """Run the client to completion, timeout or interruption (`stop` set) and report how it ended."""
    become_subreaper()
    argv = _resolve_argv(spec)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
    result = ClientRun(argv=list(spec.argv), cwd=spec.cwd, started_at=time.monotonic())
    try:
        if spec.shell:
            proc = await asyncio.create_subprocess_shell(
                argv[0],
                cwd=spec.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        else:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=spec.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
    except OSError as err:
        result.ended_at = time.monotonic()
        result.spawn_error = f"{type(err).__name__}: {err}"
        return result
    out, errs = _Tail(max_output), _Tail(max_output)
    pumps = [asyncio.create_task(_pump(proc.stdout, out)), asyncio.create_task(_pump(proc.stderr, errs))]
    waiter = asyncio.create_task(_exited(proc))
    stopper = asyncio.create_task(stop.wait()) if stop is not None else None
    try:
        waits = {waiter} if stopper is None else {waiter, stopper}
        await asyncio.wait(waits, timeout=spec.timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            if stopper is not None and stopper.done():
                result.interrupted = True
            else:
                result.timed_out = True
            await _terminate(proc.pid, waiter, spec.grace_s)
    finally:
        if stopper is not None:
            stopper.cancel()
        if not waiter.done():  # cancelled from outside: never leave the client behind
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(BaseException):
                await asyncio.shield(waiter)
        result.ended_at = time.monotonic()
        result.stray_processes = await sweep_session(proc.pid)
        with contextlib.suppress(TimeoutError):  # lets the transport see the pipes close and finish
            await asyncio.wait_for(proc.wait(), 1.0)
        # The pipes close once every holder is gone; don't wait on a holder that escaped the session.
        _done, pending = await asyncio.wait(pumps, timeout=1.0)
        for task in pending:
            task.cancel()
    code = proc.returncode
    if code is not None and code < 0:
        result.signal = _signal_name(-code)
    else:
        result.exit_code = code
    result.stdout, result.stdout_truncated = out.text(), out.truncated
    result.stderr, result.stderr_truncated = errs.text(), errs.truncated
    if not (result.timed_out or result.interrupted):
        if result.exit_code not in (None, 0):
            result.exception = uncaught_exception(result.stderr)
        result.crashed = result.exception is not None or result.signal is not None
    return result


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """The leader's exit status as soon as it is known. `proc.wait()` also waits for the pipes to close,
    which a left-behind grandchild holding stdout would delay forever."""
    while proc.returncode is None:
        await asyncio.sleep(0.01)
    return proc.returncode


async def _terminate(pgid: int, waiter: asyncio.Task[int], grace_s: float) -> None:
    _signal_group(pgid, signal.SIGTERM)
    await asyncio.wait({waiter}, timeout=grace_s)
    if not waiter.done():
        _signal_group(pgid, signal.SIGKILL)
        await asyncio.wait({waiter}, timeout=5.0)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
