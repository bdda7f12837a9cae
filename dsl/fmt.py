"""`dotmock fmt`: one canonical layout for `.mock` files, comments kept.

Layout rules: two-space indentation; one statement per line; a blank line before every top-level block
(`client`, `fixture`, `params`, `expect`) and wherever the author left one (collapsed to one); small blocks
(`match { }`, `streaming { }`, `error { }`, a fault's block) stay on one line when they fit in 100 columns and
hold no comment; parameter tables aligned in columns; JSON as `{"a": 1, "b": [1, 2]}`; strings as written.
A comment stays before the statement it preceded, or at the end of the line it ended.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from dotmock.dsl.limits import BLOCK_RULES, check_text, check_tree
from dotmock.dsl.syntax import syntax_error

_INDENT = "  "
_MAX_INLINE = 100
_INLINE_BLOCKS = {"match_block", "streaming", "error_block"}
_TOP_BLOCKS = {"client", "fixture", "params", "expect"}


_comment_sink: ContextVar[list[Token]] = ContextVar("_comment_sink")


@cache
def _layout_parser() -> Lark:
    """A parser that keeps every token (braces, keywords) and hands comments to the current sink."""
    grammar = resources.files("dotmock").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        propagate_positions=True,
        keep_all_tokens=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": lambda token: _comment_sink.get().append(token)},
    )


@dataclass(frozen=True, slots=True)
class _Comment:
    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return self.text


class _Printer:
    def __init__(self, comments: list[Token]) -> None:
        found = [_Comment(c.line or 0, c.column or 0, str(c)) for c in comments]
        self.comments = sorted(found, key=lambda c: (c.line, c.column))
        self.lines: list[str] = []

    # ------------------------------------------------------------ comments
    def take_comments(self, before_line: int) -> list[_Comment]:
        taken = [c for c in self.comments if c.line < before_line]
        self.comments = [c for c in self.comments if c.line >= before_line]
        return taken

    def take_trailing(self, line: int) -> _Comment | None:
        for c in self.comments:
            if c.line == line:
                self.comments.remove(c)
                return c
        return None

    def has_comments_within(self, node: Tree[Token]) -> bool:
        """A comment between the node's start and its last token (a comment after it on its last line is a
        trailing comment of the statement, not inside the block)."""
        start = (node.meta.line, node.meta.column)
        end = (node.meta.end_line, node.meta.end_column)
        return any(start <= (c.line, c.column) < end for c in self.comments)

    # ------------------------------------------------------------ output
    def emit(self, indent: int, text: str) -> None:
        self.lines.append(f"{_INDENT * indent}{text}".rstrip())

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def statements(self, items: list[Tree[Token]], indent: int, *, top: bool, closing_line: int | None) -> None:
        previous_end: int | None = None
        for index, item in enumerate(items):
            start = item.meta.line
            comments = self.take_comments(start)
            # Comments inside a multi-line statement move above it, so none is lost.
            inner = [] if _has_block(item) else [c for c in self.comments if start <= c.line < item.meta.end_line]
            for c in inner:
                self.comments.remove(c)
            first_line = comments[0].line if comments else start
            gap = previous_end is not None and first_line - previous_end > 1
            if index > 0 and (gap or (top and item.data in _TOP_BLOCKS)):
                self.blank()
            for c in comments + inner:
                self.emit(indent, str(c))
            self.statement(item, indent)
            # A comment ending a line belongs to the last statement on it (`timeout 5s env A "1"  # c`).
            next_on_same_line = index + 1 < len(items) and items[index + 1].meta.line == item.meta.end_line
            trailing = None if next_on_same_line else self.take_trailing(item.meta.end_line)
            if trailing is not None:
                self.lines[-1] += f"  {trailing}"
            previous_end = item.meta.end_line
        if closing_line is not None:
            rest = self.take_comments(closing_line)
            if rest and previous_end is not None and rest[0].line - previous_end > 1:
                self.blank()
            for c in rest:
                self.emit(indent, str(c))

    def statement(self, node: Tree[Token], indent: int) -> None:
        """Print one statement starting on a new line; blocks print their items below."""
        if node.data in BLOCK_RULES:  # fixture, streaming, events, expect, params
            self.emit(indent, " ".join(self.open_block(node, indent)))
            if self.lines[-1].endswith("{"):
                self.block_body(node, indent + 1)
                self.emit(indent, "}")
            return
        if not _has_block(node):
            self.emit(indent, self.inline(node))
            return
        head: list[str] = []
        for child in node.children:  # client "x" { ... }, match ... { ... }, error 429 { ... }
            if isinstance(child, Tree) and child.data in BLOCK_RULES:
                self.emit(indent, " ".join([*head, *self.open_block(child, indent)]))
                head = []
                if self.lines[-1].endswith("{"):
                    self.block_body(child, indent + 1)
                    self.emit(indent, "}")
                continue
            head.append(self.inline(child))
        if head:
            self.emit(indent, " ".join(head))

    def open_block(self, node: Tree[Token], indent: int) -> list[str]:
        """The words up to `{`, or the whole block on one line when it is small and comment-free."""
        words: list[str] = []
        for child in node.children:
            if isinstance(child, Token) and child.type == "LBRACE":
                break
            words.append(self.inline(child))
        if node.data in _INLINE_BLOCKS:
            items = _items(node)
            if not self.has_comments_within(node):
                one_line = (
                    " ".join([*words, "{", *[self.inline(i) for i in items], "}"])
                    if items
                    else " ".join([*words, "{ }"])
                )
                if len(_INDENT * indent) + len(one_line) <= _MAX_INLINE:
                    return [one_line]
        return [*words, "{"]

    def block_body(self, node: Tree[Token], indent: int) -> None:
        if node.data == "params":
            self.table(node, indent)
            return
        closing = node.children[-1]
        closing_line = closing.line if isinstance(closing, Token) else None
        self.statements(_items(node), indent, top=False, closing_line=closing_line)

    def table(self, node: Tree[Token], indent: int) -> None:
        rows = [r for r in node.children if isinstance(r, Tree) and r.data == "param_row"]
        cells = [[self.inline(c) for c in r.children if not (isinstance(c, Token) and c.type == "VBAR")] for r in rows]
        widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(max(map(len, cells)))]
        for row, source in zip(cells, rows, strict=True):
            for c in self.take_comments(source.meta.line):
                self.emit(indent, str(c))
            padded = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
            self.emit(indent, "| " + " | ".join(padded) + " |")
            trailing = self.take_trailing(source.meta.end_line)
            if trailing is not None:
                self.lines[-1] += f"  {trailing}"
        closing = node.children[-1]
        for c in self.take_comments((closing.line or 0) if isinstance(closing, Token) else 10**9):
            self.emit(indent, str(c))

    def inline(self, node: Tree[Token] | Token) -> str:
        """A statement or value on one line, canonical spacing."""
        if isinstance(node, Token):
            return str(node)
        if node.data == "json_object":
            pairs = [self.inline(c) for c in node.children if isinstance(c, Tree)]
            return "{" + ", ".join(pairs) + "}"
        if node.data == "json_array":
            values = [self.inline(c) for c in node.children if isinstance(c, Tree)]
            return "[" + ", ".join(values) + "]"
        if node.data == "json_pair":
            key, _colon, value = node.children
            return f"{self.inline(key)}: {self.inline(value)}"
        if node.data == "tags":
            words = [self.inline(c) for c in node.children if not (isinstance(c, Token) and c.type == "COMMA")]
            return words[0] + " " + ", ".join(words[1:])
        if node.data == "attempt_from":
            return "".join(self.inline(c) for c in node.children)
        if node.data == "attempt_between":
            return "".join(self.inline(c) for c in node.children)
        if node.data == "param_row":
            return " ".join(self.inline(c) for c in node.children)
        if node.data in BLOCK_RULES:
            words = self.open_block(node, 0)
            return " ".join(words)
        return " ".join(self.inline(c) for c in node.children)


def _has_block(node: Tree[Token]) -> bool:
    return node.data in BLOCK_RULES or any(isinstance(c, Tree) and _has_block(c) for c in node.children)


def _items(block: Tree[Token]) -> list[Tree[Token]]:
    """The statements between a block's braces."""
    inside = False
    items: list[Tree[Token]] = []
    for child in block.children:
        if isinstance(child, Token) and child.type == "LBRACE":
            inside = True
        elif isinstance(child, Token) and child.type == "RBRACE":
            inside = False
        elif inside and isinstance(child, Tree):
            items.append(child)
    return items


def format_text(text: str, path: str = "<text>") -> str:
    """The canonical layout of `text`. Raises DslError when the text does not parse."""
    check_text(text, path)  # the language's limits first: the printer below recurses into the tree
    comments: list[Token] = []
    reset = _comment_sink.set(comments)
    try:
        tree = _layout_parser().parse(text)
    except UnexpectedInput as err:
        raise syntax_error(err, text, path) from None
    finally:
        _comment_sink.reset(reset)
    check_tree(tree, text, path)
    printer = _Printer(comments)
    statements = [c for c in tree.children if isinstance(c, Tree)]
    printer.statements(statements, 0, top=True, closing_line=10**9)
    out = "\n".join(printer.lines).strip("\n")
    return out + "\n" if out else ""


def check_formatted(text: str, path: str) -> bool:
    """True when `text` is already in canonical layout."""
    return format_text(text, path) == text
