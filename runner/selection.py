"""Choosing which cases run: `-k` expressions and `--shard K/N`.

`-k` matches a word against a case's name (substring, case-insensitive) or its tags (exact, or substring);
words combine with `not`, `and`, `or` and parentheses, as in pytest: `-k "retry and not websocket"`. A phrase
with spaces is quoted inside the expression: `-k '"rate limit" and not naive'`.
`--shard K/N` keeps the cases whose stable hash of `case_id` is K-1 modulo N: every case is in exactly one
shard, and the split does not depend on the machine, the order of files or Python's hash seed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from dotmock.dsl.model import Scenario

Predicate = Callable[[Scenario], bool]
_TOKEN = re.compile(r"""\s*(\(|\)|"[^"]*"|'[^']*'|[^\s()]+)""")


class SelectionError(ValueError):
    """A `-k` expression or `--shard` value that does not make sense."""


def _word(word: str) -> Predicate:
    w = word.lower()
    return lambda s: w in s.name.lower() or any(w in t.lower() for t in s.tags)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = [t for t in _TOKEN.findall(text) if t]
        self.i = 0
        self.text = text

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise SelectionError(f"-k {self.text!r}: unexpected end of expression")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.parse_or()
        if self.peek() is not None:
            raise SelectionError(f"-k {self.text!r}: unexpected {self.peek()!r}")
        return pred

    def parse_or(self) -> Predicate:
        return self.parse_chain("or", self.parse_and, lambda a, b: lambda s: a(s) or b(s))

    def parse_and(self) -> Predicate:
        return self.parse_chain("and", self.parse_not, lambda a, b: lambda s: a(s) and b(s))

    def parse_chain(
        self, word: str, operand: Callable[[], Predicate], join: Callable[[Predicate, Predicate], Predicate]
    ) -> Predicate:
        """`operand (word operand)*`, joined left to right."""
        left = operand()
        while self.peek() == word:
            self.take()
            left = join(left, operand())
        return left

    def parse_not(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.parse_not()
            return lambda s: not inner(s)
        tok = self.take()
        if tok == "(":
            pred = self.parse_or()
            if self.take() != ")":
                raise SelectionError(f"-k {self.text!r}: missing ')'")
            return pred
        if tok in (")", "and", "or"):
            raise SelectionError(f"-k {self.text!r}: unexpected {tok!r}")
        if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "\"'":
            return _word(tok[1:-1])  # a quoted phrase: '"rate limit"' matches names with that space in them
        return _word(tok)


def keyword_filter(expr: str) -> Predicate:
    """A predicate for a `-k` expression (an empty expression selects everything)."""
    if not expr.strip():
        return lambda s: True
    return _Parser(expr).parse()


def parse_shard(text: str) -> tuple[int, int]:
    """`"2/4"` -> (2, 4); K is 1-based."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise SelectionError(f"--shard {text!r}: expected K/N, e.g. 1/4")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise SelectionError(f"--shard {text!r}: need 1 <= K <= N")
    return k, n


def shard_of(case_id: str, n: int) -> int:
    """The 1-based shard a case belongs to among `n`."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def select(
    cases: Sequence[Scenario], keyword: str | None = None, shard: tuple[int, int] | None = None
) -> list[Scenario]:
    pred = keyword_filter(keyword or "")
    out = [c for c in cases if pred(c)]
    if shard is not None:
        k, n = shard
        out = [c for c in out if shard_of(c.case_id, n) == k]
    return out
