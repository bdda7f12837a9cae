"""OpenAI Realtime, text modality (`/v1/realtime`), against the official openai SDK's `client.realtime.connect()`
(GA, sync and async) and `client.beta.realtime.connect()` (beta names), under every WebSocket fault.

Each cell connects, sends `session.update`, `conversation.item.create` and `response.create`, and reads
events until `response.done`, an `error` event, the end of the connection, or 1 s of silence (the SDK has no
read timeout: that is the harness's, standing in for a client that would wait forever).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
import websockets
from corpus import NODE_DIR, ensure_node_packages
from tls_front import self_signed, tls_front

from dotmock.dsl.loader import load_text
from dotmock.server.journal import Journal
from dotmock.server.running import running_server

pytestmark = pytest.mark.anyio

TEXT = "Hello from the Realtime API, in small pieces."
FIRST_TWO = TEXT[:16]
SILENCE_S = 1.0

STREAM = f'response "{TEXT}"\n  streaming {{ chunkSize 8 }}'
CUT = f'response "{TEXT}"\n  streaming {{ chunkSize 8 truncateAfterChunks 2 }}'
FAULTS: dict[str, str] = {
    "complete": STREAM,
    "truncate": CUT,
    "dropchunks": f"{STREAM}\n  fault disconnect after 2 chunks",
    "droptimer": f'response "{TEXT}"\n  streaming {{ chunkSize 8 latencyMs 250 }}\n  disconnectAfterMs 600',
    "close1011": f"{CUT}\n  closeCode 1011",
    "close1000": f"{CUT}\n  closeAfter",
    "close1006": f"{CUT}\n  closeCode 1006",
    "closeafterdone": f"{STREAM}\n  closeCode 1011",
    "stall": f"{STREAM}\n  fault stall after 1 chunks for 300ms",
    "slowfirst": f"{STREAM}\n  fault slowFirstToken 300ms",
    "malformed": f"{STREAM}\n  fault malformedChunk after 2 chunks",
    "errorevent": f'{STREAM}\n  fault errorEvent after 2 chunks {{ message "The server had an error" }}',
    "ratelimit": 'error 429 { message "Rate limit reached" }',
    "events": (
        'events {\n    "response.created" {"response": {"id": "resp_1", "status": "in_progress"}}\n'
        '    "response.output_text.delta" {"delta": "Scripted"}\n'
        '    "response.done" {"response": {"id": "resp_1", "status": "completed", "output": []}}\n  }'
    ),
}


def scenario_text() -> str:
    fixtures = [
        f'fixture "{word}" {{\n  match websocket /v1/realtime {{ message contains "{word}" attempt 1 }}\n'
        f"  {outcome}\n}}\n"
        for word, outcome in FAULTS.items()
    ]
    fixtures.append(f'fixture "recovered" {{\n  match websocket /v1/realtime\n  response "{TEXT}"\n}}\n')
    return 'scenario "realtime"\n\n' + "\n".join(fixtures)


@pytest.fixture
async def srv() -> Any:
    (scenario,) = load_text(scenario_text(), "realtime.mock").cases
    async with running_server(scenario) as server:
        yield server


def user_item(word: str, form: str) -> dict[str, Any]:
    text = f"please {word} #{form}"
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


class Observed:
    """What a cell saw: the event types in order, the text deltas, and how the reading ended."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.text = ""
        self.end = ""
        self.error: dict[str, Any] | None = None

    def see(self, event: Any) -> bool:
        """Record one event; True when it ends the response (response.done or an error event)."""
        self.types.append(event.type)
        if event.type in ("response.output_text.delta", "response.text.delta"):
            self.text += event.delta
        if event.type == "response.done":
            self.end = "response.done"
            return True
        if event.type == "error":
            self.end, self.error = "error event", event.error.model_dump()
            return True
        return False

    def raised(self, err: BaseException) -> None:
        code = getattr(getattr(err, "rcvd", None), "code", None)
        self.end = f"{type(err).__name__} {code}" if code is not None else type(err).__name__


