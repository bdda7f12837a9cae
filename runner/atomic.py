"""Writing report files atomically: a temporary file in the same folder, then `os.replace`.

A reader (or a CI step after a cancelled run) sees the old file or the complete new one, never half.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".dotmock-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def append_text(path: str, text: str) -> None:
    """Append (for `$GITHUB_STEP_SUMMARY`, which other steps share: not ours to replace)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
