"""Untrusted text (case names, params, client output, finding titles) made inert in Markdown.

GitHub renders a report's Markdown with raw HTML allowed, so every such string goes through one of these:
`text` for running text and table cells, `code` for code on one line, `preformatted` for a block of
output, `html` inside an HTML element. None lets a string close its context: no `<tag>` (no raw `<` at all),
no `|` ending a cell, no backtick opening a span, no newline ending a line or an HTML block.
"""

from __future__ import annotations

import re

# Characters that start inline Markdown syntax (CommonMark lets any ASCII punctuation be escaped);
# `<`, `>` and `&` become entities instead.
_INLINE = re.compile(r"([\\`*_\[\]|~!$])")
# What makes a line a heading, list item, quote or rule when it comes first.
_BLOCK_START = re.compile(r"^([#+=-]|\d+[.)])")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """Control characters shown as `\\xNN` (tab and newline kept); lone surrogates as U+FFFD."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group(0)):02x}", _SURROGATES.sub("\ufffd", text))


def html(text: str) -> str:
    """Text inside an HTML element, on one line."""
    one_line = " ".join(printable(text).split())
    return (
        (one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))
        .replace("'", "&#39;")
        .replace("`", "&#96;")
    )


def text(value: str) -> str:
    """Running text or a table cell, on one line: HTML escaped, Markdown punctuation backslash-escaped."""
    one_line = " ".join(printable(value).split())
    escaped = _INLINE.sub(r"\\\1", one_line).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BLOCK_START.sub(r"\\\1", escaped)


def code(value: str) -> str:
    """Code on one line (usable in a table cell): a `<code>` element around escaped text, so that neither
    a backtick nor a `<` in it can end it."""
    return f"<code>{text(value)}</code>"


def preformatted(value: str) -> list[str]:
    """A block of output kept verbatim (bar control characters) as an HTML `<pre>` block: GitHub ends such
    a block only at `</pre>`, which the escaping makes impossible inside."""
    body = printable(value.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "&#96;")
    return [f"<pre>{escaped}</pre>"]
