"""`fault schemaViolation` and `schema_violation_accepted`: a structured answer broken on purpose against the
schema the request sent, what the official SDKs do with it, and the finding for a client that used it.

Real servers and real SDK clients (openai, anthropic, google-genai); the runner's cases use
scenarios/clients/structured_extract.py (naive: json.loads; careful: the SDK's parse() with a pydantic model,
asking again; parse: parse() with nothing caught; correct: a correction turn in the same conversation).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import openai
import pydantic
import pytest
from google import genai
from google.genai import types
from once import once_per_run

from dotmock.dsl import load_text
from dotmock.dsl.errors import DslError
from dotmock.dsl.model import TextOutcome
from dotmock.dsl.schema_break import break_value
from dotmock.runner.case import CaseOptions
from dotmock.runner.execute import ExecuteOptions, execute
from dotmock.runner.results import CaseResult
from dotmock.server.running import RunningServer, running_server

ROOT = Path(__file__).resolve().parent.parent
CLIENT = f"{sys.executable} {ROOT / 'scenarios' / 'clients' / 'structured_extract.py'}"
ANSWER = '{"city": "Paris", "temp": 21}'
SCHEMA = (
    '{"type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "number"}}, '
    '"required": ["city", "temp"]}'
)


def _errors(body: str) -> str:
    with pytest.raises(DslError) as info:
        load_text(f'scenario "s"\nfixture "f" {{ {body} }}\n', "s.mock")
    return info.value.render()


# ---------------------------------------------------------------------------------------------- check


def test_check_refuses_the_fault_where_there_is_no_schema_to_violate() -> None:
    text = _errors('match POST * response "hi" fault schemaViolation')
    assert "s.mock:2:" in text and "has no `structured {...}` answer" in text
    text = _errors(f"match POST * structured {ANSWER} fault schemaViolation")
    assert "has no schema to violate" in text and 'json "response_format.type" == "json_schema"' in text
    text = _errors(f'match POST * structured {ANSWER} schema {SCHEMA} fault schemaViolation missing "nope"')
    assert "cannot break this answer against its schema: without 'nope'" in text


@pytest.mark.parametrize(
    "body",
    [
        f"match POST * structured {ANSWER} schema {SCHEMA} fault schemaViolation",
        f'match POST * structured {ANSWER} schema {SCHEMA} fault schemaViolation wrongType "temp"',
        f'match POST * {{ json "response_format.type" == "json_schema" }} structured {ANSWER} fault schemaViolation',
        f'match POST * {{ json "text.format.type" == "json_schema" }} structured {ANSWER} fault schemaViolation',
        f'match POST * {{ json "generationConfig.responseJsonSchema" present }} structured {ANSWER} '
        "fault schemaViolation",
    ],
)
def test_check_accepts_the_fault_with_a_schema(body: str) -> None:
    fixture = load_text(f'scenario "s"\nfixture "f" {{ {body} }}\n', "s.mock").cases[0].fixtures[0]
    assert isinstance(fixture.outcome, TextOutcome)
    assert [f.kind for f in fixture.outcome.faults] == ["schemaViolation"]


def test_a_broken_value_never_satisfies_the_schema_and_is_no_coercible_lookalike() -> None:
    schema = json.loads(SCHEMA)
    value = json.loads(ANSWER)
    for how in ("missing", "wrongType", None):
        broken = break_value(value, schema, how)
        assert broken is not None
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken[0])
    broken = break_value(value, schema, "wrongType", "temp")
    assert broken is not None and broken[0]["temp"] == "not-a-valid-value"  # not "21": pydantic would take that
    assert break_value(value, {"type": "object"}, "missing") is None  # nothing required: nothing to drop


# ---------------------------------------------------------------------------------------------- on the wire

SERVED = f"""
fixture "chat" {{ match POST /v1/chat/completions {{ json "response_format.type" == "json_schema" }}
  structured {ANSWER} fault schemaViolation }}
fixture "responses" {{ match POST /v1/responses {{ json "text.format.type" == "json_schema" }}
  structured {ANSWER} fault schemaViolation }}
fixture "messages" {{ match POST /v1/messages {{ json "output_config.format.type" == "json_schema" }}
  structured {ANSWER} fault schemaViolation wrongType "temp" }}
fixture "gemini" {{ match POST * {{ json "generationConfig.responseSchema" present }}
  structured {ANSWER} fault schemaViolation }}
