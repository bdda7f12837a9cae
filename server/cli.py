"""`dotmock serve FILE [--host 127.0.0.1] [--port N] [--allow-write] [--allow-host NAME] [--token T]
[--journal-limit N] [--journal-bytes SIZE] [--watch]`: serve one scenario's fixtures until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from dotmock.dsl import DslError, load_file, syntax
from dotmock.dsl.model import Scenario
from dotmock.server.apis import base_url_exports
from dotmock.server.jitter import new_seed, parse_seed
from dotmock.server.journal import DEFAULT_JOURNAL_BYTES, HEAD_CHARS, Journal
from dotmock.server.panel import ALLOW_WRITE_KEY
from dotmock.server.running import running_server
from dotmock.server.watch import watch

DEFAULT_JOURNAL_LIMIT = 10_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dotmock serve",
        description="Serve a .mock scenario's (or a dotMock JSON file's) fixtures until Ctrl-C.",
    )
    parser.add_argument("file", metavar="FILE", help="a .mock file or a dotMock JSON fixture file")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    parser.add_argument(
        "--watch",
        action="store_true",
        help="reload the scenario when FILE or a file it includes changes; a bad edit is reported and the "
        "previous scenario is kept",
    )
    parser.add_argument(
        "--allow-write",
        action="store_true",
        help="let the test panel's editor (/_dotmock/) write saved changes back to FILE",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host header names NAME (repeatable); by default only loopback names "
        "(127.0.0.1, localhost, [::1]) and --host are answered, against DNS rebinding (docs/security.md)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="the secret control writes (POST /_dotmock/...) carry in the X-Dotmock-Token header; "
        "default: a fresh random one, printed at start",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="the seed jitterMs draws from (default: a fresh one, printed at start); the same seed gives the "
        "same waits",
    )
    parser.add_argument(
        "--journal-limit",
        type=_journal_limit,
        default=DEFAULT_JOURNAL_LIMIT,
        metavar="N",
        help="keep the newest N HTTP exchanges and N WebSocket connections in the journal, and each "
        "connection's newest N frames and exchanges, counting the dropped ones; 0 keeps everything "
        f"(default {DEFAULT_JOURNAL_LIMIT:,})",
    )
    parser.add_argument(
        "--journal-bytes",
        type=_size,
        default=DEFAULT_JOURNAL_BYTES,
        metavar="SIZE",
        help="keep request bodies and WebSocket frames whole while they total at most SIZE bytes (suffix KiB, "
        f"MiB or GiB); beyond it each is kept as its first {HEAD_CHARS:,} characters, its size and its SHA-256; "
        f"0 keeps every one whole (default {DEFAULT_JOURNAL_BYTES // 2**20} MiB)",
    )
    return parser


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 2**20, "mb": 10**6, "mib": 2**20,
          "g": 2**30, "gb": 10**9, "gib": 2**30}  # fmt: skip


def _size(text: str) -> int:
    number = text.strip().rstrip("bBiIkKmMgG")
    unit = text.strip()[len(number) :].lower()
    try:
        value = int(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (write e.g. 64MiB, 500KiB or 1000000)") from None
    if unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"unknown unit in {text!r}: use KiB, MiB or GiB")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no budget) or more, not {text}")
    return value * _UNITS[unit]


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 (pick a free one) to 65535, not {value}")
    return value


def _seed(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _journal_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, not {value}")
    return value


async def serve(
    scenario: Scenario,
    host: str,
    port: int,
    *,
    allow_write: bool = False,
    journal_limit: int = DEFAULT_JOURNAL_LIMIT,
    journal_bytes: int = DEFAULT_JOURNAL_BYTES,
    allowed_hosts: Sequence[str] = (),
    token: str | None = None,
    watch_path: str | None = None,
    seed: int | None = None,
) -> None:
    """Serve `scenario` until SIGINT or SIGTERM; with `watch_path`, reload it when its files change.
    `journal_limit` 0: no limit on entries; `journal_bytes` 0:
    every payload kept whole."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        seed = seed if seed is not None else new_seed()
        journal = Journal(limit=journal_limit or None, max_bytes=journal_bytes or None, seed=seed)
        async with running_server(
            scenario, host, port, journal=journal, token=token, allowed_hosts=allowed_hosts
        ) as srv:
            srv.app.config[ALLOW_WRITE_KEY] = allow_write
            print(srv.base_url, flush=True)
            n = len(scenario.fixtures)
            print(
                f"dotmock: serving {scenario.name!r} ({n} fixture{'s' if n != 1 else ''}); "
                f"journal at {srv.base_url}/_dotmock/journal; test panel at {srv.base_url}/_dotmock/; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            print(f"dotmock: control token (X-Dotmock-Token for POST /_dotmock/...): {srv.token}", file=sys.stderr)
            print(
                f"dotmock: seed {seed} (jitterMs draws from it; --seed {seed} replays the same waits)", file=sys.stderr
            )
            # Last of the banner (the lines above keep their places for scripts that read them): a line to paste.
            print(f"dotmock: the SDKs' base-URL variables for it:\n{base_url_exports(srv.base_url)}", file=sys.stderr)
            watcher = None
            if watch_path is not None:
                holder = srv.app.config["DOTMOCK_SCENARIO"]
                watcher = asyncio.ensure_future(
                    watch(watch_path, holder, lambda m: print(m, file=sys.stderr, flush=True))
                )
                print(f"dotmock: watching {watch_path} and its includes", file=sys.stderr, flush=True)
            try:
                await stop.wait()
            finally:
                if watcher is not None:
                    watcher.cancel()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _run(main_coro: Coroutine[Any, Any, None]) -> None:
    """On uvloop when it is installed (optional: it about doubles the requests answered per second)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coro)
        return
    uvloop.run(main_coro)


def _unusable_file(path: str) -> str | None:
    if os.path.isdir(path):
        return "is a directory: name one .mock file (or a dotMock JSON fixture file) to serve"
    if not os.path.exists(path):
        return "no such file"
    return None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    unusable = _unusable_file(args.file)
    if unusable:
        print(f"dotmock serve: {args.file}: {unusable}", file=sys.stderr)
        return 2
    try:
        scenario_file = load_file(args.file)
    except DslError as err:
        print(str(err), file=sys.stderr)
        return 2
    except OSError as err:
        print(f"dotmock serve: cannot read {args.file}: {err.strerror or err}", file=sys.stderr)
        return 2
    if not scenario_file.cases:
        print(f"dotmock serve: {args.file} has no scenario to serve", file=sys.stderr)
        return 2
    # The LALR parser (a few MB of tables) is only needed again if the test panel's editor parses a change:
    # it is rebuilt then. Until that, the streams of a busy server reuse its memory.
    syntax.parser.cache_clear()
    try:
        _run(
            serve(
                scenario_file.cases[0],
                args.host,
                args.port,
                allow_write=args.allow_write,
                journal_limit=args.journal_limit,
                journal_bytes=args.journal_bytes,
                watch_path=args.file if args.watch else None,
                allowed_hosts=args.allow_host,
                token=args.token,
                seed=args.seed,
            )
        )
    except OSError as err:
        print(f"dotmock serve: cannot listen on {args.host}:{args.port}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0
