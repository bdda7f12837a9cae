"""`dotmock check` refuses a fault (or truncateAfterChunks) that can act on none of the forms its fixture
answers in, instead of the server ignoring it at run time; where a fault acts is the catalogue's `applies`."""

from __future__ import annotations

import pytest

from dotmock.dsl import DslError
from dotmock.dsl.catalogue import FAULTS, WRITTEN_FAULTS
from dotmock.dsl.checks import answer_forms
from dotmock.dsl.loader import load_text

FAULT_LINES = {
    "disconnect": "fault disconnect after 1 chunk",
    "stall": "fault stall after 1 chunk for 1s",
    "malformedChunk": "fault malformedChunk after 1 chunk",
    "slowFirstToken": "fault slowFirstToken 1s",
    "errorEvent": "fault errorEvent after 1 chunk",
    "schemaViolation": "fault schemaViolation",
}
# schemaViolation breaks a structured answer against its schema: it needs one of each.
STRUCTURED = 'structured {"a": 1} schema {"type": "object", "required": ["a"]}'
PINS = {
    "both": ("POST /v1/chat/completions", ""),
    "streams": ("POST /v1/chat/completions", '{ json "stream" == true }'),
    "json": ("POST /v1/chat/completions", '{ json "stream" == false }'),
    "json (absent)": ("POST /v1/chat/completions", '{ json "stream" absent }'),
    "websocket": ("websocket /v1/chat", ""),
}


def fixture(pin: str, line: str) -> str:
    endpoint, rules = PINS[pin]
    outcome = STRUCTURED if "schemaViolation" in line else 'response "x"'
    return f'scenario "s"\nfixture "f" {{\n  match {endpoint} {rules}\n  {outcome}\n  {line}\n}}\n'


def test_every_written_fault_has_a_line_here() -> None:
    assert set(FAULT_LINES) == set(WRITTEN_FAULTS)


@pytest.mark.parametrize("pin", list(PINS))
@pytest.mark.parametrize("fault", list(FAULT_LINES))
def test_a_fault_is_refused_exactly_where_it_cannot_act(pin: str, fault: str) -> None:
    text = fixture(pin, FAULT_LINES[fault])
    forms = {"both": {"stream", "json"}, "streams": {"stream"}, "websocket": {"websocket"}}.get(pin, {"json"})
    if FAULTS[fault].applies & forms:
        load_text(text, "f.mock")
        return
    with pytest.raises(DslError) as caught:
        load_text(text, "f.mock")
    message = str(caught.value)
    assert f"{fault} cannot take effect here" in message and "answers only `stream: false` JSON answers" in message
    assert "f.mock:5:3" in message  # at the fault's line


def test_truncate_after_chunks_on_a_json_only_fixture_is_refused() -> None:
    with pytest.raises(DslError, match="truncateAfterChunks cannot take effect here"):
        load_text(fixture("json", "streaming { truncateAfterChunks 2 }"), "t.mock")
    load_text(fixture("both", "streaming { truncateAfterChunks 2 }"), "t.mock")


def test_the_forms_a_match_allows() -> None:
    def forms(rules: str, endpoint: str = "POST /v1/chat/completions") -> set[str]:
        scenario = load_text(
            f'scenario "s"\nfixture "f" {{\n  match {endpoint} {rules}\n  response "x"\n}}\n', "m.mock"
        )
        return set(answer_forms(scenario.cases[0].fixtures[0].match))

    assert forms("") == {"stream", "json"}
    assert forms('{ json "stream" == true }') == {"stream"}
    assert forms('{ json "stream" != true }') == {"json"}
    assert forms('{ json "model" == "x" }') == {"stream", "json"}
    assert forms("", "websocket /v1/responses") == {"websocket"}
