"""The official Anthropic SDKs against `POST /v1/messages` under every fault kind: the Python `anthropic` SDK
(sync and async) and the npm `@anthropic-ai/sdk` (tests/node, pinned), each in three call forms: `create`
(JSON), `create(stream=True)` iterated, and the `messages.stream()` helper with its final message.

Every cell is one fault on the first attempt and a clean answer on any retry, so what the SDK retries shows
as a recovered answer and a request count of 2 or 3. The node cells run in one process (tests/node/
anthropic_matrix.mjs), concurrently; the Python cells run concurrently too. Each expectation is what the SDK
does against the real API for the same bytes (see the shared reference on SDK wire behaviour).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest
from corpus import NODE_DIR, ensure_node_packages

from dotmock.dsl.loader import load_text
from dotmock.server.journal import Journal
from dotmock.server.running import running_server

TEXT = "A whole answer from the Messages API, in small pieces."
FIRST_TWO = TEXT[:16]  # chunkSize 8: what two chunks carry

# word in the prompt -> the first attempt's outcome (the retry gets TEXT in full)
FAULTS: dict[str, str] = {
    "truncate": "response TEXT\n  streaming { chunkSize 8 truncateAfterChunks 2 }",
    "dropchunks": "response TEXT\n  streaming { chunkSize 8 latencyMs 5 }\n  fault disconnect after 2 chunks",
    "droptimer": "response TEXT\n  streaming { chunkSize 8 latencyMs 30 }\n  fault disconnect after 75ms",
    "stall": "response TEXT\n  streaming { chunkSize 8 }\n  fault stall after 1 chunks for 300ms",
    "slowfirst": "response TEXT\n  streaming { chunkSize 8 }\n  fault slowFirstToken 300ms",
    "malformed": "response TEXT\n  streaming { chunkSize 8 }\n  fault malformedChunk after 2 chunks",
    "overloadevent": (
        'response TEXT\n  streaming { chunkSize 8 }\n  fault errorEvent after 2 chunks { message "Overloaded" '
        'type "overloaded_error" }'
    ),
    "apierrorevent": (
        'response TEXT\n  streaming { chunkSize 8 }\n  fault errorEvent after 2 chunks { message "Internal" '
        'type "api_error" }'
    ),
    "status400": 'error 400 { message "max_tokens: too big" }',
    "status401": 'error 401 { message "invalid x-api-key" }',
    "status404": 'error 404 { message "model: claude-nope" }',
    "status413": 'error 413 { message "Request exceeds the maximum size" }',
    "status429": 'error 429 { header "retry-after" "0.05" message "Number of requests has exceeded your rate limit" }',
    "status500": 'error 500 { header "retry-after-ms" "30" message "Internal server error" }',
    "status529": 'error 529 { header "retry-after-ms" "30" message "Overloaded" }',
}


def scenario_text() -> str:
    fixtures = [
        f'fixture "{word}" {{\n  match POST /v1/messages {{ message contains "{word}" attempt 1 }}\n'
        f"  {outcome.replace('TEXT', json.dumps(TEXT))}\n}}\n"
        for word, outcome in FAULTS.items()
    ]
    fixtures.append(f'fixture "recovered" {{\n  match POST /v1/messages\n  response "{TEXT}"\n}}\n')
    return 'scenario "anthropic sdks"\n\n' + "\n".join(fixtures)


def requests_of(journal: Journal, prompt: str) -> int:
    return sum(
        1
        for ex in journal.http
        if isinstance(ex.body, dict) and ex.body.get("messages") == [{"role": "user", "content": prompt}]
    )


async def serve_and_run(run: Callable[[str], Any]) -> tuple[Any, Journal]:
    (scenario,) = load_text(scenario_text(), "anthropic_sdks.mock").cases
    async with running_server(scenario) as srv:
        result = await run(srv.base_url)
        return result, srv.journal


# ---------------------------------------------------------------------------------------------- Python


def _py_request(word: str, form: str) -> dict[str, Any]:
    prompt = f"please {word} #{form}"
    return {"model": "claude-test", "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}


def _text(message: Any) -> str:
    return "".join(getattr(block, "text", "") for block in message.content)


def _sync_cell(base_url: str, form: str, word: str) -> dict[str, Any]:
    with anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=2, timeout=30.0) as sdk:
        body = _py_request(word, form)
        if form == "create-sync":
            message = sdk.messages.create(**body)
            return {"text": _text(message), "stop_reason": message.stop_reason}
        if form == "stream-sync":
            text = ""
            for event in sdk.messages.create(**body, stream=True):
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    text += event.delta.text
            return {"text": text}
        with sdk.messages.stream(**body) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        return {"text": text, "final": _text(final), "stop_reason": final.stop_reason}


async def _async_cell(base_url: str, form: str, word: str) -> dict[str, Any]:
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="sk-ant-test", max_retries=2, timeout=30.0) as sdk:
        body = _py_request(word, form)
        if form == "create-async":
            message = await sdk.messages.create(**body)
            return {"text": _text(message), "stop_reason": message.stop_reason}
        if form == "stream-async":
            text = ""
            async for event in await sdk.messages.create(**body, stream=True):
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    text += event.delta.text
            return {"text": text}
        async with sdk.messages.stream(**body) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            final = await stream.get_final_message()
        return {"text": text, "final": _text(final), "stop_reason": final.stop_reason}


async def _observe(form: str, word: str, call: Any) -> dict[str, Any]:
    try:
        return {"form": form, "word": word, "ok": True, **(await call)}
    except Exception as err:
        status = getattr(err, "status_code", None)
        body = getattr(err, "body", None)
        kind = body.get("error", {}).get("type") if isinstance(body, dict) else None
        return {"form": form, "word": word, "ok": False, "error": type(err).__name__, "status": status, "type": kind}


PY_FORMS = ("create-sync", "stream-sync", "helper-sync", "create-async", "stream-async", "helper-async")


async def _python_matrix(base_url: str) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    calls = []
    with ThreadPoolExecutor(max_workers=len(FAULTS) * 3) as pool:  # every sync cell at once, as the async ones
        for form in PY_FORMS:
            for word in FAULTS:
                if form.endswith("-sync"):
                    call = loop.run_in_executor(pool, _sync_cell, base_url, form, word)
                else:
                    call = _async_cell(base_url, form, word)
                calls.append(_observe(form, word, call))
        return list(await asyncio.gather(*calls))


# ---------------------------------------------------------------------------------------------- Node

NODE_FORMS = ("create", "stream", "helper")


async def _node_matrix(base_url: str) -> list[dict[str, Any]]:
    cells = [[form, word] for form in NODE_FORMS for word in FAULTS]
    env = {**os.environ, "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "anthropic_matrix.mjs"),
        json.dumps(cells),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


# ---------------------------------------------------------------------------------------------- results


@pytest.fixture(scope="module")
def python_results() -> tuple[dict[tuple[str, str], dict[str, Any]], Journal]:
    results, journal = asyncio.run(serve_and_run(_python_matrix))
    return {(r["form"], r["word"]): r for r in results}, journal


@pytest.fixture(scope="module")
def node_results() -> tuple[dict[tuple[str, str], dict[str, Any]], Journal]:
    ensure_node_packages()
    results, journal = asyncio.run(serve_and_run(_node_matrix))
    return {(r["form"], r["word"]): r for r in results}, journal


# (ok or the error's class name, requests sent, the text returned: "all", "two chunks" or None)
Expected = tuple[str, int, str | None]
_STATUS_ERRORS: dict[str, Expected] = {
    "status400": ("BadRequestError", 1, None),
    "status401": ("AuthenticationError", 1, None),
    "status404": ("NotFoundError", 1, None),
    "status413": ("ContentTooLargeError", 1, None),
    "status429": ("ok", 2, "all"),  # retried after the retry-after, then the answer
    "status500": ("ok", 2, "all"),
    "status529": ("ok", 2, "all"),
}
_SILENCES: dict[str, Expected] = {"stall": ("ok", 1, "all"), "slowfirst": ("ok", 1, "all")}  # default timeouts: minutes

PY_EXPECTED: dict[str, dict[str, Expected]] = {
    "create": {
        "truncate": ("ok", 1, "all"),  # truncateAfterChunks cuts streams only: a JSON answer is whole
        # The SDK reads a JSON body inside its retry loop: a drop mid-body is a connection error, retried.
        "dropchunks": ("ok", 2, "all"),
        "droptimer": ("ok", 2, "all"),
        **_SILENCES,
        "malformed": ("JSONDecodeError", 1, None),  # a 200 whose body is not JSON: raised raw, not retried
        "overloadevent": ("ok", 1, "all"),  # a JSON answer has no events
        "apierrorevent": ("ok", 1, "all"),
        **_STATUS_ERRORS,
    },
    "stream": {
        "truncate": ("ok", 1, "two chunks"),  # no message_stop: the iteration ends without complaint
        "dropchunks": ("RemoteProtocolError", 1, None),  # the transport's own error, never retried mid-stream
        "droptimer": ("RemoteProtocolError", 1, None),
        **_SILENCES,
        "malformed": ("JSONDecodeError", 1, None),
        "overloadevent": ("APIStatusError", 1, None),  # event: error raises, status_code 200, body's type kept
        "apierrorevent": ("APIStatusError", 1, None),
        **_STATUS_ERRORS,
    },
}
PY_EXPECTED["helper"] = {**PY_EXPECTED["stream"]}  # get_final_message() returns the partial text, stop_reason None

NODE_EXPECTED: dict[str, dict[str, Expected]] = {
    "create": {
        "truncate": ("ok", 1, "all"),
        # undici's `TypeError: terminated` (cause SocketError) while reading the body: not retried, not wrapped
        "dropchunks": ("TypeError", 1, None),
        "droptimer": ("TypeError", 1, None),
        **_SILENCES,
        "malformed": ("SyntaxError", 1, None),
        "overloadevent": ("ok", 1, "all"),
        "apierrorevent": ("ok", 1, "all"),
        **_STATUS_ERRORS,
    },
    "stream": {
        "truncate": ("ok", 1, "two chunks"),
        "dropchunks": ("TypeError", 1, None),
        "droptimer": ("TypeError", 1, None),
        **_SILENCES,
        "malformed": ("SyntaxError", 1, None),
        "overloadevent": ("APIError", 1, None),  # a plain APIError (no status), the body's error type kept
        "apierrorevent": ("APIError", 1, None),
        **_STATUS_ERRORS,
    },
    "helper": {
        # finalMessage() rejects a stream without message_stop (the Python helper returns the partial text)
        "truncate": ("AnthropicError", 1, None),
        "dropchunks": ("AnthropicError", 1, None),  # the helper wraps the transport's TypeError
        "droptimer": ("AnthropicError", 1, None),
        **_SILENCES,
        "malformed": ("AnthropicError", 1, None),  # ... and the SyntaxError
        "overloadevent": ("APIError", 1, None),
        "apierrorevent": ("APIError", 1, None),
        **_STATUS_ERRORS,
    },
}
_ERROR_TYPES = {
    "overloadevent": "overloaded_error",
    "apierrorevent": "api_error",
    "status400": "invalid_request_error",
    "status401": "authentication_error",
    "status404": "not_found_error",
    "status413": "request_too_large",
}


def check_cell(result: dict[str, Any], journal: Journal, expected: Expected) -> None:
    outcome, requests, text = expected
    prompt = f"please {result['word']} #{result['form']}"
    assert (result["error"] if not result["ok"] else "ok") == outcome, result
    assert requests_of(journal, prompt) == requests, result
    if text is not None:
        assert result["text"] == (TEXT if text == "all" else FIRST_TWO), result
    if "final" in result:
        assert result["final"] == result["text"]
        assert result["stop_reason"] == ("end_turn" if text == "all" else None)
    if not result["ok"] and result["word"] in _ERROR_TYPES:
        assert result["type"] == _ERROR_TYPES[result["word"]], result
    if not result["ok"] and result["word"].startswith("status"):
        assert result["status"] == int(result["word"][-3:])


@pytest.mark.parametrize("word", list(FAULTS))
@pytest.mark.parametrize("form", PY_FORMS)
def test_python_sdk(python_results: Any, form: str, word: str) -> None:
    results, journal = python_results
    check_cell(results[(form, word)], journal, PY_EXPECTED[form.split("-")[0]][word])


@pytest.mark.parametrize("word", list(FAULTS))
@pytest.mark.parametrize("form", NODE_FORMS)
def test_node_sdk(node_results: Any, form: str, word: str) -> None:
    results, journal = node_results
    result = results[(form, word)]
    check_cell(result, journal, NODE_EXPECTED[form][word])
    if form != "helper" and word.startswith("drop"):
        assert result["cause"] == "SocketError", result
    if form == "helper" and word == "truncate":
        assert "without producing a Message" in result["message"]
