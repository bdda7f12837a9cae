"""OpenAI-shaped error bodies: `{"error": {"message", "type", "param", "code"}}`, and Retry-After parsing."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

from dotmock.dsl.model import ErrorOutcome

# (type, code, message) a provider sends for a status when the fixture does not say.
_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to make this request."),
    404: ("invalid_request_error", "not_found", "The requested resource does not exist."),
    405: ("invalid_request_error", "method_not_allowed", "Method not allowed."),
    408: ("timeout_error", None, "Request timed out."),
    409: ("conflict_error", None, "The request conflicts with another request."),
    413: ("invalid_request_error", "request_too_large", "Request body too large."),
    422: ("invalid_request_error", None, "The request could not be processed."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", "service_unavailable", "The server is overloaded or not ready yet."),
    504: ("timeout_error", None, "Gateway timed out."),
    529: ("overloaded_error", "overloaded", "The server is overloaded."),
}


def default_error(status: int) -> tuple[str, str | None, str]:
    """The (type, code, message) used for `status` when a fixture gives none."""
    if status in _DEFAULTS:
        return _DEFAULTS[status]
    if status >= 500:
        return ("server_error", None, f"Server error ({status}).")
    return ("invalid_request_error", None, f"Request failed ({status}).")


def error_body(message: str, error_type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class ApiError(Exception):
    """A request the server refuses (bad JSON, wrong field types, no fixture, ...): answered as a 4xx in
    OpenAI's error shape and journaled with `error` = the message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.headers = headers  # extra response headers (e.g. www-authenticate)
        self.status = status
        self.message = message
        self.code = code if code is not None else default_error(status)[1]
        self.param = param
        self.error_type = error_type or default_error(status)[0]

    def body(self) -> bytes:
        return json.dumps(error_body(self.message, self.error_type, self.code, self.param)).encode()


def internal_error(err: BaseException) -> ApiError:
    """The 500 for an error of ours while answering (the client did nothing wrong): what it names goes in the
    body, the traceback in the log."""
    return ApiError(500, f"dotmock internal error: {type(err).__name__}: {err}", code="internal_error")


def outcome_body(outcome: ErrorOutcome) -> bytes:
    """The body of an error fixture: verbatim `body` if given, else the OpenAI shape with defaults."""
    if outcome.body is not None:
        if isinstance(outcome.body, str | bytes):
            return outcome.body.encode() if isinstance(outcome.body, str) else outcome.body
        return json.dumps(outcome.body).encode()
    error_type, code, message = default_error(outcome.status)
    return json.dumps(
        error_body(
            outcome.message if outcome.message is not None else message,
            outcome.error_type or error_type,
            outcome.code if outcome.code is not None else code,
            outcome.param,
        )
    ).encode()


def retry_after_seconds(headers: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> float | None:
    """The wait a response asks for, as the SDKs read it: `retry-after-ms` first, then `retry-after`
    (seconds, possibly fractional, or an HTTP date). None when absent or unreadable."""
    lowered = {name.lower(): value.strip() for name, value in headers}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())
