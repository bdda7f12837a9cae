"""One error type for every mistake in a `.mock` file, rendered the way compilers and Hurl do:

scenarios/retry.mock:12:5: error: unknown knob 'chunksize'
   |
12 |     chunksize 15
   |     ^^^^^^^^^ did you mean 'chunkSize'?
   |
= expected one of: chunkSize, latencyMs, truncateAfterChunks
"""

from __future__ import annotations

import difflib
import functools
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

# The longest stretch of a source line an error shows: a longer line is cut around the caret ("…" at a cut).
ECHO_CHARS = 120


@dataclass(frozen=True)
class SourceSpot:
    path: str
    line: int  # 1-based
    column: int  # 1-based
    source_line: str = ""
    width: int = 1


class DslError(Exception):
    """A mistake in a `.mock` (or dotMock JSON) file, with where it is and what would be right."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int = 1,
        column: int = 1,
        source_line: str = "",
        width: int = 1,
        expected: Iterable[str] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.source_line = source_line.rstrip("\r\n")
        self.width = max(1, width)
        self.expected = tuple(expected)
        self.hint = hint

    @classmethod
    def at(
        cls,
        message: str,
        text: str,
        path: str,
        line: int,
        column: int,
        *,
        width: int = 0,
        expected: Iterable[str] = (),
        hint: str | None = None,
    ) -> DslError:
        """Build an error at a position of `text`, picking out the source line itself. With no `width`
        the caret spans the word (or string) that starts there."""
        source_line = line_of(text, line)
        if width <= 0:
            width = _word_width(source_line, column)
        return cls(
            message,
            path=path,
            line=line,
            column=column,
            source_line=source_line,
            width=width,
            expected=expected,
            hint=hint,
        )

    @property
    def headline(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: error: {self.message}"

    def render(self) -> str:
        gutter = " " * len(str(self.line))
        out = [self.headline]
        if self.source_line:
            shown, start = _around(self.source_line.expandtabs(1), self.column - 1)
            caret_pad = " " * (self.column - 1 - start)
            caret = "^" * min(self.width, max(1, len(shown) - len(caret_pad)))
            note = f" {self.hint}" if self.hint else ""
            out += [f"{gutter} |", f"{self.line} | {shown}", f"{gutter} | {caret_pad}{caret}{note}", f"{gutter} |"]
        elif self.hint:
            out.append(f"  {self.hint}")
        if self.expected:
            out.append(f"{gutter} = expected {_one_of(self.expected)}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


class DslErrors(DslError):
    """Several errors of one file (or several files), reported together. Behaves as the first one."""

    def __init__(self, errors: list[DslError]) -> None:
        if not errors:
            raise ValueError("DslErrors needs at least one error")
        first = errors[0]
        super().__init__(
            first.message,
            path=first.path,
            line=first.line,
            column=first.column,
            source_line=first.source_line,
            width=first.width,
            expected=first.expected,
            hint=first.hint,
        )
        self.errors = list(errors)

    def render(self) -> str:
        return "\n\n".join(e.render() for e in self.errors)


def _around(line: str, index: int) -> tuple[str, int]:
    """At most ECHO_CHARS of `line` around character `index`, and how far left of the original the returned
    text's first character stands (a cut is marked with "…", which takes that character's place)."""
    if len(line) <= ECHO_CHARS:
        return line, 0
    start = 0 if index < ECHO_CHARS * 2 // 3 else max(0, min(index - ECHO_CHARS // 3, len(line) - ECHO_CHARS))
    end = start + ECHO_CHARS
    head = "…" if start > 0 else ""
    tail = "…" if end < len(line) else ""
    return head + line[start + len(head) : end - len(tail)] + tail, start


@functools.lru_cache(maxsize=4)
def _line_starts(text: str) -> array[int]:
    starts = array("q", [0])
    find = text.find
    i = find("\n")
    while i >= 0:
        starts.append(i + 1)
        i = find("\n", i + 1)
    return starts


def line_of(text: str, line: int) -> str:
    """Line `line` (1-based, as Lark counts: by newline) of `text`, without its line ending; "" when there is
    no such line. Indexed once per text, so locating each of thousands of errors costs no rescan."""
    if line < 1 or not text:
        return ""
    starts = _line_starts(text)
    if line > len(starts):
        return ""
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    return text[start:end].rstrip("\r")


_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s{}\[\],:|]+')


def _word_width(line: str, column: int) -> int:
    m = _WORD.match(line, column - 1)
    return len(m.group(0)) if m else 1


def _one_of(words: tuple[str, ...]) -> str:
    if len(words) == 1:
        return words[0]
    return "one of: " + ", ".join(words)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """`did you mean 'chunkSize'?` for a near miss (case-insensitive), else None."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.72)
    if close:
        return f"did you mean '{lowered[close[0]]}'?"
    return None
