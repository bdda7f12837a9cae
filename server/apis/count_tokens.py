"""Anthropic token counting (`POST /v1/messages/count_tokens`): `{"input_tokens": N}` for a Messages request
body (no `max_tokens` needed), with Messages' headers checks, error shape, `request-id` and rate-limit
headers. It answers by itself when no fixture matches; a fixture that matches it (`match POST
/v1/messages/count_tokens`, or `match POST *`) can fail it (`error 429 { ... }`, faults on JSON answers);
a text fixture's text is not used: the count is of the request.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dotmock.dsl.catalogue import APIS_BY_NAME
from dotmock.dsl.model import TextOutcome
from dotmock.server.apis.base import ParsedRequest
from dotmock.server.apis.messages import Messages
from dotmock.server.payloads import Reply, prompt_tokens


class CountTokens(Messages):
    kind = APIS_BY_NAME["count_tokens"]
    needs_max_tokens = False

    def parse(self, path: str, query: str, headers: dict[str, str], body: Any) -> ParsedRequest:
        """Messages' checks but `max_tokens`; a count is never streamed (`stream` is checked, not followed)."""
        request = super().parse(path, query, headers, body)
        return dataclasses.replace(request, stream=False, include_usage=False)

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        return {"input_tokens": prompt_tokens(request.body)}

    def unmatched(self, request: ParsedRequest) -> dict[str, Any] | None:
        return {"input_tokens": prompt_tokens(request.body)}


API = CountTokens()
