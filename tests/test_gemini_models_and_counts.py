"""What a google-genai app calls besides generation: `models.count_tokens` (`:countTokens`), `models.get` and
`models.list` (`GET /v1[beta]/models[/{id}]`), against a real server with the official SDK; and the models
any SDK may look up at start-up when the scenario names none (every id is known then)."""

from __future__ import annotations

import anthropic
import httpx
import pytest
from google import genai
from google.genai import errors, types

from dotmock.dsl.model import ErrorOutcome, Fixture, Match, Scenario, TextOutcome, TextRule
from dotmock.server.running import RunningServer, running_server

pytestmark = pytest.mark.anyio

KEY = "AIzaSyDummyKeyForDotmockTests0wxyz"
NO_RETRY = types.HttpRetryOptions(attempts=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sdk(server: RunningServer, version: str | None = None) -> genai.Client:
    options = types.HttpOptions(base_url=server.base_url, api_version=version, retry_options=NO_RETRY)
    return genai.Client(api_key=KEY, http_options=options)


def scenario(*fixtures: Fixture) -> Scenario:
    return Scenario(name="gemini extras", path="g.mock", base_dir=".", fixtures=fixtures)


ANY = Fixture("any", Match("http", "POST", None), TextOutcome("An answer."))
BUSY = Fixture("busy counting", Match("http", "POST", None, text=(TextRule("contains", "[busy]"),)), ErrorOutcome(429))


@pytest.mark.parametrize("version", [None, "v1beta"])
async def test_count_tokens_counts_the_request_and_a_fixture_can_fail_it(version: str | None) -> None:
    async with running_server(scenario(BUSY, ANY)) as server:
        client = sdk(server, version)
        short = await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="hi")
        long = await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="hi " * 200)
        with pytest.raises(errors.ClientError) as limited:
            await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="[busy] count me")
        exchanges = server.journal.http
    assert short.total_tokens is not None and long.total_tokens is not None
    assert 0 < short.total_tokens < long.total_tokens
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    assert [x.path.rsplit(":", 1)[-1] for x in exchanges] == ["countTokens"] * 3
    assert [x.api for x in exchanges] == ["gemini_count_tokens"] * 3
    assert exchanges[0].path.startswith(f"/{version or 'v1'}/models/gemini-2.5-flash")


async def test_count_tokens_needs_a_key_and_contents() -> None:
    async with running_server(scenario(ANY)) as server, httpx.AsyncClient(base_url=server.base_url) as http:
        path = "/v1beta/models/gemini-2.5-flash:countTokens"
        unkeyed = await http.post(path, json={"contents": [{"parts": [{"text": "hi"}]}]})
        empty = await http.post(path, params={"key": KEY}, json={"contents": []})
        wrapped = await http.post(
            path,
            headers={"x-goog-api-key": KEY},
            json={"generateContentRequest": {"model": "models/x", "contents": [{"parts": [{"text": "hi"}]}]}},
        )
    assert unkeyed.status_code == 403 and unkeyed.json()["error"]["status"] == "PERMISSION_DENIED"
    assert empty.status_code == 400 and empty.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert wrapped.status_code == 200 and wrapped.json()["totalTokens"] > 0


@pytest.mark.parametrize("version", [None, "v1beta"])
async def test_models_get_and_list_in_gemini_shape(version: str | None) -> None:
    named = Fixture("flash", Match("http", "POST", None, model="gemini-2.5-flash"), TextOutcome("An answer."))
    async with running_server(scenario(named)) as server:
        client = sdk(server, version)
        one = await client.aio.models.get(model="gemini-2.5-flash")
        listed = [m.name async for m in await client.aio.models.list()]
        with pytest.raises(errors.ClientError) as missing:
            await client.aio.models.get(model="gemini-nope")
    assert one.name == "models/gemini-2.5-flash" and one.input_token_limit and one.output_token_limit
    assert one.supported_actions is not None and "generateContent" in one.supported_actions
    assert listed == ["models/gemini-2.5-flash"]
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"


async def test_a_scenario_that_names_no_model_knows_every_model() -> None:
    async with running_server(scenario(ANY)) as server:
        gemini = await sdk(server).aio.models.get(model="gemini-2.5-pro")
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="sk-ant-x", max_retries=0) as claude:
            info = await claude.models.retrieve("claude-sonnet-4-5")
    assert gemini.name == "models/gemini-2.5-pro"
    assert info.id == "claude-sonnet-4-5" and info.type == "model"
