"""JSON from clients, read the way the real APIs read it, and JSON the server and the runner write.

`load_client_json` accepts only what RFC 8259 allows and what a record can hold: no `NaN`, `Infinity`
or `-Infinity` (Python's `json` accepts them, the providers answer 400), no number too large for a
double (`1e999` would become `inf`), no nesting deeper than `MAX_DEPTH`, no unpaired surrogate escape
(`"\\ud800"` is valid JSON but not text). A refused document raises `ClientJsonError` with a detail
worded for the client; HTTP answers it with 400, WebSocket with an `invalid_json` error event.

`dumps_json` writes data that may hold a stray non-finite float (a journal or report built from
elsewhere) as valid JSON all the same: such a float becomes the string `"NaN"`, `"Infinity"` or
`"-Infinity"` instead of the bare word no JSON reader accepts.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # deeper than any real request; the journal and the runner copy bodies recursively

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class ClientJsonError(ValueError):
    """A client's JSON document the server refuses; `detail` says why, for the error answer."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _no_constant(name: str) -> Any:
    raise ClientJsonError(f"{name} is not a JSON value (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ClientJsonError(f"the number {text[:40]} is out of range (numbers must be finite)")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def load_client_json(data: bytes | str) -> Any:
    """Parse a client's JSON document (bytes: UTF-8, or UTF-16/32 as `json.loads` detects them); raise
    `ClientJsonError` for anything the real APIs would refuse or a record could not hold."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode(json.detect_encoding(data))
        except UnicodeDecodeError as err:
            raise ClientJsonError(f"the text is not {err.encoding} (byte {err.start})") from None
    else:
        text = data
    try:
        value = _DECODER.decode(text)
    except ClientJsonError:
        raise
    except RecursionError:
        raise ClientJsonError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:
        raise ClientJsonError(str(err) or "not JSON") from None
    if _too_deep(value):
        raise ClientJsonError(f"nested deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise ClientJsonError("a string contains an unpaired surrogate escape")
    return value


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _is_lone(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _is_lone(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by its name as a string (a copy where needed)."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps_json(value: Any, **options: Any) -> str:
    """`json.dumps(value, **options)`, always valid JSON (see the module's docstring)."""
    options.setdefault("default", str)
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        return json.dumps(finite(value), allow_nan=False, **options)
