"""Responses conversations kept on the server's side: `previous_response_id` chains.

A Responses client may send only the new items (the tool results, the next question) and name the response
it continues with `previous_response_id`; the conversation then lives on the server. dotmock remembers, for
each Responses answer it gave (HTTP or WebSocket), the conversation up to and including that answer, as
`input` items; a request that chains a remembered response is read (`turn`, `lastRole`, `toolResult`,
`message contains`) as the chained conversation followed by its own `input`, as OpenAI's server does.
An unknown id (never given, or forgotten beyond `LIMIT` responses) leaves the request as it is.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

LIMIT = 1000  # responses remembered; the oldest are forgotten first


def _own_items(body: dict[str, Any]) -> list[Any]:
    given = body.get("input")
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    return list(given) if isinstance(given, list) else []


class ResponseChains:
    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._conversations: OrderedDict[str, list[Any]] = OrderedDict()

    def expand(self, body: Any) -> Any:
        """The request as the conversation it continues: the chained response's items, then its own."""
        if not isinstance(body, dict):
            return body
        previous = body.get("previous_response_id")
        if not isinstance(previous, str) or previous not in self._conversations:
            return body
        return {**body, "input": [*self._conversations[previous], *_own_items(body)]}

    def remember(self, response_id: str, request: Any, text: str, calls: Iterable[tuple[str, str, str]]) -> None:
        """Keep the conversation of the answer `response_id` to `request` (already expanded): its items, the
        answer's text and its calls `(call id, name, arguments)`."""
        if not isinstance(request, dict):
            return
        items = _own_items(request)
        calls = list(calls)
        if text or not calls:
            items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
        items += [{"type": "function_call", "call_id": i, "name": n, "arguments": a} for i, n, a in calls]
        self._conversations[response_id] = items
        while len(self._conversations) > self.limit:
            self._conversations.popitem(last=False)
