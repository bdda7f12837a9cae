"""`dotmock import`: dotMock JSON fixtures (the seed's shape) -> `.mock` text.

Accepted, one object or a list of them (or `{"fixtures": [...]}`):

    {"name": "...",                                   optional
     "response": "text", "streaming": {"chunkSize": 15, "latencyMs": 80, "truncateAfterChunks": 3},
     "status": 429, "error": {"message", "type", "code", "param"}, "headers": {"Retry-After": "2"}, "body": {...},
     "events": [{"type": "...", "data": {...}, "delay": 50}], "closeAfter": true, "closeCode": 1000,
     "disconnectAfterMs": 200,
     "method": "POST", "path": "/v1/chat/completions", "model": "...", "contains": "Hello"}   optional match

With no `path`, a text or error fixture answers every HTTP endpoint (`match POST *`) and, for text, every
WebSocket endpoint too (streamed as events); an `events` fixture answers every WebSocket endpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dotmock.dsl.errors import DslError, DslErrors, did_you_mean
from dotmock.dsl.limits import MAX_NESTING, check_text
from dotmock.dsl.model import ScenarioFile
from dotmock.dsl.values import encode_string, format_duration

_KNOWN_KEYS = (
    "name",
    "response",
    "streaming",
    "status",
    "error",
    "headers",
    "body",
    "events",
    "closeAfter",
    "closeCode",
    "disconnectAfterMs",
    "method",
    "path",
    "model",
    "contains",
    "id",
    "description",
)
_STREAMING_KEYS = ("chunkSize", "latencyMs", "truncateAfterChunks")


class _Source:
    """Finds where a key was written, so errors point into the JSON file: within one fixture's span of the
    text once `within` narrowed it, so the third fixture's mistake is not shown on the first one's line."""

    def __init__(self, text: str, path: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self.path = path
        self.start = start
        self.end = len(text) if end is None else end

    def within(self, span: tuple[int, int] | None) -> _Source:
        return _Source(self.text, self.path, *span) if span else self

    def error(self, message: str, key: str | None = None, *, hint: str | None = None) -> DslError:
        line, column = 1, 1
        if key is None and self.start:
            line = self.text.count("\n", 0, self.start) + 1
            column = self.start - (self.text.rfind("\n", 0, self.start) + 1) + 1
        if key is not None:
            m = re.compile(r'"' + re.escape(key) + r'"\s*:').search(self.text, self.start, self.end)
            if m:
                line = self.text.count("\n", 0, m.start()) + 1
                column = m.start() - (self.text.rfind("\n", 0, m.start()) + 1) + 1
        return DslError.at(message, self.text, self.path, line, column, hint=hint)


def _fixtures(data: Any, src: _Source) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("fixtures"), list):
        data = data["fixtures"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise src.error('expected a fixture object, a list of them, or {"fixtures": [...]}')
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise src.error(f"fixture {i + 1} is not an object")
    return data


def _element_spans(text: str) -> list[tuple[int, int]]:
    """Where each fixture object of the file's list starts and ends in the text (empty if not found)."""
    m = re.match(r"\s*\[", text) or re.search(r'"fixtures"\s*:\s*\[', text)
    if not m:
        return []
    decoder = json.JSONDecoder()
    spans: list[tuple[int, int]] = []
    pos = m.end()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return spans
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return spans
        spans.append((pos, end))
        pos = end


