"""Anthropic Messages (`POST /v1/messages`) against the official anthropic SDK: create, stream=True, the
`messages.stream()` helper, and what each raises under every stream fault and error status."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpcore2
import httpx
import httpx2
import openai
import pytest

from dotmock.dsl.model import ErrorOutcome, Fault, Fixture, Match, Scenario, Streaming, TextOutcome, TextRule
from dotmock.server.apis.messages import MessagesRenderer, message_object, stop_reason
from dotmock.server.events import dumps
from dotmock.server.payloads import Reply, estimate_tokens
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

TEXT = "Hello from dotmock on the Messages API, streamed in small pieces."
USER = [{"role": "user", "content": "hi"}]
FAST = Streaming(chunk_size=8, latency_ms=1)


def fixture(name: str, outcome: TextOutcome | ErrorOutcome, word: str | None = None) -> Fixture:
    rules = (TextRule("contains", word),) if word else ()
    return Fixture(name, Match("http", "POST", None, text=rules), outcome)


FIXTURES = (
    fixture("disconnect", TextOutcome(TEXT, FAST, (Fault("disconnect", after_chunks=2),)), "disconnect"),
    fixture("truncate", TextOutcome(TEXT, Streaming(chunk_size=8, latency_ms=1, truncate_after_chunks=2)), "truncate"),
    fixture("malformed", TextOutcome(TEXT, FAST, (Fault("malformedChunk", after_chunks=2),)), "malformed"),
    fixture(
        "overloaded",
        TextOutcome(
            TEXT, FAST, (Fault("errorEvent", after_chunks=2, message="Overloaded", error_type="overloaded_error"),)
        ),
        "overloaded",
    ),
    fixture("stall", TextOutcome(TEXT, FAST, (Fault("stall", after_chunks=1, duration_s=0.05),)), "stall"),
    fixture("slow", TextOutcome(TEXT, FAST, (Fault("slowFirstToken", duration_s=0.05),)), "slow"),
    fixture("rate limited", ErrorOutcome(429, "Slow down", headers=(("retry-after", "0"),)), "ratelimit"),
    fixture("server error", ErrorOutcome(500), "servererror"),
    fixture("overloaded status", ErrorOutcome(529), "status529"),
    fixture("length", TextOutcome(TEXT, FAST, finish_reason="length"), "length"),
    fixture("default", TextOutcome(TEXT, FAST)),
)


@pytest.fixture
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(Scenario(name="messages", path="m.mock", base_dir=".", fixtures=FIXTURES)) as server:
        yield server


def client(server: RunningServer, retries: int = 0) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base_url, api_key="sk-ant-test", max_retries=retries)


def ask(word: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"please {word}"}]


async def test_create_json(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        message = await sdk.messages.create(model="claude-test", max_tokens=64, messages=USER)
    assert message.content[0].type == "text" and message.content[0].text == TEXT
    assert message.stop_reason == "end_turn" and message.model == "claude-test"
    assert message.usage.output_tokens > 0


async def test_finish_length_is_max_tokens(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        message = await sdk.messages.create(model="c", max_tokens=64, messages=ask("length"))
    assert message.stop_reason == "max_tokens"


async def test_stream_true_events_in_api_order(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        stream = await sdk.messages.create(model="c", max_tokens=64, messages=USER, stream=True)
        kinds = [event.type async for event in stream]
    assert kinds[:2] == ["message_start", "content_block_start"]  # the SDK drops `ping` (on the wire: below)
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}


async def test_stream_helper_final_message(srv: RunningServer) -> None:
    async with client(srv) as sdk, sdk.messages.stream(model="c", max_tokens=64, messages=USER) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == TEXT and final.content[0].text == TEXT
    assert final.stop_reason == "end_turn"


HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


async def test_raw_wire_has_event_lines_and_request_id(srv: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=srv.base_url, headers=HEADERS) as http:
        body = {"model": "c", "max_tokens": 8, "messages": USER, "stream": True}
        response = await http.post("/v1/messages", json=body)
    frames = response.text.split("\n\n")
    assert response.headers["request-id"] if "request-id" in response.headers else response.headers["x-request-id"]
    assert frames[2] == 'event: ping\ndata: {"type":"ping"}'
    assert frames[0].startswith('event: message_start\ndata: {"type":"message_start"')
    assert frames[-2] == 'event: message_stop\ndata: {"type":"message_stop"}'


@pytest.mark.parametrize("word", ["stall", "slow"])
async def test_stall_and_slow_first_token_still_complete(srv: RunningServer, word: str) -> None:
    async with client(srv) as sdk, sdk.messages.stream(model="c", max_tokens=64, messages=ask(word)) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == TEXT


async def test_disconnect_raises_transport_error(srv: RunningServer) -> None:
    """Mid-stream, the SDK does not wrap the transport's error in APIConnectionError (as openai's does not)."""
    async with client(srv) as sdk:
        with pytest.raises((httpx2.RemoteProtocolError, httpcore2.RemoteProtocolError, anthropic.APIConnectionError)):
            async with sdk.messages.stream(model="c", max_tokens=64, messages=ask("disconnect")) as stream:
                await stream.get_final_message()


async def test_truncated_stream_is_accepted_silently(srv: RunningServer) -> None:
    """No message_stop: the SDK ends the iteration without complaint and returns the partial text."""
    async with client(srv) as sdk, sdk.messages.stream(model="c", max_tokens=64, messages=ask("truncate")) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == TEXT[:16]
    assert final.stop_reason is None


async def test_malformed_event_raises(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        stream = await sdk.messages.create(model="c", max_tokens=64, messages=ask("malformed"), stream=True)
        with pytest.raises(ValueError):
            [event async for event in stream]


async def test_error_event_raises_overloaded(srv: RunningServer) -> None:
    async with client(srv) as sdk:
        with pytest.raises(anthropic.APIStatusError) as caught:
            async with sdk.messages.stream(model="c", max_tokens=64, messages=ask("overloaded")) as stream:
                await stream.get_final_message()
    assert "overloaded_error" in str(caught.value.body) or "Overloaded" in str(caught.value)


@pytest.mark.parametrize(
    ("word", "status", "error", "kind"),
    [
        ("ratelimit", 429, anthropic.RateLimitError, "rate_limit_error"),
        ("servererror", 500, anthropic.InternalServerError, "api_error"),
        ("status529", 529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_error_status_in_anthropic_shape(
    srv: RunningServer, word: str, status: int, error: type[Exception], kind: str
) -> None:
    async with client(srv) as sdk:
        with pytest.raises(error) as caught:
            await sdk.messages.create(model="c", max_tokens=64, messages=ask(word))
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.status_code == status
    assert caught.value.body == {
        "type": "error",
        "error": {"type": kind, "message": caught.value.body["error"]["message"]},
        "request_id": caught.value.response.headers["request-id"],
    }
    assert caught.value.request_id == caught.value.response.headers["request-id"]
    assert caught.value.response.headers["request-id"]


async def test_sdk_retries_429_then_gives_up(srv: RunningServer) -> None:
    async with client(srv, retries=2) as sdk:
        with pytest.raises(anthropic.RateLimitError):
            await sdk.messages.create(model="c", max_tokens=64, messages=ask("ratelimit"))
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        journal = (await http.get("/_dotmock/journal")).json()
    attempts = [e for e in journal["http"] if e.get("fixture") == "rate limited"]
    assert len(attempts) == 3


async def test_missing_max_tokens_is_invalid_request(srv: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=srv.base_url, headers=HEADERS) as http:
        response = await http.post("/v1/messages", json={"model": "c", "messages": USER})
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        "request_id": response.headers["request-id"],
    }


@pytest.mark.parametrize(
    ("headers", "status", "kind", "message"),
    [
        ({"anthropic-version": "2023-06-01"}, 401, "authentication_error", "x-api-key header is required"),
        ({}, 401, "authentication_error", "x-api-key header is required"),  # the key is checked first
        ({"x-api-key": "k"}, 400, "invalid_request_error", "anthropic-version: header is required"),
        (
            {"x-api-key": "k", "anthropic-version": "2023-06-01, 2023-06-01"},
            400,
            "invalid_request_error",
            'anthropic-version: "2023-06-01, 2023-06-01" is not a valid version',
        ),
    ],
)
async def test_key_and_version_are_checked_as_the_api_does(
    srv: RunningServer, headers: dict[str, str], status: int, kind: str, message: str
) -> None:
    body = {"model": "c", "max_tokens": 8, "messages": USER}
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        response = await http.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == status
    assert response.json() == {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": response.headers["request-id"],
    }


async def test_bearer_auth_token_is_a_key_too(srv: RunningServer) -> None:
    """The SDKs' `auth_token` sends `Authorization: Bearer` instead of x-api-key."""
    async with anthropic.AsyncAnthropic(base_url=srv.base_url, auth_token="tok", api_key=None) as sdk:
        message = await sdk.messages.create(model="c", max_tokens=8, messages=USER)
    assert message.content[0].text == TEXT


