"""`dotmock record`'s output: recorded exchanges -> `.mock` text (pure: the proxy in `server.record_proxy`
captures them, this module only writes text).

One fixture per exchange, in the order they happened:
- the match: the endpoint, the request's `model`, the last user message (`message contains`, or `matches
  "^...$"` when another recorded message contains it), or the tool results it carries (`json` rules on the last
  message); requests equal in all of that but different in length get the number of messages pinned; the
  repeats of one identical request (a retry) get `attempt 1`, `attempt 2` ... and the last one `attempt N..`;
- the answer: a streamed text as `cadence { }` (the chunks as they arrived and the gaps between them), a JSON
  text as `response`, an error as `error STATUS { header ... body {...} }`, WebSocket frames as `events { }`
  with their delays and the way the connection ended (closeAfter / closeCode, 1006 for a drop).

`merge(existing, recorded)` puts the fixtures between two marker comments, keeping everything else of the
file (the user's own fixtures, client and expectations) as it was.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dotmock.dsl.catalogue import APIS_BY_NAME, path_pattern
from dotmock.dsl.values import encode_string

BEGIN = "# >>> dotmock record: the fixtures down to the end mark are rewritten by each recording; edit outside them"
END = "# <<< dotmock record: end of recorded fixtures"
REDACTED = "***"

# Request headers whose values are credentials: forwarded upstream, never written (nor any header on this
# list or the user's `--redact` list, in either direction). Values of these seen in a request are also
# scrubbed from anything written (an upstream that echoes a key in an error message).
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "set-cookie"}
)
# Response headers that describe the transport or this one response, not the answer: not written.
TRANSPORT_HEADERS = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "date",
        "keep-alive",
        "server",
        "transfer-encoding",
        "vary",
        "x-request-id",
        "request-id",
        "cache-control",
        "x-accel-buffering",
    }
)


# The headers of a successful answer worth keeping (`header` lines of a text fixture): its rate limits.
RATE_LIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")


_GEMINI_PATHS = tuple(path_pattern(p) for p in APIS_BY_NAME["gemini"].paths)


def is_gemini(path: str) -> bool:
    """A Gemini path (`/v1beta/models/{model}:generateContent` ...): the model is in the path, the messages
    are `contents` with `parts`, a call has no id unless the model gives one."""
    return any(p.fullmatch(path) for p in _GEMINI_PATHS)


@dataclass(frozen=True, slots=True)
class RecordedChunk:
    text: str
    gap_s: float  # since the previous chunk; the first: since the request reached the proxy


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """A tool call of a recorded answer: its id, the tool's name and the arguments' text as sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class RecordedError:
    """An error event that ended a recorded stream (after its chunks)."""

    message: str | None
    type: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class RecordedHttp:
    """One HTTP exchange. `chunks` for a stream (`stream` True); `text` for a JSON answer; `error_body` (JSON
    or text) for a status >= 400. `unreadable`: why the answer cannot be written as a fixture (e.g. tool calls)."""

    path: str
    body: Any
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    stream: bool = False
    text: str = ""
    chunks: tuple[RecordedChunk, ...] = ()
    end_gap_s: float = 0.0
    completed: bool = True  # the stream ended with its terminator
    finish_reason: str = "stop"
    dialect: Literal["openai", "seed"] | None = None
    error_body: Any = None
    elapsed_s: float = 0.0
    unreadable: str | None = None
    first_byte_s: float = 0.0  # a JSON answer: from the request going upstream to its status and headers
    tool_calls: tuple[RecordedCall, ...] = ()  # a stream's: their arguments are the chunks after the text's
    refusal: bool = False  # the text is a refusal
    error_event: RecordedError | None = None  # the error event that ended a stream
    reasoning: str = ""  # a reasoning summary / thinking block / thought: a stream's first chunks spell it
    lost: tuple[str, ...] = ()  # what the answer had that no fixture can say (written as comments)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    type: str
    data: Any
    delay_s: float  # since the previous event; the first: since the client's message
    binary: bytes | None = None  # a binary frame's bytes (type "", data None)