fixture "ws" {{ match websocket /v1/responses structured {ANSWER} schema {SCHEMA} fault schemaViolation }}
"""


class Weather(pydantic.BaseModel):
    city: str
    temp: float


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def srv() -> AsyncIterator[RunningServer]:
    async with running_server(load_text(SERVED, "served.mock").cases[0]) as server:
        yield server


def _oai(srv: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=srv.base_url + "/v1",
        api_key="sk-test",
        max_retries=0,
        websocket_base_url=srv.base_url.replace("http", "ws", 1) + "/v1",
    )


def _broke(srv: RunningServer) -> list[str | None]:
    return [next((t.detail for t in e.ticks if t.what == "fault:schemaViolation"), None) for e in srv.journal.http]


@pytest.mark.anyio
async def test_the_sdks_parse_helpers_raise_on_a_broken_answer(srv: RunningServer) -> None:
    """What the official SDKs do with an answer that breaks the schema they sent (recorded in
    /work/shared/reference/client-sdk-wire-behaviour.md)."""
    messages: Any = [{"role": "user", "content": "extract"}]

    def calls() -> list[str]:
        oai = _oai(srv)
        claude = anthropic.Anthropic(base_url=srv.base_url, api_key="sk-ant-test", max_retries=0)
        raised = []
        for call in (
            lambda: oai.chat.completions.parse(model="m", messages=messages, response_format=Weather),
            lambda: oai.responses.parse(model="m", input="extract", text_format=Weather),
            lambda: claude.messages.parse(model="m", max_tokens=64, messages=messages, output_format=Weather),
        ):
            try:
                call()
            except pydantic.ValidationError as err:
                raised.append(str(err).splitlines()[1])
        try:  # raised while iterating, at the content's done event, before get_final_completion()
            with oai.chat.completions.stream(model="m", messages=messages, response_format=Weather) as stream:
                for _event in stream:
                    pass
        except pydantic.ValidationError as err:
            raised.append("stream: " + str(err).splitlines()[1])
        return raised

    raised = await asyncio.to_thread(calls)
    # parse() made every property required (strict schema): the first one, city, was dropped; messages: temp
    assert raised == ["city", "city", "temp", "stream: city"], raised
    assert _broke(srv)[-4:] == [
        "dropped the required property 'city'",
        "dropped the required property 'city'",
        "gave 'temp' a string (\"not-a-valid-value\")",
        "dropped the required property 'city'",
    ]


@pytest.mark.anyio
async def test_gemini_parsed_is_none_for_a_broken_answer_and_the_request_schema_is_read(srv: RunningServer) -> None:
    def call() -> Any:
        client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=srv.base_url))
        config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Weather)
        return client.models.generate_content(model="m", contents="extract", config=config)

    answer = await asyncio.to_thread(call)
    assert answer.parsed is None and json.loads(answer.text) == {"temp": 21}  # silently: no error raised
    sent = srv.journal.http[-1]
    assert sent.body["generationConfig"]["responseSchema"]["required"] == ["city", "temp"]  # upper-case types
    assert sent.faults == ["schemaViolation"]


@pytest.mark.anyio
async def test_a_websocket_answer_is_broken_against_its_schema(srv: RunningServer) -> None:
    def call() -> str:
        with _oai(srv).responses.connect() as connection:
            connection.response.create(model="m", input="extract")
            for event in connection:
                if event.type == "response.completed":
                    return str(event.response.output_text)
        raise AssertionError("no response.completed")

    text = await asyncio.to_thread(call)
    assert json.loads(text) == {"temp": 21}  # the fixture's own schema: no schema in the request
    exchange = srv.journal.websocket[-1].exchanges[-1]
    assert exchange.faults == ["schemaViolation"] and exchange.completed


# ---------------------------------------------------------------------------------------------- the finding

JUDGED = f"""
fixture "broken" {{ match POST * {{ attempt 1 }} structured {ANSWER} schema {SCHEMA} fault schemaViolation }}
fixture "whole" {{ match POST * {{ attempt 2.. }} structured {ANSWER} }}
fixture "ws broken" {{ match websocket /v1/responses {{ attempt 1 }} structured {ANSWER} schema {SCHEMA}
  fault schemaViolation }}
