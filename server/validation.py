"""Reading request bodies, and the checks OpenAI's APIs share: a mistake is a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

from dotmock.server.errors import ApiError
from dotmock.server.json_input import ClientJsonError, load_client_json


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


def type_name(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        type(None): "null",
        int: "integer",
        float: "number",
    }.get(type(value), type(value).__name__)


def wrong_type(param: str, expected: str, value: Any) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} instead.",
        code="invalid_type",
        param=param,
    )


def missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)


def check_openai(body: Any) -> tuple[dict[str, Any], bool, bool]:
    """The checks Chat Completions and Responses share (an object body, `model`, `stream`, `stream_options`):
    `ApiError` (400) on the first mistake, else the body, whether it asks for a stream, and for usage."""
    if not isinstance(body, dict):
        raise ApiError(
            400, f"The request body must be a JSON object, but got {type_name(body)} instead.", code="invalid_type"
        )
    if "model" not in body:
        raise missing("model")
    if not isinstance(body["model"], str):
        raise wrong_type("model", "a string", body["model"])
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise wrong_type("stream", "a boolean", stream)
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not isinstance(options, dict):
            raise wrong_type("stream_options", "an object", options)
        usage = options.get("include_usage")
        if usage is not None and not isinstance(usage, bool):
            raise wrong_type("stream_options.include_usage", "a boolean", usage)
        include_usage = bool(usage)
    return body, bool(stream), include_usage
