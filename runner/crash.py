"""Telling an uncaught Python exception from a client's own error message.

Python prints `Traceback (most recent call last):`, the frames (indented), then the exception line at the
traceback's own indentation, and exits 1. We call it a crash when such a traceback is the last thing on
stderr: its exception line is followed by no more than a few lines (the rest of a multi-line message).
Exception groups (`Exception Group Traceback ...`) print their members behind `| ` margins; there we
report the first member that is not itself a group, since that is the exception that mattered.
"""

from __future__ import annotations

import re

MARKER = "Traceback (most recent call last):"
GROUP_PREFIX = "Exception Group "
_MAX_TRAILING_LINES = 4
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(:.*)?$")
_GROUP_CONTENT = re.compile(r"^[ +|\-]*\| (\S.*)$")
_GROUP_NAMES = ("ExceptionGroup", "BaseExceptionGroup")


def uncaught_exception(stderr: str) -> str | None:
    """The exception line (`json.decoder.JSONDecodeError: Expecting value: ...`) of a traceback that ends
    `stderr`, or None when stderr does not end in one."""
    group_at = stderr.find(GROUP_PREFIX + MARKER)
    while group_at >= 0:
        line_start = stderr.rfind("\n", 0, group_at) + 1
        if not stderr[line_start:group_at].strip(" +"):  # a top-level group, not one nested in another
            return _group_exception(stderr[line_start:])
        group_at = stderr.find(GROUP_PREFIX + MARKER, group_at + 1)
    at = stderr.rfind(MARKER)
    if at < 0:
        return None
    line_start = stderr.rfind("\n", 0, at) + 1
    margin = stderr[line_start:at]
    if margin.strip(" |+-"):
        return None  # the marker is quoted inside other text
    body = [
        line[len(margin) :] if margin and line.startswith(margin) else line
        for line in stderr[at + len(MARKER) :].splitlines()
    ]
    for i, line in enumerate(body):
        if not line.strip() or line[:1].isspace():
            continue
        if _EXC_LINE.match(line.rstrip()) is None:
            return None
        if _trailing(body[i + 1 :]) > _MAX_TRAILING_LINES:
            return None
        return line.strip()
    return None


def _trailing(lines: list[str]) -> int:
    return sum(1 for r in lines if r.strip(" |+-"))


def _group_exception(text: str) -> str | None:
    lines = text.splitlines()[1:]
    leaf: str | None = None
    group: str | None = None
    last_group_line = -1
    for i, line in enumerate(lines):
        if line.startswith((" ", "|", "+")):
            last_group_line = i
        m = _GROUP_CONTENT.match(line)
        if m is None:
            continue
        content = m.group(1).rstrip()
        if content.startswith(("Traceback", "Exception Group", "File ", "During handling", "The above")):
            continue
        if _EXC_LINE.match(content) is None:
            continue
        if content.split(":", 1)[0].rsplit(".", 1)[-1] in _GROUP_NAMES:
            group = group or content
        elif leaf is None:
            leaf = content
    if _trailing(lines[last_group_line + 1 :]) > _MAX_TRAILING_LINES or group is None:
        return None
    return f"{leaf} (in {group})" if leaf else group
