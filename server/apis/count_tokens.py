"""Anthropic token counting (`POST /v1/messages/count_tokens`): `{"input_tokens": N}` for a Messages request
body (no `max_tokens` needed), with Messages' headers checks, error shape, `request-id` and rate-limit
headers. It answers by itself when no fixture matches; a fixture that matches it (`match POST
/v1/messages/count_tokens`, or `match POST *`) can fail it (`error 429 { ... }`, faults on JSON answers);
a text fixture's text is not used: the count is of the request.
"""

from __future__ import annotations

from typing import Any

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import TextOutcome
from dotmock.server.apis.base import ParsedRequest
from dotmock.server.apis.messages import Messages, check_messages
from dotmock.server.errors import ApiError
from dotmock.server.payloads import Reply, prompt_tokens
from dotmock.server.validation import check_openai


class CountTokens(Messages):
    kind = APIS_BY_NAME["count_tokens"]

    def parse(self, path: str, query: str, headers: dict[str, str], body: Any) -> ParsedRequest:
        checked, _, _ = check_openai(body)
        problem = check_messages(checked)
        if problem is not None:
            raise ApiError(400, problem)
        return ParsedRequest(checked, stream=False)

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        return {"input_tokens": prompt_tokens(request.body)}

    def unmatched(self, request: ParsedRequest) -> dict[str, Any] | None:
        return {"input_tokens": prompt_tokens(request.body)}


API = CountTokens()
