"""Telling an uncaught exception (or a panic) from a client's own error message, in the languages people
write clients in: Python, Node.js / TypeScript (and Deno), Go, Java / Kotlin, Rust, Ruby and .NET.

Each runtime prints its crash in a shape of its own, always at the end of stderr; a client's own message is
one the program chose to print. `uncaught_exception` returns the crash's exception line in one form
(`TypeError: terminated`, `panic: runtime error: ...`, `java.net.ConnectException: Connection refused`), or
None. The shapes, as the runtimes print them (samples in tests/data/crashes/):
- Node.js: the source line and a caret, `TypeError: terminated`, `    at ...` frames, and the final
  `Node.js vNN` line; Deno: `error: Uncaught (in promise) TypeError: ...`.
- Go: `panic: ...` (or `fatal error: ...`) followed by `goroutine N [running]:`.
- Java / Kotlin: `Exception in thread "main" java.io.IOException: ...` followed by tab-indented `at` frames.
- Rust: `thread 'main' panicked at src/main.rs:2:5:` and the message on the next line.
- Ruby: `client.rb:12:in 'method': message (EOFError)` followed by tab-indented `from` lines.
- .NET: `Unhandled exception. System.Net.Http.HttpRequestException: ...`.

Python prints `Traceback (most recent call last):`, the frames (indented), then the exception line at the
traceback's own indentation, and exits 1. We call it a crash when such a traceback is the last thing on
stderr: its exception line is followed by no more than a few lines (the rest of a multi-line message).
Exception groups (`Exception Group Traceback ...`) print their members behind `| ` margins; there we
report the first member that is not itself a group, since that is the exception that mattered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

MARKER = "Traceback (most recent call last):"
GROUP_PREFIX = "Exception Group "
_MAX_TRAILING_LINES = 4
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(:.*)?$")
_GROUP_CONTENT = re.compile(r"^[ +|\-]*\| (\S.*)$")
_GROUP_NAMES = ("ExceptionGroup", "BaseExceptionGroup")


_TAIL_LINES = 400


def uncaught_exception(stderr: str) -> str | None:
    """The exception line of an uncaught exception or panic that ends `stderr`, in any of the runtimes
    above, or None when stderr does not end in one (the client printed its own message, or nothing)."""
    python = _python_exception(stderr)
    if python is not None:
        return python
    lines = stderr.splitlines()[-_TAIL_LINES:]
    for detect in _DETECTORS:
        found = detect(lines)
        if found is not None:
            return found
    return None


# Each runtime below: the patterns of its crash, then the reading of its crash from stderr's last lines.

_NODE_VERSION = re.compile(r"^Node\.js v\d+")
_NODE_ERROR = re.compile(r"^((?:[A-Z][\w$]*)?(?:Error|Exception|Rejection)\b(?: \[\w+\])?(?::.*)?)$")
_NODE_FRAME = re.compile(r"^\s+at \S")


def _node(lines: list[str]) -> str | None:
    """The error line above the first `at` frame of the last crash, when stderr ends with `Node.js vNN`."""
    body = [line for line in lines if line.strip()]
    if not body or not _NODE_VERSION.match(body[-1]):
        return None
    for i, line in enumerate(lines):
        if _NODE_ERROR.match(line) and (i + 1 >= len(lines) or _NODE_FRAME.match(lines[i + 1]) or not lines[i + 1]):
            return line.strip()
    return "uncaught error (Node.js)"


def _matches(pattern: re.Pattern[str], lines: list[str]) -> Iterator[tuple[re.Match[str], list[str]]]:
    """Each line `pattern` matches, with the lines after it (what tells a crash from a line that looks like one)."""
    for i, line in enumerate(lines):
        m = pattern.match(line)
        if m:
            yield m, lines[i + 1 :]


def _first_match(pattern: re.Pattern[str], lines: list[str]) -> str | None:
    """Group 1 of the first line `pattern` matches: for a runtime whose crash is one line of its own."""
    return next((m.group(1) for m, _ in _matches(pattern, lines)), None)


_deno = functools.partial(_first_match, re.compile(r"^error: Uncaught (?:\(in promise\) )?(\S.*)$"))
_dotnet = functools.partial(_first_match, re.compile(r"^Unhandled exception\. ([\w.`]+(?:: .*)?)$"))

_GO_PANIC = re.compile(r"^(panic: .+|fatal error: .+)$")
_GO_GOROUTINE = re.compile(r"^goroutine \d+ \[")


def _go(lines: list[str]) -> str | None:
    """The panic line, when a `goroutine N [` line follows it."""
    found = (m.group(1) for m, after in _matches(_GO_PANIC, lines) if any(map(_GO_GOROUTINE.match, after)))
    return next(found, None)


_JAVA = re.compile(r'^Exception in thread "[^"]*" ([\w$.]+(?:: .*)?)$')
_JAVA_FRAME = re.compile(r"^\tat \S")


def _java(lines: list[str]) -> str | None:
    """The exception of the `Exception in thread` line that an `at` frame follows."""
    found = (m.group(1) for m, after in _matches(_JAVA, lines) if after and _JAVA_FRAME.match(after[0]))
    return next(found, None)


_RUST = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at (.+?):?$")


def _rust(lines: list[str]) -> str | None:
    """`panic: ` and the message on the line after the first `panicked at`."""
    for _, after in _matches(_RUST, lines):
        message = after[0].strip() if after else ""
        return f"panic: {message}" if message else "panic"
    return None


_RUBY = re.compile(r"^\S+:\d+:in [`'][^']*': (.*) \(([A-Z][\w:]*)\)$")
_RUBY_FRAME = re.compile(r"^\tfrom \S")


def _ruby(lines: list[str]) -> str | None:
    """`Class: message` of the error line that only `from` frames (or blank lines) follow."""
    for m, after in _matches(_RUBY, lines):
        if all(_RUBY_FRAME.match(later) or not later.strip() for later in after):
            return f"{m.group(2)}: {m.group(1)}"
    return None


_DETECTORS: tuple[Callable[[list[str]], str | None], ...] = (_node, _deno, _go, _java, _rust, _ruby, _dotnet)


def _python_exception(stderr: str) -> str | None:
    """The exception line (`json.decoder.JSONDecodeError: Expecting value: ...`) of a Python traceback that
    ends `stderr`, or None when stderr does not end in one."""
    stderr = _without_ignored_at_exit(stderr)
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


_IGNORED = "Exception ignored"  # `Exception ignored in: <obj>`, 3.13+: `Exception ignored while ...`
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


def _without_ignored_at_exit(stderr: str) -> str:
    """`stderr` without the unraisable-exception reports that end it. Python prints one for an error in a
    `__del__` or a generator's cleanup, typically at interpreter shutdown after the real crash (litellm's
    streams do: `ImportError: sys.meta_path is None`); they are not what ended the program."""
    while True:
        lines = stderr.splitlines()
        start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith(_IGNORED)), None)
        if start is None or not _one_report(lines[start + 1 :]):
            return stderr
        stderr = "\n".join(lines[:start])


def _one_report(lines: list[str]) -> bool:
    """The lines after an `Exception ignored` header hold that one report (its traceback, chained parts
    included) and nothing after it: no later top-level traceback, no line the program printed itself."""
    for i, line in enumerate(lines):
        if not line.strip() or line[:1].isspace():
            continue
        if line.startswith(MARKER):
            chained = any(lines[j].startswith(_CHAINED) for j in range(max(0, i - 2), i))
            if i > 0 and not chained:
                return False
        elif not (line.startswith(_CHAINED) or _EXC_LINE.match(line.rstrip())):
            return False
    return True


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
