"""SDK x call form x fault -> outcome, for every provider API, from the same SDK runs the tests assert.

    python -m bench.sdk_matrix                      # every API, about a minute; Markdown on stdout
    python -m bench.sdk_matrix --only gemini        # some: anthropic, gemini, realtime

Each table is one test module's matrix, run as the test runs it (its scenario, its cells, its SDK calls):
tests/test_anthropic_sdks.py (anthropic sync/async, @anthropic-ai/sdk: a retry is answered),
tests/test_server_gemini.py (google-genai sync/async: its fixtures fail every attempt, so a retry shows only
as the request count), tests/test_gemini_node.py (@google/genai: a retry is answered) and tests/test_realtime.py
(the openai Python and npm Realtime clients: how the read ended). A cell is `ok`, `ok (partial text)` for an
answer cut short without an error, the exception's class or how a Realtime read ended, and `×N` when N requests
were sent. A form's sync and async columns are shown as one where they agree on every row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import test_anthropic_sdks as anthropic_tests  # noqa: E402
import test_gemini_node as gemini_node_tests  # noqa: E402
import test_realtime as realtime_tests  # noqa: E402
import test_server_gemini as gemini_tests  # noqa: E402
from corpus import NODE_DIR, ensure_node_packages  # noqa: E402
from tls_front import self_signed, tls_front  # noqa: E402

from dotmock.dsl.loader import load_text  # noqa: E402
from dotmock.dsl.model import Scenario  # noqa: E402
from dotmock.server.running import running_server  # noqa: E402

Column = tuple[str, str, str]  # (key, the call form, its variant: sync, async, ...)


@dataclass
class Table:
    title: str
    rows: list[str]
    columns: list[Column]
    cells: dict[tuple[str, str], str]  # (row, column key) -> outcome

    def shown(self) -> list[tuple[str, str]]:
        """(label, the key whose cells it shows): a form's variants as one column where they all agree."""
        forms: dict[str, list[tuple[str, str]]] = {}
        for key, form, variant in self.columns:
            forms.setdefault(form, []).append((key, variant))
        shown = []
        for form, variants in forms.items():
            keys = [key for key, _ in variants]
            if len(keys) > 1 and all(len({self.cells[(row, k)] for k in keys}) == 1 for row in self.rows):
                shown.append((f"{form} ({', '.join(v for _, v in variants)})", keys[0]))
            else:
                shown += [(f"{form} {variant}".strip(), key) for key, variant in variants]
        return shown

    def markdown(self) -> str:
        shown = self.shown()
        lines = [f"**{self.title}**", "", "| fault | " + " | ".join(label for label, _ in shown) + " |"]
        lines.append("| --- |" + " --- |" * len(shown))
        lines += [f"| {row} | " + " | ".join(self.cells[(row, key)] for _, key in shown) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


def outcome(what: str, requests: int, text: str | None, whole: str) -> str:
    """`ok`, `ok (partial text)` or an error's name, with `×N` for N requests."""
    if what == "ok" and text is not None and text != whole:
        what = "ok (partial text)"
    return what if requests == 1 else f"{what} ×{requests}"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def run_node(script: str, cells: Any, env: dict[str, str]) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        "node", str(NODE_DIR / script), json.dumps(cells), env={**os.environ, **env}, stdout=subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return [json.loads(line) for line in out.decode().splitlines()]


# ---------------------------------------------------------------------------------------------- Anthropic


def anthropic() -> list[Table]:
    mod = anthropic_tests
    ensure_node_packages()
    tables = []
    for title, matrix, forms in (
        ("anthropic 2.16.0 (Python), Messages, max_retries=2", mod._python_matrix, mod.PY_FORMS),
        ("@anthropic-ai/sdk 1.16.0 (Node), Messages, maxRetries 2", mod._node_matrix, mod.NODE_FORMS),
    ):
        results, journal = run(mod.serve_and_run(matrix))
        by_cell = {(r["form"], r["word"]): r for r in results}
        cells = {}
        for form in forms:
            for word in mod.FAULTS:
                r = by_cell[(form, word)]
                requests = mod.requests_of(journal, f"please {word} #{form}")
                cells[(word, form)] = outcome("ok" if r["ok"] else r["error"], requests, r.get("text"), mod.TEXT)
        columns = [(form, *form.partition("-")[::2]) for form in forms]
        tables.append(Table(title, list(mod.FAULTS), columns, cells))
    return tables


# ---------------------------------------------------------------------------------------------- Gemini

GEMINI_WORDS = ("truncate", "disconnect", "malformed", "errorEvent", "stall", "slowFirstToken", "400", "429")
GEMINI_WORDS += ("500", "503")
SILENCE_S = 1.2  # over the test fixtures' 1 s silences
SILENCES = ("stall", "slowFirstToken")  # the +retry cells of these also get a timeout, under their 1 s
TIMEOUT_MS = 500  # the test's 200 ms is a connect timeout too, which a loaded machine can miss


def gemini_python() -> Table:
    mod = gemini_tests

    async def cell(
        srv: Any, pool: ThreadPoolExecutor, key: str, form: str, retrying: bool, word: str
    ) -> tuple[str, str | None]:
        async with gates[word in SILENCES]:
            return await _cell(srv, pool, key, form, retrying, word)

    async def _cell(
        srv: Any, pool: ThreadPoolExecutor, key: str, form: str, retrying: bool, word: str
    ) -> tuple[str, str | None]:
        timeout = TIMEOUT_MS if retrying and word in SILENCES else None
        client = mod.sdk(srv, retry=mod.RETRY if retrying else None, timeout=timeout)
        prompt = f"please [{word}] #{key}"
        loop = asyncio.get_running_loop()
        models = client.models
        try:
            if form == "generate_content":
                got = [
                    await loop.run_in_executor(pool, lambda: models.generate_content(model=mod.MODEL, contents=prompt))
                ]
            elif form == "generate_content_stream":
                got = await loop.run_in_executor(
                    pool, lambda: list(models.generate_content_stream(model=mod.MODEL, contents=prompt))
                )
            elif form == "aio.generate_content":
                got = [await client.aio.models.generate_content(model=mod.MODEL, contents=prompt)]
            else:
                stream = await client.aio.models.generate_content_stream(model=mod.MODEL, contents=prompt)
                got = [chunk async for chunk in stream]
            return "ok", mod.text_of(got)
        except Exception as err:
            return type(err).__name__, None

    columns: list[Column] = []
    for form in mod.FORMS:
        for retrying in (False, True):
            base = form.removeprefix("aio.") + (" +retry" if retrying else "")
            columns.append((f"{form}{' +retry' if retrying else ''}", base, "async" if "aio." in form else "sync"))
    columns.sort(key=lambda c: c[1])
    # The timed cells one at a time: a timeout must meet the silence only, not a loaded server's slow start (the
    # test runs them one by one too); the others eight at a time.
    gates = {True: asyncio.Semaphore(1), False: asyncio.Semaphore(8)}

    async def matrix() -> dict[tuple[str, str], str]:
        scenario = Scenario(name="gemini", path="g.mock", base_dir=".", fixtures=mod.FIXTURES)
        async with running_server(scenario) as srv:
            keys = [(key, word) for key, _, _ in columns for word in GEMINI_WORDS]
            with ThreadPoolExecutor(max_workers=len(keys)) as pool:
                done = await asyncio.gather(
                    *(cell(srv, pool, k, k.split(" ")[0], k.endswith("+retry"), w) for k, w in keys)
                )
            await asyncio.sleep(SILENCE_S)  # a silenced exchange is journaled once the server has finished it
            cells = {}
            for (key, word), (what, text) in zip(keys, done, strict=True):
                prompt = f"please [{word}] #{key}"
                requests = sum(1 for e in srv.journal.http if gemini_node_tests.prompt_of(e) == prompt)
                cells[(word, key)] = outcome(what, requests, text, mod.TEXT)
            return cells

    title = (
        "google-genai 3.6.1 (Python), Gemini; +retry: HttpRetryOptions(attempts=3), and on the silences a "
        f"{TIMEOUT_MS} ms timeout; each fault on every attempt"
    )
    return Table(title, list(GEMINI_WORDS), columns, run(matrix()))


def gemini_node() -> Table:
    mod = gemini_node_tests
    ensure_node_packages()
    results, journal = run(mod._node_matrix())
    cells = {}
    for (form, word), r in results.items():
        requests = len(mod.exchanges_of(journal, form, word))
        whole = r.get("text") if word == "schema" else mod.TEXT  # the broken answer is handed over as it came
        cells[(word, form)] = outcome("ok" if r["ok"] else r["error"], requests, r.get("text"), whole)
    title = (
        f"@google/genai 3.6.1 (Node), Gemini; -retry: retryOptions (attempts 3) and a {mod.TIMEOUT_MS} ms "
        "timeout; each fault on the first attempt"
    )
    return Table(title, list(mod.FAULTS), [(form, form, "") for form in mod.FORMS], cells)


# ---------------------------------------------------------------------------------------------- Realtime


def _read_end(end: str, text: str) -> str:
    """How the read ended, and `(partial text)` when the answer's text did not all come (on a timed drop the
    prefix may be empty), which an error event instead of any answer is not."""
    whole = end == "response.done" or (end == "error event" and text == "")
    return end if whole else f"{end} (partial text)"


def realtime() -> list[Table]:
    mod = realtime_tests
    (scenario,) = load_text(mod.scenario_text(), "realtime.mock").cases

    async def python() -> dict[tuple[str, str], Any]:
        async with running_server(scenario) as server:
            return await mod._matrix(server.base_url)

    cells = {(word, form): _read_end(seen.end, seen.text) for (form, word), seen in run(python()).items()}
    columns = [("async", "realtime.connect()", "async"), ("sync", "realtime.connect()", "sync")]
    columns.append(("beta", "beta.realtime.connect()", "async"))
    tables = [Table("openai 3.57.0 (Python) Realtime: how the read ended", list(mod.FAULTS), columns, cells)]

    ensure_node_packages()
    with tempfile.TemporaryDirectory() as folder:
        cert, key = self_signed(Path(folder))

        async def node() -> list[dict[str, Any]]:
            async with running_server(scenario) as server, tls_front(server.port, cert, key) as port:
                env = {"OPENAI_BASE_URL": f"https://127.0.0.1:{port}/v1", "OPENAI_API_KEY": "sk-test"}
                return await run_node("realtime_matrix.mjs", list(mod.FAULTS), env | {"NODE_EXTRA_CA_CERTS": str(cert)})

        node_cells = {(r["word"], "ws"): _read_end(r["end"], r["text"]) for r in run(node())}
    title = "openai 7.59.0 (Node) Realtime (OpenAIRealtimeWS): how the read ended"
    tables.append(Table(title, list(mod.FAULTS), [("ws", "OpenAIRealtimeWS", "")], node_cells))
    return tables


SUITES: dict[str, Callable[[], list[Table]]] = {
    "anthropic": anthropic,
    "gemini": lambda: [gemini_python(), gemini_node()],
    "realtime": realtime,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(SUITES))
    only = [s for s in parser.parse_args().only.split(",") if s]
    for name, suite in SUITES.items():
        if not only or name in only:
            for table in suite():
                print(table.markdown())


if __name__ == "__main__":
    main()
