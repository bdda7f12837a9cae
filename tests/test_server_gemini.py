"""Google Gemini (`/{v1,v1beta}/models/{model}:generateContent` / `:streamGenerateContent`) against the official
google-genai SDK: `generate_content` and `generate_content_stream`, sync and async, under every fault kind and
error status, with what the SDK really raises, retries and returns; and the wire itself (SSE, the JSON-array
stream read incrementally, error bodies, the key, the journal's redaction)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpcore2
import httpx
import httpx2
import pytest
from google import genai
from google.genai import errors, types

from dotmock.dsl.model import ErrorOutcome, Fault, Fixture, Match, Scenario, Streaming, TextOutcome, TextRule
from dotmock.runner.case import client_environment
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

TEXT = "Hello from dotmock on the Gemini API, streamed in small pieces."
FAST = Streaming(chunk_size=8, latency_ms=1)
MODEL = "gemini-2.0-flash"
KEY = "AIzaSyDummyKeyForDotmockTests0wxyz"
RETRY = types.HttpRetryOptions(attempts=3, initial_delay=0.02, max_delay=0.05, jitter=0.0)
READ_TIMEOUT_MS = 200  # against 1 s silences
DROPPED = (httpx2.RemoteProtocolError, httpcore2.RemoteProtocolError, httpx.RemoteProtocolError)


def fixture(name: str, outcome: TextOutcome | ErrorOutcome) -> Fixture:
    return Fixture(name, Match("http", "POST", None, text=(TextRule("contains", f"[{name}]"),)), outcome)


FIXTURES = (
    fixture("disconnect", TextOutcome(TEXT, FAST, (Fault("disconnect", after_chunks=2),))),
    fixture("truncate", TextOutcome(TEXT, Streaming(chunk_size=8, latency_ms=1, truncate_after_chunks=2))),
    fixture("malformed", TextOutcome(TEXT, FAST, (Fault("malformedChunk", after_chunks=2),))),
    fixture(
        "errorEvent", TextOutcome(TEXT, FAST, (Fault("errorEvent", after_chunks=2, message="Busy", code="overloaded"),))
    ),
    fixture("stall", TextOutcome(TEXT, FAST, (Fault("stall", after_chunks=1, duration_s=1.0),))),
    fixture("slowFirstToken", TextOutcome(TEXT, FAST, (Fault("slowFirstToken", duration_s=1.0),))),
    fixture("429", ErrorOutcome(429, headers=(("retry-after", "2"),))),
    fixture("500", ErrorOutcome(500)),
    fixture("503", ErrorOutcome(503)),
    fixture("400", ErrorOutcome(400, message="Bad field")),
    fixture("length", TextOutcome(TEXT, FAST, finish_reason="length")),
    fixture("ok", TextOutcome(TEXT, FAST)),
)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(Scenario(name="gemini", path="g.mock", base_dir=".", fixtures=FIXTURES)) as server:
        yield server


def sdk(
    server: RunningServer, *, retry: types.HttpRetryOptions | None = None, timeout: int | None = None
) -> genai.Client:
    options = types.HttpOptions(base_url=server.base_url, retry_options=retry, timeout=timeout)
    return genai.Client(api_key=KEY, http_options=options)


FORMS = ["generate_content", "generate_content_stream", "aio.generate_content", "aio.generate_content_stream"]


async def call(client: genai.Client, form: str, word: str) -> list[types.GenerateContentResponse]:
    """One call in the given form; the responses it returned (one, or every chunk of a stream)."""
    contents = f"please [{word}]"
    if form == "generate_content":
        return [await anyio.to_thread.run_sync(lambda: client.models.generate_content(model=MODEL, contents=contents))]
    if form == "generate_content_stream":
        return await anyio.to_thread.run_sync(
            lambda: list(client.models.generate_content_stream(model=MODEL, contents=contents))
        )
    if form == "aio.generate_content":
        return [await client.aio.models.generate_content(model=MODEL, contents=contents)]
    return [chunk async for chunk in await client.aio.models.generate_content_stream(model=MODEL, contents=contents)]


def streamed(form: str) -> bool:
    return form.endswith("_stream")


def attempts(server: RunningServer, word: str) -> int:
    return sum(1 for e in server.journal.http if f"[{word}]" in json.dumps(e.body))


def text_of(responses: list[types.GenerateContentResponse]) -> str:
    return "".join(r.text or "" for r in responses)


@pytest.mark.parametrize("form", FORMS)
async def test_a_complete_answer(srv: RunningServer, form: str) -> None:
    responses = await call(sdk(srv), form, "ok")
    assert text_of(responses) == TEXT
    last = responses[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata and last.usage_metadata.candidates_token_count and last.usage_metadata.total_token_count
    assert len(responses) == (9 if streamed(form) else 1)  # eight chunks of text, then the finishReason chunk


@pytest.mark.parametrize("form", FORMS)
async def test_length_is_max_tokens(srv: RunningServer, form: str) -> None:
    responses = await call(sdk(srv), form, "length")
    assert responses[-1].candidates and responses[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


@pytest.mark.parametrize("form", FORMS)
async def test_a_dropped_connection_raises_the_transport_error_and_is_not_retried(
    srv: RunningServer, form: str
) -> None:
    before = attempts(srv, "disconnect")
    with pytest.raises(DROPPED):
        await call(sdk(srv, retry=RETRY), form, "disconnect")
    assert attempts(srv, "disconnect") - before == 1  # a cut body is not among google-genai's transient errors


@pytest.mark.parametrize("form", FORMS)
async def test_a_truncated_stream_is_returned_without_complaint(srv: RunningServer, form: str) -> None:
    responses = await call(sdk(srv), form, "truncate")
    if not streamed(form):
        assert text_of(responses) == TEXT  # truncateAfterChunks concerns streams
        return
    # The SDK hands over what came and raises nothing: the missing finishReason is the client's to notice.
    assert text_of(responses) == TEXT[:16]
    assert all(c.finish_reason is None for r in responses for c in r.candidates or [])
    exchange = next(e for e in reversed(srv.journal.http) if "[truncate]" in json.dumps(e.body))
    assert exchange.faults == ["truncate"] and not exchange.completed


@pytest.mark.parametrize("form", FORMS)
async def test_a_malformed_chunk(srv: RunningServer, form: str) -> None:
    if streamed(form):
        with pytest.raises(errors.UnknownApiResponseError, match="Failed to parse response as JSON"):
            await call(sdk(srv), form, "malformed")
    else:
        with pytest.raises(json.JSONDecodeError):  # the SDK lets the json module's own error out
            await call(sdk(srv), form, "malformed")


@pytest.mark.parametrize("form", FORMS)
async def test_an_error_event_mid_stream_raises_server_error(srv: RunningServer, form: str) -> None:
    if not streamed(form):
        assert text_of(await call(sdk(srv), form, "errorEvent")) == TEXT  # no events in a JSON answer
        return
    with pytest.raises(errors.ServerError) as raised:
        await call(sdk(srv), form, "errorEvent")
    assert raised.value.code == 503 and raised.value.status == "UNAVAILABLE" and raised.value.message == "Busy"


@pytest.mark.parametrize("fault", ["stall", "slowFirstToken"])
@pytest.mark.parametrize("form", FORMS)
async def test_a_silence_hits_the_read_timeout(srv: RunningServer, form: str, fault: str) -> None:
    before = attempts(srv, fault)
    with pytest.raises((httpx2.ReadTimeout, httpx.ReadTimeout)):
        await call(sdk(srv, retry=RETRY, timeout=READ_TIMEOUT_MS), form, fault)
    # Retries cover getting the answer, not reading a stream: a JSON answer is tried 3 times, a stream once.
    assert attempts(srv, fault) - before == (1 if streamed(form) else 3)


@pytest.mark.parametrize(
    ("status", "error", "name", "retried"),
    [
        ("429", errors.ClientError, "RESOURCE_EXHAUSTED", True),
        ("500", errors.ServerError, "INTERNAL", True),
        ("503", errors.ServerError, "UNAVAILABLE", True),
        ("400", errors.ClientError, "INVALID_ARGUMENT", False),
    ],
)
@pytest.mark.parametrize("form", FORMS)
async def test_error_statuses(
    srv: RunningServer, form: str, status: str, error: type[errors.APIError], name: str, retried: bool
) -> None:
    before = attempts(srv, status)
    with pytest.raises(error) as raised:
        await call(sdk(srv, retry=RETRY), form, status)
    assert raised.value.code == int(status) and raised.value.status == name
    assert attempts(srv, status) - before == (3 if retried else 1)
    without = attempts(srv, status)
    with pytest.raises(error):
        await call(sdk(srv), form, status)
    assert attempts(srv, status) - without == 1  # google-genai retries only when given retry options
    if status == "429":
        details: Any = raised.value.details
        retry_info = details["error"]["details"][0]
        assert retry_info == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}


async def test_the_sdk_finds_the_mock_through_the_runner_environment(
    srv: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in client_environment(srv.base_url, srv.ws_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    response = await genai.Client().aio.models.generate_content(model=MODEL, contents="[ok]")
    assert response.text == TEXT
    exchange = srv.journal.http[-1]
    assert exchange.path == f"/v1/models/{MODEL}:generateContent" and exchange.api == "gemini"


async def test_the_wire(srv: RunningServer) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "[ok]"}]}]}
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        sse = await http.post(f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse&key={KEY}", json=body)
        assert sse.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in sse.text.split("\n\n") if line]
        assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events) == TEXT
        assert (
            events[-1]["candidates"][0]["finishReason"] == "STOP" and "finishReason" not in events[0]["candidates"][0]
        )
        assert srv.journal.http[-1].query == "alt=sse&key=***…wxyz"  # the key never reaches the journal
        assert KEY not in json.dumps(srv.journal.to_json())

        # Without alt=sse: one JSON array, its elements written as they come.
        headers = {"x-goog-api-key": KEY}
        async with http.stream("POST", f"/v1/models/{MODEL}:streamGenerateContent", json=body, headers=headers) as r:
            assert r.headers["content-type"] == "application/json"
            parts = [part async for part in r.aiter_bytes()]
        whole = b"".join(parts)
        assert whole.startswith(b"[{") and whole.endswith(b"}]") and len(parts) > 1
        assert [e["candidates"][0]["content"]["parts"][0]["text"] for e in json.loads(whole)][:2] == [
            "Hello fr",
            "om dotmo",
        ]
        truncated = {"contents": [{"parts": [{"text": "[truncate]"}]}]}
        cut = await http.post(f"/v1/models/{MODEL}:streamGenerateContent", json=truncated, headers=headers)
        assert cut.content.startswith(b"[{") and not cut.content.endswith(b"]")  # no final chunk, no closing bracket

        refused = await http.post(f"/v1/models/{MODEL}:generateContent", json=body)
        assert refused.status_code == 403 and refused.json()["error"]["status"] == "PERMISSION_DENIED"
        empty = await http.post(f"/v1/models/{MODEL}:generateContent", json={"contents": []}, headers=headers)
        assert empty.status_code == 400 and empty.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert "contents is not specified" in empty.json()["error"]["message"]
        wrong = await http.get(f"/v1beta/models/{MODEL}:generateContent", headers=headers)
        assert wrong.status_code == 405 and set(wrong.json()["error"]) == {"code", "message", "status"}
        unmatched = {"contents": [{"parts": [{"text": "nothing matches this"}]}]}
        miss = await http.post(f"/v1beta/models/{MODEL}:generateContent", json=unmatched, headers=headers)
        assert miss.status_code == 404 and miss.json()["error"]["status"] == "NOT_FOUND"
        assert f"model '{MODEL}'" in miss.json()["error"]["message"]  # the model from the path, for `match`