@dataclass(frozen=True, slots=True)
class RecordedWs:
    """One client message on a WebSocket and the frames that answered it until the next message or the end.
    `end`: None (the connection stayed open), a close code, or "drop" (no close frame)."""

    path: str
    request: Any
    events: tuple[RecordedEvent, ...] = ()
    end: int | Literal["drop"] | None = None
    unreadable: str | None = None
    first_on_connection: bool = True  # the first request message of its connection
    since_open_s: float = 0.0  # from the connection's opening to the end of this exchange
    end_gap_s: float = 0.0  # from the last frame (or the message) to the end of this exchange


# A drop this close after the last event is `closeCode 1006` (drop once every event is sent); a later one, on a
# connection's first exchange, is `disconnectAfterMs` at the recorded moment.
DROP_AT_ONCE_S = 0.1


Recorded = RecordedHttp | RecordedWs


@dataclass
class _Fixture:
    name: str
    protocol: Literal["http", "websocket"]
    path: str
    body: Any
    rules: list[str] = field(default_factory=list)
    text_rule: tuple[str, str] | None = None  # (kind, value)
    body_lines: list[str] = field(default_factory=list)
    note: str | None = None
    lost: list[str] = field(default_factory=list)  # `# lost in replay: ...` comments

    def criteria(self) -> str:
        return repr((self.protocol, self.path, self.rules, self.text_rule))


def _ms(seconds: float) -> str:
    return f"{max(0, round(seconds * 1000))}ms"


def _after(seconds: float) -> str:
    return f" after {_ms(seconds)}" if round(seconds * 1000) > 0 else ""


def _messages_key(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("messages", "input", "contents"):
        if isinstance(body.get(key), list):
            return key
    return None


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(texts) if texts else None
    return None


def _last_user_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("input"), str):
        return str(body["input"])
    key = _messages_key(body)
    if key is None:
        return None
    for message in reversed(body[key]):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            text = _text_of(message.get("content", message.get("parts")))
            if text is not None:
                return text
    return None


def _tool_result_rules(body: Any) -> list[str]:
    """`json` rules on the tool results the request ends with (chat `tool` messages, Responses
    `function_call_output` items, Anthropic `tool_result` blocks)."""
    key = _messages_key(body)
    if key is None:
        return []
    items = body[key]
    last = items[-1] if items else None
    n = len(items) - 1
    if not isinstance(last, dict):
        return []
    if last.get("role") == "tool" and isinstance(last.get("tool_call_id"), str):
        return [f"json {encode_string(f'{key}.{n}.tool_call_id')} == {encode_string(last['tool_call_id'])}"]
    if last.get("type") == "function_call_output" and isinstance(last.get("call_id"), str):
        return [f"json {encode_string(f'{key}.{n}.call_id')} == {encode_string(last['call_id'])}"]
    for i, part in enumerate(last.get("parts") or []):  # Gemini: the results name their tool, not a call id
        response = part.get("functionResponse") if isinstance(part, dict) else None
        if isinstance(response, dict) and isinstance(response.get("name"), str):
            field_path = encode_string(f"{key}.{n}.parts.{i}.functionResponse.name")
            return [f"json {field_path} == {encode_string(response['name'])}"]
    content = last.get("content")
    if isinstance(content, list):
        for i, block in enumerate(content):
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_result"
                and isinstance(block.get("tool_use_id"), str)
            ):
                field_path = encode_string(f"{key}.{n}.content.{i}.tool_use_id")
                return [f"json {field_path} == {encode_string(block['tool_use_id'])}"]
    return []


