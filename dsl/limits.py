"""The bounds every `.mock` (and dotMock JSON) input is held to, so that parsing stays near-linear in time
and memory whatever the text: each limit ends in a `DslError` with a location, never a slow parse, a
RecursionError or a traceback. docs/language.md ("Limits") lists them."""

from __future__ import annotations

import os
import re
import stat

from lark import Token, Tree

from dotmock.dsl.errors import DslError

MAX_FILE_BYTES = 256 << 10  # 256 KiB of text per file (the shipped scenarios are under 3 KiB)
# Text built into scenarios per loaded file: the file once per params row that names a parameter, plus each
# included file once per time it is expanded. Parsing is linear in the file; building N rows of it is N times
# that, so this bound keeps a load within a few file-sized parses.
MAX_BUILD_BYTES = 2 * MAX_FILE_BYTES
# Words and symbols per file. Parsing costs per token, not per byte (Lark's lexer, LALR parser and tree
# building, about 10 µs of CPU per token for a load and as much for `fmt`): 256 KiB of dense rules is
# ~50,000 tokens and over 1 s, the same size of recorded `cadence` lines (a long string is one token) far
# fewer. 20,000 keeps any accepted file under ~0.5 s of CPU for load + fmt; the shipped scenarios have under
# 700, and a recording of ~6,000 streamed chunks fits.
MAX_TOKENS = 20_000
MAX_LINE_CHARS = 32_768
MAX_NESTING = 64  # `{` / `[` inside one another (blocks and JSON literals together)
MAX_PARAM_ROWS = 2_000
MAX_ERRORS = 20  # syntax errors reported per file; the parser stops looking after that
MAX_NUMBER_CHARS = 100  # digits of one number (Python refuses ints of over 4,300 digits)
MAX_INCLUDE_PATH_CHARS = 1_024
MAX_INCLUDE_EXPANSIONS = 200  # includes expanded per loaded file, each params row counted

