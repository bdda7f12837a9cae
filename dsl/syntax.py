"""Text -> parse tree, with every Lark failure turned into a `DslError` a person can act on."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from dotmock.dsl.errors import DslError, DslErrors, did_you_mean
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

# How terminals are spoken of in "expected ..." (never `__ANON_3`).
_TERMINAL_WORDS = {
    "STRING": "a string",
    "LONG_STRING": "a string",
    "INT": "a whole number",
    "SIGNED_NUMBER": "a number",
    "DURATION": "a duration like 80ms or 2s",
    "PARAM": "a parameter like ${name}",
    "NAME": "a name",
    "PATH": "a path like /v1/chat/completions",
    "ANY": "'*'",
    "METHOD": "an HTTP method like POST",
    "COMPARE": "a comparison (==, !=, >=, <=, >, <)",
    "CHUNKS": "'chunks'",
    "STREAM": "'stdout' or 'stderr'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "COLON": "':'",
    "VBAR": "'|'",
    "$END": "end of file",
}
_WORD_AT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@cache
def parser() -> Lark:
    grammar = resources.files("dotmock").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", strict=True, propagate_positions=True, maybe_placeholders=False)


def terminal_word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower().replace("_", " ")


def _keywords(names: set[str]) -> list[str]:
    """The literal words among expected terminals (for did-you-mean)."""
    words = []
    for name in names:
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and _WORD_AT.fullmatch(pattern.value):
            words.append(pattern.value)
        elif pattern.type == "re" and name in ("CHUNKS", "STREAM", "METHOD"):
            words.extend(re.findall(r"[A-Za-z]+", pattern.value))
    return words


def _expected_words(names: set[str]) -> list[str]:
    words = sorted({terminal_word(n) for n in names})
    # Keywords first (they are what a person types), then kinds of value.
    return sorted(words, key=lambda w: (not w.startswith("'"), w))


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    value = str(token)
    if token.type in ("STRING", "LONG_STRING"):
        return f"string {value[:40]}"
    return f"'{value[:40]}'"


def _acceptable(err: UnexpectedToken) -> set[str]:
    """The terminals the parser could really take here. `err.expected` is the LALR state's lookahead,
    which merges contexts (after a path it lists what may follow a path anywhere)."""
    cached = getattr(err, "dotmock_accepts", None)
    if cached is not None:
        return cached
    try:
        accepts = err.interactive_parser.accepts() if err.interactive_parser else None
    except LarkError:
        accepts = None
    err.dotmock_accepts = set(accepts) if accepts else set(err.expected)  # type: ignore[attr-defined]
    return err.dotmock_accepts  # type: ignore[attr-defined]


def syntax_error(err: UnexpectedInput, text: str, path: str) -> DslError:
    """Translate a Lark exception into a DslError with expected words and a did-you-mean."""
    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    if isinstance(err, UnexpectedToken) and err.token.type == "$END":
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        expected = set(err.expected)
        return DslError.at(
            "the file ended early", text, path, line, column,
            expected=_expected_words(expected), hint="something is missing here (an unclosed '{'?)",
        )
    if isinstance(err, UnexpectedEOF):
        lines = text.splitlines() or [""]
        return DslError.at("the file ended early", text, path, len(lines), len(lines[-1]) + 1,
                           expected=_expected_words(set(err.expected)))
    if isinstance(err, UnexpectedToken):
        expected = _acceptable(err)
        found = err.token
        word = str(found)
        width = len(word.splitlines()[0]) if word else 1
        hint = did_you_mean(word, _keywords(expected)) if _WORD_AT.fullmatch(word) else None
        if re.fullmatch(r"\d+(\.\d+)?", word) and "DURATION" in expected:
            hint = f"a duration needs a unit: {word}ms or {word}s"
        message = f"unexpected {_describe_token(found)}"
        return DslError.at(message, text, path, line, column, width=width,
                           expected=_expected_words(expected), hint=hint)
    if isinstance(err, UnexpectedCharacters):
        expected = set(err.allowed or ())
        offset = err.pos_in_stream
        m = _WORD_AT.match(text, offset)
        if m:
            word = m.group(0)
            hint = did_you_mean(word, _keywords(expected))
            return DslError.at(f"unexpected word '{word}'", text, path, line, column, width=len(word),
                               expected=_expected_words(expected), hint=hint)
        char = text[offset] if offset < len(text) else ""
        number = re.match(r"\d+(\.\d+)?", text[offset:])
        if number and "DURATION" in expected:
            return DslError.at(f"'{number.group(0)}' has no unit", text, path, line, column,
                               width=len(number.group(0)),
                               hint=f"a duration needs a unit: {number.group(0)}ms or {number.group(0)}s")
        if char == '"':
            return DslError.at("unterminated string", text, path, line, column,
                               hint="a string must end with '\"' on the same line (use \"\"\" for several lines)")
        shown = repr(char)[1:-1]
        return DslError.at(f"unexpected character '{shown}'", text, path, line, column,
                           expected=_expected_words(expected))
    return DslError.at(str(err).splitlines()[0], text, path, line, column)


_MAX_SYNTAX_ERRORS = 20


def parse_tree(text: str, path: str) -> Tree:
    """Parse `.mock` text. Raises DslError(s) (never a Lark exception): after a mistake the parser skips
    ahead and goes on, so one run reports the first mistake of every line that has one."""
    found: list[UnexpectedInput] = []

    def recover(err: UnexpectedInput) -> bool:
        if isinstance(err, UnexpectedToken):
            _acceptable(err)  # now, before recovery moves the parser on
        found.append(err)
        return len(found) < _MAX_SYNTAX_ERRORS

    try:
        tree = parser().parse(text, on_error=recover)
    except UnexpectedInput as err:
        found.append(err)
        tree = None
    except LarkError as err:  # anything else Lark may raise: still the user's file, still located
        raise DslError(f"cannot parse: {err}", path=path) from None
    if not found:
        assert tree is not None
        return tree
    errors: list[DslError] = []
    lines_seen: set[int] = set()
    for err in found:
        at_end = isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END")
        if errors and at_end:
            continue  # the end of a file that already went wrong is no news
        converted = syntax_error(err, text, path)
        if converted.line in lines_seen:
            continue  # skipping ahead inside a broken line makes noise, not news
        lines_seen.add(converted.line)
        errors.append(converted)
    if len(errors) == 1:
        raise errors[0]
    raise DslErrors(errors)
