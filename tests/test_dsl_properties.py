"""Property tests: whatever the text, the language answers with a model or a `DslError`, never a crash; and
every generated valid scenario survives `dotmock fmt` unchanged in meaning."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotmock.dsl import DslError, load_text
from dotmock.dsl.fmt import format_text

ROOT = Path(__file__).resolve().parent.parent
OK = ROOT / "tests" / "golden" / "ok"
VALID = [p.read_text(encoding="utf-8") for p in sorted(OK.glob("*.mock"))]
BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_LEAKS = re.compile(r"__ANON|Traceback|Unexpected(Token|Characters|EOF|Input)|LarkError|VisitError|\$END")
_TOKEN = re.compile(r'"""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"|\S+')
_PIECES = [
    "{",
    "}",
    "[",
    "]",
    '"',
    '"""',
    "..",
    "|",
    ",",
    ":",
    "#",
    "\\",
    "${",
    "${x}",
    "\n",
    " ",
    "0",
    "1",
    "-1",
    "80ms",
    "2s",
    "1.5",
    "1e9",
    "99999999999999999999",
    "*",
    "==",
    ">=",
    "fixture",
    "match",
    "POST",
    "websocket",
    "/v1/chat",
    "response",
    "streaming",
    "chunkSize",
    "fault",
    "after",
    "chunks",
    "expect",
    "client",
    "params",
    "include",
    "events",
    "closeCode",
    "error",
    "attempt",
    "\t",
    "\r",
    "\x00",
    "é",
    "\u2028",
]


def _survives(text: str) -> None:
    """Loading and formatting either succeed or raise DslError whose rendering names the place."""
    for call in (load_text, format_text):
        try:
            call(text, "t.mock")
        except DslError as err:
            for one in getattr(err, "errors", [err]):
                assert one.path in ("t.mock", "<scenario>"), one.render()
                said = " ".join([one.message, one.hint or "", *one.expected])
                assert not _LEAKS.search(said), one.render()


@BOUNDED
@given(st.text(alphabet=st.sampled_from(list('{}[]"#\\|,:.*=<>$ \n\tabcxyz019_-/')), max_size=80))
def test_random_text(text: str) -> None:
    _survives(text)


@BOUNDED
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map(" ".join))
def test_random_token_soup(text: str) -> None:
    _survives(text)


def _mutate_chars(data: st.DataObject, text: str) -> str:
    for _ in range(data.draw(st.integers(1, 4))):
        if not text:
            break
        i = data.draw(st.integers(0, len(text) - 1))
        op = data.draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + data.draw(st.sampled_from(_PIECES)) + text[i:]
        elif op == "duplicate":
            j = data.draw(st.integers(i, min(len(text), i + 20)))
            text = text[:j] + text[i:j] + text[j:]
        elif i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def _mutate_tokens(data: st.DataObject, text: str) -> str:
    tokens = _TOKEN.findall(text)
    for _ in range(data.draw(st.integers(1, 3))):
        if not tokens:
            break
        i = data.draw(st.integers(0, len(tokens) - 1))
        j = data.draw(st.integers(0, len(tokens) - 1))
        op = data.draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "replace"]))
        if op == "delete":
            del tokens[i]
        elif op == "insert":
            tokens.insert(i, data.draw(st.sampled_from(_PIECES)))
        elif op == "duplicate":
            tokens.insert(i, tokens[j])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens[i] = tokens[j]
    return " ".join(tokens)


@BOUNDED
@given(st.data())
def test_character_mutations_of_valid_files(data: st.DataObject) -> None:
    _survives(_mutate_chars(data, data.draw(st.sampled_from(VALID))))


@BOUNDED
@given(st.data())
def test_token_mutations_of_valid_files(data: st.DataObject) -> None:
    _survives(_mutate_tokens(data, data.draw(st.sampled_from(VALID))))


# ------------------------------------------------------------------------------------------ valid scenarios

