"""The browser test panel at `/_dotmock/`: static page, fixture editor endpoints.

Routes (all under `/_dotmock/`, never journaled as client requests):

- `GET /_dotmock/` the panel page; `GET /_dotmock/static/<file>` its script and style (from `server/static/`);
- `GET /_dotmock/source` the scenario's `.mock` text, its path, the files it includes (`files`), and whether
  saves are written to disk;
- `POST /_dotmock/validate` `{"text": ..., "file": ...}` -> `{"ok", "errors": [{path, line, column, ...}]}`:
  the scenario checked with `file` (default: the scenario file; else one of `files`) edited to `text`;
- `POST /_dotmock/source` the same body -> on success serve the new scenario from the next request on, and
  write that file only when the server was started with `dotmock serve --allow-write`.

`GET /_dotmock/scenario` and `GET /_dotmock/journal` (server.app) feed the fixture list and the frame counts.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from quart import Quart, Response, request

from dotmock.dsl.files import write_text_atomically
from dotmock.dsl.limits import MAX_FILE_BYTES
from dotmock.dsl.model import Scenario
from dotmock.server.guard import TOKEN_KEY
from dotmock.server.json_input import ClientJsonError, dumps_json, load_client_json
from dotmock.server.panel_source import Checked, EditorSource, check_edit, initial_source

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}
ALLOW_WRITE_KEY = "DOTMOCK_ALLOW_WRITE"  # app.config flag set by `dotmock serve --allow-write`
MAX_SOURCE_BYTES = MAX_FILE_BYTES + 64 * 1024  # the largest .mock text, JSON-escaped a little
# The page loads nothing from elsewhere: own script and style, fetch/WebSocket to this server only.
CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ScenarioSlot(Protocol):
    """Where the app looks its scenario up on every request (server.holder.ScenarioHolder)."""

    @property
    def scenario(self) -> Scenario: ...

    def swap(self, scenario: Scenario) -> None: ...


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        dumps_json(value),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _panel_files() -> dict[str, Path]:
    """The files the panel may serve, by name: only these, never a path built from the request."""
    return {p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and p.suffix in STATIC_TYPES}


PANEL_FILES = _panel_files()
TOKEN_META = b'<meta name="dotmock-token" content="">'


def _static(name: str, token: str | None = None) -> Response:
    path = PANEL_FILES.get(name)
    if path is None:
        return _json(
            {
                "error": {
                    "message": f"no panel file {name[:200]!r}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "unknown_url",
                }
            },
            404,
        )
    data = path.read_bytes()
    if token is not None:  # the page carries the server's token for its control writes (server.guard)
        data = data.replace(TOKEN_META, f'<meta name="dotmock-token" content="{token}">'.encode())
    return Response(
        data,
        content_type=STATIC_TYPES[path.suffix],
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


async def _posted_edit() -> tuple[str, str | None] | Response:
    """The posted `{"text": ..., "file": ...}`: the edited text and which file it is (None: the scenario's)."""
    too_large = _json({"ok": False, "message": f"the text is over {MAX_SOURCE_BYTES // 1024} KiB"}, 413)
    if (request.content_length or 0) > MAX_SOURCE_BYTES:
        return too_large
    raw = await request.get_data()
    if len(raw) > MAX_SOURCE_BYTES:
        return too_large
    try:
        body = load_client_json(raw)
    except ClientJsonError as err:
        return _json({"ok": False, "message": f'send JSON: {{"text": "..."}} ({err.detail})'}, 400)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return _json({"ok": False, "message": 'send JSON: {"text": "..."}'}, 400)
    file = body.get("file")
    if file is not None and not isinstance(file, str):
        return _json({"ok": False, "message": '"file" names one of the files /_dotmock/source lists'}, 400)
    return text, file


@dataclass(frozen=True, slots=True)
class Edit:
    """A posted edit: the editor's files, which of them, its new text and what parsing that found."""

    source: EditorSource
    file: str
    text: str
    checked: Checked


class _Parsing:
    """Panel parses run off the event loop, so the server keeps answering (streams included) while a large
    text parses, and one at a time, so a burst of POSTs cannot take every core."""

    def __init__(self) -> None:
        self.slot = asyncio.Lock()

    async def check(self, source: EditorSource, file: str, text: str) -> Checked:
        async with self.slot:
            return await asyncio.to_thread(check_edit, source, file, text)

    async def initial(self, scenario: Scenario) -> EditorSource:
        async with self.slot:
            return await asyncio.to_thread(initial_source, scenario)


def register_panel_routes(app: Quart, slot: ScenarioSlot) -> None:
    """Add the test panel to `app`, editing the scenario held by `slot`."""
    parsing = _Parsing()
    loaded: list[EditorSource] = []  # read on the panel's first use, not for every server a run starts

    read_at: list[int] = [0]  # the slot's disk generation the editor's text was read at (serve --watch)

    async def current() -> EditorSource:
        generation = getattr(slot, "disk_generation", 0)
        if not loaded or read_at[0] != generation:
            loaded[:] = [await parsing.initial(slot.scenario)]
            read_at[0] = generation
        return loaded[0]

    def allow_write() -> bool:
        return bool(app.config.get(ALLOW_WRITE_KEY, False))

    def source_json(source: EditorSource) -> dict[str, Any]:
        return {
            "path": source.path,
            "text": source.text,
            "files": [
                {"path": source.path, "text": source.text, "role": "scenario"},
                *({"path": p, "text": t, "role": "include"} for p, t in source.includes.items()),
            ],
            "note": source.note,
            "scenario": slot.scenario.name,
            "disk_path": source.disk_path,
            "allow_write": allow_write(),
            "writes_to_disk": allow_write() and source.disk_path is not None,
        }

    @app.get("/_dotmock/")
    async def panel_page() -> Response:
        return _static("index.html", str(app.config[TOKEN_KEY]))

    @app.get("/_dotmock/static/<name>")
    async def panel_static(name: str) -> Response:
        return _static(name)

    @app.get("/_dotmock/source")
    async def get_source() -> Response:
        return _json(source_json(await current()))

    def edit(handler: Callable[[Edit], Awaitable[Response]]) -> Callable[[], Awaitable[Response]]:
        """A route that takes a posted edit of one of the listed files: `handler` gets it with what parsing it
        found; a body of another shape (400) or a file not listed (404) is answered before."""

        @functools.wraps(handler)
        async def route() -> Response:
            posted = await _posted_edit()
            if isinstance(posted, Response):
                return posted
            text, file = posted
            source = await current()
            file = file or source.path
            if source.text_of(file) is None:
                message = f"{file!r} is not one of the files /_dotmock/source lists"
                return _json({"ok": False, "message": message}, 404)
            return await handler(Edit(source, file, text, await parsing.check(source, file, text)))

        return route

    @app.post("/_dotmock/validate")
    @edit
    async def validate_source(posted: Edit) -> Response:
        file, checked = posted.file, posted.checked
        return _json(
            {
                "ok": not checked.errors,
                "errors": checked.errors,
                "path": file,
                "scenario": checked.scenario.name if checked.scenario else None,
                "fixtures": len(checked.scenario.fixtures) if checked.scenario else None,
            }
        )

    @app.post("/_dotmock/source")
    @edit
    async def save_source(posted: Edit) -> Response:
        source, file, text, checked = posted.source, posted.file, posted.text, posted.checked
        if checked.scenario is None:
            return _json(
                {
                    "ok": False,
                    "applied": False,
                    "written": False,
                    "errors": checked.errors,
                    "message": "not applied: the text has errors",
                },
                422,
            )
        slot.swap(checked.scenario)
        source.apply(checked)
        disk_path = source.disk_path_of(file)
        written = False
        message = "applied to the running server (in memory only: start `dotmock serve --allow-write` to save)"
        if allow_write() and disk_path is not None:
            try:
                write_text_atomically(disk_path, text)
            except OSError as err:
                message = f"applied to the running server, but not written to {disk_path}: {err}"
            else:
                written = True
                message = f"applied to the running server and written to {disk_path}"
        elif allow_write():
            message = "applied to the running server (in memory only: this source has no .mock file to write)"
        if checked.cases > 1:
            message += f"; serving the first of {checked.cases} parameter rows"
        return _json(
            {
                "ok": True,
                "applied": True,
                "written": written,
                "message": message,
                "errors": [],
                "scenario": checked.scenario.name,
                "fixtures": len(checked.scenario.fixtures),
                "files": [source.path, *source.includes],
            }
        )
