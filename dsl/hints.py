"""Hints for the mistakes people really make in `.mock` files: words carried over from other mock tools or
from the seed's prose, a value of the wrong type, a list without its commas. Closer to the mark than a
did-you-mean, so they win over it."""

from __future__ import annotations

import re

_CUT_WORDS = {"truncate", "truncated", "truncation", "cut", "cutoff", "truncateafter", "truncateafterchunks"}
_RETRY_AFTER_WORDS = {"retryafter", "retry_after", "retry-after"}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def known_mistake(word: str, expected: set[str], source_line: str) -> str | None:
    """A hint for `word` found where one of the terminals in `expected` was wanted, or None."""
    folded = word.lower()
    if folded in _CUT_WORDS:
        return "a stream cut short is a streaming knob: `streaming { truncateAfterChunks 3 }`"
    if folded in _RETRY_AFTER_WORDS:
        return 'Retry-After is a header of the error answer: `error 429 { header "Retry-After" "1" }`'
    if _NUMBER.fullmatch(word) and expected & {"STRING", "LONG_STRING"} and "SIGNED_NUMBER" not in expected:
        return f'a string is needed here: write "{word}"'
    if source_line.lstrip().startswith("toolCall ") and "RAW" in {e.upper() for e in expected} and word != "{":
        return 'tool arguments are a JSON object `{"city": "Paris"}`, or raw text: `raw "{\\"city\\": ..."`'
    if "COMMA" in expected and source_line.lstrip().startswith("tags "):
        return f"tags are separated by commas: `tags {', '.join(source_line.split()[1:])}`"
    if word.startswith("${"):
        return (
            f"{word} stands for a value (a string, number or duration), not for a path, a keyword or a statement: "
            "write those out, e.g. one fixture per path"
        )
    if expected == {"VBAR"} and source_line.lstrip().startswith("|"):
        cell = next((c.strip() for c in source_line.split("|") if word in c.split()), None)
        if cell and " " in cell:
            return f'a cell of several words is a string: `| "{cell}" |`'
    return None
