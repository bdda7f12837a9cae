"""Choosing the fixture that answers a request: first match wins, in file order.

Pure functions over the model; shared by the HTTP and WebSocket handlers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dotmock.dsl import user_regex
from dotmock.dsl.model import Fixture, HeaderRule, JsonRule, Match, TextRule, ToolResultRule
from dotmock.server.conversation import Conversation, read_conversation

_MISSING = object()
log = logging.getLogger("dotmock.server")
# (pattern, hash of the text) -> why the search gave up: asked again (the nearest misses of a 404), the rule
# fails at once instead of spending its budget twice.
_gave_up: dict[tuple[str, int], str] = {}
_GAVE_UP_KEPT = 256


def regex_holds(pattern: str, text: str) -> bool:
    """`pattern` is found in `text` within its budget (dsl/user_regex.py); past it the rule does not hold,
    and the server's log says so."""
    key = (pattern, hash(text))
    if key in _gave_up:
        return False
    try:
        return user_regex.search(pattern, text)
    except user_regex.RegexTimeout as err:
        if len(_gave_up) >= _GAVE_UP_KEPT:
            _gave_up.clear()
        _gave_up[key] = str(err)
        log.warning("dotmock: %s; the rule does not hold", err)
        return False


def regex_gave_up(pattern: str, text: str | None) -> str | None:
    """Why the search of `pattern` in `text` gave up, if it did."""
    return None if text is None else _gave_up.get((pattern, hash(text)))


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """What a fixture's match rules look at. `headers` have lower-cased names."""

    protocol: Literal["http", "websocket"]
    method: str | None
    path: str
    headers: dict[str, str]
    body: Any
    attempt: int
    model: str | None = None  # the model, when the API names it outside the body (Gemini: in the path)
    text: str | None = None  # the last user message, when the API reads it its own way (`Api.parse`)

    def request_model(self) -> Any:
        if self.model is not None:
            return self.model
        return self.body.get("model") if isinstance(self.body, dict) else None

    def user_text(self) -> str | None:
        return self.text if self.text is not None else last_user_text(self.body)


@dataclass(frozen=True, slots=True)
class Miss:
    """Why one fixture did not answer: `reasons` in words, `score` how many rules held (for "nearest")."""

    fixture: str
    reasons: tuple[str, ...]
    score: int


def call_key(protocol: str, path: str, body: Any) -> str:
    """Identity of a logical call: requests with equal keys are attempts of the same call."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    digest = hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{protocol}:{path}:{digest}"


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text"|"input_text", "text": ...}]
        texts = [str(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(texts) if texts else None
    return None


def last_user_text(body: Any) -> str | None:
    """The text of the last user message: Chat Completions `messages`, or Responses `input` (a string or a
    list of input items)."""
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    if messages is None:
        messages = body.get("input")
        if isinstance(messages, str):
            return messages
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            text = _content_text(message.get("content"))
            if text is not None:
                return text
    return None


def json_field(body: Any, dotted: str) -> Any:
    """The value at a dotted path (`messages.0.role`), or `MISSING`."""
    node = body
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _text_rule_holds(rule: TextRule, text: str | None) -> bool:
    if text is None:
        return False
    if rule.kind == "contains":
        return rule.value in text
    return regex_holds(rule.value, text)


def _header_rule_holds(rule: HeaderRule, headers: dict[str, str]) -> bool:
    value = headers.get(rule.name.lower())
    if value is None:
        return False
    if rule.kind == "present":
        return True
    if rule.kind == "==":
        return value == rule.value
    if rule.kind == "contains":
        return (rule.value or "") in value
    return regex_holds(rule.value or "", value)


def json_rule_holds(kind: str, expected: Any, value: Any) -> bool:
    """Shared by match rules and the runner's request-field expectations."""
    if kind == "present":
        return value is not _MISSING
    if kind == "absent":
        return value is _MISSING
    if value is _MISSING:
        return kind == "!="
    if kind == "==":
        return (value == expected and type(value) is type(expected)) or (
            isinstance(value, int | float)
            and isinstance(expected, int | float)
            and not isinstance(value, bool)
            and not isinstance(expected, bool)
            and value == expected
        )
    if kind == "!=":
        return not json_rule_holds("==", expected, value)
    text = value if isinstance(value, str) else json.dumps(value)
    if kind == "contains":
        return str(expected) in text
    return regex_holds(str(expected), text)


def _json_rule_holds(rule: JsonRule, body: Any) -> bool:
    return json_rule_holds(rule.kind, rule.value, json_field(body, rule.path))


def _tool_result_holds(rule: ToolResultRule, conversation: Conversation) -> bool:
    """Some tool result of the request is for that tool, with that call id and content."""
    for result in conversation.results:
        if rule.name is not None and result.name != rule.name:
            continue
        if rule.call_id is not None and result.call_id != rule.call_id:
            continue
        if rule.kind is not None and not _text_rule_holds(TextRule(rule.kind, rule.value or ""), result.content):
            continue
        return True
    return False


def _tool_result_words(rule: ToolResultRule) -> str:
    words = [f"tool result for {rule.name!r}" if rule.name else "tool result"]
    if rule.call_id is not None:
        words.append(f"with id {rule.call_id!r}")
    if rule.kind is not None:
        words.append(f"that {rule.kind.removesuffix('s')}s {rule.value!r}")
    return " ".join(words)