async def test_sdk_without_a_key_raises_authentication_error(srv: RunningServer) -> None:
    headers = {"Authorization": anthropic.Omit()}  # anthropic 2.16 sends its key as a bearer token
    async with client(srv) as sdk:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await sdk.messages.create(model="c", max_tokens=8, messages=USER, extra_headers=headers)
    assert caught.value.body["error"]["message"] == "x-api-key header is required"
    assert caught.value.request_id == caught.value.body["request_id"]


async def test_every_answer_carries_request_id_errors_the_rate_limit_headers(srv: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=srv.base_url, headers=HEADERS) as http:
        ok = await http.post("/v1/messages", json={"model": "c", "max_tokens": 8, "messages": USER})
        streamed = await http.post(
            "/v1/messages", json={"model": "c", "max_tokens": 8, "messages": USER, "stream": True}
        )
        limited = await http.post("/v1/messages", json={"model": "c", "max_tokens": 8, "messages": ask("ratelimit")})
    for response in (ok, streamed, limited):
        assert response.headers["request-id"].startswith("req_") and response.headers["x-request-id"]
    for name in ("requests", "tokens", "input-tokens", "output-tokens"):
        head = f"anthropic-ratelimit-{name}-"
        assert int(limited.headers[head + "limit"]) > 0
        assert limited.headers[head + "reset"].endswith("Z")
    assert "anthropic-ratelimit-requests-limit" not in ok.headers  # on error answers only (docs/providers.md)
    assert limited.status_code == 429 and limited.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert limited.headers["retry-after"] == "0"  # the fixture's own header is kept
    assert limited.json()["request_id"] == limited.headers["request-id"]


