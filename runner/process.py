"""Running the client under test: its own session, bounded output capture, timeout, and a full clean-up.

The client starts in a new session (`start_new_session`), so it and everything it spawns can be signalled
as one group. At its timeout (or when the run is interrupted) the group gets SIGTERM, then SIGKILL after a
grace period. Whatever way the client ended, every descendant still running is then killed and reaped:

- the runner makes itself a child subreaper (Linux), so orphaned grandchildren are re-parented to it instead
  of to PID 1 (which in containers often never reaps) and can be waited for here;
- every process still in the client's session is killed;
- so is every process carrying the case's tag in its environment (`TAG_VARIABLE`, inherited by everything
  the client starts): a process that left the session (`setsid`, a double fork, a daemon) keeps it.

Their number is the client's `stray_processes` (the `processes_left_behind` finding when the client had
exited by itself). A watchdog process (`_Watchdog`) outlives a runner killed with SIGKILL by a moment: it
sees the runner's end as the end of a pipe and kills every process tagged by that runner, so no client is
left running after `kill -9` of `dotmock-run` either.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from dotmock.runner.crash import uncaught_exception
from dotmock.runner.results import ClientRun

MAX_OUTPUT_BYTES = 1 << 20  # per stream; the head is dropped beyond this
DEFAULT_GRACE_S = 2.0
_PR_SET_CHILD_SUBREAPER = 36
_subreaper_done = False
# Every client gets `TAG_VARIABLE=dotmock:<runner pid>:<runner start time>:<case number>`.
TAG_VARIABLE = "DOTMOCK_CLIENT_TAG"
_case_numbers = itertools.count(1)


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


def _start_time(pid: int) -> str:
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names
    one process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("ascii", "replace")
        return raw[raw.rfind(")") + 2 :].split()[19]
    except (OSError, IndexError):
        return "0"


def runner_tag_prefix() -> str:
    """The beginning of every tag this runner process gives its clients."""
    return f"dotmock:{os.getpid()}:{_start_time(os.getpid())}:"


def tagged_processes(tag: str, *, prefix: bool = False) -> list[int]:
    """Live processes (of this user: others' environments are unreadable) whose environment has
    `TAG_VARIABLE=tag` (or, with `prefix`, a tag starting with `tag`)."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    me = os.getpid()
    found: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        for entry in env.split(b"\0"):
            if entry == needle or (prefix and entry.startswith(needle)):
                found.append(int(name))
                break
    return found


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def sweep_session(sid: int, *, deadline_s: float = 2.0, tag: str | None = None) -> int:
    """Kill and reap whatever is left of session `sid` once its leader has ended, and every process tagged
    `tag` wherever it went; returns how many processes were found alive. Only those are touched."""
    if not sys.platform.startswith("linux"):
        _signal_group(sid, signal.SIGKILL)
        return 0
    me = os.getpid()
    alive_seen: set[int] = set()
    killed: set[int] = set()
    end = time.monotonic() + deadline_s
    while True:
        members = session_members(sid)
        for pid in tagged_processes(tag) if tag else ():
            stat = _proc_stat(pid)
            if stat is not None:
                members.setdefault(pid, (stat[0], stat[1]))
        for pid in killed - members.keys():  # a killed process out of the session: reaped if it is ours
            stat = _proc_stat(pid)
            if stat is not None:
                members[pid] = (stat[0], stat[1])
        if not members:
            return len(alive_seen)
        for pid, (state, ppid) in members.items():
            if state != "Z":
                alive_seen.add(pid)
                killed.add(pid)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if ppid == me:
                with contextlib.suppress(ChildProcessError, OSError):
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        killed.discard(pid)
            elif state == "Z":
                killed.discard(pid)  # another process's zombie: its parent reaps it
        if time.monotonic() > end:
            return len(alive_seen)
        await asyncio.sleep(0.01)


_WATCHDOG = """
import os, signal, sys, time
prefix = sys.argv[1].encode()
needle = b"DOTMOCK_CLIENT_TAG=" + prefix
signal.signal(signal.SIGINT, signal.SIG_IGN)
sys.stdin.buffer.read()  # until the runner's end of the pipe closes: the runner ended, however it ended
end = time.monotonic() + 2.0
while time.monotonic() < end:
    found = False
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if any(entry.startswith(needle) for entry in env.split(b"\\0")):
            found = True
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass
    if not found:
        break
    time.sleep(0.05)
"""


class _Watchdog:
    """One per runner process, started with its first client: a small process in its own session that
    reads a pipe only the runner holds. When the runner ends — normally, or killed with SIGKILL — the pipe
    closes and the watchdog kills every process carrying one of this runner's tags, then exits."""

    started_for: int | None = None  # the pid of the runner the watchdog watches (a fork needs its own)
    _pipe: int | None = None
    _proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def ensure(cls) -> None:
        if cls.started_for == os.getpid() or not sys.platform.startswith("linux"):
            return
        cls.started_for = os.getpid()
        read_end, write_end = os.pipe()  # both close-on-exec: no client inherits the runner's end
        try:
            cls._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG, runner_tag_prefix()],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C at a terminal is for the runner; the watchdog ends after it
                env={k: v for k, v in os.environ.items() if k != TAG_VARIABLE},
            )
        except OSError:
            os.close(write_end)
            return
        finally:
            os.close(read_end)
        cls._pipe = write_end


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
    _Watchdog.ensure()
    argv = _resolve_argv(spec)
    tag = f"{runner_tag_prefix()}{next(_case_numbers)}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env, TAG_VARIABLE: tag}
    result = ClientRun(argv=list(spec.argv), cwd=spec.cwd, started_at=time.monotonic(), shell=spec.shell)
    try:
        pipes = asyncio.subprocess.PIPE
        io: dict[str, Any] = {"stdin": asyncio.subprocess.DEVNULL, "stdout": pipes, "stderr": pipes}
        if spec.shell:
            proc = await asyncio.create_subprocess_shell(argv[0], cwd=spec.cwd, env=env, start_new_session=True, **io)
        else:
            proc = await asyncio.create_subprocess_exec(*argv, cwd=spec.cwd, env=env, start_new_session=True, **io)
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
                # Read before the kill: a traceback already there was a crash the process then outlived
                # (a non-daemon thread or an atexit hook kept it alive), not something the kill caused.
                result.exception = uncaught_exception(errs.text())
            await _terminate(proc.pid, waiter, spec.grace_s)
    finally:
        if stopper is not None:
            stopper.cancel()
        if not waiter.done():  # cancelled from outside: never leave the client behind
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(BaseException):
                await asyncio.shield(waiter)
        result.ended_at = time.monotonic()
        result.stray_processes = await sweep_session(proc.pid, tag=tag)
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
