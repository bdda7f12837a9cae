"""`dotmock record` never writes a file `dotmock serve` refuses: past the parser's 256 KiB or 20,000 words and
symbols per file the recorded fixtures move into include-only part files beside it, a fixture no file can hold
(a line over the parser's line limit, a stream of more tiny chunks than a file may have tokens) becomes a
`# not recorded` comment, and once the file with its parts would pass what one scenario may load (512 KiB)
the recorder stops writing and says so. Each state is loaded by `dotmock check` and served, and the last
fixture written answers; a real upstream's tiny-chunk streams are recorded through `dotmock record`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import openai
import pytest

from dotmock.dsl.cli import check_main
from dotmock.dsl.limits import MAX_BUILD_BYTES, MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_TOKENS, token_count
from dotmock.dsl.loader import load_file, load_text
from dotmock.dsl.model import TextOutcome
from dotmock.dsl.recording import RecordedChunk, RecordedHttp
from dotmock.server.record_cli import _Writer
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio
TEXT_CHARS = 24_000  # one fixture's answer: under the line limit, ten of them over a file's limit


def _exchange(n: int, chars: int = TEXT_CHARS) -> RecordedHttp:
    body = {"model": "m", "messages": [{"role": "user", "content": f"question {n}"}]}
    return RecordedHttp("/v1/chat/completions", body, 200, text=f"answer {n} " + "x" * chars)


def _files(path: Path) -> list[Path]:
    return sorted(path.parent.glob("*.mock"))


async def _answer(path: Path, n: int) -> str:
    async with running_server(load_file(str(path)).cases[0]) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            body = {"model": "m", "messages": [{"role": "user", "content": f"question {n}"}]}
            reply = await http.post(server.base_url + "/v1/chat/completions", json=body)
    content: str = reply.json()["choices"][0]["message"]["content"]
    return content


async def test_a_big_recording_is_split_then_stops_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.mock"
    writer = _Writer(path, header="# recorded\n")
    writer.add(_exchange(0))
    writer.add(_exchange(1, MAX_LINE_CHARS + 10))  # one line longer than any .mock line may be
    assert '# not recorded: fixture "recorded 2: completions json 200": a line of' in path.read_text()
    n = 2
    while len(_files(path)) == 1:  # until the recording outgrows one file
        writer.add(_exchange(n))
        n += 1
    assert len(path.read_text().encode()) < MAX_FILE_BYTES
    parts = [p for p in _files(path) if p != path]
    assert [p.name for p in parts] == [f"big.recorded-{i}.mock" for i in range(1, len(parts) + 1)]
    assert all(f'include "{p.name}"' in path.read_text() for p in parts)
    assert all(len(p.read_bytes()) <= MAX_FILE_BYTES for p in _files(path))
    assert check_main([str(path)]) == 0
    assert (await _answer(path, n - 1)).startswith(f"answer {n - 1} ")  # served from its part file

    while writer.limit is None:  # until the files hold all a scenario may load
        writer.add(_exchange(n))
        n += 1
    err = capsys.readouterr().err
    assert f"hold all a scenario may load ({MAX_BUILD_BYTES // 1024} KiB with its includes)" in err
    assert f"the exchanges after the first {writer.limit} are passed on but not written" in err
    before = {p.name: p.read_bytes() for p in _files(path)}
    writer.add(_exchange(n))  # passed on, not written
    assert {p.name: p.read_bytes() for p in _files(path)} == before
    assert sum(len(b) for b in before.values()) <= MAX_BUILD_BYTES
    assert all(len(b) <= MAX_FILE_BYTES for b in before.values())
    assert check_main([str(path)]) == 0
    last = writer.limit - 1  # the last exchange written (exchange numbers start at 0 here)
    assert (await _answer(path, last)).startswith(f"answer {last} ")
    fixtures = load_file(str(path)).cases[0].fixtures
    assert len(fixtures) == writer.limit - 1  # every exchange written but the one with the long line


def test_a_recording_that_fits_again_drops_its_part_files(tmp_path: Path) -> None:
    path = tmp_path / "r.mock"
    writer = _Writer(path, header="# recorded\n")
    for n in range(12):
        writer.add(_exchange(n))
    assert (tmp_path / "r.recorded-1.mock").exists()
    writer.records = writer.records[:2]  # (what a smaller recording would write)
    writer.write()
    assert _files(path) == [path] and "include" not in path.read_text()
    assert check_main([str(path)]) == 0


def _stream(n: int, chunks: int) -> RecordedHttp:
    """A streamed answer of `chunks` one-character chunks with no gap between them: one token a chunk."""
    body = {"model": "m", "messages": [{"role": "user", "content": f"question {n}"}]}
    pieces = tuple(RecordedChunk("y", 0.0) for _ in range(chunks))
    return RecordedHttp("/v1/chat/completions", body, 200, stream=True, chunks=pieces)


def _within_limits(path: Path) -> None:
    for file in _files(path):
        text = file.read_text(encoding="utf-8")
        assert len(text.encode()) <= MAX_FILE_BYTES and token_count(text) <= MAX_TOKENS, file.name
    assert check_main([str(path.parent)]) == 0  # every file written, the part files as include-only ones


def test_tiny_chunk_streams_are_cut_into_parts_by_tokens_and_one_too_many_is_a_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tiny.mock"
    writer = _Writer(path, header="# recorded\n")
    writer.records = [_stream(n, 7_000) for n in range(3)]  # 7,000 tokens each: more than a file may have
    writer.write()
    writer.add(_stream(3, MAX_TOKENS + 1))  # more chunks than a file may have tokens
    assert sum(len(p.read_bytes()) for p in _files(path)) < MAX_FILE_BYTES  # cut for tokens, not bytes
    assert [p.name for p in _files(path)] == ["tiny.mock", "tiny.recorded-1.mock", "tiny.recorded-2.mock"]
    assert all(token_count(p.read_text(encoding="utf-8")) <= MAX_TOKENS for p in _files(path))
    why = (
        'not recorded: fixture "recorded 4: completions stream 200": 20,019 words and symbols (a recorded chunk '
        "and its gap are up to 3); a .mock file may have 20,000"
    )
    assert f"# {why}" in path.read_text(encoding="utf-8") and f"dotmock record: {why}" in capsys.readouterr().err
    assert writer.fixtures == 3
    fixtures = load_file(str(path)).cases[0].fixtures  # the main file and both parts
    assert [len(f.outcome.streaming.chunks) for f in fixtures if isinstance(f.outcome, TextOutcome)] == [7_000] * 3


HUGE_CHUNKS = MAX_TOKENS + 1  # one character a chunk: at least a token each, more than a file may have
TINY_CHUNKS = 3_000
TINY_UPSTREAM = f"""scenario "tiny chunks"

