"""`dotmock record --upstream URL [--host H] [--port N] -o FILE.mock|DIR [--redact NAME]... [-- COMMAND...]`:
a loopback proxy to the upstream that writes every exchange it passes into a `.mock` file (docs/record.md).

With a COMMAND, the command is run with the SDKs' base-URL variables pointing at the proxy, and recording
stops when it exits (its exit status is returned); without one, recording goes on until Ctrl-C. The file is
rewritten after every exchange, so an interrupted recording keeps what it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dotmock.dsl.errors import DslError
from dotmock.dsl.files import write_text_atomically
from dotmock.dsl.fmt import format_text
from dotmock.dsl.limits import MAX_BUILD_BYTES
from dotmock.dsl.recording import Recorded, join_blocks, merge, recorded_blocks
from dotmock.dsl.recording_files import earlier_parts, layout
from dotmock.dsl.values import encode_string
from dotmock.server.apis import base_url_exports, base_url_variables
from dotmock.server.guard import is_loopback_name
from dotmock.server.record_proxy import RecordingProxy, running_proxy

DIR_FILE = "recorded.mock"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dotmock record",
        description="Proxy to an upstream LLM API on loopback and write what passes into a .mock file.",
        epilog="Everything after -- is a command to run against the proxy; recording stops when it exits.",
    )
    parser.add_argument(
        "--upstream", required=True, metavar="URL", help="the API to forward to, e.g. https://api.openai.com"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE.mock|DIR", help=f"the file to write (a folder: its {DIR_FILE})"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)")
    parser.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="HEADER",
        help="one more header whose value is a secret: never written, and its value scrubbed from the file "
        "(repeatable; Authorization, x-api-key, x-goog-api-key, api-key and cookies always are)",
    )
    return parser


@dataclass
class _Writer:
    """Rewrites the output after each exchange: the file as it was when recording started, with this
    recording's fixtures between the markers; in part files it includes once they outgrow one file
    (`dsl.recording_files`), and no more exchanges once the files would pass what a scenario may load."""

    path: Path
    proxy: RecordingProxy | None = None
    redact: tuple[str, ...] = ()
    header: str = ""
    original: str | None = None
    records: list[Recorded] = field(default_factory=list)
    limit: int | None = None  # the exchanges written, once the files are full
    parts: set[str] = field(default_factory=set)  # the part files this recording wrote
    told: set[str] = field(default_factory=set)  # the `# not recorded` comments said on stderr
    fixtures: int = 0  # the fixtures the files hold

    def add(self, exchange: Recorded) -> None:
        self.records.append(exchange)
        if self.limit is not None:
            return  # full: passed on, not written (said once, when it filled)
        self.write()
        n = len(self.records)
        print(f"dotmock record: {n} exchange{'s' if n != 1 else ''} -> {self.path}", file=sys.stderr, flush=True)

    def write(self) -> None:
        secrets = self.proxy.secrets if self.proxy is not None else set()
        records = self.records if self.limit is None else self.records[: self.limit]
        comments, blocks = recorded_blocks(records, redact=self.redact, secrets=secrets)
        try:
            files = layout(self.original, self.header, comments, blocks, self.path.stem, self._format)
        except DslError as err:
            print(f"dotmock record: the file does not parse, written unformatted:\n{err.render()}", file=sys.stderr)
            write_text_atomically(
                str(self.path), merge(self.original, join_blocks(comments, blocks), header=self.header)
            )
            self.fixtures = len(blocks)
            return
        self.fixtures = files.kept - len(files.too_big)
        if files.kept < len(blocks) and self.limit is None:
            self.limit = _exchanges_for(records, files.kept)
            print(
                f"dotmock record: {self.path} and its part files hold all a scenario may load "
                f"({MAX_BUILD_BYTES // 1024} KiB with its includes): the exchanges after the first {self.limit} are "
                "passed on but not written; record the rest into another file (-o other.mock)",
                file=sys.stderr,
                flush=True,
            )
        for note in files.too_big:
            if note not in self.told:
                self.told.add(note)
                print(f"dotmock record: {note.removeprefix('# ')}", file=sys.stderr, flush=True)
        for name, text in files.parts:
            write_text_atomically(str(self.path.with_name(name)), text)
            self.parts.add(name)
        for name in sorted(self.parts - {name for name, _ in files.parts}):
            with contextlib.suppress(OSError):  # a part an earlier write of this recording needed
                self.path.with_name(name).unlink()
            self.parts.discard(name)
        write_text_atomically(str(self.path), files.main)

    def _format(self, text: str) -> str:
        return _formatted(text, str(self.path))


@functools.lru_cache(maxsize=16)
def _formatted(text: str, path: str) -> str:
    """`format_text`, once per text: a split recording's full part files stay as they were, write after write."""
    return format_text(text, path)