async def run_async(base: str, word: str, *, beta: bool = False) -> Observed:
    seen = Observed()
    form = "beta" if beta else "async"
    client = openai.AsyncOpenAI(
        base_url=base + "/v1", api_key="sk-test", websocket_base_url=base.replace("http", "ws", 1) + "/v1"
    )
    realtime = client.beta.realtime if beta else client.realtime
    session = {"modalities": ["text"]} if beta else {"type": "realtime", "output_modalities": ["text"]}
    try:
        async with realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(session=session)
            await conn.conversation.item.create(item=user_item(word, form))
            await conn.response.create()
            events = aiter(conn)
            while True:
                try:
                    event = await asyncio.wait_for(anext(events), SILENCE_S)
                except StopAsyncIteration:
                    seen.end = "iteration ended"
                    break
                except TimeoutError:
                    seen.end = "silence"
                    break
                if seen.see(event):
                    break
    except Exception as err:
        seen.raised(err)
    finally:
        await client.close()
    return seen


def run_sync(base: str, word: str) -> Observed:
    seen = Observed()
    with openai.OpenAI(base_url=base + "/v1", api_key="sk-test") as client:
        try:
            with client.realtime.connect(model="gpt-realtime") as conn:
                conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                conn.conversation.item.create(item=user_item(word, "sync"))
                conn.response.create()
                fired = threading.Event()

                def give_up() -> None:
                    fired.set()
                    conn.close()

                watchdog = threading.Timer(SILENCE_S * 2, give_up)  # the sync SDK has no read timeout
                watchdog.start()
                try:
                    seen.end = "iteration ended"
                    for event in conn:
                        if seen.see(event):
                            break
                finally:
                    watchdog.cancel()
                if fired.is_set() and seen.end == "iteration ended":
                    seen.end = "silence"
        except Exception as err:
            seen.raised(err)
    return seen


# ---------------------------------------------------------------------------------------------- the matrix

# word -> (how the reading ends, the text it got: "all", "two chunks", "" or "scripted", or "prefix": whatever
# came before a drop on a timer)
# The same for sync and async: the SDK raises websockets' ConnectionClosedError on a drop (no code: 1006) or
# an odd close code, ends the iteration silently on a normal close, raises JSONDecodeError on a frame that is
# not JSON, and yields `error` events as events (only dispatch_events() raises on them). It never reconnects
# unless given on_reconnecting, and has no read timeout: a response cut short without a close waits forever.
EXPECTED: dict[str, tuple[str, str]] = {
    "complete": ("response.done", "all"),
    "truncate": ("silence", "two chunks"),
    "dropchunks": ("ConnectionClosedError", "two chunks"),
    "droptimer": ("ConnectionClosedError", "prefix"),
    "close1011": ("ConnectionClosedError 1011", "two chunks"),
    "close1000": ("iteration ended", "two chunks"),  # a normal close ends `for event in conn` without an error
    "close1006": ("ConnectionClosedError", "two chunks"),
    "closeafterdone": ("response.done", "all"),
    "stall": ("response.done", "all"),
    "slowfirst": ("response.done", "all"),
    "malformed": ("JSONDecodeError", "two chunks"),
    "errorevent": ("error event", "two chunks"),
    "ratelimit": ("error event", ""),
    "events": ("response.done", "scripted"),
}
FORMS = ("async", "sync", "beta")


async def _matrix(base: str) -> dict[tuple[str, str], Observed]:
    cells = [(form, word) for form in FORMS for word in FAULTS]
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=len(FAULTS)) as pool:
        runs = [
            loop.run_in_executor(pool, run_sync, base, word)
            if form == "sync"
            else run_async(base, word, beta=form == "beta")
            for form, word in cells
        ]
        return dict(zip(cells, await asyncio.gather(*runs), strict=True))


@pytest.fixture(scope="module")
def matrix() -> tuple[dict[tuple[str, str], Observed], Journal]:
    async def run() -> tuple[dict[tuple[str, str], Observed], Journal]:
        (scenario,) = load_text(scenario_text(), "realtime.mock").cases
        async with running_server(scenario) as server:
            return await _matrix(server.base_url), server.journal

    return asyncio.run(run())