fixture "huge" {{
  match POST /v1/chat/completions {{ message contains "huge" }}
  response "{"h" * HUGE_CHUNKS}"
  streaming {{ chunkSize 1 }}
}}

fixture "tiny" {{
  match POST /v1/chat/completions {{ message contains "tiny" }}
  response "{"t" * TINY_CHUNKS}"
  streaming {{ chunkSize 1 }}
}}
"""
TINY_CLIENT = """import sys

import openai

client = openai.OpenAI(max_retries=0)
for question in sys.argv[1:]:
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": question}], stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    print(question, len(pieces), len("".join(pieces)))
"""


async def _tiny_chunks(base_url: str, question: str) -> list[str]:
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": question}], stream=True
        )
        return [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]


async def test_a_real_upstreams_tiny_chunk_streams_are_recorded_into_files_that_load(tmp_path: Path) -> None:
    """A dotmock upstream streams 20,001 one-character chunks (more tokens than a .mock file may have, in
    ~120 KiB) and 3,000 more, through `dotmock record` and the openai SDK: the huge one is a `# not recorded`
    comment saying why, the other replays chunk for chunk, and every written file loads."""
    (tmp_path / "client.py").write_text(TINY_CLIENT, encoding="utf-8")
    out = tmp_path / "rec" / "tiny.mock"
    async with running_server(load_text(TINY_UPSTREAM, "up.mock").cases[0]) as upstream:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "dotmock", "record", "--upstream", upstream.base_url, "-o", str(out), "--"),
            *(sys.executable, str(tmp_path / "client.py"), "tiny", "huge"),
            env={**os.environ, "OPENAI_API_KEY": "sk-test"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 240)
    assert process.returncode == 0, stderr.decode()
    seen = [f"tiny {TINY_CHUNKS} {TINY_CHUNKS}", f"huge {HUGE_CHUNKS} {HUGE_CHUNKS}"]
    assert stdout.decode().split("\n")[1:3] == seen  # (after the proxy's base URL)
    text = out.read_text(encoding="utf-8")
    why = '# not recorded: fixture "recorded 2: completions stream 200": '
    assert why in text and "words and symbols (a recorded chunk and its gap are up to 3)" in text
    assert "dotmock record: wrote 1 fixture to" in stderr.decode()
    for file in _files(out):
        written = file.read_text(encoding="utf-8")
        assert len(written.encode()) <= MAX_FILE_BYTES and token_count(written) <= MAX_TOKENS, file.name
    assert check_main([str(out.parent)]) == 0
    async with running_server(load_file(str(out)).cases[0]) as replay:
        assert await _tiny_chunks(replay.base_url, "tiny") == ["t"] * TINY_CHUNKS