fixture "ws whole" {{ match websocket /v1/responses {{ attempt 2.. }} structured {ANSWER} }}
"""
ALWAYS_BROKEN = f'fixture "broken" {{ match POST * structured {ANSWER} schema {SCHEMA} fault schemaViolation }}'
# Broken on the first turn of the conversation, whole on a later one (a correction asking again).
CORRECTED = f'fixture "corrected" {{ match POST * {{ turn 2.. }} structured {ANSWER} }}\n{ALWAYS_BROKEN}'
APIS = ("chat", "responses", "messages", "gemini", "responses-ws")
CASES: dict[str, tuple[str, str]] = {
    **{f"naive {api}": (f"naive --api {api}", JUDGED) for api in APIS},
    **{f"careful {api}": (f"careful --api {api}", JUDGED) for api in APIS},
    "parse chat": ("parse --api chat", JUDGED),
    "careful never fits": ("careful --api chat", ALWAYS_BROKEN),
    "correct chat": ("correct --api chat", CORRECTED),
    "correct responses": ("correct --api responses", CORRECTED),
    "naive corrected": ("naive --api chat", CORRECTED),
    "correct never fits": ("correct --api chat", ALWAYS_BROKEN),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    return once_per_run(tmp_path_factory, "schema-violation", lambda: _run(tmp_path_factory.mktemp("structured")))


def _run(folder: Path) -> dict[str, CaseResult]:
    scenarios = []
    for name, (args, fixtures) in CASES.items():
        text = f'scenario "{name}"\nclient "{CLIENT} {args}" {{ timeout 20s }}\n{fixtures}\n'
        scenarios += load_text(text, str(folder / f"{name.replace(' ', '-')}.mock")).cases
    options = ExecuteOptions(jobs=6, case=CaseOptions(grace_s=0.5), handle_signals=False)
    return {r.name: r for r in asyncio.run(execute(scenarios, options)).results}


def names(result: CaseResult) -> list[str]:
    return [f.name for f in result.findings]


@pytest.mark.parametrize("api", APIS)
def test_a_naive_client_that_uses_a_broken_answer_is_found_out(results: dict[str, CaseResult], api: str) -> None:
    row = results[f"naive {api}"]
    assert names(row) == ["schema_violation_accepted"], (row.findings, row.client)
    finding = row.findings[0]
    assert "dropped the required property 'city'" in finding.title and "exited 0" in finding.title
    assert "Validate a structured answer" in finding.advice


@pytest.mark.parametrize("api", APIS)
def test_a_careful_client_asks_again_and_is_not(results: dict[str, CaseResult], api: str) -> None:
    row = results[f"careful {api}"]
    assert row.client.exit_code == 0 and "Paris: 21" in row.client.stdout, row.client
    assert names(row) == ["fault_handled"], (row.findings, row.client)
    assert "a structured answer that breaks its schema" in row.findings[0].title


def test_parse_with_nothing_caught_is_a_crash_on_the_broken_answer(results: dict[str, CaseResult]) -> None:
    row = results["parse chat"]
    assert names(row) == ["client_crashed"], (row.findings, row.client)
    assert "ValidationError" in row.findings[0].title


def test_a_careful_client_that_never_gets_a_fitting_answer_fails_loudly(results: dict[str, CaseResult]) -> None:
    row = results["careful never fits"]
    assert row.client.exit_code == 1 and "no answer that fits the schema" in row.client.stderr
    assert "schema_violation_accepted" not in names(row), row.findings


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_client_that_corrects_the_model_in_a_new_turn_asks_again_and_is_not_found_out(
    results: dict[str, CaseResult], api: str
) -> None:
    """The correction is a later request going on with the same conversation (Chat: the broken answer and a
    user message; Responses: chained by previous_response_id), not a retry of the same request."""
    row = results[f"correct {api}"]
    assert row.client.exit_code == 0 and "Paris: 21" in row.client.stdout, row.client
    assert names(row) == ["fault_handled"], (row.findings, row.client)
    first, second = row.journal["http"]
    assert first["faults"] == ["schemaViolation"] and second["faults"] == []
    if api == "chat":
        assert second["body"]["messages"][:1] == first["body"]["messages"]
        assert [m["role"] for m in second["body"]["messages"]] == ["user", "assistant", "user"]
        assert second["body"]["messages"][-1]["content"].startswith("that was not valid JSON for the schema (city:")
    else:
        assert second["body"]["input"].startswith("that was not valid JSON") and second["body"]["previous_response_id"]
    naive = results["naive corrected"]  # the same fixtures: the naive client uses the first answer
    assert names(naive) == ["schema_violation_accepted"], (naive.findings, naive.client)


def test_a_correcting_client_that_never_gets_a_fitting_answer_fails_loudly(results: dict[str, CaseResult]) -> None:
    row = results["correct never fits"]
    assert row.client.exit_code == 1 and "no answer that fits the schema after 3 tries" in row.client.stderr
    assert len(row.journal["http"]) == 3 and "schema_violation_accepted" not in names(row), row.findings
