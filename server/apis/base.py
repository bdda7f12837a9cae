"""What every provider API module provides: the `Api` a registry entry points at, and the `Renderer` of a
streamed answer.

An `Api` owns its wire: which paths it answers (`owns`), how it checks a request (`parse`: 400s in its own
words), its error body shape (`error_body`, `outcome_error`), its non-streamed JSON answer (`json_answer`),
and its stream as a sequence of events (`renderer`). Its `kind` (`dsl.catalogue.ApiKind`) names it, its
family, the base-URL variable its SDKs read, and its terminator. The defaults here are OpenAI's error shape
and request checks, which the OpenAI APIs share.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from dotmock.dsl.catalogue import ApiKind, path_pattern
from dotmock.dsl.model import Dialect, ErrorOutcome, TextOutcome
from dotmock.server.errors import ApiError, outcome_body, retry_after_seconds
from dotmock.server.events import Event, cut_in_half, raw_event
from dotmock.server.payloads import Reply
from dotmock.server.validation import check_openai


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A request body an API accepted, and how it wants its answer."""

    body: dict[str, Any]
    stream: bool
    include_usage: bool = False
    array_stream: bool = False  # stream as one JSON array rather than SSE (Gemini without `alt=sse`)
    model: str | None = None  # the model when the API names it outside the body (Gemini: in the path)
    user_text: str | None = None  # the last user message when the API carries it its own way


class Renderer(Protocol):
    """The events of one streamed answer: `opening()` before any text, `delta(text)` per content chunk,
    `closing()` with the terminator, and the fault events `error_event()` and `malformed()`. `text_sent`
    holds the content chunks rendered so far."""

    text_sent: list[str]

    def opening(self) -> list[Event]: ...

    def delta(self, text: str) -> Event: ...

    def closing(self) -> list[Event]: ...

    def error_event(self, message: str, error_type: str, code: str | None) -> Event | list[Event]: ...

    def malformed(self, data: str | None) -> Event: ...


class TextRenderer:
    """What the text renderers share: the reply they answer with, why the answer ends, the content chunks
    sent so far, and the malformed event (the fixture's raw data, else a content delta cut in half that is
    not counted as sent). A subclass implements the rest of `Renderer`; `delta_name` is its deltas' SSE
    `event:` name (None: data-only SSE)."""

    delta_name: bytes | None = None

    def __init__(self, reply: Reply, finish_reason: str = "stop") -> None:
        self.reply = reply
        self.finish_reason = finish_reason
        self.text_sent: list[str] = []

    def delta(self, text: str) -> Event:
        raise NotImplementedError

    def malformed(self, data: str | None) -> Event:
        if data is not None:
            return raw_event(data, self.delta_name)
        event = self.delta("...")
        self.text_sent.pop()
        return cut_in_half(event)


class Api:
    """One provider API. Subclasses set `kind` and implement `check_body` (or all of `parse`), `json_answer`
    and `renderer`."""

    kind: ApiKind

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def family(self) -> str:
        return self.kind.family

    @property
    def routes(self) -> tuple[str, ...]:
        """The Quart URL rules of its paths (the fast path answers them before Quart does)."""
        return tuple(path.replace("{model}", "<model>") for path in self.kind.paths)

    @functools.cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(path_pattern(path) for path in self.kind.paths if "{model}" in path)

    def owns(self, path: str) -> bool:
        return path in self.kind.paths or any(p.fullmatch(path) for p in self._patterns)

    def parse(self, path: str, query: str, headers: dict[str, str], body: Any) -> ParsedRequest:
        """Check a request as the provider does: `ApiError` (400) on the first mistake. The default: the checks
        the OpenAI APIs share (`check_openai`: an object body, `model`, `stream`, `stream_options`), then the
        API's own `check_body`."""
        checked, stream, include_usage = check_openai(body)
        self.check_body(checked)
        return ParsedRequest(checked, stream, include_usage)

    def check_body(self, body: dict[str, Any]) -> None:
        """The API's own checks of an object body, after the shared ones of `parse`: `ApiError` (400)."""

    def check_headers(self, headers: dict[str, str]) -> ApiError | None:
        """What is wrong with a request's (lower-cased) headers, as the provider checks them before the body
        (e.g. Anthropic's `x-api-key` and `anthropic-version`), or None."""
        return None

    def error_body(self, err: ApiError, rid: str) -> bytes:
        """The body of a refused request, in the API's error shape (`rid`: the answer's request id)."""
        return err.body()

    def answer_headers(self, rid: str, status: int) -> tuple[tuple[str, str], ...]:
        """Headers every answer of the API carries besides the content type and `x-request-id` (`rid`), e.g.
        Anthropic's `request-id` and rate-limit headers."""
        return ()

    def outcome_error(self, outcome: ErrorOutcome, rid: str) -> bytes:
        """The body of an error fixture's answer: its verbatim `body` if given, else the API's shape."""
        return outcome_body(outcome)

    def wait_asked(self, outcome: ErrorOutcome) -> float | None:
        """The wait an error fixture's answer asks the client for (journaled for `retry_after_ignored`)."""
        return retry_after_seconds(outcome.headers)

    def json_answer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> dict[str, Any]:
        raise NotImplementedError

    def unmatched(self, request: ParsedRequest) -> dict[str, Any] | None:
        """The answer to a request no fixture matched, for an API that answers by itself (token counting);
        None (the default): a 404 naming the nearest fixtures."""
        return None

    def json_bytes(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest) -> bytes:
        return json.dumps(self.json_answer(reply, outcome, request), ensure_ascii=False).encode()

    def renderer(self, reply: Reply, outcome: TextOutcome, request: ParsedRequest, dialect: Dialect) -> Renderer:
        raise NotImplementedError
