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

import re

MARKER = "Traceback (most recent call last):"
GROUP_PREFIX = "Exception Group "
_MAX_TRAILING_LINES = 4
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(:.*)?$")
_GROUP_CONTENT = re.compile(r"^[ +|\-]*\| (\S.*)$")
_GROUP_NAMES = ("ExceptionGroup", "BaseExceptionGroup")


_TAIL_LINES = 400
_NODE_VERSION = re.compile(r"^Node\.js v\d+")
_NODE_ERROR = re.compile(r"^((?:[A-Z][\w$]*)?(?:Error|Exception|Rejection)\b(?: \[\w+\])?(?::.*)?)$")
_NODE_FRAME = re.compile(r"^\s+at \S")
_DENO = re.compile(r"^error: Uncaught (?:\(in promise\) )?(\S.*)$")
_GO_PANIC = re.compile(r"^(panic: .+|fatal error: .+)$")
_GO_GOROUTINE = re.compile(r"^goroutine \d+ \[")
_JAVA = re.compile(r'^Exception in thread "[^"]*" ([\w$.]+(?:: .*)?)$')
_JAVA_FRAME = re.compile(r"^\tat \S")
_RUST = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at (.+?):?$")
_RUBY = re.compile(r"^\S+:\d+:in [`'][^']*': (.*) \(([A-Z][\w:]*)\)$")
_RUBY_FRAME = re.compile(r"^\tfrom \S")
_DOTNET = re.compile(r"^Unhandled exception\. ([\w.`]+(?:: .*)?)$")


def uncaught_exception(stderr: str) -> str | None:
    """The exception line of an uncaught exception or panic that ends `stderr`, in any of the runtimes
    above, or None when stderr does not end in one (the client printed its own message, or nothing)."""
    python = _python_exception(stderr)
    if python is not None:
        return python
    lines = stderr.splitlines()[-_TAIL_LINES:]
    for detect in (_node, _deno, _go, _java, _rust, _ruby, _dotnet):
        found = detect(lines)
        if found is not None:
            return found
    return None


def _node(lines: list[str]) -> str | None:
    """The error line above the first `at` frame of the last crash, when stderr ends with `Node.js vNN`."""
    body = [line for line in lines if line.strip()]
    if not body or not _NODE_VERSION.match(body[-1]):
        return None
    for i, line in enumerate(lines):
        if _NODE_ERROR.match(line) and (i + 1 >= len(lines) or _NODE_FRAME.match(lines[i + 1]) or not lines[i + 1]):
            return line.strip()
    return "uncaught error (Node.js)"


def _deno(lines: list[str]) -> str | None:
    for line in lines:
        m = _DENO.match(line)
        if m:
            return m.group(1)
    return None


def _go(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        m = _GO_PANIC.match(line)
        if m and any(_GO_GOROUTINE.match(later) for later in lines[i + 1 :]):
            return m.group(1)
    return None


def _java(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        m = _JAVA.match(line)
        if m and i + 1 < len(lines) and _JAVA_FRAME.match(lines[i + 1]):
            return m.group(1)
    return None


def _rust(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        if _RUST.match(line):
            message = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"panic: {message}" if message else "panic"
    return None


def _ruby(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        m = _RUBY.match(line)
        if m and all(_RUBY_FRAME.match(later) or not later.strip() for later in lines[i + 1 :]):
            return f"{m.group(2)}: {m.group(1)}"
    return None


def _dotnet(lines: list[str]) -> str | None:
    for line in lines:
        m = _DOTNET.match(line)
        if m:
            return m.group(1)
    return None


def _python_exception(stderr: str) -> str | None:
    """The exception line (`json.decoder.JSONDecodeError: Expecting value: ...`) of a Python traceback that
    ends `stderr`, or None when stderr does not end in one."""
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
