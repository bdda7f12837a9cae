"""Laying a recording out in files `dotmock serve` will load (pure: `server.record_cli` writes them).

The parser holds every file to `dsl.limits` (MAX_FILE_BYTES and MAX_TOKENS per file, MAX_LINE_CHARS per line,
and MAX_BUILD_BYTES for a file with all it includes). A recording that outgrows one file, in bytes or in words
and symbols (a stream of many tiny chunks: each chunk and its gap count), has its fixtures moved into
include-only part files beside it (`NAME.recorded-1.mock`, ...), which the recorded section of the main file
includes in order, so first-match order is kept. A fixture no file can hold (a line too long, a fixture too
big or of too many tokens) becomes a `# not recorded` comment; and once the main file and its parts would pass
the build limit, the exchanges after are not written (`Layout.kept` says how many were), never a file
`dotmock serve` refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dotmock.dsl.limits import MAX_BUILD_BYTES, MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_TOKENS, token_count
from dotmock.dsl.recording import BEGIN, END, join_blocks, merge
from dotmock.dsl.values import encode_string

PART_HEADER = (
    "# Fixtures recorded by `dotmock record`, included (in order) by {main}: the recording outgrew one file.\n"
    "# Recording again into {main} rewrites this file.\n"
)
# Room kept in each file for what formatting adds (canonical layout) and for the part's own header.
_MARGIN = 8 << 10
_TOKEN_MARGIN = 200  # the same in words and symbols (the part header is 2, an include line 2)


@dataclass(frozen=True, slots=True)
class Layout:
    main: str  # the main file's text
    parts: tuple[tuple[str, str], ...]  # (file name beside the main file, its text), in include order
    kept: int  # how many of the fixture blocks given are written (the first ones; too big ones as comments)
    too_big: tuple[str, ...]  # the comments standing for fixtures no file can hold


def part_name(stem: str, n: int) -> str:
    return f"{stem}.recorded-{n}.mock"


def earlier_parts(original: str | None, stem: str) -> set[str]:
    """The part files an earlier recording's section of `original` includes (the next recording's to rewrite)."""
    if original is None or BEGIN not in original:
        return set()
    start = original.index(BEGIN)
    end = original.find(END, start)
    section = original[start:] if end < 0 else original[start:end]
    pattern = re.compile(r'^include "(' + re.escape(stem) + r'\.recorded-\d+\.mock)"$', re.MULTILINE)
    return set(pattern.findall(section))


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def fits(text: str, limit: int = MAX_FILE_BYTES, tokens: int = MAX_TOKENS) -> bool:
    """Whether one file of this text loads: its size, its longest line and its tokens within the parser's limits."""
    return (
        _size(text) <= limit
        and max(map(len, text.split("\n")), default=0) <= MAX_LINE_CHARS
        and token_count(text) <= tokens
    )


def _too_big(block: str) -> str | None:
    """The comment for a fixture block no file can hold, or None."""
    name = next((line for line in block.split("\n") if line.startswith("fixture ")), "a fixture").rstrip(" {")
    longest = max(map(len, block.split("\n")))
    if longest > MAX_LINE_CHARS:
        return f"# not recorded: {name}: a line of {longest} characters; a .mock line may have {MAX_LINE_CHARS}"
    if _size(block) > MAX_FILE_BYTES - 2 * _MARGIN:
        kib = _size(block) // 1024
        return f"# not recorded: {name}: {kib} KiB; a .mock file may have {MAX_FILE_BYTES // 1024} KiB"
    tokens = token_count(block)
    if tokens > MAX_TOKENS - 2 * _TOKEN_MARGIN:
        return (
            f"# not recorded: {name}: {tokens:,} words and symbols (a recorded chunk and its gap are up to 3); "
            f"a .mock file may have {MAX_TOKENS:,}"
        )
    return None


def layout(
    original: str | None,
    header: str,
    comments: Sequence[str],
    blocks: Sequence[str],
    stem: str,
    fmt: Callable[[str], str],
) -> Layout:
    """The files for the recorded `comments` and fixture `blocks`: all in the main file when they fit, else
    the blocks in part files named after `stem` (the main file's name without `.mock`); `fmt` lays a file's
    text out (`dsl.fmt.format_text`)."""
    problems = [_too_big(block) for block in blocks]
    usable = [block for block, problem in zip(blocks, problems, strict=True) if problem is None]
    too_big = [problem for problem in problems if problem is not None]
    notes = [*comments, *too_big]
    whole = merge(original, join_blocks(notes, usable), header=header)
    if fits(
        whole, MAX_FILE_BYTES - _MARGIN, MAX_TOKENS - _TOKEN_MARGIN
    ):  # (the formatter refuses what the parser would)
        whole = fmt(whole)
        if fits(whole):
            return Layout(whole, (), len(blocks), tuple(too_big))
    main_name = f"{stem}.mock"
    kept = len(blocks)
    while True:
        notes = [*comments, *(p for p in problems[:kept] if p is not None)]
        written = [block for block, problem in zip(blocks[:kept], problems, strict=False) if problem is None]
        groups = _groups(written, MAX_FILE_BYTES - _MARGIN, MAX_TOKENS - _TOKEN_MARGIN)
        parts = tuple(
            (part_name(stem, n), fmt(PART_HEADER.format(main=main_name) + "\n" + "\n\n".join(group) + "\n"))
            for n, group in enumerate(groups, 1)
        )
        includes = [f"include {encode_string(name)}" for name, _ in parts]
        main = fmt(merge(original, "\n".join(notes) + ("\n\n" if notes else "") + "\n".join(includes), header=header))
        total = _size(main) + sum(_size(text) for _, text in parts)
        if (total <= MAX_BUILD_BYTES and fits(main) and all(fits(text) for _, text in parts)) or kept == 0:
            return Layout(main, parts, kept, tuple(notes[len(comments) :]))
        kept -= 1


def _groups(blocks: Sequence[str], budget: int, token_budget: int) -> list[list[str]]:
    """The blocks in order, cut into groups of at most `budget` bytes and `token_budget` tokens each."""
    groups: list[list[str]] = []
    size = tokens = 0
    for block in blocks:
        n, t = _size(block) + 2, token_count(block)
        if not groups or size + n > budget or tokens + t > token_budget:
            groups.append([])
            size = tokens = 0
        groups[-1].append(block)
        size += n
        tokens += t
    return groups
