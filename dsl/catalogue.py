"""The catalogue: every named thing of dotmock in one place, as pure data.

Fault kinds, findings and endpoint paths are spelled here once; the language, the server, the runner, the
report schema (`runner.report_json.report_schema()`) and the docs test read them from here. Adding a
finding is one `FindingKind` entry below plus its rule in `runner/findings.py` (and its docs row); adding a
fault kind is one `FaultKind` entry plus its grammar line (aliased `fault_<kind>`, which `dsl/build.py`
builds from its parts), its handler in `server/streaming.py` (and `server/json_faults.py` if it applies to
JSON answers) and its docs row.

This module sits below `dotmock.dsl.model` and imports nothing of dotmock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

# ---------------------------------------------------------------------------------------------- APIs


@dataclass(frozen=True, slots=True)
class ApiKind:
    """One provider API the server speaks over HTTP. `name` is its module, `dotmock.server.apis.<name>`,
    which owns everything about its wire; this entry is what the language, the runner and the docs need.
    `paths` are the paths it answers (`{model}` stands for one path segment's model part); `family` groups
    the APIs one SDK speaks (a fixture miss on one is explained with fixtures of the same family only);
    `base_url_env` (+ `base_url_suffix`) and `key_envs` are how its SDKs find the mock; `terminator` is what
    marks a complete stream, the thing a truncation withholds."""

    name: str
    title: str
    family: str
    paths: tuple[str, ...]
    base_url_env: str
    base_url_suffix: str
    key_envs: tuple[str, ...]
    terminator: str


API_KINDS: tuple[ApiKind, ...] = (
    ApiKind(
        "chat_completions",
        "OpenAI Chat Completions",
        "openai",
        ("/v1/chat/completions",),
        "OPENAI_BASE_URL",
        "/v1",
        ("OPENAI_API_KEY",),
        "data: [DONE]",
    ),
    ApiKind(
        "responses",
        "OpenAI Responses",
        "openai",
        ("/v1/responses",),
        "OPENAI_BASE_URL",
        "/v1",
        ("OPENAI_API_KEY",),
        "response.completed",
    ),
    ApiKind(
        "messages",
        "Anthropic Messages",
        "anthropic",
        ("/v1/messages",),
        "ANTHROPIC_BASE_URL",
        "",
        ("ANTHROPIC_API_KEY",),
        "message_stop",
    ),
    ApiKind(
        "gemini",
        "Google Gemini",
        "google",
        tuple(
            f"/{v}/models/{{model}}:{a}" for v in ("v1beta", "v1") for a in ("generateContent", "streamGenerateContent")
        ),
        "GOOGLE_GEMINI_BASE_URL",
        "",
        ("GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"),  # google-genai; the Vercel AI SDK's @ai-sdk/google
        "finishReason",
    ),
)
API_KINDS += (
    ApiKind(
        "count_tokens",
        "Anthropic token counting",
        "anthropic",
        ("/v1/messages/count_tokens",),
        "ANTHROPIC_BASE_URL",
        "",
        ("ANTHROPIC_API_KEY",),
        "",  # never streamed
    ),
    ApiKind(
        "gemini_count_tokens",
        "Google Gemini token counting",
        "google",
        tuple(f"/{v}/models/{{model}}:countTokens" for v in ("v1beta", "v1")),
        "GOOGLE_GEMINI_BASE_URL",
        "",
        ("GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"),  # google-genai; the Vercel AI SDK's @ai-sdk/google
        "",  # never streamed
    ),
)
APIS_BY_NAME: dict[str, ApiKind] = {k.name: k for k in API_KINDS}

CHAT_COMPLETIONS_PATH = APIS_BY_NAME["chat_completions"].paths[0]
RESPONSES_PATH = APIS_BY_NAME["responses"].paths[0]
MESSAGES_PATH = APIS_BY_NAME["messages"].paths[0]
WS_CHAT_PATH = "/v1/chat"
WS_RESPONSES_PATH = "/v1/responses"
HTTP_ENDPOINTS: tuple[str, ...] = tuple(path for k in API_KINDS for path in k.paths)
MODEL_SEGMENT = "[^/:]+"  # what `{model}` in an API path stands for


def path_pattern(template: str) -> re.Pattern[str]:
    """An API path template (`/v1beta/models/{model}:generateContent`) as a full-match regex."""
    return re.compile(
        "".join(MODEL_SEGMENT if part == "{model}" else re.escape(part) for part in _PARTS.split(template))
    )


_PARTS = re.compile(r"(\{model\})")


def is_http_endpoint(path: str) -> bool:
    """Whether an API answers `path` (a concrete path: a model in place of `{model}`)."""
    return path in HTTP_ENDPOINTS or any(p.fullmatch(path) for p in _TEMPLATES)


_TEMPLATES = tuple(path_pattern(path) for path in HTTP_ENDPOINTS if "{model}" in path)
# The request fields that carry the JSON Schema of a structured answer, on each API that has one (Chat
# `response_format`, Responses `text.format`, Anthropic `output_config.format` (or the older `output_format`),
# Gemini `generationConfig.responseJsonSchema` / `responseSchema`): read by server/schema_violation.py, and by
# `dotmock check` to tell that a fixture's match asks for one.
SCHEMA_FIELDS: dict[str, tuple[str, ...]] = {
    "chat_completions": ("response_format",),
    "responses": ("text.format",),
    "messages": ("output_config.format", "output_format"),
    "gemini": ("generationConfig.responseJsonSchema", "generationConfig.responseSchema"),
}
WS_REALTIME_PATH = "/v1/realtime"  # OpenAI Realtime, text modality (server.apis.realtime, server.realtime_ws)
WS_ENDPOINTS = (WS_CHAT_PATH, WS_RESPONSES_PATH, WS_REALTIME_PATH)
# The event that ends a complete answer on each WebSocket path (what a truncation withholds); `/v1/chat` answers
# a `response.create` with the Responses events, so `response.completed` ends an answer there too.
WS_TERMINATORS: dict[str, tuple[str, ...]] = {
    WS_CHAT_PATH: ("done", "response.completed"),
    WS_RESPONSES_PATH: ("response.completed",),
    WS_REALTIME_PATH: ("response.done",),
}

# ---------------------------------------------------------------------------------------------- faults

# Where a fault can take effect: an SSE stream, a text streamed as WebSocket events, a non-streamed JSON body.
Surface = Literal["stream", "websocket", "json"]

# The `fault X` keywords of the language (the `Fault.kind` of the model).
FaultName = Literal["disconnect", "stall", "malformedChunk", "slowFirstToken", "errorEvent", "schemaViolation"]
# Everything the server can record as applied to an exchange: the written faults, plus what a knob does
# (`truncateAfterChunks` cuts a stream: "truncate"; `disconnectAfterMs` and `closeCode 1006` drop a WebSocket).
AppliedFault: TypeAlias = str


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One kind of fault. `name` is its keyword in `.mock` files (when `written`) and its name in the journal
    and the reports; `words` names it in a finding's title ("crashed on a malformed chunk")."""

    name: str
    words: str
    takes: str  # the words after the keyword, as docs/language.md's grammar summary writes them
    applies: frozenset[Surface]
    ends_stream: bool = False  # the stream ends with it, without its terminator
    silent: bool = False  # the connection stays open and nothing arrives
    written: bool = True  # a `fault X` line of the language; False: the mark a knob leaves in the journal
    # It changes what the answer says (before it is sent: server/schema_violation.py), not how it is delivered:
    # the stream and JSON fault engines leave it alone.
    rewrites: bool = False


_STREAMS: frozenset[Surface] = frozenset({"stream", "websocket"})
_WS: frozenset[Surface] = frozenset({"websocket"})
_ANY: frozenset[Surface] = frozenset({"stream", "websocket", "json"})  # also a non-streamed JSON answer

# In order of precedence: when a client met several, the first of them is the one named as the cause.
FAULT_KINDS: tuple[FaultKind, ...] = (
    FaultKind("malformedChunk", "a malformed chunk", "(after N chunks)? STRING?", _ANY),
    FaultKind(
        "errorEvent",
        "an error event mid-stream",
        "(after N chunks)? { message/type/code STRING ... }?",
        _STREAMS,
        ends_stream=True,
    ),
    FaultKind("disconnect", "a dropped connection", "after (N chunks | DURATION)", _ANY, ends_stream=True),
    FaultKind("truncate", "a truncated stream", "", _STREAMS, ends_stream=True, written=False),
    FaultKind("stall", "a stalled stream", "(after N chunks)? (for DURATION)?", _ANY, silent=True),
    FaultKind("slowFirstToken", "a slow first token", "DURATION", _ANY, silent=True),
    FaultKind("disconnectAfterMs", "a dropped WebSocket", "", _WS, ends_stream=True, written=False),
    FaultKind("closeCode1006", "a dropped WebSocket", "", _WS, ends_stream=True, written=False),
    FaultKind(
        "schemaViolation",
        "a structured answer that breaks its schema",
        "(missing | wrongType)? STRING?",
        _ANY,
        rewrites=True,
    ),
)
FAULTS: dict[str, FaultKind] = {k.name: k for k in FAULT_KINDS}
WRITTEN_FAULTS: tuple[str, ...] = tuple(k.name for k in FAULT_KINDS if k.written)
SILENT_FAULTS: frozenset[str] = frozenset(k.name for k in FAULT_KINDS if k.silent)
ENDING_FAULTS: frozenset[str] = frozenset(k.name for k in FAULT_KINDS if k.ends_stream)
REWRITING_FAULTS: frozenset[str] = frozenset(k.name for k in FAULT_KINDS if k.rewrites)


def fault_words(name: str) -> str:
    """A fault in words, for a finding's title; an `http_<status>` mark is an HTTP error response."""
    if name.startswith("http_"):
        return f"an HTTP {name[5:]} response"
    kind = FAULTS.get(name)
    return kind.words if kind is not None else name


def first_cause(faults: tuple[str, ...] | list[str]) -> str | None:
    """Of the faults an exchange met, the one to name as the cause (the catalogue's order of precedence)."""
    return next((k.name for k in FAULT_KINDS if k.name in faults), None)


# ---------------------------------------------------------------------------------------------- findings

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")  # most important first


@dataclass(frozen=True, slots=True)
class FindingKind:
    """A built-in finding: its name (used in `expect` and reports), severity, the one-line summary of what the
    client did, the advice every report prints with it, and the rule the runner raises it by (what
    `dotmock explain NAME` prints: the docs point there rather than keep a second list)."""

    name: str
    severity: Severity
    summary: str
    advice: str
    rule: str


# The built-in findings every case is judged for. The runner decides them; the language validates names.
FINDING_KINDS: tuple[FindingKind, ...] = (
    FindingKind(
        "retry_after_ignored",
        "error",
        "retried sooner than the Retry-After the server sent",
        "Wait at least the Retry-After (or retry-after-ms) the server sends before retrying.",
        "a retry came sooner (by > 50 ms) than the Retry-After sent with the failed attempt",
    ),
    FindingKind(
        "retried_non_retryable",
        "error",
        "retried a request that failed with a non-retryable status",
        "Do not retry 4xx errors other than 408, 409 and 429: the same request fails again.",
        "a call was retried after a 4xx other than 408/409/429",
    ),
    FindingKind(
        "retry_storm",
        "error",
        "sent more attempts of one call than any sane retry policy",
        "Cap retries (2-4 attempts) and back off exponentially with jitter between them.",
        "more than 5 attempts of one call, or 5 within 1 s",
    ),
    FindingKind(
        "no_backoff",
        "warning",
        "retried without increasing the wait between attempts",
        "Back off exponentially (e.g. 0.5s, 1s, 2s, with jitter) between retries.",
        "≥ 3 attempts, no Retry-After, and no wait grew by 25 % over the previous one",
    ),
    FindingKind(
        "gave_up",
        "warning",
        "retried, then gave up and exited non-zero",
        "Fine if intended: make sure the user sees a clear error, and that the retry budget fits.",
        "a call was retried, its last attempt failed, and the client exited non-zero with its own message",
    ),
    FindingKind(
        "truncated_stream_accepted",
        "error",
        "used a stream that ended without its terminator",
        "Check the stream's terminator ([DONE] / finish_reason / response.completed) "
        "and retry or report an error when it is missing.",
        "the last attempt of a call was a stream cut / dropped without its terminator, no retry followed, exit 0",
    ),
    FindingKind(
        "malformed_chunk_ignored",
        "warning",
        "carried on past a chunk that was not valid JSON",
        "Treat an unparseable chunk as a broken stream: retry or report it, don't skip it.",
        "a malformed chunk was sent in the last attempt of a call, no retry followed, exit 0",
    ),
    FindingKind(
        "no_read_timeout",
        "error",
        "waited on a stalled stream with no read timeout",
        "Set a read timeout on streams (e.g. httpx.Timeout(read=...)) and retry when it fires.",
        "a stall or slow first token left an open stream silent for longer than the read-timeout budget "
        "(`readTimeout` in `client { }`, default 5 s) and the client did not hang up during it: it waited until the "
        "stream resumed, or until it was killed at its timeout (replaces `client_hung`)",
    ),
    FindingKind(
        "client_crashed",
        "error",
        "ended with an uncaught exception or a signal",
        "Catch the SDK's errors (openai.APIError, anthropic.APIError, google.genai.errors.APIError and their "
        "subclasses; JSON errors of a hand-rolled parser) and fail with a clear message, or retry.",
        'uncaught exception or signal; the title names the last fault met: "crashed on a malformed chunk '
        '(JSONDecodeError)"; also a traceback the process then outlived until its timeout ("then did not exit")',
    ),
    FindingKind(
        "never_called",
        "error",
        "made no request to an API dotmock serves: nothing was tested",
        "Point the client at dotmock: the runner sets "
        + ", ".join(sorted({k.base_url_env for k in API_KINDS}))
        + " (and the API keys) for it; a client that reads another variable or has the provider's URL written in "
        "calls the real API, or nothing; a base URL without its version (/v1, Gemini's /v1beta) or with a prefix "
        "too many reaches paths no API has (the 404 and the evidence name the path dotmock serves). A command with "
        "$VARIABLES or pipes needs shell in its client block; a case that means to make no request says so in "
        "expect (finding never_called, or requests == 0).",
        "the client ended and the server saw no HTTP request and no WebSocket (a crash or a hang then says 'before "
        "any request' in its title instead), or every request it saw was to a URL no API answers (a 404 unknown "
        "URL; the findings about how the client took that 404 are left out)",
    ),
    FindingKind(
        "client_hung",
        "error",
        "did not finish before the timeout and was killed",
        "Put a timeout on every network wait and on the whole call.",
        "killed at the timeout, no stall to explain it",
    ),
    FindingKind(
        "processes_left_behind",
        "warning",
        "exited and left processes running (the runner killed them)",
        "Wait for (or stop) every process the client starts before it exits: a detached process outlives the "
        "CI job and keeps its ports, files and API calls going.",
        "the client ended by itself (any exit status, not at its timeout) and processes it started were still "
        "running: in its session, or detached from it (`setsid`, a double fork) but carrying its "
        "`DOTMOCK_CLIENT_TAG`; the runner killed them, the title says how many",
    ),
    FindingKind(
        "ws_no_reconnect",
        "warning",
        "failed loudly after the WebSocket dropped, without reconnecting",
        "Reconnect (with backoff) when a WebSocket drops, and resend the unanswered message.",
        "a WebSocket ended abnormally as for `ws_abnormal_close_ignored`, no new connection followed, and the "
        "client exited non-zero with its own message (it failed loudly instead of reconnecting)",
    ),
    FindingKind(
        "ws_abnormal_close_ignored",
        "error",
        "treated an abnormal WebSocket closure as success",
        "Treat a close code other than 1000/1001, or a drop, as a failure: reconnect or report it.",
        "a WebSocket was dropped or closed with a code other than 1000/1001 before the answer's terminal event "
        "(`response.completed` / `done` as the last frame sent, every message answered, excuses it), no new "
        "connection followed, exit 0",
    ),
    FindingKind(
        "error_event_ignored",
        "error",
        "treated a stream that carried an error event as success",
        'Handle error events in the stream (chat: {"error": ...}; responses: type "error" / response.failed) '
        "as failures.",
        "an error event ended the last attempt of a call (or a WebSocket error event got no reply), exit 0",
    ),
    FindingKind(
        "error_accepted",
        "error",
        "took an HTTP error answer as its result and exited 0",
        "Check the HTTP status: treat 4xx/5xx as failures (retry 408/409/429/5xx with backoff, report the rest) "
        "instead of printing or using the error body as the answer.",
        "the last attempt of a call was an HTTP error answer (4xx/5xx from a fixture), no retry followed, and the "
        "client exited 0: it took the error as its answer (curl without `--fail`)",
    ),
    FindingKind(
        "tool_run_on_broken_call",
        "error",
        "ran a tool on a call whose arguments were cut off or not valid JSON",
        "Run a tool only on a whole call: wait for the end of the call (finish_reason tool_calls, "
        "response.function_call_arguments.done, content_block_stop) and parse the arguments as JSON first; "
        "on a cut or invalid call, retry the request or send back a result that reports the error.",
        "a tool result came back for a call whose arguments were cut off (the answer never completed) or were not a "
        "JSON object, unless the result reports the problem (an Anthropic `is_error` result, or content that says "
        '"invalid", "error", "malformed", ...): that is handling it, not running it',
    ),
    FindingKind(
        "tool_call_lost",
        "error",
        "left a tool call unanswered, or sent a result for a call id the model never made",
        "Answer every tool call of an answer with one result carrying its id (tool_call_id, call_id, "
        "tool_use_id), including each of several parallel calls, and only those ids.",
        "the client went on (or exited 0) without a result for a call of a whole answer, or sent a result naming a "
        "call id the model never made, or exited 0 dropping calls whose arguments were not valid JSON",
    ),
    FindingKind(
        "tool_loop",
        "error",
        "ran the same tool call with the same arguments again and again",
        "Cap the agent's rounds, and stop or change course when the model asks again for a call whose result "
        "it already has.",
        "the client ran the same call (name and arguments) `loopLimit` times (`client { }`, default 5)",
    ),
    FindingKind(
        "stop_reason_ignored",
        "warning",
        "used an answer the model refused, or cut at its token limit, as a complete one",
        "Check why the answer stopped: finish_reason length / status incomplete / stop_reason max_tokens mean "
        "it was cut (raise the limit or continue it); a refusal (refusal field, stop_reason refusal) is no "
        "answer: report it.",
        "the run's last answer was a refusal or cut at its token limit, and the client exited 0 without asking again",
    ),
    FindingKind(
        "schema_violation_accepted",
        "error",
        "used a structured answer that did not satisfy the JSON Schema it asked for",
        "Validate a structured answer against the schema you sent before using it (the SDK's parse() with a "
        "pydantic model, model_validate_json, jsonschema), and retry or report an error when it does not fit.",
        "the last attempt of a call (HTTP, or a WebSocket message) got a structured answer that `fault "
        "schemaViolation` broke against the request's schema, neither a retry nor a correction (a later request "
        "going on with the same conversation) followed, and the client exited 0",
    ),
    FindingKind(
        "fault_handled",
        "info",
        "met a fault and handled it (retried, or failed with its own message)",
        "Nothing to do: the client handled the fault.",
        "a fault was met and the client retried it to success, reconnected, or failed with its own message on stderr "
        "(or exited non-zero with output on stdout only, or printing nothing: the title says which); never beside a "
        "warning or error finding about the fault (`no_backoff`, about retry pacing, can stand beside it)",
    ),
)
FINDINGS: dict[str, FindingKind] = {k.name: k for k in FINDING_KINDS}
FINDING_NAMES: tuple[str, ...] = tuple(FINDINGS)