def _header_lines(headers: Iterable[tuple[str, str]], redact: frozenset[str]) -> list[str]:
    lines = []
    for name, value in headers:
        low = name.lower()
        if low in TRANSPORT_HEADERS or low in SECRET_HEADERS or low in redact:
            continue
        if "\n" in value or "\r" in value or not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
            continue
        lines.append(f"header {encode_string(low)} {encode_string(value)}")
    return lines


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _http_fixture(index: int, ex: RecordedHttp, redact: frozenset[str]) -> _Fixture:
    api = ex.path.rsplit("/", 1)[-1]
    form = "stream" if ex.stream else "json"
    fixture = _Fixture(f"recorded {index}: {api} {form} {ex.status}", "http", ex.path, ex.body)
    took = f"answered in {_ms(ex.elapsed_s)} upstream"
    if ex.status >= 400:
        items = _header_lines(ex.headers, redact)
        if ex.error_body is not None:
            items.append(f"body {_json_text(ex.error_body)}")
        fixture.body_lines = [f"error {ex.status}" + (" {" if items else ""), *[f"  {i}" for i in items]]
        if items:
            fixture.body_lines.append("}")
        if round(ex.first_byte_s * 1000) > 0:  # a slow 429 / 500 stays slow
            fixture.body_lines.append(f"latency {_ms(ex.first_byte_s)}")
        fixture.note = took
        return fixture
    lines: list[str] = []
    head = ex.text
    if ex.stream:
        lines.append("cadence {")
        lines += [f"  {encode_string(c.text)}{_after(c.gap_s)}" for c in ex.chunks]
        if ex.completed and round(ex.end_gap_s * 1000) > 0:
            lines.append(f"  end after {_ms(ex.end_gap_s)}")
        lines.append("}")
        head = "".join(c.text for c in ex.chunks)[len(ex.reasoning) :][: -len(_calls_text(ex.tool_calls)) or None]
        if ex.error_event is not None:
            lines.append(_error_event_line(ex.error_event, len(ex.chunks)))
            took = "an error event ended the stream; " + took
        elif not ex.completed:
            lines.append(f"streaming {{ truncateAfterChunks {len(ex.chunks)} }}")
            took = "the stream ended without its terminator; " + took
        first = ex.chunks[0].gap_s if ex.chunks else 0.0
        took = f"{len(ex.chunks)} chunks, first after {_ms(first)}; {took}"
        if ex.refusal:
            lines.append(f"refusal {encode_string(head)}")
    else:
        if ex.refusal:
            lines.append(f"refusal {encode_string(ex.text)}")
        elif ex.text or not ex.tool_calls:
            lines.append(f"response {encode_string(ex.text)}")
        if round(ex.first_byte_s * 1000) > 0:  # replayed after the same wait
            lines.append(f"latency {_ms(ex.first_byte_s)}")
    if ex.reasoning:
        lines.append(f"reasoning {encode_string(ex.reasoning)}")
    lines += [_tool_call_line(call) for call in ex.tool_calls]
    default_finish = {"tool_calls"} if ex.tool_calls else {"stop", "end_turn"}
    if ex.tool_calls and is_gemini(ex.path):
        default_finish.add("stop")  # Gemini's calls end with STOP
    if ex.refusal:
        default_finish |= {"content_filter", "stop"}
    if ex.finish_reason not in default_finish and ex.error_event is None:
        lines.append(f"finishReason {encode_string(ex.finish_reason)}")
    if ex.dialect == "seed":
        lines.append("dialect seed")
    limits = [(n, v) for n, v in ex.headers if n.lower().startswith(RATE_LIMIT_PREFIXES)]
    lines += _header_lines(limits, redact)
    fixture.body_lines = lines
    fixture.note = took
    fixture.lost = list(ex.lost)
    return fixture


def _calls_text(calls: Sequence[RecordedCall]) -> str:
    return "".join(c.arguments for c in calls)


def _tool_call_line(call: RecordedCall) -> str:
    """`toolCall "name" id "..." {...}`: the arguments as a JSON object when that writes them back to the very
    same text, else `raw` (a stream's chunks must spell them exactly)."""
    try:
        value = json.loads(call.arguments)
    except ValueError:
        value = None
    same = isinstance(value, dict) and json.dumps(value, ensure_ascii=False) == call.arguments
    arguments = _json_text(value) if same else f"raw {encode_string(call.arguments)}"
    given = f" id {encode_string(call.id)}" if call.id else ""  # Gemini's calls have none
    return f"toolCall {encode_string(call.name)}{given} {arguments}"


def _error_event_line(error: RecordedError, after: int) -> str:
    fields = [(k, v) for k, v in (("message", error.message), ("type", error.type), ("code", error.code)) if v]
    block = " { " + " ".join(f"{k} {encode_string(v)}" for k, v in fields) + " }" if fields else ""
    return f"fault errorEvent after {after} chunk{'s' if after != 1 else ''}{block}"