@pytest.mark.parametrize("word", list(FAULTS))
@pytest.mark.parametrize("form", FORMS)
def test_sdk_under_fault(matrix: Any, form: str, word: str) -> None:
    results, _ = matrix
    seen = results[(form, word)]
    end, text = EXPECTED[word]
    assert seen.end == end, (seen.end, seen.types)
    want = {"all": TEXT, "two chunks": FIRST_TWO, "": "", "scripted": "Scripted"}.get(text)
    if want is None:
        assert TEXT.startswith(seen.text) and len(seen.text) < len(TEXT), seen.text  # the drop is on a timer
    else:
        assert seen.text == want
    delta = "response.text.delta" if form == "beta" else "response.output_text.delta"
    if text not in ("", "scripted", "prefix"):
        assert delta in seen.types
        assert seen.types[:3] == [
            "session.created",
            "session.updated",
            "conversation.item.created" if form == "beta" else "conversation.item.added",
        ]
    if word == "ratelimit":
        assert seen.error == {
            "type": "rate_limit_error",
            "code": "rate_limit_exceeded",
            "message": "Rate limit reached",
            "param": None,
            "event_id": None,
        }


def test_each_cell_is_one_response_create_on_its_own_connection(matrix: Any) -> None:
    _, journal = matrix
    conns = [c for c in journal.websocket if c.path == "/v1/realtime"]
    assert len(conns) == len(FORMS) * len(FAULTS)  # nobody reconnected: the SDK does not, unless asked
    for conn in conns:
        asks = [x for x in conn.exchanges if isinstance(x.request, dict) and "input" in x.request]
        assert len(asks) == 1 and asks[0].attempt == 1 and asks[0].form == "realtime"
        assert [x.request.get("type") for x in conn.exchanges[:2]] == ["session.update", "conversation.item.create"]


# ---------------------------------------------------------------------------------------------- the wire

WIRE = """scenario "realtime wire"

fixture "greeting" {
  match websocket /v1/realtime { message contains "Hello" }
  response "Hi! How can I help?"
}

fixture "farewell" {
  match websocket /v1/realtime { message contains "Bye" }
  response "Goodbye."
}

fixture "long" {
  match websocket /v1/realtime { message contains "essay" }
  response "An essay that stops at its limit"
  finishReason "length"
}
"""


@pytest.fixture
async def wire() -> Any:
    (scenario,) = load_text(WIRE, "wire.mock").cases
    async with running_server(scenario) as server:
        yield server


