"""Google Gemini (`POST /{v1,v1beta}/models/{model}:generateContent` and `:streamGenerateContent`).

- The answer is a `GenerateContentResponse`: `candidates[0].content.parts[0].text`, `finishReason`,
  `usageMetadata` (`promptTokenCount`, `candidatesTokenCount`, `totalTokenCount`), `modelVersion`,
  `responseId`.
- `:streamGenerateContent?alt=sse` streams data-only SSE, one `GenerateContentResponse` per chunk; without
  `alt=sse` the same chunks are the elements of one JSON array, written as they come (`[{...}`, `,\\r\\n{...}`,
  `]`). The last chunk carries the `finishReason` and the full usage: it marks a complete stream, and a
  truncation withholds it (and the array's `]`).
- Errors are `{"error": {"code", "message", "status"}}` with Google's canonical status names (429
  `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail, 500 `INTERNAL`, 503 `UNAVAILABLE`, ...);
  a mid-stream error is a chunk `{"error": {...}}` (the google-genai SDK raises `ClientError`/`ServerError`
  on it).
- The key is the `x-goog-api-key` header or the `key=` query parameter; a request with neither is refused
  with 403 `PERMISSION_DENIED`, as the API does. Any key is accepted. The journal keeps it redacted.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import Dialect, ErrorOutcome, TextOutcome
from dotmock.server.apis.base import Api, ParsedRequest, TextRenderer
from dotmock.server.errors import ApiError, retry_after_seconds
from dotmock.server.events import Event, dumps, json_str
from dotmock.server.payloads import Reply, estimate_tokens

_PATH = re.compile(r"/v1(?:beta)?/models/(?P<model>[^/:]+):(?P<action>generateContent|streamGenerateContent)")
CHUNK = "generateContentResponse"  # an event's type, for the journal and WebSocket frames

# status -> Google's canonical error status (google.rpc.Code), and the message the API gives
STATUSES: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "The request timed out."),
    409: ("ABORTED", "The request was aborted."),
    413: ("INVALID_ARGUMENT", "Request payload size exceeds the limit."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    499: ("CANCELLED", "The operation was cancelled."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report it."),
    501: ("UNIMPLEMENTED", "Method not implemented."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline exceeded."),
}
_KNOWN = frozenset(name for name, _ in STATUSES.values())
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP"}
DEFAULT_RETRY_DELAY_S = 1.0  # a 429's RetryInfo when the fixture names no wait


def status_name(status: int, given: str | None = None) -> str:
    if given in _KNOWN:
        return given
    if status in STATUSES:
        return STATUSES[status][0]
    return "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"


def _delay(seconds: float) -> str:
    """A `google.protobuf.Duration` in JSON: `2s`, `0.5s`."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def error_object(status: int, message: str, given: str | None = None, retry_s: float | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message, "status": status_name(status, given)}
    if status == 429:
        wait = DEFAULT_RETRY_DELAY_S if retry_s is None else retry_s
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": _delay(wait)}]
    return {"error": error}


def finish_reason(reason: str) -> str:
    return _FINISH.get(reason, reason.upper())


def _model_version(model: str) -> str:
    return model.removeprefix("models/")


def user_text(body: dict[str, Any]) -> str | None:
    contents = body.get("contents")
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list):
        return None
    for content in reversed(contents):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            parts = content.get("parts")
            texts = (
                [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
                if isinstance(parts, list)
                else []
            )
            if texts:
                return "\n".join(texts)
    return None


def prompt_tokens(body: dict[str, Any]) -> int:
    return estimate_tokens(json.dumps(body.get("contents"), default=str))


def _usage(prompt: int, candidates: int | None) -> dict[str, Any]:
    if candidates is None:
        return {"promptTokenCount": prompt, "totalTokenCount": prompt}
    return {"promptTokenCount": prompt, "candidatesTokenCount": candidates, "totalTokenCount": prompt + candidates}


def response_object(reply: Reply, text: str, reason: str | None, prompt: int, output: int | None) -> dict[str, Any]:
    """A `GenerateContentResponse` with one candidate; `reason` None leaves out the finishReason (a chunk
    mid-stream) and `output` None the candidates' token count."""
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
    if reason is not None:
        candidate["finishReason"] = reason
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": _usage(prompt, output),
        "modelVersion": _model_version(reply.model),
        "responseId": reply.response_id.removeprefix("resp_mock_"),
    }


