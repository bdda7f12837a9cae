"""`GET /v1/models` and `GET /v1/models/{id}` (and Gemini's `/v1beta/models[/{id}]`): the models a scenario's
fixtures name, in the shape of the SDK that asks. A request with `anthropic-version` gets Anthropic's list
(`{"data": [{"type": "model", "id", "display_name", "created_at"}], "has_more", "first_id", "last_id"}`, its
key checked as on Messages); one with Google's key (`x-goog-api-key` or `key=`), or on `/v1beta`, gets
Gemini's (`{"models": [{"name": "models/<id>", "displayName", "inputTokenLimit", "outputTokenLimit",
"supportedGenerationMethods", ...}]}`); any other gets OpenAI's (`{"object": "list", "data": [{"id", "object":
"model", "created", "owned_by"}]}`). A scenario whose fixtures name no model lists `dotmock` and knows every
id it is asked for (any model is answered); one that names models knows only those: another id is a 404 in
the asker's shape.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from dotmock.dsl.model import Fixture
from dotmock.server.apis import BY_NAME
from dotmock.server.apis.messages import check_headers
from dotmock.server.errors import ApiError

MODELS_PATH = "/v1/models"
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z: a fixed, plausible date for every listed model
DEFAULT_MODEL = "dotmock"


GEMINI_MODELS_PATH = "/v1beta/models"
GEMINI_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]


def serves(path: str) -> bool:
    """Whether `path` is one of the model listings or lookups answered here."""
    return any(path == base or path.startswith(base + "/") for base in (MODELS_PATH, GEMINI_MODELS_PATH))


def family(headers: dict[str, str], path: str = MODELS_PATH, query: str = "") -> str:
    if "anthropic-version" in headers:
        return "anthropic"
    if "x-goog-api-key" in headers or "key" in parse_qs(query) or path.startswith(GEMINI_MODELS_PATH):
        return "google"
    return "openai"


def model_ids(fixtures: tuple[Fixture, ...]) -> list[str]:
    ids = list(dict.fromkeys(f.match.model for f in fixtures if f.match.model))
    return ids or [DEFAULT_MODEL]


def _entry(model: str, asker: str) -> dict[str, Any]:
    if asker == "google":
        return {
            "name": f"models/{model}",
            "version": "001",
            "displayName": model,
            "description": "A model served by dotmock.",
            "inputTokenLimit": 1_048_576,
            "outputTokenLimit": 65_536,
            "supportedGenerationMethods": GEMINI_METHODS,
        }
    if asker == "anthropic":
        return {"type": "model", "id": model, "display_name": model, "created_at": "2026-01-01T00:00:00Z"}
    return {"id": model, "object": "model", "created": CREATED, "owned_by": "dotmock"}


def answer(
    fixtures: tuple[Fixture, ...], headers: dict[str, str], model: str | None, path: str = MODELS_PATH, query: str = ""
) -> tuple[int, bytes]:
    """The status and body for the listing (`model` None) or one model; `ApiError` for a refused request."""
    asker = family(headers, path, query)
    if asker == "anthropic":
        problem = check_headers(headers)
        if problem is not None:
            raise problem
    ids = model_ids(fixtures)
    if model is not None:
        model = model.removeprefix("models/") if asker == "google" else model
        if model not in ids and any(f.match.model for f in fixtures):
            raise ApiError(404, _not_found(model, asker, path), code="model_not_found", param="model")
        return 200, json.dumps(_entry(model, asker)).encode()
    data = [_entry(m, asker) for m in ids]
    if asker == "anthropic":
        body: dict[str, Any] = {"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}
    elif asker == "google":
        body = {"models": data}
    else:
        body = {"object": "list", "data": data}
    return 200, json.dumps(body).encode()


def _not_found(model: str, asker: str, path: str) -> str:
    if asker == "anthropic":
        return f"model: {model}"
    if asker == "google":
        version = path.split("/")[1]
        return f"models/{model} is not found for API version {version}, or is not supported for generateContent."
    return f"The model '{model}' does not exist"


_ERROR_API = {"anthropic": "messages", "google": "gemini", "openai": "chat_completions"}


def error_api(headers: dict[str, str], path: str = MODELS_PATH, query: str = "") -> Any:
    """The API whose error shape a refused models request takes."""
    return BY_NAME[_ERROR_API[family(headers, path, query)]]