class Client:
    """A bare websockets client: send client events, read server events as dicts."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def send(self, event: dict[str, Any] | str) -> None:
        await self.conn.send(event if isinstance(event, str) else json.dumps(event))

    async def recv(self) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), 5))

    async def until(self, kind: str) -> list[dict[str, Any]]:
        events = [await self.recv()]
        while events[-1]["type"] != kind:
            events.append(await self.recv())
        return events


def connect(server: Any, query: str = "?model=gpt-realtime", beta: bool = False) -> Any:
    headers = {"Authorization": "Bearer sk-test", **({"OpenAI-Beta": "realtime=v1"} if beta else {})}
    return websockets.connect(server.ws_url + "/v1/realtime" + query, additional_headers=headers)


def say(text: str) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": user_item_text(text)}


def user_item_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def test_session_created_first_then_updated(wire: Any) -> None:
    async with connect(wire) as conn:
        rt = Client(conn)
        created = await rt.recv()
        assert created["type"] == "session.created" and created["event_id"]
        session = created["session"]
        assert session["type"] == "realtime" and session["model"] == "gpt-realtime" and session["id"]
        await rt.send({"type": "session.update", "session": {"instructions": "Be brief.", "model": "other"}})
        updated = await rt.recv()
        assert updated["type"] == "session.updated"
        assert updated["session"]["instructions"] == "Be brief." and updated["session"]["model"] == "gpt-realtime"
        assert updated["session"]["id"] == session["id"]


async def test_a_response_in_ga_and_beta_names(wire: Any) -> None:
    for beta in (False, True):
        async with connect(wire, beta=beta) as conn:
            rt = Client(conn)
            await rt.recv()
            await rt.send(say("Hello"))
            added = await rt.until("conversation.item.created" if beta else "conversation.item.done")
            await rt.send({"type": "response.create"})
            events = await rt.until("response.done")
        kinds = [e["type"] for e in events]
        text_delta = "response.text.delta" if beta else "response.output_text.delta"
        item_events = ["conversation.item.created"] if beta else ["conversation.item.added"]
        assert kinds[:4] == [
            "response.created",
            "response.output_item.added",
            *item_events,
            "response.content_part.added",
        ]
        assert set(kinds[4 : -4 if beta else -5]) == {text_delta}
        tail = ["response.content_part.done", "response.output_item.done", "response.done"]
        if not beta:
            tail.insert(2, "conversation.item.done")
        assert kinds[-len(tail) - 1 :] == [text_delta.replace("delta", "done"), *tail]
        done = events[-1]["response"]
        assert done["status"] == "completed" and done["usage"]["output_tokens"] > 0
        content = done["output"][0]["content"][0]
        assert content == {"type": "text" if beta else "output_text", "text": "Hi! How can I help?"}
        ids = {e.get("response_id") for e in events if "response_id" in e} | {done["id"]}
        assert len(ids) == 1  # one response id throughout
        assert len({e["event_id"] for e in events}) == len(events)  # every server event has its own id
        assert added[0]["item"]["role"] == "user" and added[0]["item"]["id"]


async def test_the_conversation_carries_over_turns(wire: Any) -> None:
    async with connect(wire) as conn:
        rt = Client(conn)
        await rt.recv()
        for text, answer in (("Hello", "Hi! How can I help?"), ("Bye now", "Goodbye.")):
            await rt.send(say(text))
            await rt.send({"type": "response.create"})
            done = (await rt.until("response.done"))[-1]
            assert done["response"]["output"][0]["content"][0]["text"] == answer
    asks = [x for x in wire.journal.websocket[0].exchanges if x.fixture]
    assert [x.fixture for x in asks] == ["greeting", "farewell"]
    roles = [item.get("role") for item in asks[1].request["input"]]
    assert roles == ["user", "assistant", "user"]  # the first answer joined the conversation


async def test_finish_length_is_an_incomplete_response(wire: Any) -> None:
    async with connect(wire) as conn:
        rt = Client(conn)
        await rt.recv()
        await rt.send(
            {"type": "response.create", "response": {"conversation": "none", "input": [user_item_text("an essay")]}}
        )
        done = (await rt.until("response.done"))[-1]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}


async def test_bad_events_get_error_events_and_the_connection_stays_usable(wire: Any) -> None:
    async with connect(wire) as conn:
        rt = Client(conn)
        await rt.recv()
        bad: list[tuple[dict[str, Any] | str, str]] = [
            ("{not json", "invalid_json"),
            ({"no": "type"}, "missing_required_parameter"),
            ({"type": "session.nonsense", "event_id": "evt_1"}, "invalid_value"),
            ({"type": "response.cancel", "event_id": "evt_2"}, "response_cancel_not_active"),
            ({"type": "input_audio_buffer.append", "audio": ""}, "unsupported_event"),
            ({"type": "session.update", "session": "text"}, "invalid_value"),
            (
                {"type": "response.create", "response": {"conversation": "none", "input": [user_item_text("?")]}},
                "fixture_not_found",
            ),
        ]
        for event, code in bad:
            await rt.send(event)
            error = await rt.recv()
            assert error["type"] == "error" and error["event_id"], error
            assert error["error"]["code"] == code, error
            assert error["error"]["type"] == "invalid_request_error"
            if isinstance(event, dict) and "event_id" in event:
                assert error["error"]["event_id"] == event["event_id"]
        await rt.send(say("Hello"))
        await rt.send({"type": "response.create"})
        assert (await rt.until("response.done"))[-1]["response"]["status"] == "completed"
    unmatched = [x.error for x in wire.journal.websocket[0].exchanges if x.error and "no fixture" in x.error]
    assert len(unmatched) == 1 and "greeting" in unmatched[0]  # the nearest fixtures are named


async def test_a_connection_without_a_model_is_refused(wire: Any) -> None:
    async with connect(wire, query="") as conn:
        rt = Client(conn)
        error = await rt.recv()
        assert error["type"] == "error" and error["error"]["code"] == "missing_model"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await rt.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_the_sdk_reconnects_when_asked_to(srv: Any) -> None:
    """With on_reconnecting, a drop (1006) makes the SDK open a new connection: a new session, the
    conversation gone; the unanswered response.create must be sent again by the client."""
    client = openai.AsyncOpenAI(base_url=srv.base_url + "/v1", api_key="sk-test")
    reconnects: list[int] = []

    def on_reconnecting(event: Any) -> None:
        reconnects.append(event.close_code)

    try:
        async with client.realtime.connect(model="gpt-realtime", on_reconnecting=on_reconnecting) as conn:
            await conn.conversation.item.create(item=user_item("dropchunks", "reconnect"))
            await conn.response.create()
            kinds = []
            async for event in conn:
                kinds.append(event.type)
                if kinds.count("session.created") == 2:
                    break
    finally:
        await client.close()
    assert reconnects == [1006]
    assert "response.done" not in kinds
    assert len([c for c in srv.journal.websocket if c.path == "/v1/realtime"]) == 2


# ---------------------------------------------------------------------------------------------- Node

# The npm SDK (openai 7.59.0, `OpenAIRealtimeWS` on ws 8.23.1) always connects with wss://, so the cells go
# through a TLS front (tls_front.py) whose self-signed certificate Node trusts via NODE_EXTRA_CA_CERTS.
# It never throws on a drop or a close: the socket's `close` event carries the code (1006 for a drop) and
# the SDK emits nothing else; a frame that is not JSON is an `error` ("could not parse websocket event")
# and the stream carries on; an `error` event is emitted as an OpenAIRealtimeError.
NODE_EXPECTED: dict[str, tuple[str, str]] = {
    "complete": ("response.done", "all"),
    "truncate": ("silence", "two chunks"),
    "dropchunks": ("close 1006", "two chunks"),
    "droptimer": ("close 1006", "prefix"),
    "close1011": ("close 1011", "two chunks"),
    "close1000": ("close 1000", "two chunks"),
    "close1006": ("close 1006", "two chunks"),
    "closeafterdone": ("response.done", "all"),
    "stall": ("response.done", "all"),
    "slowfirst": ("response.done", "all"),
    "malformed": ("sdk error", "any"),
    "errorevent": ("error event", "two chunks"),
    "ratelimit": ("error event", ""),
    "events": ("response.done", "scripted"),
}


@pytest.fixture(scope="module")
def node_matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    ensure_node_packages()
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))

    async def run() -> dict[str, dict[str, Any]]:
        (scenario,) = load_text(scenario_text(), "realtime.mock").cases
        async with running_server(scenario) as server, tls_front(server.port, cert, key) as port:
            env = {
                **os.environ,
                "OPENAI_BASE_URL": f"https://127.0.0.1:{port}/v1",
                "OPENAI_API_KEY": "sk-test",
                "NODE_EXTRA_CA_CERTS": str(cert),
            }
            proc = await asyncio.create_subprocess_exec(
                "node",
                str(NODE_DIR / "realtime_matrix.mjs"),
                json.dumps(list(FAULTS)),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            return {r["word"]: r for r in map(json.loads, out.decode().splitlines())}

    return asyncio.run(run())


@pytest.mark.parametrize("word", list(FAULTS))
def test_node_sdk_under_fault(node_matrix: dict[str, dict[str, Any]], word: str) -> None:
    seen = node_matrix[word]
    end, text = NODE_EXPECTED[word]
    assert seen["end"] == end, seen
    want = {"all": TEXT, "two chunks": FIRST_TWO, "": "", "scripted": "Scripted"}.get(text)
    if want is not None:
        assert seen["text"] == want, seen
    else:
        assert TEXT.startswith(seen["text"]), seen
    if word == "malformed":
        assert seen["error"]["message"] == "could not parse websocket event"
    if word == "ratelimit":
        assert seen["error"]["code"] == "rate_limit_exceeded"
