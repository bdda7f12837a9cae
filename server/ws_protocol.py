"""The WebSocket message formats: what a client may send, and the JSON text frames the server answers with.

Two client forms are understood on both `/v1/chat` and `/v1/responses`:

- envelope (the seed's): `{"type": "message", "data": {...request...}}`; answers are envelopes too,
  `{"type": <event type>, "data": <event>}`.
- `response.create` (the openai SDK's `client.responses.connect()`): `{"type": "response.create", "model": ...,
  "input": ...}`; the request is the message without its `type`, and answers are bare events
  `{"type": <event type>, ...fields}` as the Responses stream sends them.

The Realtime route (`server.realtime_ws`) reads client events of its own and answers in the `realtime` form:
bare events, and errors as `{"type": "error", "event_id", "error": {"type", "code", "message", "param",
"event_id"}}`.

Errors (bad frames, no fixture matched, error fixtures) are one event:

- envelope: `{"type": "error", "data": {"error": {"message", "type", "param", "code"}}}`
- bare: `{"type": "error", "status": <http-like status>, "error": {"message", "type", "param", "code"}}`
  (the openai SDK's `ResponseWsError`).

When no fixture matched, the event also carries `"nearest": [{"fixture", "reasons"}]` beside `error`
(inside `data` for envelopes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dotmock.server.events import WsForm
from dotmock.server.json_input import ClientJsonError, load_client_json
from dotmock.server.payloads import new_id

MessageForm = WsForm
ENVELOPE: MessageForm = "envelope"
RESPONSE_CREATE: MessageForm = "response.create"
REALTIME: MessageForm = "realtime"  # /v1/realtime (server.realtime_ws): bare events, Realtime's error shape

ENVELOPE_HINT = 'send JSON text frames like {"type": "message", "data": {"model": ..., "messages": [...]}}'


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """A well-formed client message: which form it came in and the request data to match."""

    form: MessageForm
    request: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame the server cannot act on; answered with an error event, the connection stays open."""

    code: str
    message: str
    form: MessageForm | None = None  # the form to answer in, when the frame showed it


def frame_type(text: str | None) -> str | None:
    """The JSON `type` of a frame's text, for the journal."""
    if text is None:
        return None
    try:
        value = load_client_json(text)
    except ClientJsonError:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None


def parse_client_frame(frame: str | bytes | None) -> ClientMessage | BadFrame:
    """Read one client frame (`str` for text frames, `bytes`/None for binary ones)."""
    if not isinstance(frame, str):
        return BadFrame("binary_frame_unsupported", f"Binary frames are not supported: {ENVELOPE_HINT}.")
    try:
        value = load_client_json(frame)
    except ClientJsonError as err:
        return BadFrame("invalid_json", f"The frame is not valid JSON ({err.detail}): {ENVELOPE_HINT}.")
    if not isinstance(value, dict):
        return BadFrame("invalid_envelope", f"The frame must be a JSON object: {ENVELOPE_HINT}.")
    kind = value.get("type")
    if kind == "message":
        data = value.get("data")
        if not isinstance(data, dict):
            got = "no 'data'" if "data" not in value else f"'data' of type {type(data).__name__}"
            return BadFrame("invalid_envelope", f"A 'message' envelope needs a 'data' object, got {got}.", ENVELOPE)
        return ClientMessage(ENVELOPE, data)
    if kind == RESPONSE_CREATE:
        request = {k: v for k, v in value.items() if k != "type"}
        return ClientMessage(RESPONSE_CREATE, request)
    if kind is None:
        return BadFrame("invalid_envelope", f"The frame has no 'type': {ENVELOPE_HINT}.")
    form = RESPONSE_CREATE if isinstance(kind, str) and kind.startswith("response.") else None
    return BadFrame(
        "unsupported_message_type",
        f"Unsupported message type {kind!r}: use 'message' (envelope) or 'response.create'.",
        form,
    )


def event_frame(form: MessageForm, event_type: str, data: Any) -> str:
    """A fixture's custom event: `{"type", "data"}` for envelopes; bare `{"type", **data}` otherwise
    (a non-object `data` stays under `"data"`)."""
    if form == ENVELOPE:
        return dumps({"type": event_type, "data": data})
    if isinstance(data, dict):
        return dumps({**data, "type": event_type})
    return dumps({"type": event_type} if data is None else {"type": event_type, "data": data})


def error_frame(
    form: MessageForm,
    message: str,
    *,
    code: str | None,
    error_type: str = "invalid_request_error",
    status: int = 400,
    param: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An error event in the documented shape for `form`."""
    body: dict[str, Any] = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return error_body_frame(form, {**body, **(extra or {})}, status)


def error_body_frame(form: MessageForm, body: Any, status: int) -> str:
    """An error event around a complete error body (e.g. an error fixture's `{"error": {...}}`)."""
    if form == ENVELOPE:
        return dumps({"type": "error", "data": body})
    if form == REALTIME:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = {"type": "server_error", "code": None, "message": str(body), "param": None}
        return dumps({"type": "error", "event_id": new_id("event_mock_"), "error": {**error, "event_id": None}})
    if isinstance(body, dict):
        return dumps({"type": "error", "status": status, **{k: v for k, v in body.items() if k != "type"}})
    return dumps(
        {
            "type": "error",
            "status": status,
            "error": {"message": str(body), "type": "server_error", "param": None, "code": None},
        }
    )
