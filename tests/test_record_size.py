"""`dotmock record` never writes a file `dotmock serve` refuses: past the parser's 256 KiB per file the recorded
fixtures move into include-only part files beside it, a fixture no file can hold (a line over the parser's
line limit) becomes a `# not recorded` comment, and once the file with its parts would pass what one scenario
may load (512 KiB) the recorder stops writing and says so. Each state is loaded by `dotmock check` and
served, and the last fixture written answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dotmock.dsl.cli import check_main
from dotmock.dsl.limits import MAX_BUILD_BYTES, MAX_FILE_BYTES, MAX_LINE_CHARS
from dotmock.dsl.loader import load_file
from dotmock.dsl.recording import RecordedHttp
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