def _exchanges_for(records: list[Recorded], fixtures: int) -> int:
    """How many of the first records make `fixtures` fixtures (those unreadable make none)."""
    made = 0
    for i, record in enumerate(records):
        if record.unreadable is None:
            if made == fixtures:
                return i
            made += 1
    return len(records)


def _header(path: Path, upstream: str, command: list[str]) -> str:
    lines = [
        f"# Recorded by `dotmock record --upstream {upstream}`: each fixture is one exchange, in the order they",
        "# happened, with the chunks and gaps the upstream sent (docs/record.md). Edit outside the marks below;",
        "# recording again rewrites what is between them.",
    ]
    if not command:
        lines += [
            "# No scenario, client or expect yet: `dotmock serve` this file, or add them here to run it.",
        ]
        return "\n".join(lines) + "\n"
    lines += [
        f"scenario {encode_string(path.stem)}",
        "",
        f"client {json.dumps(command, ensure_ascii=False)}",
    ]
    return "\n".join(lines) + "\n"


def upstream_problem(upstream: str) -> str | None:
    """Why `upstream` cannot be the proxy's upstream, or None. It is an `http://` or `https://` origin, with a
    path at most: no user name or password (the clients' own credentials are forwarded), no query and no
    fragment (the request's path and query go after it)."""
    if not upstream.lower().startswith(("http://", "https://")):
        return "give an http:// or https:// URL"
    try:
        url = httpx.URL(upstream)
    except httpx.InvalidURL as err:
        return f"not a URL ({err})"
    if not url.host:
        return "the URL names no host"
    if url.userinfo:
        return "no user name or password in the URL: the clients' own credentials are forwarded"
    if url.query or url.fragment or "?" in upstream or "#" in upstream:
        return "no query or fragment: the request's path and query go after the URL"
    return None


def _output(raw: str) -> Path:
    path = Path(raw)
    if path.is_dir() or raw.endswith(("/", os.sep)):
        return path / DIR_FILE
    return path


def _client_env(base_url: str) -> dict[str, str]:
    return {**base_url_variables(base_url), "DOTMOCK_URL": base_url, "DOTMOCK_WS_URL": "ws" + base_url[4:]}


async def record(args: argparse.Namespace, command: list[str]) -> int:
    path = _output(args.output)
    original = path.read_text(encoding="utf-8") if path.exists() else None
    writer = _Writer(path, redact=tuple(args.redact), header=_header(path, args.upstream, command), original=original)
    writer.parts = earlier_parts(original, path.stem)  # an earlier recording's: rewritten, or removed if not needed
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_proxy(args.upstream, writer.add, args.host, args.port, redact=frozenset(args.redact)) as srv:
            writer.proxy = srv.proxy
            return await _recording(srv.base_url, args, command, writer, stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _recording(
    base_url: str, args: argparse.Namespace, command: list[str], writer: _Writer, stop: asyncio.Event
) -> int:
    path = writer.path
    print(base_url, flush=True)
    print(
        f"dotmock record: forwarding to {args.upstream}; writing {path}"
        + ("" if command else "; Ctrl-C to stop")
        + "\ndotmock record: the SDKs' base-URL variables for the proxy"
        + (" (the command runs with them set)" if command else "")
        + f":\n{base_url_exports(base_url)}",
        file=sys.stderr,
        flush=True,
    )
    status = 0
    try:
        if command:
            process = await asyncio.create_subprocess_exec(*command, env={**os.environ, **_client_env(base_url)})
            waiter = asyncio.ensure_future(process.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait((waiter, stopper), return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                process.terminate()
            status = await waiter
            stopper.cancel()
            if writer.original is None and status == 0:
                writer.header += "\nexpect {\n  client exits 0\n}\n"
        else:
            await stop.wait()
    finally:
        writer.write()
    n = writer.fixtures
    print(f"dotmock record: wrote {n} fixture{'s' if n != 1 else ''} to {path}", file=sys.stderr)
    for passed in sorted(set(writer.proxy.passed if writer.proxy else ())):
        print(f"dotmock record: passed on without recording: {passed} (no fixture answers it)", file=sys.stderr)
    return status


def main(argv: list[str]) -> int:
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    args = _parser().parse_args(argv)
    problem = upstream_problem(args.upstream)
    if problem is not None:
        print(f"dotmock record: --upstream {args.upstream!r}: {problem}", file=sys.stderr)
        return 2
    if args.upstream.lower().startswith("http://") and not is_loopback_name(httpx.URL(args.upstream).host):
        print(
            f"dotmock record: warning: --upstream {args.upstream} is plain http: the clients' keys travel unencrypted",
            file=sys.stderr,
        )
    if not 0 <= args.port <= 65535:
        print(f"dotmock record: a port is 0 to 65535, not {args.port}", file=sys.stderr)
        return 2
    path = _output(args.output)
    if path.suffix != ".mock":
        print(f"dotmock record: -o names a .mock file or a folder, not {args.output!r}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(record(args, command))
    except OSError as err:
        print(f"dotmock record: {err.strerror or err}", file=sys.stderr)
        return 1