def _ws_fixture(index: int, ex: RecordedWs) -> _Fixture:
    fixture = _Fixture(f"recorded {index}: websocket {ex.path}", "websocket", ex.path, ex.request)
    lines = ["events {"]
    lines += [
        f"  binary {encode_string(base64.b64encode(e.binary).decode())}{_after(e.delay_s)}"
        if e.binary is not None
        else f"  {encode_string(e.type)} {_json_text(e.data)}{_after(e.delay_s)}"
        for e in ex.events
    ]
    lines.append("}")
    if ex.end == "drop":
        if ex.first_on_connection and ex.end_gap_s > DROP_AT_ONCE_S:
            lines.append(f"disconnectAfterMs {max(0, round(ex.since_open_s * 1000))}")
        else:
            lines.append("closeCode 1006")
    elif ex.end is not None:
        lines.append("closeAfter")
        if ex.end != 1000:
            lines.append(f"closeCode {ex.end}")
    fixture.body_lines = lines
    dropped = f", then the connection dropped (no close frame) {_ms(ex.end_gap_s)} later" if ex.end == "drop" else ""
    fixture.note = f"{len(ex.events)} events{dropped}"
    return fixture


def _identify(fixtures: list[_Fixture]) -> None:
    """Give each fixture the match rules that tell its request from the others' (see the module's doc)."""
    for f in fixtures:
        if isinstance(f.body, dict) and isinstance(f.body.get("model"), str):
            f.rules.append(f"model {encode_string(f.body['model'])}")
        tools = _tool_result_rules(f.body)
        text = _last_user_text(f.body)
        if tools:
            f.rules += tools
        elif text is not None:
            f.text_rule = ("contains", text)
    # A message another recorded message contains would answer that one too: match it exactly instead.
    texts = [(f.protocol, f.path, f.text_rule[1]) for f in fixtures if f.text_rule]
    for f in fixtures:
        if f.text_rule and any(
            p == f.protocol and q == f.path and t != f.text_rule[1] and f.text_rule[1] in t for p, q, t in texts
        ):
            f.text_rule = ("matches", "^" + re.escape(f.text_rule[1]) + "$")
    # Different requests that still look the same: pin their number of messages.
    groups: dict[str, list[_Fixture]] = {}
    for f in fixtures:
        groups.setdefault(f.criteria(), []).append(f)
    pinned: list[_Fixture] = []
    for group in groups.values():
        if len({_canonical(f.body) for f in group}) < 2:
            continue
        streams = {_streamed(f) for f in group}
        if len(streams) > 1:  # the same question asked streamed and not
            for f in group:
                f.rules.append('json "stream" == true' if _streamed(f) else 'json "stream" != true')
        for same_form in ([f for f in group if _streamed(f) == s] for s in streams):
            if len({_canonical(f.body) for f in same_form}) < 2:
                continue
            pinned += same_form
    # A question whose later turns (its tool results, matched by other rules) still end with the same user
    # message: pin its number of messages, or it would answer them too.
    for f in fixtures:
        if f.text_rule is None or f in pinned:
            continue
        if any(g is not f and _same_place(f, g) and _longer_turn_of(f, g) for g in fixtures):
            pinned.append(f)
    for f in pinned:
        key = _messages_key(f.body)
        if key is not None:
            n = len(f.body[key])
            f.rules.append(f"json {encode_string(f'{key}.{n - 1}')} present")
            f.rules.append(f"json {encode_string(f'{key}.{n}')} absent")
    # The repeats of one identical request are its attempts.
    seen: Counter[str] = Counter()
    total = Counter(_call(f) for f in fixtures)
    for f in fixtures:
        call = _call(f)
        seen[call] += 1
        if total[call] > 1:
            n = seen[call]
            f.rules.append(f"attempt {n}.." if n == total[call] else f"attempt {n}")


def _same_place(f: _Fixture, g: _Fixture) -> bool:
    return (f.protocol, f.path) == (g.protocol, g.path)


def _longer_turn_of(f: _Fixture, g: _Fixture) -> bool:
    """Whether `g`'s request has more messages than `f`'s and its last user message would meet `f`'s rule."""
    key_f, key_g = _messages_key(f.body), _messages_key(g.body)
    if f.text_rule is None or key_f is None or key_g is None or len(g.body[key_g]) <= len(f.body[key_f]):
        return False
    text = _last_user_text(g.body)
    kind, value = f.text_rule
    return text is not None and (value in text if kind == "contains" else re.search(value, text) is not None)