class GeminiRenderer(TextRenderer):
    """The chunks of a streamed answer: one per content chunk, then the final chunk with the finishReason."""

    def __init__(self, reply: Reply, reason: str, prompt: int) -> None:
        super().__init__(reply, reason)
        self.prompt = prompt
        self._head = b'{"candidates":[{"content":{"parts":[{"text":'
        rest = response_object(reply, "", None, prompt, None)
        del rest["candidates"]
        self._tail = b'}],"role":"model"},"index":0}],' + dumps(rest)[1:]

    def opening(self) -> list[Event]:
        return []

    def delta(self, text: str) -> Event:
        self.text_sent.append(text)
        return Event(self._head + json_str(text) + self._tail, None, CHUNK)

    def closing(self) -> list[Event]:
        output = estimate_tokens("".join(self.text_sent))
        last = response_object(self.reply, "", finish_reason(self.finish_reason), self.prompt, output)
        return [Event(dumps(last), None, CHUNK)]

    def error_event(self, message: str, error_type: str, code: str | None) -> Event:
        if error_type in _KNOWN:
            status = next(s for s, (name, _) in STATUSES.items() if name == error_type)
        elif code == "overloaded" or error_type == "overloaded_error":
            status = 503
        elif code == "rate_limit_exceeded" or error_type == "rate_limit_error":
            status = 429
        else:
            status = 500
        return Event(dumps(error_object(status, message, error_type)), None, "error")


def _has_key(query: dict[str, list[str]], headers: dict[str, str]) -> bool:
    return bool(headers.get("x-goog-api-key", "").strip()) or any(v.strip() for v in query.get("key", ()))


def refuse_unkeyed(query: dict[str, list[str]], headers: dict[str, str]) -> None:
    """The 403 the API gives a request with no key (any key is accepted)."""
    if not _has_key(query, headers):
        raise ApiError(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )


def check_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. The request body must be a JSON object.")
    contents = body.get("contents")
    if contents is None or contents == []:
        raise ApiError(400, "* GenerateContentRequest.contents: contents is not specified")
    items = contents if isinstance(contents, list) else [contents]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError(400, f"Invalid value at 'contents[{i}]': expected a Content object with 'parts'.")
        parts = item.get("parts")
        if not isinstance(parts, list) or not parts:
            raise ApiError(400, f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        role = item.get("role")
        if role is not None and role not in ("user", "model", "function", "tool"):
            raise ApiError(400, f"Please use a valid role: user, model. (contents[{i}].role is {role!r})")
    return body


class Gemini(Api):
    kind = APIS_BY_NAME["gemini"]

    def parse(self, path: str, query: str, headers: dict[str, str], body: Any) -> ParsedRequest:
        found = _PATH.fullmatch(path)
        assert found is not None, path  # the registry routes only its own paths here
        params = parse_qs(query)
        refuse_unkeyed(params, headers)
        checked = check_body(body)
        stream = found["action"] == "streamGenerateContent"
        array = stream and params.get("alt", [""])[-1] != "sse"
        return ParsedRequest(checked, stream, array_stream=array, model=found["model"], user_text=user_text(checked))

    def error_body(self, err: ApiError, rid: str) -> bytes:
        return dumps(error_object(err.status, err.message))

    def outcome_error(self, outcome: ErrorOutcome, rid: str) -> bytes:
        if outcome.body is not None:
            return super().outcome_error(outcome, rid)
        message = outcome.message if outcome.message is not None else STATUSES.get(outcome.status, ("", ""))[1]
        wait = retry_after_seconds(outcome.headers)
        return dumps(error_object(outcome.status, message or f"Error {outcome.status}.", outcome.error_type, wait))

    def wait_asked(self, outcome: ErrorOutcome) -> float | None:
        wait = retry_after_seconds(outcome.headers)
        if wait is None and outcome.status == 429 and outcome.body is None:
            return DEFAULT_RETRY_DELAY_S  # the RetryInfo every 429 carries
        return wait

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        prompt = prompt_tokens(request.body)
        reason = finish_reason(outcome.finish_reason)
        return response_object(reply, outcome.text, reason, prompt, estimate_tokens(outcome.text))

    def renderer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest, dialect: Dialect) -> GeminiRenderer:
        return GeminiRenderer(reply, outcome.finish_reason, prompt_tokens(request.body))


API = Gemini()
