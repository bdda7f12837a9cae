"""Parameter tables: `${name}` in strings and value positions, including finding names."""

from __future__ import annotations

import pytest

from dotmock.dsl import DslError, load_text
from dotmock.dsl.model import FindingsExpect

SOURCE = """\
scenario "one finding per row"
params {
  | fault    | expected                  |
  | "cut"    | truncated_stream_accepted |
  | "broken" | {expected2}               |
}
client "python client.py --fault ${fault}"
fixture "any" {
  match POST /v1/chat/completions
  response "hi"
}
expect {
  finding ${expected}
}
"""


def test_each_row_expects_its_own_finding() -> None:
    text = SOURCE.replace("{expected2}", "malformed_chunk_ignored")
    cases = load_text(text, "rows.mock").cases
    assert [c.client.argv[-1] for c in cases if c.client] == ["cut", "broken"]
    assert [c.expectations for c in cases] == [
        (FindingsExpect("present", "truncated_stream_accepted"),),
        (FindingsExpect("present", "malformed_chunk_ignored"),),
    ]


def test_a_row_naming_an_unknown_finding_is_reported_at_the_reference_with_a_suggestion() -> None:
    text = SOURCE.replace("{expected2}", "malformed_chunk_ignord")
    with pytest.raises(DslError) as raised:
        load_text(text, "rows.mock")
    err = raised.value
    assert (err.line, err.column) == (13, 11)
    assert err.message == "unknown finding 'malformed_chunk_ignord'"
    assert err.hint == "did you mean 'malformed_chunk_ignored'?"
