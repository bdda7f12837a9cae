"""Literal values of the language: strings (with escapes, and the multi-line form), durations, numbers."""

from __future__ import annotations

import re
import textwrap

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_PARAM_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m)")


def decode_string(token: str) -> str:
    """The value of a STRING (`"..."`, JSON escapes; an unknown escape such as `\\d` is kept as written,
    so regular expressions read naturally) or LONG_STRING (`\"\"\"...\"\"\"`, verbatim, dedented, the
    first and last line breaks dropped)."""
    if token.startswith('"""'):
        body = token[3:-3]
        if body.startswith("\n"):
            body = body[1:]
        body = textwrap.dedent(body)
        if body.endswith("\n"):
            body = body[:-1]
        elif "\n" in body and not body.rsplit("\n", 1)[1].strip():
            body = body.rsplit("\n", 1)[0]
        return body
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def encode_string(value: str) -> str:
    """`value` as a one-line string literal, escaped."""
    out = []
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def parse_duration(token: str) -> float:
    """`80ms` -> 0.08, `2s` -> 2.0, `1.5m` -> 90.0 (seconds)."""
    m = _DURATION.fullmatch(token)
    if not m:
        raise ValueError(f"not a duration: {token!r}")
    number, unit = float(m.group(1)), m.group(2)
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


def format_duration(seconds: float) -> str:
    """The canonical spelling of a duration: whole seconds as `2s`, else milliseconds."""
    ms = round(seconds * 1000, 3)
    if ms % 1000 == 0:
        return f"{int(ms // 1000)}s"
    if ms == int(ms):
        return f"{int(ms)}ms"
    return f"{ms}ms"


def param_refs(value: str) -> list[str]:
    return _PARAM_REF.findall(value)


def substitute(value: str, params: dict[str, str]) -> tuple[str, list[str]]:
    """Replace `${name}` with the row's value; return the result and the names that had no value."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in params:
            return params[name]
        missing.append(name)
        return m.group(0)

    return _PARAM_REF.sub(repl, value), missing
