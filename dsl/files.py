"""Writing files atomically: a temporary file in the same folder, then `os.replace`.

A reader (a CI step after a cancelled run, an editor watching a `.mock` file) sees the old file or the
complete new one, never half. A replaced file keeps its permissions; a new one gets the usual umask ones.

The temporary file is `.dotmock-<pid>-XXXXXXXX.tmp`: one left behind by a process killed mid-write (kill -9)
is recognised by its dead pid and removed by `remove_stale_temporaries` on the next run.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time

_TEMPORARY = re.compile(r"\.dotmock-(?:(\d+)-)?[A-Za-z0-9_]+\.tmp")
# A temporary without a pid (written before pids were in the name) is stale once this old: a write takes ms.
_UNNAMED_STALE_S = 600.0


def _mode_for(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_text_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".dotmock-{os.getpid()}-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


def remove_stale_temporaries(folder: str) -> list[str]:
    """Remove the temporary files `write_text_atomically` left in `folder` when its process was killed
    mid-write (its pid no longer runs); returns the names removed. Files of live processes are left alone."""
    removed: list[str] = []
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is None:
            continue
        path = os.path.join(folder, name)
        pid = match.group(1)
        try:
            stale = not _running(int(pid)) if pid else time.time() - os.stat(path).st_mtime > _UNNAMED_STALE_S
            if stale:
                os.unlink(path)
                removed.append(name)
        except (OSError, ValueError):
            continue
    return removed
