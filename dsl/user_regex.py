"""The regular expressions users write (every `matches` of the language): what is accepted, and a bounded search.

Python's `re` backtracks, and a careless pattern can take exponential time on a long request body: `(a+)+$`
against 40 `a`s and a `b` runs for minutes, and a server that matches on its event loop would freeze for all
that time. Two rules keep that from happening:

- **At load time** (`problem`, used by `dotmock check`, `dotmock serve` and `dotmock-run` through dsl/checks.py),
  a pattern is refused with a reason and a hint when it has a shape known to backtrack without bound: a
  repeated group that holds a repeat of its own (`(a+)+`, `(a*)*`, `(\\w+\\s?)*`, `(x{1,9})+`), or a
  backreference (`\\1`, `(?P=name)`, `(?(1)...)`). A pattern Python warns about (`[[`, `--`, `&&`, `~~`, `||`
  inside a set: its meaning changes in a future Python) is refused too, and so is one over
  MAX_PATTERN_CHARS characters.
- **At match time** (`search`), every search has a budget of SEARCH_BUDGET_S seconds; past it the search
  stops and `RegexTimeout` says so (a shape the load-time rule does not know, like `(a|a)+$` or
  `.*.*.*.*x`, can still backtrack). On the main thread a one-shot SIGALRM interrupts the search (`re`
  checks for signals as it runs); on another thread (a server in the pytest plugin's thread) the search runs
  in a small helper process that is killed at the budget.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

MAX_PATTERN_CHARS = 2000
SEARCH_BUDGET_S = 0.1
HINT = "see docs/language.md#regular-expressions"

_parser: Any = importlib.import_module("re._parser")  # the parser `re` itself uses (no public API for its tree)
_c: Any = importlib.import_module("re._constants")
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_BACKREFERENCES = (_c.GROUPREF, _c.GROUPREF_EXISTS, getattr(_c, "GROUPREF_IGNORE", None))


class RegexTimeout(Exception):
    """A search that ran out of its budget."""

    def __init__(self, pattern: str, length: int, budget_s: float) -> None:
        super().__init__(
            f"the regular expression {pattern!r} gave up after {budget_s:g}s on {length:,} characters "
            "(it backtracks: simplify it)"
        )
        self.pattern = pattern
        self.length = length


def problem(pattern: str) -> tuple[str, str | None] | None:
    """Why dotmock refuses `pattern` as a `matches` value, and a hint; None when it is accepted."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"the regular expression is {len(pattern):,} characters; the limit is {MAX_PATTERN_CHARS:,}", HINT
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            tree = _parser.parse(pattern)
        except re.error as err:
            return f"invalid regular expression: {err}", None
        except RecursionError:
            return "the regular expression nests too deeply", None
    for warning in seen:
        if issubclass(warning.category, FutureWarning | DeprecationWarning):
            return (
                f"this regular expression will mean something else in a future Python ({warning.message})",
                "escape a '[' inside a set as '\\[', and '-', '&', '~' or '|' doubled inside a set as '\\-', "
                "'\\&', '\\~', '\\|'",
            )
    return _shape_problem(tree, None)


def _shape_problem(items: Any, outer: str | None) -> tuple[str, str | None] | None:
    """The first backreference, or repeat inside a repeat, in a parsed pattern. `outer` names the repeat
    this part of the pattern is inside ("+", "*", "{2,}" ...), if any."""
    for op, av in items:
        if op in _BACKREFERENCES:
            return (
                "backreferences (\\1, (?P=name), (?(1)...)) are not allowed in a regular expression here: "
                "they make the time a search takes unbounded",
                "match the repeated text itself, or use two rules",
            )
        if op in _REPEATS:
            low, high, body = av
            if outer is not None and low != high:
                return (
                    f"a repeat inside a repeated group ('{_quantifier(low, high)}' inside '{outer}') can take "
                    "exponential time on a long message",
                    "repeat once: write (a+)+ as a+ and (\\w+\\s?)* as [\\w\\s]*, or make the inner repeat "
                    "possessive (a++) or the group atomic (?>...)",
                )
            found = _shape_problem(body, _quantifier(low, high) if high > 1 else outer)
        elif op == _c.SUBPATTERN:
            found = _shape_problem(av[3], outer)
        elif op == _c.BRANCH:
            found = next((f for branch in av[1] if (f := _shape_problem(branch, outer))), None)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            found = _shape_problem(av[1], outer)
        elif op == _c.ATOMIC_GROUP:  # never backtracked into: what is inside starts afresh
            found = _shape_problem(av, None)
        elif op == _c.POSSESSIVE_REPEAT:
            found = _shape_problem(av[2], None)
        else:
            found = None
        if found:
            return found
    return None


def _quantifier(low: int, high: int) -> str:
    unbounded = high == _c.MAXREPEAT
    if (low, unbounded) == (0, True):
        return "*"
    if (low, unbounded) == (1, True):
        return "+"
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low},}}" if unbounded else f"{{{low},{high}}}"


# ------------------------------------------------------------------------------------------ bounded search


class _Expired(Exception):
    pass


def _expire(_signum: int, _frame: object) -> None:
    raise _Expired


def search(pattern: str, text: str, flags: int = 0, budget_s: float = SEARCH_BUDGET_S) -> bool:
    """`re.search(pattern, text, flags) is not None`, stopped with `RegexTimeout` after `budget_s` seconds."""
    compiled = re.compile(pattern, flags)
    if threading.current_thread() is not threading.main_thread():
        return _worker.search(pattern, text, flags, budget_s)
    previous = signal.signal(signal.SIGALRM, _expire)
    started = time.monotonic()
    earlier = (0.0, 0.0)
    try:
        try:
            earlier = signal.setitimer(signal.ITIMER_REAL, budget_s)
            try:
                return compiled.search(text) is not None
            finally:  # one shot: once it fired there is no second alarm to stop
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Expired:
            raise RegexTimeout(pattern, len(text), budget_s) from None
    finally:
        signal.signal(signal.SIGALRM, previous)
        if earlier[0] > 0:  # someone else's timer (pytest-timeout): give back what was left of it
            left = earlier[0] - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), earlier[1])


_WORKER = """
import json, re, sys
for line in sys.stdin:
    job = json.loads(line)
    try:
        hit = re.search(job["p"], job["t"], job["f"]) is not None
        sys.stdout.write("1\\n" if hit else "0\\n")
    except Exception as err:
        sys.stdout.write("E " + str(err).replace("\\n", " ") + "\\n")
    sys.stdout.flush()
"""


class _Worker:
    """The helper process for searches off the main thread: one at a time, killed (and started again on
    the next search) when a search runs past its budget. It exits when its stdin closes (this process ended)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._proc

    def _stop(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    def search(self, pattern: str, text: str, flags: int, budget_s: float) -> bool:
        job = (json.dumps({"p": pattern, "t": text, "f": flags}) + "\n").encode()
        with self._lock:
            proc = self._started()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(job)
                proc.stdin.flush()
            except OSError:
                self._stop()
                raise RegexTimeout(pattern, len(text), budget_s) from None
            ready, _, _ = select.select([proc.stdout], [], [], budget_s + 0.05)  # + the pipe's own time
            answer = os.read(proc.stdout.fileno(), 65536).decode() if ready else ""
            if not answer.endswith("\n"):
                self._stop()
                raise RegexTimeout(pattern, len(text), budget_s)
        if answer.startswith("E "):
            raise re.error(answer[2:].strip())
        return answer.startswith("1")


_worker = _Worker()