def _conversation_reasons(match: Match, conversation: Conversation) -> tuple[list[str], int]:
    reasons: list[str] = []
    held = 0
    if match.turn is not None:
        if match.turn.contains(conversation.turn):
            held += 1
        else:
            reasons.append(f"turn {conversation.turn} is not {match.turn}")
    if match.last_role is not None:
        if conversation.last_role == match.last_role:
            held += 1
        else:
            reasons.append(f"the last message's role is {conversation.last_role!r}, not {match.last_role!r}")
    for rule in match.tool_results:
        if _tool_result_holds(rule, conversation):
            held += 1
        else:
            reasons.append(f"no {_tool_result_words(rule)}")
    return reasons, held


def _endpoint_holds(match: Match, request: MatchRequest) -> bool:
    if match.protocol != request.protocol:
        return False
    if match.protocol == "http" and match.method != (request.method or "").upper():
        return False
    return match.path is None or match.path == request.path


def miss_reasons(match: Match, request: MatchRequest) -> tuple[list[str], int]:
    """Every rule of `match` that `request` breaks, in words, and how many held."""
    reasons: list[str] = []
    held = 0
    if not _endpoint_holds(match, request):
        where = "websocket" if match.protocol == "websocket" else match.method
        reasons.append(f"endpoint is {where} {match.path or '*'}")
        return reasons, held
    held += 1
    model = request.request_model()
    if match.model is not None:
        if model == match.model:
            held += 1
        else:
            reasons.append(f"model {model!r} is not {match.model!r}")
    text = request.user_text()
    for text_rule in match.text:
        if _text_rule_holds(text_rule, text):
            held += 1
        else:
            verb = "does not contain" if text_rule.kind == "contains" else "does not match"
            gave_up = regex_gave_up(text_rule.value, text) if text_rule.kind == "matches" else None
            reason = f"last user message: {gave_up}" if gave_up else f"last user message {verb} {text_rule.value!r}"
            reasons.append(reason)
    for header_rule in match.headers:
        if _header_rule_holds(header_rule, request.headers):
            held += 1
        else:
            reasons.append(f"header {header_rule.name!r} {header_rule.kind} {header_rule.value or ''}".rstrip())
    for json_rule in match.json:
        if _json_rule_holds(json_rule, request.body):
            held += 1
        else:
            shown = "" if json_rule.value is None else " " + json.dumps(json_rule.value)
            reasons.append(f"json {json_rule.path!r} is not {json_rule.kind}{shown}")
    if match.attempt is not None:
        if match.attempt.contains(request.attempt):
            held += 1
        else:
            reasons.append(f"attempt {request.attempt} is not {match.attempt}")
    if match.turn is not None or match.last_role is not None or match.tool_results:
        more, more_held = _conversation_reasons(match, read_conversation(request.body))
        reasons += more
        held += more_held
    return reasons, held


def matches(match: Match, request: MatchRequest) -> bool:
    return not miss_reasons(match, request)[0]


def select_fixture(fixtures: tuple[Fixture, ...], request: MatchRequest) -> Fixture | None:
    """The first fixture, in file order, whose match holds for `request`."""
    for fixture in fixtures:
        if matches(fixture.match, request):
            return fixture
    return None


def nearest_misses(fixtures: tuple[Fixture, ...], request: MatchRequest, limit: int = 3) -> list[Miss]:
    """The fixtures that came closest to answering `request`, best first, with what differed."""
    misses = []
    for fixture in fixtures:
        reasons, score = miss_reasons(fixture.match, request)
        if reasons:
            misses.append(Miss(fixture.name, tuple(reasons), score))
    misses.sort(key=lambda m: (-m.score, len(m.reasons)))
    return misses[:limit]


def no_match_message(
    fixtures: tuple[Fixture, ...],
    request: MatchRequest,
    candidates: Sequence[Fixture] | None = None,
    api_title: str = "this API",
) -> str:
    """The message of the 404 answered when nothing matched: what the request was, and the nearest fixtures
    with what differed, among `candidates` when given (the fixtures of the request's own API family, so a
    miss on one provider never suggests another provider's endpoint)."""
    facts = [f"attempt {request.attempt}"]
    model = request.request_model()
    if isinstance(model, str):
        facts.insert(0, f"model {model!r}")
    conversation = read_conversation(request.body)
    if conversation.has_history:
        facts.append(f"turn {conversation.turn}")
        if conversation.last_role is not None:
            facts.append(f"last message from {conversation.last_role!r}")
    text = request.user_text()
    if text is not None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        facts.append(f"last user message {shown!r}")
    where = f"{request.method} {request.path}" if request.protocol == "http" else f"websocket {request.path}"
    head = f"dotmock: no fixture matched {where} ({', '.join(facts)})."
    if not fixtures:
        kind = "HTTP" if request.protocol == "http" else "WebSocket"
        return f"{head} The scenario has no {kind} fixtures."
    pool = fixtures if candidates is None else tuple(candidates)
    if not pool:
        return f"{head} No fixture of the scenario answers {api_title}."
    misses = nearest_misses(pool, request)
    nearest = "; ".join(f"{m.fixture!r}: {', '.join(m.reasons)}" for m in misses)
    return f"{head} Nearest: {nearest}."