_words = st.text(alphabet=st.sampled_from("abcdefghij klmnop-_.!?,'é"), min_size=1, max_size=12)


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_strings = _words.map(_string)
_durations = st.sampled_from(["50ms", "80ms", "1s", "2s", "1.5s", "1m", "250ms"])
_json = st.recursive(
    st.one_of(st.integers(-5, 500).map(str), _strings, st.sampled_from(["true", "false", "null", "1.5"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(_strings, inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in dict(kv).items()) + "}"
        ),
    ),
    max_leaves=6,
)


@st.composite
def _match_rules(draw: st.DrawFn) -> list[str]:
    rules = []
    if draw(st.booleans()):
        rules.append(f"model {draw(_strings)}")
    if draw(st.booleans()):
        op = draw(st.sampled_from(["contains", "matches"]))
        rules.append(f"message {op} {_string(draw(st.sampled_from(['hi', 'a+b', 'x'])))}")
    if draw(st.booleans()):
        rules.append('header "X-Tenant" ' + draw(st.sampled_from(['== "acme"', 'contains "ac"', "present"])))
    if draw(st.booleans()):
        rules.append(f'json "a.b" {draw(st.sampled_from(["== ", "!= ", "contains "]))}{draw(_json)}')
    return rules


@st.composite
def _http_fixture(draw: st.DrawFn, index: int) -> str:
    rules = draw(_match_rules())
    rules.append(f"attempt {index + 1}")  # distinct attempts keep fixtures from shadowing one another
    sep = draw(st.sampled_from(["  ", "\n    "]))
    path = draw(st.sampled_from(["/v1/chat/completions", "/v1/responses", "*"]))
    lines = [f"match POST {path} {{ " + sep.join(rules) + " }"]
    kind = draw(st.sampled_from(["text", "error"]))
    if kind == "text":
        lines.append(f"response {draw(_strings)}")
        knobs = [
            k
            for k, on in (
                (f"chunkSize {draw(st.integers(1, 50))}", draw(st.booleans())),
                (f"latencyMs {draw(st.sampled_from(['0', '80', '120ms']))}", draw(st.booleans())),
                (f"truncateAfterChunks {draw(st.integers(0, 9))}", draw(st.booleans())),
            )
            if on
        ]
        if knobs or draw(st.booleans()):
            lines.append("streaming { " + "  ".join(knobs) + " }")
        fault = draw(
            st.sampled_from(
                [
                    None,
                    "fault disconnect after 3 chunks",
                    "fault disconnect after 200ms",
                    "fault stall after 2 chunks for 5s",
                    'fault malformedChunk after 1 chunk "{x"',
                    "fault slowFirstToken 2s",
                    'fault errorEvent after 2 chunks { message "overloaded" }',
                ]
            )
        )
        if fault:
            lines.append(fault)
        if draw(st.booleans()):
            lines.append("finishReason " + draw(st.sampled_from(['"stop"', '"length"'])))
        if draw(st.booleans()):
            lines.append(f"dialect {draw(st.sampled_from(['openai', 'seed']))}")
    else:
        status = draw(st.sampled_from([429, 500, 503, 400]))
        items = []
        if draw(st.booleans()):
            items.append(f"message {draw(_strings)}")
        if draw(st.booleans()):
            items.append(f'header "Retry-After" "{draw(st.integers(0, 9))}"')
        if draw(st.booleans()):
            items.append(f"body {draw(_json)}")
        lines.append(f"error {status}" + (" { " + "  ".join(items) + " }" if items else ""))
    comment = draw(st.sampled_from(["", "  # note"]))
    return f"fixture {_string(f'f{index}')} {{{comment}\n  " + "\n  ".join(lines) + "\n}"


@st.composite
def _ws_fixture(draw: st.DrawFn) -> str:
    events = draw(st.lists(st.tuples(_strings, _json, st.one_of(st.none(), _durations)), min_size=1, max_size=3))
    body = "\n".join(f"    {t} {d}" + (f" after {a}" if a else "") for t, d, a in events)
    knobs = []
    if draw(st.booleans()):
        knobs.append("closeAfter" + draw(st.sampled_from(["", " true", " false"])))
    if draw(st.booleans()):
        knobs.append(f"closeCode {draw(st.sampled_from([1000, 1006, 1011, 4000]))}")
    if draw(st.booleans()):
        knobs.append(f"disconnectAfterMs {draw(st.sampled_from(['200', '2s']))}")
    return (
        'fixture "socket" {\n  match websocket /v1/chat\n  events {\n'
        + body
        + "\n  }\n"
        + "".join(f"  {k}\n" for k in knobs)
        + "}"
    )


@st.composite
def valid_scenarios(draw: st.DrawFn) -> str:
    parts = [f"scenario {draw(_strings)}"]
    if draw(st.booleans()):
        parts.append(f"tags {', '.join(draw(st.lists(st.sampled_from(['retry', 'stream', 'ws']), min_size=1)))}")
    if draw(st.booleans()):
        parts.append(f"# {draw(_words)}")
    has_client = draw(st.booleans())
    if has_client:
        block = f" {{\n  timeout {draw(_durations)}\n  env KEY {draw(_strings)}\n}}" if draw(st.booleans()) else ""
        parts.append(f'client "python client.py"{block}')
    for i in range(draw(st.integers(0, 3))):
        parts.append(draw(_http_fixture(i)))
    if draw(st.booleans()):
        parts.append(draw(_ws_fixture()))
    if has_client:
        expectations = draw(
            st.lists(
                st.sampled_from(
                    [
                        "client exits 0",
                        "client exits nonzero",
                        'client stdout contains "ok"',
                        'client stderr not matches "E+"',
                        "client finishes within 5s",
                        "requests POST /v1/chat/completions == 2",
                        "requests POST * >= 1",
                        'request 1 POST /v1/chat/completions json "stream" == true',
                        "wait between attempts >= retry-after",
                        "ws messages >= 1",
                        "ws reconnects /v1/chat >= 1",
                        "ws close code == 1000",
                        "no finding gave_up",
                        "finding no_backoff",
                    ]
                ),
                max_size=5,
            )
        )
        parts.append("expect {\n" + "".join(f"  {e}\n" for e in expectations) + "}")
    joiner = draw(st.sampled_from(["\n", "\n\n", "\n\n\n"]))
    return joiner.join(parts) + "\n"


@BOUNDED
@given(valid_scenarios())
def test_generated_scenarios_load_and_round_trip(text: str) -> None:
    loaded = load_text(text, "g.mock")
    formatted = format_text(text, "g.mock")
    assert load_text(formatted, "g.mock") == loaded
    assert format_text(formatted, "g.mock") == formatted


@BOUNDED
@given(st.data())
def test_generated_scenarios_survive_mutations(data: st.DataObject) -> None:
    text = data.draw(valid_scenarios())
    _survives(_mutate_chars(data, text))
    _survives(_mutate_tokens(data, text))
