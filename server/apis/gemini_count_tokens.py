"""Gemini token counting (`POST /{v1,v1beta}/models/{model}:countTokens`): `{"totalTokens": N,
"promptTokensDetails": [{"modality": "TEXT", "tokenCount": N}]}` for a body of `contents` (or a whole
`generateContentRequest`, as the API also takes), with Gemini's key check and error shape. Like Anthropic's
count (`server.apis.count_tokens`) it answers by itself when no fixture matches; a fixture that matches it
(`match POST *`, or its path) can fail it (`error 429 { ... }`, faults on JSON answers); a text fixture's
text is not used: the count is of the request.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import TextOutcome
from dotmock.server.apis.base import ParsedRequest
from dotmock.server.apis.gemini import Gemini, check_body, prompt_tokens, refuse_unkeyed, user_text
from dotmock.server.errors import ApiError
from dotmock.server.payloads import Reply

_PATH = re.compile(r"/v1(?:beta)?/models/(?P<model>[^/:]+):countTokens")


def _counted(body: Any) -> dict[str, Any]:
    """The `contents` request the count is of: the body itself, or its `generateContentRequest`."""
    if isinstance(body, dict) and "contents" not in body and "generateContentRequest" in body:
        inner = body["generateContentRequest"]
        if not isinstance(inner, dict):
            raise ApiError(400, "Invalid value at 'generate_content_request': the request must be an object.")
        return check_body(inner)
    return check_body(body)


def count(body: dict[str, Any]) -> dict[str, Any]:
    tokens = prompt_tokens(body)
    return {"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]}


class GeminiCountTokens(Gemini):
    kind = APIS_BY_NAME["gemini_count_tokens"]

    def parse(self, path: str, query: str, headers: dict[str, str], body: Any) -> ParsedRequest:
        found = _PATH.fullmatch(path)
        assert found is not None, path  # the registry routes only its own paths here
        refuse_unkeyed(parse_qs(query), headers)
        checked = _counted(body)
        return ParsedRequest(checked, False, model=found["model"], user_text=user_text(checked))

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        return count(request.body)

    def unmatched(self, request: ParsedRequest) -> dict[str, Any] | None:
        return count(request.body)


API = GeminiCountTokens()
