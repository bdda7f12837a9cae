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
import re
from collections.abc import Iterable
from dataclasses import dataclass


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
        lines = text.splitlines()
        source_line = lines[line - 1] if 0 < line <= len(lines) else ""
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
            shown = self.source_line.expandtabs(1)
            caret_pad = " " * (self.column - 1)
            caret = "^" * min(self.width, max(1, len(shown) - self.column + 1))
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
