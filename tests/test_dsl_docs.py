"""Every example in docs/language.md is real: ```mock blocks load, ```mock-error blocks fail as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dotmock.dsl import DslError, load_text
from dotmock.dsl.catalogue import FAULT_KINDS, FINDING_KINDS, FaultKind
from dotmock.dsl.fmt import format_text

DOC = Path(__file__).resolve().parent.parent / "docs" / "language.md"
TEXT = DOC.read_text(encoding="utf-8")
_BLOCK = re.compile(r"^```([\w-]*)\n(.*?)^```$", re.S | re.M)
BLOCKS = [
    (kind, body, TEXT.count("\n", 0, m.start()) + 1)
    for m in _BLOCK.finditer(TEXT)
    for kind, body in [(m.group(1), m.group(2))]
]
MOCK = [(body, line) for kind, body, line in BLOCKS if kind == "mock"]
WRONG = [(body, line) for kind, body, line in BLOCKS if kind == "mock-error"]
_FILE = re.compile(r"# file: (\S+\.mock)\n")


def _workspace(tmp_path: Path) -> Path:
    """A folder holding the files that examples name with `# file: NAME.mock` (for includes)."""
    for body, _line in MOCK:
        m = _FILE.match(body)
        if m:
            (tmp_path / m.group(1)).write_text(body, encoding="utf-8")
    return tmp_path


def test_the_doc_has_examples() -> None:
    assert len(MOCK) >= 15 and WRONG


@pytest.mark.parametrize(("body", "line"), MOCK, ids=[f"line{line}" for _b, line in MOCK])
def test_every_mock_block_loads(body: str, line: int, tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    try:
        load_text(body, str(root / f"example_{line}.mock"), root=str(root))
    except DslError as err:
        pytest.fail(f"docs/language.md line {line}: the example does not load:\n{err.render()}")
    format_text(body)


@pytest.mark.parametrize(("body", "line"), WRONG, ids=[f"line{line}" for _b, line in WRONG])
def test_every_mock_error_block_fails(body: str, line: int) -> None:
    with pytest.raises(DslError):
        load_text(body, "example.mock")


def test_the_shown_error_output_is_the_real_one() -> None:
    body, line = WRONG[0]
    shown = next(b for kind, b, at in BLOCKS if kind == "text" and at > line)
    with pytest.raises(DslError) as info:
        load_text(body, "retry.mock")
    assert info.value.render() + "\n" == shown


def test_the_findings_are_told_by_dotmock_explain_not_a_second_list() -> None:
    """The page points to `dotmock explain` (tests/test_explain.py) and keeps no table of the findings."""
    assert "`dotmock explain`" in TEXT and "`dotmock explain NAME`" in TEXT
    for kind in FINDING_KINDS:
        assert f"| `{kind.name}` |" not in TEXT


@pytest.mark.parametrize("kind", [k for k in FAULT_KINDS if k.written], ids=lambda k: k.name)
def test_every_fault_is_documented(kind: FaultKind) -> None:
    """Each fault keyword has a row in the Faults table and its syntax in the grammar summary."""
    assert f"| `fault {kind.name} " in TEXT
    assert f" {kind.name} {kind.takes}" in TEXT


@pytest.mark.parametrize(
    "keyword",
    [
        "chunkSize",
        "latencyMs",
        "truncateAfterChunks",
        "closeAfter",
        "closeCode",
        "disconnectAfterMs",
        "finishReason",
        "disconnect",
        "stall",
        "malformedChunk",
        "slowFirstToken",
        "errorEvent",
        "include",
        "params",
        "shell",
        "retry-after",
        "nonzero",
        "present",
        "absent",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "DOTMOCK_URL",
        "DOTMOCK_WS_URL",
    ],
)
def test_every_keyword_is_in_an_example_or_table(keyword: str) -> None:
    assert keyword in TEXT


_DOCS = [DOC.parent.parent / "README.md", *sorted(DOC.parent.glob("*.md"))]
LAYOUT = [
    (doc.name, body, text.count("\n", 0, m.start()) + 1)
    for doc in _DOCS
    for text in [doc.read_text(encoding="utf-8")]
    for m in _BLOCK.finditer(text)
    if m.group(1) == "mock"
    for body in [m.group(2)]
]


@pytest.mark.parametrize(("doc", "body", "line"), LAYOUT, ids=[f"{d}:{line}" for d, _b, line in LAYOUT])
def test_every_documented_example_is_in_canonical_layout(doc: str, body: str, line: int) -> None:
    """What users copy from the docs is what `dotmock fmt` would write (`fmt --check` passes on it)."""
    assert format_text(body) == body, f"{doc} line {line}: run the block through `dotmock fmt`"
