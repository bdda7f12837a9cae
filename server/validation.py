"""Checking request bodies the way the provider does: a mistake is a 400 naming the parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dotmock.dsl.catalogue import CHAT_COMPLETIONS_PATH
from dotmock.server.errors import ApiError
from dotmock.server.json_input import ClientJsonError, load_client_json


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    body: dict[str, Any]
    stream: bool
    include_usage: bool


def _invalid_json(detail: str) -> ApiError:
    return ApiError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        f"HTTP library correctly. The OpenAI API expects a JSON payload.) Detail: {detail}",
        code="invalid_json",
    )


def parse_json(raw: bytes) -> Any:
    """A request body as the provider reads it (`server.json_input`): a refused one is a 400."""
    try:
        return load_client_json(raw)
    except ClientJsonError as err:
        raise _invalid_json(err.detail) from None


def _type_name(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        type(None): "null",
        int: "integer",
        float: "number",
    }.get(type(value), type(value).__name__)


def _wrong_type(param: str, expected: str, value: Any) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        code="invalid_type",
        param=param,
    )


def _missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)


def validate(path: str, body: Any) -> ParsedRequest:
    """Check a Chat Completions or Responses body; raise `ApiError` (400) on the first mistake."""
    if not isinstance(body, dict):
        raise ApiError(
            400, f"The request body must be a JSON object, but got {_type_name(body)} instead.", code="invalid_type"
        )
    if "model" not in body:
        raise _missing("model")
    if not isinstance(body["model"], str):
        raise _wrong_type("model", "a string", body["model"])
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _wrong_type("stream", "a boolean", stream)
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not isinstance(options, dict):
            raise _wrong_type("stream_options", "an object", options)
        usage = options.get("include_usage")
        if usage is not None and not isinstance(usage, bool):
            raise _wrong_type("stream_options.include_usage", "a boolean", usage)
        include_usage = bool(usage)
    if path == CHAT_COMPLETIONS_PATH:
        _validate_messages(body)
    else:
        _validate_input(body)
    return ParsedRequest(body, bool(stream), include_usage)


def _validate_messages(body: dict[str, Any]) -> None:
    if "messages" not in body:
        raise _missing("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _wrong_type("messages", "an array", messages)
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _wrong_type(f"messages[{i}]", "an object", message)
        role = message.get("role")
        if not isinstance(role, str):
            raise (
                _wrong_type(f"messages[{i}].role", "a string", role)
                if "role" in message
                else _missing(f"messages[{i}].role")
            )
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise _wrong_type(f"messages[{i}].content", "a string or an array", content)


def _validate_input(body: dict[str, Any]) -> None:
    value = body.get("input")
    if value is not None and not isinstance(value, str | list):
        raise _wrong_type("input", "a string or an array", value)
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, dict | str):
                raise _wrong_type(f"input[{i}]", "an object", item)