_SURROGATE = re.compile("[\ud800-\udfff]")
# What the nesting pre-scan looks at: strings and comments (skipped whole), and brackets.
_NESTING_SCAN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[\[\]{}]')
# What the token pre-scan counts: strings (one token however long), comments, punctuation, other words.
_TOKEN_SCAN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}\[\],:|]|[^\s{}\[\],:|"#]+')
_OPENERS = frozenset(("LBRACE", "LSQB"))
# The rules written as a `{ ... }` block (the formatter lays them out, the nesting bound counts them).
BLOCK_RULES = frozenset(
    ("fixture", "client_block", "match_block", "streaming", "error_block", "events", "cadence", "expect", "params")
)


def read_source(path: str) -> str:
    """The UTF-8 text of a `.mock` or JSON file, refusing what is not a regular file, is larger than
    MAX_FILE_BYTES or is not UTF-8 (a DslError naming where the first bad byte is). OSError passes through."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DslError("not a regular file", path=path, hint="name a .mock file")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise DslError(
            f"the file is {_kib(max(info.st_size, len(data)))} KiB; the limit is {MAX_FILE_BYTES // 1024} KiB",
            path=path,
            hint="split it: shared fixtures can live in files that are included",
        )
    return decode_source(data, path)


def _kib(size: int) -> str:
    return f"{size / 1024:.1f}".removesuffix(".0")


def decode_source(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DslError(
            f"the file is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})",
            path=path,
            line=line,
            column=column,
            hint="save it as UTF-8",
        ) from None


def _long_line(text: str) -> int | None:
    """The number of the first line longer than MAX_LINE_CHARS, or None (linear: no regex rescans)."""
    if len(text) <= MAX_LINE_CHARS:
        return None
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_CHARS:
            return number
    return None


def _too_deep_at(text: str) -> int | None:
    """The offset of the first `{` / `[` nested deeper than MAX_NESTING (strings and comments skipped), found
    before parsing: the parser would otherwise build a tree 100,000 levels deep first."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = 0
    for found in _NESTING_SCAN.finditer(text):
        mark = found.group()
        if mark in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return found.start()
        elif mark in ("]", "}"):
            depth = max(0, depth - 1)
    return None


def token_count(text: str) -> int:
    """The words and symbols of `text` as the pre-scan counts them against MAX_TOKENS (a string or a comment
    is one however long): what a file may hold, for the loader and for what `dotmock record` writes."""
    return len(_TOKEN_SCAN.findall(text))


def check_text(text: str, path: str) -> None:
    """Refuse text too large or with too long a line before the parser sees it (error recovery on a
    megabyte of junk is what makes parsing slow), and text no file could hold (a lone surrogate)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise DslError(
            f"the file is {_kib(size)} KiB; the limit is {MAX_FILE_BYTES // 1024} KiB",
            path=path,
            hint="split it: shared fixtures can live in files that are included",
        )
    long = _long_line(text)
    if long:
        line = long
        raise DslError.at(
            f"line {line} is longer than {MAX_LINE_CHARS} characters",
            text,
            path,
            line,
            MAX_LINE_CHARS + 1,
            hint='break it up: a long text fits in a """...""" string over several lines',
        )
    too_deep = _too_deep_at(text)
    if too_deep is not None:
        raise _too_deep(text, path, *_line_column(text, too_deep))
    bad = _SURROGATE.search(text)
    if bad:
        line, column = _line_column(text, bad.start())
        raise DslError.at(
            f"a lone surrogate (U+{ord(bad.group(0)):04X}) is not text",
            text,
            path,
            line,
            column,
            hint="the text must be valid Unicode",
        )
    if token_count(text) > MAX_TOKENS:  # ~5 ms for 256 KiB; the parse would take a second
        at = next(m for i, m in enumerate(_TOKEN_SCAN.finditer(text)) if i == MAX_TOKENS).start()
        raise DslError.at(
            f"the file has more than {MAX_TOKENS:,} words and symbols; the limit is {MAX_TOKENS:,}",
            text,
            path,
            *_line_column(text, at),
            hint="split it: shared fixtures can live in files that are included",
        )


def check_tree(tree: Tree[Token], text: str, path: str) -> None:
    """Walk the parse tree without recursion: refuse nesting deeper than MAX_NESTING (the tree transform
    and the formatter recurse), numbers too long or not finite, and params tables over MAX_PARAM_ROWS."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data == "params":
            rows = sum(1 for c in node.children if isinstance(c, Tree) and c.data == "param_row")
            if rows - 1 > MAX_PARAM_ROWS:
                raise DslError.at(
                    f"the params table has {rows - 1} rows; at most {MAX_PARAM_ROWS} are allowed",
                    text,
                    path,
                    node.meta.line,
                    node.meta.column,
                    hint="split the table over several files",
                )
        for child in node.children:
            if isinstance(child, Tree):
                inner = depth + (1 if _opens(child) else 0)
                if inner > MAX_NESTING:
                    raise _too_deep(text, path, *_start(child))
                stack.append((child, inner))
            elif isinstance(child, Token) and child.type in ("SIGNED_NUMBER", "INT"):
                check_number(child, text, path)


def check_number(token: Token, text: str, path: str) -> None:
    raw = str(token)
    line, column = token.line or 1, token.column or 1
    if len(raw) > MAX_NUMBER_CHARS:
        raise DslError.at(
            f"a number of {len(raw)} characters is too long (at most {MAX_NUMBER_CHARS})",
            text,
            path,
            line,
            column,
            width=min(len(raw), 40),
            hint="write the value as a string if it must be this long",
        )
    if token.type == "SIGNED_NUMBER" and not _finite(raw):
        raise DslError.at(
            f"{raw} is out of range for a JSON number",
            text,
            path,
            line,
            column,
            width=len(raw),
            hint="a JSON number must be finite (at most about 1.8e308)",
        )


def _finite(raw: str) -> bool:
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        return False
    return value not in (float("inf"), float("-inf")) and value == value


def _opens(node: Tree[Token]) -> bool:
    return (
        any(isinstance(c, Token) and c.type in _OPENERS for c in node.children)
        or node.data in BLOCK_RULES
        or node.data in ("json_object", "json_array")
    )


def _too_deep(text: str, path: str, line: int, column: int) -> DslError:
    return DslError.at(
        f"nesting deeper than {MAX_NESTING} levels",
        text,
        path,
        line,
        column,
        width=1,
        hint="flatten the JSON or the blocks",
    )


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _start(node: Tree[Token]) -> tuple[int, int]:
    meta = node.meta
    return (getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1)


INCLUDE_HINT = 'include a .mock file of the scenario tree by its relative path, e.g. include "common.mock"'


def unusable_include_target(target: str) -> str | None:
    """Why an include path cannot name a file (no such file could exist), or None."""
    if not target:
        return "include names no file"
    if len(target) > MAX_INCLUDE_PATH_CHARS:
        return f"include path is longer than {MAX_INCLUDE_PATH_CHARS} characters"
    if "\x00" in target:
        return "include path contains a NUL character"
    if _SURROGATE.search(target):
        return "include path contains a lone surrogate (not text)"
    if not target.endswith(".mock"):
        return f"include {target!r} is not a .mock file"
    return None
