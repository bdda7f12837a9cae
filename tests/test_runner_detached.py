"""No client process outlives the run (docs/security.md, "Processes"): a daemon that left the client's session
(fork, setsid, fork, stdio closed) is found by the case's tag, killed at the end of the case and reported
(`processes_left_behind`); after `kill -9` of dotmock-run its watchdog kills the clients it left; temporary
report files of a killed run are removed by the next one. Real processes, bounded waits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dotmock.dsl.files import remove_stale_temporaries
from dotmock.dsl.loader import load_text
from dotmock.runner.case import CaseOptions, run_case
from dotmock.runner.process import TAG_VARIABLE, ClientSpec, run_client

BEHAVE = Path(__file__).parent / "clients" / "behave.py"


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def wait_file(path: Path, seconds: float = 20.0) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def other_session(pid: int) -> bool:
    return os.getsid(pid) != os.getsid(os.getpid())


def test_a_detached_daemon_is_killed_when_the_client_exits(tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon"
    spec = ClientSpec(argv=[sys.executable, str(BEHAVE), "detach", str(pid_file)], cwd=str(tmp_path), timeout_s=20)
    run = asyncio.run(run_client(spec))
    daemon = int(pid_file.read_text())
    assert run.exit_code == 0 and "detached" in run.stdout
    assert run.stray_processes == 1
    assert not alive(daemon)


def test_a_detached_daemon_of_a_client_killed_at_its_timeout_is_killed_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon"
    spec = ClientSpec(
        argv=[sys.executable, str(BEHAVE), "detach-hang", str(pid_file)], cwd=str(tmp_path), timeout_s=2, grace_s=0.3
    )
    run = asyncio.run(run_client(spec))
    assert run.timed_out
    assert not alive(int(pid_file.read_text()))


def test_the_case_reports_the_processes_left_behind(tmp_path: Path) -> None:
    text = f"""scenario "leaves a daemon"
client "python {BEHAVE} detach {tmp_path / "daemon"}" {{ timeout 20s }}
expect {{ client exits 0 }}
"""
    (tmp_path / "case.mock").write_text(text)
    result = asyncio.run(run_case(load_text(text, str(tmp_path / "case.mock")).cases[0], CaseOptions()))
    (finding,) = [f for f in result.findings if f.name == "processes_left_behind"]
    assert finding.severity == "warning"
    assert "left 1 process running after it ended (exit 0)" in finding.title
    assert result.outcome == "passed"  # a warning; `no findings` would fail it
    assert not alive(int((tmp_path / "daemon").read_text()))


def test_clients_and_their_daemons_die_with_a_runner_killed_by_sigkill(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    client = tmp_path / "client.py"
    client.write_text(
        f"""import os, subprocess, sys, time
subprocess.run([sys.executable, {str(BEHAVE)!r}, "detach", {str(tmp_path / "daemon")!r}], check=True)
with open({str(pids)!r} + ".tmp", "w") as fh:
    fh.write(f"{{os.getpid()}} {{open({str(tmp_path / "daemon")!r}).read()}}")
os.replace({str(pids)!r} + ".tmp", {str(pids)!r})
time.sleep(600)
"""
    )
    (tmp_path / "hang.mock").write_text(
        f'scenario "hangs"\nclient "python {client}" {{ timeout 600s }}\nexpect {{ client exits 0 }}\n'
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "dotmock", "run", str(tmp_path / "hang.mock")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        client_pid, daemon_pid = (int(p) for p in wait_file(pids).split())
        assert other_session(daemon_pid) and alive(client_pid)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        assert wait_gone(client_pid) and wait_gone(daemon_pid)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def test_every_client_carries_its_case_tag(tmp_path: Path) -> None:
    code = f"import os; print(os.environ[{TAG_VARIABLE!r}])"
    spec = ClientSpec(argv=[sys.executable, "-c", code], cwd=str(tmp_path))
    first, second = (asyncio.run(run_client(spec)).stdout.strip() for _ in range(2))
    assert first.startswith(f"dotmock:{os.getpid()}:") and first != second


def test_temporary_files_of_a_killed_run_are_removed_by_the_next_one(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".dotmock-{int(dead.stdout)}-abc123_x.tmp"
    live = tmp_path / f".dotmock-{os.getpid()}-def456.tmp"  # a write in progress: not ours to remove
    old_unnamed = tmp_path / ".dotmock-k2j3h4g5.tmp"
    fresh_unnamed = tmp_path / ".dotmock-a1b2c3d4.tmp"
    for path in (stale, live, old_unnamed, fresh_unnamed):
        path.write_text("<half a report")
    os.utime(old_unnamed, (time.time() - 3600, time.time() - 3600))
    (tmp_path / "ok.mock").write_text(
        'scenario "ok"\nclient "python -c pass" { timeout 20s }\nexpect { client exits 0 }\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "dotmock", "run", str(tmp_path / "ok.mock"), "--json", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "removed 2 temporary files a killed run left" in done.stderr
    assert not stale.exists() and not old_unnamed.exists()
    assert live.exists() and fresh_unnamed.exists()
    assert (tmp_path / "r.json").exists()
    assert remove_stale_temporaries(str(tmp_path)) == []
    assert sorted(p.name for p in tmp_path.glob(".dotmock-*.tmp")) == sorted([live.name, fresh_unnamed.name])
