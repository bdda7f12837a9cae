"""Text -> parse tree, with every Lark failure turned into a `DslError` a person can act on."""

from __future__ import annotations

import re
import weakref
from functools import cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dotmock.dsl.errors import DslError, DslErrors, did_you_mean, line_of
from dotmock.dsl.hints import known_mistake
from dotmock.dsl.limits import MAX_ERRORS, check_text, check_tree

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


# What recovery learnt about an error while the parser was still at it, for the message made afterwards:
# the terminals the parser could take there, and the token it inserted to go on.
_ACCEPTS: weakref.WeakKeyDictionary[UnexpectedInput, set[str]] = weakref.WeakKeyDictionary()
_INSERTED: weakref.WeakKeyDictionary[UnexpectedInput, str] = weakref.WeakKeyDictionary()


def _acceptable(err: UnexpectedToken) -> set[str]:
    """The terminals the parser could really take here. `err.expected` is the LALR state's lookahead,
    which merges contexts (after a path it lists what may follow a path anywhere)."""
    cached = _ACCEPTS.get(err)
    if cached is not None:
        return cached
    try:
        accepts: set[str] | None = err.interactive_parser.accepts() if err.interactive_parser else None
    except LarkError:
        accepts = None
    _ACCEPTS[err] = found = set(accepts) if accepts else set(err.expected)
    return found


