"""The provider APIs dotmock serves over HTTP, one module each, looked up by path.

Each `Api` names its path, the base-URL environment variable its SDKs read, and the event that marks a
complete stream (what a truncation withholds). OpenAI Chat Completions and Responses still live in
`server.answers`/`server.sse`; Anthropic Messages lives in `server.apis.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dotmock.dsl.catalogue import CHAT_COMPLETIONS_PATH, MESSAGES_PATH, RESPONSES_PATH


@dataclass(frozen=True, slots=True)
class Api:
    name: str
    path: str
    base_url_env: str
    base_url_suffix: str  # what the SDK appends itself: the base URL is the server's plus this
    terminator: str


APIS: tuple[Api, ...] = (
    Api("chat_completions", CHAT_COMPLETIONS_PATH, "OPENAI_BASE_URL", "/v1", "data: [DONE]"),
    Api("responses", RESPONSES_PATH, "OPENAI_BASE_URL", "/v1", "response.completed"),
    Api("messages", MESSAGES_PATH, "ANTHROPIC_BASE_URL", "", "message_stop"),
)
BY_PATH = {api.path: api for api in APIS}