def _streamed(f: _Fixture) -> bool:
    return isinstance(f.body, dict) and f.body.get("stream") is True


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)


def _call(f: _Fixture) -> str:
    return f"{f.protocol}:{f.path}:{_canonical(f.body)}"


def _match_line(f: _Fixture) -> str:
    endpoint = f"POST {f.path}" if f.protocol == "http" else f"websocket {f.path}"
    rules = list(f.rules)
    if f.text_rule:
        rules.insert(
            1 if rules and rules[0].startswith("model ") else 0,
            f"message {f.text_rule[0]} {encode_string(f.text_rule[1])}",
        )
    return f"match {endpoint}" + (" { " + " ".join(rules) + " }" if rules else "")


def fixtures_text(recorded: Sequence[Recorded], *, redact: Iterable[str] = (), secrets: Iterable[str] = ()) -> str:
    """The `.mock` fixtures of `recorded` (no scenario line), with every value of `secrets` scrubbed."""
    skipped, blocks = recorded_blocks(recorded, redact=redact, secrets=secrets)
    return join_blocks(skipped, blocks)


def join_blocks(comments: Sequence[str], blocks: Sequence[str]) -> str:
    """Comment lines (one a line) then fixture blocks (a blank line between them): a recording's text."""
    if not comments:
        return "\n\n".join(blocks)
    return "\n".join(comments) + ("\n\n" + "\n\n".join(blocks) if blocks else "")


def recorded_blocks(
    recorded: Sequence[Recorded], *, redact: Iterable[str] = (), secrets: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """The `# not recorded` comment lines and the fixture blocks (each its comments and its fixture) of
    `recorded`, in order, every value of `secrets` scrubbed."""
    names = frozenset(n.lower() for n in redact)
    secrets = tuple(secrets)
    fixtures: list[_Fixture] = []
    skipped: list[str] = []
    for i, ex in enumerate(recorded, 1):
        if ex.unreadable is not None:
            where = f"POST {ex.path}" if isinstance(ex, RecordedHttp) else f"websocket {ex.path}"
            skipped.append(scrub(f"# not recorded: exchange {i} ({where}): {ex.unreadable}", secrets))
            continue
        fixtures.append(_http_fixture(i, ex, names) if isinstance(ex, RecordedHttp) else _ws_fixture(i, ex))
    _identify(fixtures)
    blocks = []
    for f in fixtures:
        lines = [f"# {f.note}"] if f.note else []
        lines += [f"# lost in replay: {what}" for what in f.lost]
        lines.append(f"fixture {encode_string(f.name)} {{")
        lines.append(f"  {_match_line(f)}")
        lines += [f"  {line}" for line in f.body_lines]
        lines.append("}")
        blocks.append(scrub("\n".join(lines), secrets))
    return skipped, blocks


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (and its `Bearer`-less form) replaced by `***`."""
    values: set[str] = set()
    for secret in secrets:
        secret = secret.strip()
        if not secret:
            continue
        values.add(secret)
        scheme, _, rest = secret.partition(" ")
        if rest.strip() and scheme.lower() in ("bearer", "basic", "token"):
            values.add(rest.strip())
        for part in secret.split(";"):  # cookies: each value
            _, _, value = part.partition("=")
            if len(value.strip()) >= 8:
                values.add(value.strip())
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, REDACTED)
            text = text.replace(encode_string(value)[1:-1], REDACTED)
    return text


def merge(existing: str | None, recorded: str, *, header: str) -> str:
    """The file's text with `recorded` between the markers: the old recorded part replaced, everything else
    kept; a file without markers gets them at its end; no file: `header` then the markers."""
    section = f"{BEGIN}\n\n{recorded.strip()}\n\n{END}\n" if recorded.strip() else f"{BEGIN}\n{END}\n"
    if existing is None or not existing.strip():
        return f"{header.rstrip()}\n\n{section}"
    start = existing.find(BEGIN)
    end = existing.find(END, start + 1) if start >= 0 else -1
    if start >= 0 and end >= 0:
        after = existing[end + len(END) :]
        after = after[1:] if after.startswith("\n") else after
        return existing[:start] + section + after
    return existing.rstrip("\n") + "\n\n" + section