async def test_count_tokens_answers_by_itself_and_can_be_failed() -> None:
    fixtures = (
        Fixture(
            "count limited",
            Match("http", "POST", "/v1/messages/count_tokens", text=(TextRule("contains", "busy"),)),
            ErrorOutcome(429, "Slow down", headers=(("retry-after", "0"),)),
        ),
        Fixture("default", Match("http", "POST", "/v1/messages"), TextOutcome(TEXT, FAST)),
    )
    scenario = Scenario(name="count", path="c.mock", base_dir=".", fixtures=fixtures)
    async with running_server(scenario) as server, client(server) as sdk:
        counted = await sdk.messages.count_tokens(model="c", messages=[{"role": "user", "content": "hi " * 40}])
        assert counted.input_tokens > 20
        with pytest.raises(anthropic.RateLimitError):
            await sdk.messages.count_tokens(model="c", messages=ask("busy"))
        with pytest.raises(anthropic.BadRequestError) as caught:
            await sdk.messages.count_tokens(model="c", messages=[{"role": "robot", "content": "x"}])
        assert "messages.0.role" in caught.value.body["error"]["message"]
        message = await sdk.messages.create(model="c", max_tokens=8, messages=USER)  # Messages unaffected
    assert message.content[0].text == TEXT
    paths = [(ex.path, ex.fixture) for ex in server.journal.http]
    assert paths[0] == ("/v1/messages/count_tokens", None)  # counted without a fixture, no 404
    assert paths[1] == ("/v1/messages/count_tokens", "count limited")


async def test_models_list_in_the_askers_shape() -> None:
    fixtures = (
        Fixture("claude", Match("http", "POST", "/v1/messages", model="claude-x"), TextOutcome("hi")),
        Fixture("gpt", Match("http", "POST", "/v1/chat/completions", model="gpt-y"), TextOutcome("hi")),
    )
    scenario = Scenario(name="models", path="m.mock", base_dir=".", fixtures=fixtures)
    async with running_server(scenario) as server:
        async with client(server) as sdk:
            listed = [m.id async for m in sdk.models.list()]
            one = await sdk.models.retrieve("claude-x")
            with pytest.raises(anthropic.NotFoundError):
                await sdk.models.retrieve("claude-nope")
        assert listed == ["claude-x", "gpt-y"] and one.type == "model" and one.display_name == "claude-x"
        async with openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="sk-test", max_retries=0) as oai:
            models = [m.id async for m in oai.models.list()]
            gpt = await oai.models.retrieve("gpt-y")
            with pytest.raises(openai.NotFoundError) as missing:
                await oai.models.retrieve("gpt-nope")
        assert models == ["claude-x", "gpt-y"] and gpt.object == "model" and gpt.owned_by == "dotmock"
        assert missing.value.code == "model_not_found"
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            refused = await http.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("model", ["claude-x", 'mo"del é\n'])
def test_template_events_are_the_bytes_json_dumps_writes(model: str) -> None:
    """The renderer writes message_start / message_delta from byte templates: they must stay the bytes the
    dict form gives (what the SDKs parse), whatever the model name holds."""
    reply = Reply(model, 7)
    renderer = MessagesRenderer(reply, "length")
    start = {
        **message_object(reply, "", "length"),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 7, "output_tokens": 1},
    }
    opening = renderer.opening()
    assert [e.data for e in opening] == [
        dumps({"type": "message_start", "message": start}),
        dumps({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        dumps({"type": "ping"}),
    ]
    renderer.delta("Hello ")
    renderer.delta("world")
    delta = {"stop_reason": stop_reason("length"), "stop_sequence": None}
    assert [e.data for e in renderer.closing()] == [
        dumps({"type": "content_block_stop", "index": 0}),
        dumps({"type": "message_delta", "delta": delta, "usage": {"output_tokens": estimate_tokens("Hello world")}}),
        dumps({"type": "message_stop"}),
    ]