def _end_of_text(text: str) -> tuple[int, int]:
    """Line and column just after the last character that is not blank."""
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    """Where the innermost `{` still open at the end of `text` is (strings and comments skipped)."""
    stack: list[tuple[int, int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "#":
                break
            if ch == '"':
                i += 1
                while i < len(line) and line[i] != '"':
                    i += 2 if line[i] == "\\" else 1
            elif ch == "{":
                stack.append((number, i + 1))
            elif ch == "}" and stack:
                stack.pop()
            i += 1
    return stack[-1] if stack else None


def _line_of(text: str, line: int) -> str:
    return line_of(text, line)


def syntax_error(err: UnexpectedInput, text: str, path: str) -> DslError:
    """Translate a Lark exception into a DslError with expected words and a did-you-mean."""
    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        line, column = _end_of_text(text)
        opened = _unclosed_brace(text)
        hint: str | None = f"the '{{' on line {opened[0]} is never closed" if opened else "something is missing here"
        return DslError.at(
            "the file ended early", text, path, line, column, expected=_expected_words(set(err.expected)), hint=hint
        )
    if isinstance(err, UnexpectedToken):
        expected = _acceptable(err)
        found = err.token
        word = str(found)
        width = len(word.splitlines()[0]) if word else 1
        hint = did_you_mean(word, _keywords(expected)) if _WORD_AT.fullmatch(word) else None
        inserted = _INSERTED.get(err)
        if hint is None and inserted:
            hint = (
                "is a '}' missing before this?"
                if inserted == "RBRACE"
                else (f"is {terminal_word(inserted)} missing before this?")
            )
        if re.fullmatch(r"\d+(\.\d+)?", word) and "DURATION" in expected:
            hint = f"a duration needs a unit: {word}ms or {word}s"
        hint = known_mistake(word, expected, _line_of(text, line)) or hint
        message = f"unexpected {_describe_token(found)}"
        return DslError.at(
            message, text, path, line, column, width=width, expected=_expected_words(expected), hint=hint
        )
    if isinstance(err, UnexpectedCharacters):
        expected = _ACCEPTS.get(err) or set(err.allowed or ())
        offset = err.pos_in_stream or 0
        m = _WORD_AT.match(text, offset)
        if m:
            word = m.group(0)
            hint = known_mistake(word, expected, _line_of(text, line)) or did_you_mean(word, _keywords(expected))
            return DslError.at(
                f"unexpected word '{word}'",
                text,
                path,
                line,
                column,
                width=len(word),
                expected=_expected_words(expected),
                hint=hint,
            )
        char = text[offset] if offset < len(text) else ""
        number = re.match(r"\d+(\.\d+)?", text[offset:])
        if number and "DURATION" in expected:
            return DslError.at(
                f"'{number.group(0)}' has no unit",
                text,
                path,
                line,
                column,
                width=len(number.group(0)),
                hint=f"a duration needs a unit: {number.group(0)}ms or {number.group(0)}s",
            )
        if char == '"':
            return DslError.at(
                "unterminated string",
                text,
                path,
                line,
                column,
                hint='a string must end with \'"\' on the same line (use """ for several lines)',
            )
        shown = repr(char)[1:-1]
        return DslError.at(
            f"unexpected character '{shown}'", text, path, line, column, expected=_expected_words(expected)
        )
    return DslError.at(str(err).splitlines()[0], text, path, line, column)


_MAX_SYNTAX_ERRORS = MAX_ERRORS
# Tokens the parser may skip or repair around before it gives up on a file (each costs ~50 us): bounds the
# time a file of junk takes to a few tenths of a second, whatever its size.
MAX_RECOVERY_STEPS = 2_000

# Stand-ins fed to the parser while recovering from a mistake (the tree is never built when there was one).
_PLACEHOLDERS = {
    "STRING": '"?"',
    "LONG_STRING": '"""?"""',
    "INT": "1",
    "SIGNED_NUMBER": "1",
    "DURATION": "1s",
    "NAME": "x",
    "PATH": "/x",
    "PARAM": "${x}",
    "METHOD": "POST",
    "CHUNKS": "chunks",
    "STREAM": "stdout",
    "COMPARE": "==",
}
# What may be inserted before an unexpected token so that it fits: a closing brace, or a missing value.
_INSERTABLE = ("RBRACE", "DURATION", "INT", "STRING", "NAME", "PATH", "SIGNED_NUMBER", "PARAM", "COMPARE", "CHUNKS")
_VALUE_TOKENS = frozenset(("STRING", "LONG_STRING", "INT", "SIGNED_NUMBER", "DURATION", "NAME", "PATH", "PARAM"))
_BLANK = re.compile(r"(?:\s|#[^\n]*)*")


def _placeholder(name: str, at: Token) -> Token:
    value = _PLACEHOLDERS.get(name)
    if value is None:
        pattern = parser().get_terminal(name).pattern
        value = pattern.value if pattern.type == "str" else "x"
    return Token.new_borrow_pos(name, value, at)


def _repair(err: UnexpectedToken) -> bool:
    """Make the parser go on sensibly after `err` (instead of dropping tokens until something fits, which
    reports every following line): take a misspelt keyword as the keyword it resembles, insert a missing
    `}` or value, or replace a value of the wrong kind. False when nothing fits (the token is dropped)."""
    ip = err.interactive_parser
    if ip is None:
        return False
    accepts = _acceptable(err)
    token = err.token
    word = str(token)
    if _WORD_AT.fullmatch(word):
        hint = did_you_mean(word, _keywords(accepts))
        if hint:
            keyword = hint.split("'")[1]
            for name in accepts:
                if _keywords({name}) and keyword in _keywords({name}):
                    ip.feed_token(Token.new_borrow_pos(name, keyword, token))
                    return True
    for name in _INSERTABLE:
        if name not in accepts:
            continue
        trial = ip.copy(deepcopy_values=False)
        try:
            trial.feed_token(_placeholder(name, token))
            fits = token.type in trial.accepts()
        except LarkError:
            fits = False
        if fits:
            ip.feed_token(_placeholder(name, token))
            ip.feed_token(token)
            _INSERTED[err] = name
            return True
    if token.type in _VALUE_TOKENS:
        for name in _INSERTABLE:
            if name in accepts and name != "RBRACE":
                ip.feed_token(_placeholder(name, token))
                return True
    return False


def _skip_unterminated_string(err: UnexpectedCharacters, text: str) -> None:
    """After an unterminated string, go on at the next line, as if the string had been closed."""
    ip = err.interactive_parser
    if ip is None or not text.startswith('"', err.pos_in_stream):
        return
    state = ip.lexer_thread.state
    if state is None:
        return
    end = text.find("\n", err.pos_in_stream)
    end = len(text) if end < 0 else end
    state.line_ctr.feed(text[err.pos_in_stream : end])
    try:
        if "STRING" in ip.accepts():
            ip.feed_token(Token("STRING", '"?"', err.pos_in_stream, err.line, err.column))
    except LarkError:
        pass


def parse_tree(text: str, path: str) -> Tree[Token]:
    """Parse `.mock` text. Raises DslError(s) (never a Lark exception): after a mistake the parser repairs
    what it can (a misspelt keyword, a missing value or `}`) and goes on, so one run reports the first mistake
    of every line that has one, without the noise of the mistakes that follow from it."""
    check_text(text, path)
    found: list[UnexpectedInput] = []
    stuck: list[tuple[tuple[int, ...], int]] = []  # parser stack and end offset after a dropped token

    def recover(err: UnexpectedInput) -> bool:
        steps[0] += 1
        if steps[0] > MAX_RECOVERY_STEPS:
            gave_up.append(err)
            return False
        if isinstance(err, UnexpectedToken) and err.token.type != "$END" and err.interactive_parser:
            stack = tuple(err.interactive_parser.parser_state.state_stack)
            start = err.token.start_pos or 0
            if stuck and stuck[-1][0] == stack and _BLANK.fullmatch(text, stuck[-1][1], start):
                stuck[-1] = (stack, err.token.end_pos or start)  # a consequence of the last mistake
                return True
            _acceptable(err)  # now, before recovery moves the parser on (costly: only for reported mistakes)
            found.append(err)
            stuck.clear()
            if not _repair(err):
                stuck.append((stack, err.token.end_pos or start))
            return len(found) < _MAX_SYNTAX_ERRORS
        if isinstance(err, UnexpectedCharacters):
            stuck.clear()
            try:  # what the parser (not the lexer, which knows every word) could take here
                accepts = err.interactive_parser.accepts() if err.interactive_parser else None
            except LarkError:
                accepts = None
            if accepts:
                _ACCEPTS[err] = set(accepts) - {"$END"}
            _skip_unterminated_string(err, text)
        found.append(err)
        return len(found) < _MAX_SYNTAX_ERRORS

    steps = [0]
    gave_up: list[UnexpectedInput] = []
    try:
        tree = parser().parse(text, on_error=recover)
    except UnexpectedInput as err:
        if not gave_up:
            found.append(err)
        tree = None
    except LarkError as err:  # anything else Lark may raise: still the user's file, still located
        raise DslError(f"cannot parse: {err}", path=path) from None
    if not found:
        assert tree is not None
        check_tree(tree, text, path)
        return tree
    errors: list[DslError] = []
    lines_seen: set[int] = set()
    for mistake in found:
        at_end = isinstance(mistake, UnexpectedEOF) or (
            isinstance(mistake, UnexpectedToken) and mistake.token.type == "$END"
        )
        if errors and at_end:
            continue  # the end of a file that already went wrong is no news
        converted = syntax_error(mistake, text, path)
        if converted.line in lines_seen:
            continue  # skipping ahead inside a broken line makes noise, not news
        lines_seen.add(converted.line)
        errors.append(converted)
    if gave_up:
        line = getattr(gave_up[0], "line", None) or 1
        errors.append(
            DslError.at(
                f"too many mistakes: stopped reading after {MAX_RECOVERY_STEPS} tokens that did not fit",
                text,
                path,
                line,
                getattr(gave_up[0], "column", None) or 1,
                hint="fix the mistakes above (is this a .mock file?) and check again",
            )
        )
    if len(errors) == 1:
        raise errors[0]
    raise DslErrors(errors)
