"""The provider-API seam: every catalogue API has its module, the server's routes, fast path, 404s, panel list
and the runner's client environment follow the registry, and every written stream fault has its handler."""

from __future__ import annotations

import httpx
import pytest

from dotmock.dsl.catalogue import API_KINDS, FAULT_KINDS
from dotmock.dsl.model import Fixture, Match, Scenario, TextOutcome
from dotmock.runner.case import DUMMY_API_KEY, client_environment
from dotmock.server.apis import APIS, api_for
from dotmock.server.events import Event, JsonArrayEncoder, encode_sse, ws_frame
from dotmock.server.running import running_server
from dotmock.server.streaming import FAULT_HANDLERS

pytestmark = pytest.mark.anyio


def test_every_catalogue_api_has_its_module() -> None:
    assert [api.kind for api in APIS] == list(API_KINDS)
    for kind in API_KINDS:
        for path in kind.paths:
            concrete = path.replace("{model}", "some-model")
            api = api_for(concrete)
            assert api is not None and api.kind == kind, path


def test_every_stream_fault_has_a_handler() -> None:
    written = {k.name for k in FAULT_KINDS if k.written and "stream" in k.applies and not k.rewrites}
    assert set(FAULT_HANDLERS) == written


def test_client_environment_names_every_api() -> None:
    env = client_environment("http://127.0.0.1:9", "ws://127.0.0.1:9")
    for kind in API_KINDS:
        assert env[kind.base_url_env] == "http://127.0.0.1:9" + kind.base_url_suffix
        assert all(env[name] == DUMMY_API_KEY for name in kind.key_envs)


def test_encoders_agree_on_one_event() -> None:
    named = Event(b'{"type":"x","n":1}', b"x", "x", typed=True)
    plain = Event(b'{"object":"chunk","n":1}', None, "chunk")
    assert encode_sse([named, plain]) == b'event: x\ndata: {"type":"x","n":1}\n\ndata: {"object":"chunk","n":1}\n\n'
    assert ws_frame(named, "response.create") == ('{"type":"x","n":1}', "x")
    assert ws_frame(plain, "response.create") == ('{"type":"chunk","object":"chunk","n":1}', "chunk")
    assert ws_frame(plain, "envelope") == ('{"type":"chunk","data":{"object":"chunk","n":1}}', "chunk")
    array = JsonArrayEncoder()
    assert array.encode([plain]) + array.encode([plain]) + array.close() == (
        b'[{"object":"chunk","n":1},\r\n{"object":"chunk","n":1}]'
    )


async def test_a_miss_suggests_fixtures_of_the_same_family_only() -> None:
    fixtures = (
        Fixture("openai answer", Match("http", "POST", "/v1/responses", model="gpt"), TextOutcome("hi")),
        Fixture("claude answer", Match("http", "POST", "/v1/messages", model="claude-x"), TextOutcome("hi")),
    )
    scenario = Scenario(name="families", path="f.mock", base_dir=".", fixtures=fixtures)
    anthropic_headers = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
    async with (
        running_server(scenario) as srv,
        httpx.AsyncClient(base_url=srv.base_url, headers=anthropic_headers) as http,
    ):
        body = {"model": "other", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        missed = await http.post("/v1/messages", json=body)
        assert missed.status_code == 404
        message = missed.json()["error"]["message"]
        assert missed.json()["type"] == "error"  # Anthropic's shape on its own path
        assert "'claude answer'" in message and "openai answer" not in message and "/v1/responses" not in message
        only_openai = Scenario(name="one", path="o.mock", base_dir=".", fixtures=fixtures[:1])
        srv.app.config["DOTMOCK_SCENARIO"].swap(only_openai)
        missed = await http.post("/v1/messages", json=body)
        message = missed.json()["error"]["message"]
        assert "No fixture of the scenario answers Anthropic Messages" in message and "/v1/responses" not in message
        panel = (await http.get("/_dotmock/scenario")).json()
        assert [api["name"] for api in panel["apis"]] == [k.name for k in API_KINDS]


@pytest.mark.parametrize(
    ("path", "advice"),
    [
        ("/chat/completions", "dotmock serves POST /v1/chat/completions: the client's base URL lacks /v1."),
        ("/v1/v1/responses", "dotmock serves POST /v1/responses: the client's base URL has /v1 too many."),
        ("/api/v1/messages", "dotmock serves POST /v1/messages: the client's base URL has /api too many."),
        (  # litellm's Gemini provider given the server's root as api_base
            "/models/gemini-2.5-flash:streamGenerateContent",
            "dotmock serves POST /v1beta/models/gemini-2.5-flash:streamGenerateContent: the client's base URL "
            "lacks /v1beta.",
        ),
        ("/v1/embeddings", None),
    ],
)
async def test_an_unknown_url_names_the_served_path_one_base_url_mistake_away(path: str, advice: str | None) -> None:
    scenario = Scenario(
        name="one", path="o.mock", base_dir=".", fixtures=(Fixture("a", Match("http", "POST", "*"), TextOutcome("hi")),)
    )
    async with running_server(scenario) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        missed = await http.post(path, json={"model": "m"})
    assert missed.status_code == 404
    message = missed.json()["error"]["message"]
    assert message.startswith(f"Unknown request URL: POST {path}.")
    assert message.endswith(advice) if advice else message == f"Unknown request URL: POST {path}."
