"""`GET /v1/models` and `GET /v1/models/{id}`: the models a scenario's fixtures name, in the shape of the SDK
that asks. A request with `anthropic-version` gets Anthropic's list (`{"data": [{"type": "model", "id",
"display_name", "created_at"}], "has_more", "first_id", "last_id"}`, its key checked as on Messages);
any other gets OpenAI's (`{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`).
A scenario whose fixtures name no model lists `dotmock`. An unknown id is a 404 in the asker's shape.
"""

from __future__ import annotations

import json
from typing import Any

from dotmock.dsl.model import Fixture
from dotmock.server.apis import BY_NAME
from dotmock.server.apis.messages import check_headers
from dotmock.server.errors import ApiError

MODELS_PATH = "/v1/models"
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z: a fixed, plausible date for every listed model
DEFAULT_MODEL = "dotmock"


def family(headers: dict[str, str]) -> str:
    return "anthropic" if "anthropic-version" in headers else "openai"


def model_ids(fixtures: tuple[Fixture, ...]) -> list[str]:
    ids = list(dict.fromkeys(f.match.model for f in fixtures if f.match.model))
    return ids or [DEFAULT_MODEL]


def _entry(model: str, asker: str) -> dict[str, Any]:
    if asker == "anthropic":
        return {"type": "model", "id": model, "display_name": model, "created_at": "2026-01-01T00:00:00Z"}
    return {"id": model, "object": "model", "created": CREATED, "owned_by": "dotmock"}


def answer(fixtures: tuple[Fixture, ...], headers: dict[str, str], model: str | None) -> tuple[int, bytes]:
    """The status and body for the listing (`model` None) or one model; `ApiError` for a refused request."""
    asker = family(headers)
    if asker == "anthropic":
        problem = check_headers(headers)
        if problem is not None:
            raise problem
    ids = model_ids(fixtures)
    if model is not None:
        if model not in ids:
            message = f"model: {model}" if asker == "anthropic" else f"The model '{model}' does not exist"
            raise ApiError(404, message, code="model_not_found", param="model")
        return 200, json.dumps(_entry(model, asker)).encode()
    data = [_entry(m, asker) for m in ids]
    if asker == "anthropic":
        body: dict[str, Any] = {"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}
    else:
        body = {"object": "list", "data": data}
    return 200, json.dumps(body).encode()


def error_api(headers: dict[str, str]) -> Any:
    """The API whose error shape a refused models request takes."""
    return BY_NAME["messages"] if family(headers) == "anthropic" else BY_NAME["chat_completions"]