def _int(src: _Source, fixture: dict[str, Any], key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise src.error(f"{key} must be a whole number, got {json.dumps(value)}", key)
    return value


def _match_line(fixture: dict[str, Any], src: _Source, websocket: bool) -> str:
    path = fixture.get("path")
    if path is not None and not isinstance(path, str):
        raise src.error("path must be a string", "path")
    method = "websocket" if websocket else str(fixture.get("method", "POST")).upper()
    endpoint = f"{method} {path or '*'}"
    rules = []
    if isinstance(fixture.get("model"), str):
        rules.append(f"model {encode_string(fixture['model'])}")
    if isinstance(fixture.get("contains"), str):
        rules.append(f"message contains {encode_string(fixture['contains'])}")
    return f"match {endpoint}" + (" { " + "  ".join(rules) + " }" if rules else "")


def _text_body(fixture: dict[str, Any], src: _Source) -> list[str]:
    text = fixture["response"]
    if not isinstance(text, str):
        raise src.error("response must be a string (the assistant's text)", "response")
    lines = [f"response {encode_string(text)}"]
    streaming = fixture.get("streaming")
    if streaming is not None:
        if not isinstance(streaming, dict):
            raise src.error("streaming must be an object", "streaming")
        knobs = []
        for key, value in streaming.items():
            if key not in _STREAMING_KEYS:
                raise src.error(f"unknown streaming knob {key!r}", key, hint=did_you_mean(key, _STREAMING_KEYS))
            if value is None:
                continue
            knobs.append(f"{key} {_int(src, fixture, key, value)}")
        if knobs:
            lines.append("streaming { " + "  ".join(knobs) + " }")
    return lines


def _error_body(fixture: dict[str, Any], src: _Source) -> list[str]:
    status = _int(src, fixture, "status", fixture["status"])
    items = []
    error = fixture.get("error")
    if isinstance(error, str):
        error = {"message": error}
    if error is not None and not isinstance(error, dict):
        raise src.error("error must be an object {message, type, code, param} or a message string", "error")
    for key in ("message", "type", "code", "param"):
        if error and error.get(key) is not None:
            items.append(f"{key} {encode_string(str(error[key]))}")
    headers = fixture.get("headers") or {}
    if not isinstance(headers, dict):
        raise src.error("headers must be an object of name: value", "headers")
    for name, value in headers.items():
        items.append(f"header {encode_string(str(name))} {encode_string(str(value))}")
    if "body" in fixture:
        items.append("body " + json.dumps(fixture["body"], ensure_ascii=False))
    if not items:
        return [f"error {status}"]
    return [f"error {status} {{", *[f"  {i}" for i in items], "}"]


def _ws_knobs(fixture: dict[str, Any], src: _Source) -> list[str]:
    lines = []
    close_after = fixture.get("closeAfter")
    if close_after is not None:
        if not isinstance(close_after, bool):
            raise src.error("closeAfter must be true or false", "closeAfter")
        if close_after:
            lines.append("closeAfter")
    if fixture.get("closeCode") is not None:
        lines.append(f"closeCode {_int(src, fixture, 'closeCode', fixture['closeCode'])}")
    if fixture.get("disconnectAfterMs") is not None:
        lines.append(f"disconnectAfterMs {_int(src, fixture, 'disconnectAfterMs', fixture['disconnectAfterMs'])}")
    return lines


def _events_body(fixture: dict[str, Any], src: _Source) -> list[str]:
    events = fixture["events"]
    if not isinstance(events, list):
        raise src.error("events must be a list of {type, data, delay}", "events")
    lines = ["events {"]
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise src.error('each event needs a "type" string', "events")
        line = f"  {encode_string(event['type'])} {json.dumps(event.get('data', {}), ensure_ascii=False)}"
        delay = event.get("delay", event.get("delayMs"))
        if delay is not None:
            if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
                raise src.error("an event's delay is a number of milliseconds", "delay")
            line += f" after {format_duration(delay / 1000)}"
        lines.append(line)
    lines.append("}")
    return lines


def _fixture_blocks(fixture: dict[str, Any], index: int, src: _Source, names: set[str]) -> list[list[str]]:
    for key in fixture:
        if key not in _KNOWN_KEYS:
            raise src.error(f"unknown fixture field {key!r}", key, hint=did_you_mean(key, _KNOWN_KEYS))
    name = str(fixture.get("name") or fixture.get("id") or f"fixture {index + 1}")
    while name in names:
        name += " (2)"
    names.add(name)
    kinds = [k for k in ("response", "status", "events") if k in fixture]
    if not kinds:
        raise src.error(f"fixture {name!r} has no response, status or events")
    if len(kinds) > 1 and not (set(kinds) == {"response", "status"} and fixture.get("status") == 200):
        raise src.error(f"fixture {name!r} has {' and '.join(kinds)}: a fixture has one outcome")
    ws_knobs = _ws_knobs(fixture, src)
    if "events" in fixture:
        body = [_match_line(fixture, src, websocket=True), *_events_body(fixture, src), *ws_knobs]
        return [[f"fixture {encode_string(name)} {{", *[f"  {b}" for b in body], "}"]]
    if "status" in fixture and fixture.get("status") != 200:
        body = [_match_line(fixture, src, websocket=False), *_error_body(fixture, src)]
        return [[f"fixture {encode_string(name)} {{", *[f"  {b}" for b in body], "}"]]
    text = _text_body(fixture, src)
    blocks = []
    path = fixture.get("path")
    if not ws_knobs and (path is None or not str(path).startswith("/v1/chat") or path == "/v1/chat/completions"):
        http = [_match_line(fixture, src, websocket=False), *text]
        blocks.append([f"fixture {encode_string(name)} {{", *[f"  {b}" for b in http], "}"])
    if path is None or ws_knobs:
        ws_name = f"{name} (websocket)" if blocks else name
        names.add(ws_name)
        ws = [_match_line(fixture, src, websocket=True), *text, *ws_knobs]
        blocks.append([f"fixture {encode_string(ws_name)} {{", *[f"  {b}" for b in ws], "}"])
    return blocks


def _check_blocks(blocks: list[list[str]], index: int, src: _Source) -> None:
    """Validate one fixture's `.mock` form on its own (knob ranges, close codes ...), so its mistake is
    reported at the fixture in the JSON, beside the other fixtures' mistakes."""
    from dotmock.dsl.loader import load_text

    mock = "\n".join(['scenario "import check"', *(line for block in blocks for line in block)]) + "\n"
    try:
        load_text(mock, src.path)
    except DslError as err:
        raise src.error(f"fixture {index + 1}: {err.message}", hint=err.hint) from None


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON value")


def _finite_float(raw: str) -> float:
    value = float(raw)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {raw[:40]} is out of range")
    return value


def json_to_mock(text: str, path: str = "<json>") -> str:
    """dotMock JSON fixtures -> `.mock` text that `dotmock check` accepts. Raises DslError."""
    src = _Source(text, path)
    check_text(text, path)
    try:
        data = json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
    except json.JSONDecodeError as err:
        raise DslError.at(f"invalid JSON: {err.msg}", text, path, err.lineno, err.colno) from None
    except RecursionError:
        raise DslError(
            f"invalid JSON: nested deeper than {MAX_NESTING} levels", path=path, hint="flatten the JSON"
        ) from None
    except ValueError as err:  # NaN, Infinity, 1e999, an int of over 4,300 digits
        raise DslError(f"invalid JSON: {err}", path=path, hint="a JSON number must be finite") from None
    fixtures = _fixtures(data, src)
    names: set[str] = set()
    out = [f"# Imported from {Path(path).name} by `dotmock import`.", f"scenario {encode_string(Path(path).stem)}"]
    errors: list[DslError] = []
    spans = _element_spans(text)
    for index, fixture in enumerate(fixtures):
        try:
            span = spans[index] if len(spans) == len(fixtures) else None
            blocks = _fixture_blocks(fixture, index, src.within(span), names)
            _check_blocks(blocks, index, src.within(span))
        except DslError as err:  # one problem per fixture, but every fixture is looked at
            errors.append(err)
            continue
        for block in blocks:
            out.append("")
            out.extend(block)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DslErrors(errors)
    from dotmock.dsl.fmt import format_text

    return format_text("\n".join(out) + "\n", path)


def scenario_file_from_json(text: str, path: str) -> ScenarioFile:
    """Load a dotMock JSON fixture file as a scenario (what `dotmock serve file.json` serves)."""
    from dotmock.dsl.loader import load_text

    mock = json_to_mock(text, path)
    try:
        return load_text(mock, path)
    except DslError as err:  # the JSON was readable but describes something invalid (e.g. closeCode 1005)
        raise DslError(f"{err.message} (in the fixtures of this JSON file)", path=path, hint=err.hint) from None
