"""Counted nouns in messages: "1 error", "2 errors", "1 case" — never "1 error(s)"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
