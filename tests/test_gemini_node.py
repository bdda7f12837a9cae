"""The official Node.js Gemini SDK, `@google/genai` (tests/node, pinned), against the Gemini API module under
every fault kind it serves and the error statuses: `generateContent` and `generateContentStream`, each with the
SDK's defaults (no retries, no timeout) and with `httpOptions.retryOptions` and a per-attempt timeout.

Every cell is one fault on the first attempt and a clean answer on any retry, so what the SDK retries shows as a
recovered answer and a request count above 1. The cells run in one node process (tests/node/gemini_matrix.mjs),
concurrently, with the base URL and key from the variables the runner exports (`GOOGLE_GEMINI_BASE_URL`,
`GEMINI_API_KEY`), which the SDK reads itself. Each expectation is what the SDK does against the real API for
the same bytes, from its source (`dist/node/index.mjs`): see the shared reference on SDK wire behaviour.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from typing import Any

import pytest
from corpus import NODE_DIR, ensure_node_packages

from dotmock.dsl.loader import load_text
from dotmock.runner.case import client_environment
from dotmock.server.journal import HttpExchange, Journal
from dotmock.server.running import running_server

TEXT = "A whole answer from the Gemini API, in small pieces."
FIRST_TWO = TEXT[:16]  # chunkSize 8: what two chunks carry
SILENCE = "4s"
# The retry forms' per-attempt timeout: under the silences, and far over an answer on a loaded machine (the
# whole suite with -n 2 on 2 shared cores once failed a cell under 1 s)
TIMEOUT_MS = 2500
ANSWER = '{"city": "Paris", "temp": 21}'
SCHEMA = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'

# word in the prompt -> the first attempt's outcome (any retry gets TEXT in full)
FAULTS: dict[str, str] = {
    "truncate": "response TEXT\n  streaming { chunkSize 8 truncateAfterChunks 2 }",
    "dropchunks": "response TEXT\n  streaming { chunkSize 8 latencyMs 5 }\n  fault disconnect after 2 chunks",
    "droptimer": "response TEXT\n  streaming { chunkSize 8 latencyMs 30 }\n  fault disconnect after 75ms",
    "dropheaders": "response TEXT\n  streaming { chunkSize 8 }\n  fault disconnect after 0 chunks",
    "stall": f"response TEXT\n  streaming {{ chunkSize 8 }}\n  fault stall after 1 chunks for {SILENCE}",
    "slowfirst": f"response TEXT\n  streaming {{ chunkSize 8 }}\n  fault slowFirstToken {SILENCE}",
    "malformed": "response TEXT\n  streaming { chunkSize 8 }\n  fault malformedChunk after 2 chunks",
    "overloadevent": (
        "response TEXT\n  streaming { chunkSize 8 }\n"
        '  fault errorEvent after 2 chunks { message "Busy" code "overloaded" }'
    ),
    "quotaevent": (
        "response TEXT\n  streaming { chunkSize 8 }\n"
        '  fault errorEvent after 2 chunks { message "Quota" type "RESOURCE_EXHAUSTED" }'
    ),
    "schema": f"structured {ANSWER} schema {SCHEMA}\n  fault schemaViolation",
    "status400": 'error 400 { message "Invalid value at contents" }',
    "status403": "error 403",
    "status404": 'error 404 { message "models/gemini-nope is not found" }',
    "status429": 'error 429 { header "retry-after" "5" }',  # RetryInfo retryDelay 5s in the body
    "status500": "error 500",
    "status503": "error 503",
}


def scenario_text() -> str:
    fixtures = [
        f'fixture "{word}" {{\n  match POST * {{ message contains "[{word}]" attempt 1 }}\n'
        f"  {outcome.replace('TEXT', json.dumps(TEXT))}\n}}\n"
        for word, outcome in FAULTS.items()
    ]
    fixtures.append(f'fixture "recovered" {{\n  match POST *\n  response "{TEXT}"\n}}\n')
    return 'scenario "gemini node sdk"\n\n' + "\n".join(fixtures)


FORMS = ("generate", "stream", "generate-retry", "stream-retry")


def prompt_of(exchange: HttpExchange) -> str | None:
    """The text the SDK sent (`contents` as `[{"role": "user", "parts": [{"text": ...}]}]`)."""
    try:
        return str(exchange.body["contents"][0]["parts"][0]["text"])
    except (KeyError, IndexError, TypeError):
        return None


def exchanges_of(journal: Journal, form: str, word: str) -> list[HttpExchange]:
    return [ex for ex in journal.http if prompt_of(ex) == f"please [{word}] #{form}"]


async def _node_matrix() -> tuple[dict[tuple[str, str], dict[str, Any]], Journal]:
    (scenario,) = load_text(scenario_text(), "gemini_node.mock").cases
    cells = [[form, word] for form in FORMS for word in FAULTS]
    async with running_server(scenario) as srv:
        env = {
            **os.environ,
            **client_environment(srv.base_url, srv.ws_url),
            "GEMINI_MATRIX_TIMEOUT_MS": str(TIMEOUT_MS),
        }
        env.pop("GOOGLE_API_KEY", None)  # the SDK prefers it over GEMINI_API_KEY
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "gemini_matrix.mjs"),
            json.dumps(cells),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 90)
        assert proc.returncode == 0, err.decode()
        results = [json.loads(line) for line in out.decode().splitlines()]
        return {(r["form"], r["word"]): r for r in results}, srv.journal


@pytest.fixture(scope="module")
def node_results() -> tuple[dict[tuple[str, str], dict[str, Any]], Journal]:
    ensure_node_packages()
    return asyncio.run(_node_matrix())


# (ok or the error's class name, requests sent, the text returned: "all", "two chunks" or None)
Expected = tuple[str, int, str | None]
_ERRORS: dict[str, Expected] = {f"status{s}": ("ApiError", 1, None) for s in (400, 403, 404, 429, 500, 503)}
_RETRIED: dict[str, Expected] = {f"status{s}": ("ok", 2, "all") for s in (429, 500, 503)}  # RetryInfo ignored
_DROPS: dict[str, Expected] = {word: ("TypeError", 1, None) for word in ("dropchunks", "droptimer", "dropheaders")}

GENERATE: dict[str, Expected] = {
    "truncate": ("ok", 1, "all"),  # truncateAfterChunks cuts streams only: a JSON answer is whole
    # undici's `TypeError: terminated` (cause SocketError) while reading the body, which is read after the
    # retry loop: never retried, not wrapped in the SDK's ApiError
    **_DROPS,
    # No timeout by default: the SDK even turns off undici's own 300 s header and body timeouts.
    "stall": ("ok", 1, "all"),
    "slowfirst": ("ok", 1, "all"),
    "malformed": ("SyntaxError", 1, None),  # a 200 whose body is not JSON: Response.json()'s own error
    "overloadevent": ("ok", 1, "all"),  # a JSON answer has no events
    "quotaevent": ("ok", 1, "all"),
    "schema": ("ok", 1, None),  # handed over as text: the Node SDK parses no structured answer
    **_ERRORS,
}
STREAM: dict[str, Expected] = {
    **GENERATE,
    "truncate": ("ok", 1, "two chunks"),  # no finishReason chunk: the iteration ends without complaint
    "malformed": ("SyntaxError", 1, "two chunks"),
    "overloadevent": ("ApiError", 1, "two chunks"),  # the error chunk raised mid-iteration, status = its code
    "quotaevent": ("ApiError", 1, "two chunks"),
}
WITH_RETRIES: dict[str, dict[str, Expected]] = {
    # The per-attempt timeout aborts the fetch (a DOMException named AbortError): before the headers
    # (slowFirstToken on a JSON answer) p-retry tries again; while reading a body it is raised as it is.
    "generate": {**GENERATE, "stall": ("DOMException", 1, None), "slowfirst": ("ok", 2, "all"), **_RETRIED},
    # A stream's headers come at once: a silence is always met while reading, never retried.
    "stream": {**STREAM, "stall": ("DOMException", 1, None), "slowfirst": ("DOMException", 1, None), **_RETRIED},
}
EXPECTED: dict[str, dict[str, Expected]] = {
    "generate": GENERATE,
    "stream": STREAM,
    "generate-retry": WITH_RETRIES["generate"],
    "stream-retry": WITH_RETRIES["stream"],
}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
STATUS_NAMES |= {500: "INTERNAL", 503: "UNAVAILABLE"}
EVENT_STATUS = {"overloadevent": (503, "UNAVAILABLE"), "quotaevent": (429, "RESOURCE_EXHAUSTED")}


def check_cell(result: dict[str, Any], journal: Journal, expected: Expected) -> None:
    outcome, requests, text = expected
    form, word = result["form"], result["word"]
    assert (result["error"] if not result["ok"] else "ok") == outcome, result
    assert len(exchanges_of(journal, form, word)) == requests, result
    got = result["text"] if result["ok"] else (result["partial"] or {}).get("text")
    if text is not None:
        assert got == (TEXT if text == "all" else FIRST_TWO), result
    if result["ok"] and word != "schema":
        assert result["finish"] == ("STOP" if text == "all" else None), result
    if outcome == "DOMException":
        assert result["name"] == "AbortError" and "aborted" in result["message"], result
    if outcome == "TypeError":
        assert result["message"] == "terminated" and result["cause"] == "SocketError", result


@pytest.mark.parametrize("word", list(FAULTS))
@pytest.mark.parametrize("form", FORMS)
def test_node_sdk(node_results: Any, form: str, word: str) -> None:
    results, journal = node_results
    check_cell(results[(form, word)], journal, EXPECTED[form][word])


@pytest.mark.parametrize("form", FORMS)
def test_an_error_status_is_an_api_error_with_the_body_as_its_message(node_results: Any, form: str) -> None:
    results, _ = node_results
    for status, name in STATUS_NAMES.items():
        result = results[(form, f"status{status}")]
        if result["ok"]:
            continue  # retried, then answered
        assert result["status"] == status and json.loads(result["message"])["error"]["status"] == name, result
        assert result["partial"] is None, result  # generateContentStream itself rejects: no stream to iterate


@pytest.mark.parametrize("form", ["stream", "stream-retry"])
def test_an_error_chunk_is_an_api_error_with_its_code(node_results: Any, form: str) -> None:
    results, _ = node_results
    for word, (code, name) in EVENT_STATUS.items():
        result = results[(form, word)]
        assert result["status"] == code and result["message"].startswith(f"got status: {name}. "), result
        assert json.loads(result["message"].split(". ", 1)[1])["error"]["code"] == code


@pytest.mark.parametrize("form", FORMS)
def test_a_schema_violation_is_handed_over_as_text(node_results: Any, form: str) -> None:
    result = node_results[0][(form, "schema")]
    assert json.loads(result["text"]) == {"temp": 21} and result["finish"] == "STOP", result  # "city" dropped


@pytest.mark.parametrize("form", ["generate-retry", "stream-retry"])
def test_retries_ignore_the_retry_info_delay(node_results: Any, form: str) -> None:
    first, second = exchanges_of(node_results[1], form, "status429")
    assert first.retry_after_s == 5.0  # RetryInfo retryDelay "5s"
    assert first.ended_at is not None and second.started_at - first.ended_at < 2.5  # initialDelay 0.02 s


def test_the_sdk_finds_the_mock_through_the_runner_environment_on_v1(node_results: Any) -> None:
    journal: Journal = node_results[1]
    generate = exchanges_of(journal, "generate", "truncate")[0]
    stream = exchanges_of(journal, "stream", "truncate")[0]
    # @google/genai's default API version is v1 (GOOGLE_GENAI_API_VERSION=beta or apiVersion: v1beta for the other)
    assert (generate.path, generate.query) == ("/v1/models/gemini-2.0-flash:generateContent", "")
    assert (stream.path, stream.query) == ("/v1/models/gemini-2.0-flash:streamGenerateContent", "alt=sse")
    assert generate.api == stream.api == "gemini"
    assert "x-goog-api-key" in generate.headers and generate.headers["x-goog-api-client"].startswith(
        "google-genai-sdk/"
    )
