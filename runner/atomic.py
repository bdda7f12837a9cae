"""Writing report files atomically: a temporary file in the same folder, then `os.replace`.

A reader (or a CI step after a cancelled run) sees the old file or the complete new one, never half.
"""

from __future__ import annotations

from dotmock.dsl.files import write_text_atomically


def write_atomic(path: str, text: str) -> None:
    write_text_atomically(path, text)


def append_text(path: str, text: str) -> None:
    """Append (for `$GITHUB_STEP_SUMMARY`, which other steps share: not ours to replace)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
