"""Benchmark: how faithfully `dotmock record` + replay reproduce a stream's cadence, on every recorded form.

    python -m bench.bench_record              # about 30 s
    python -m bench.bench_record --streams 10 --chunks 30 --forms chat,ws

An upstream dotmock server answers `--streams` requests of each form with `--chunks` pieces at uneven, known
gaps (a 150 ms first piece, then 20/35/50 ms in turn). The forms:
- `chat`: Chat Completions text (SSE);
- `calls`: Chat Completions text then a tool call whose arguments stream in pieces (SSE);
- `gemini`: Gemini `streamGenerateContent?alt=sse`, text parts then a whole `functionCall` part;
- `ws`: WebSocket envelopes on `/v1/chat` (`response.text.delta` events, then `response.completed`).
Each is read straight from the upstream, then through the recording proxy; the recording is written and
loaded, and the same requests are read from a server replaying it (httpx / httpx-ws, pieces as they arrive).

Reported per form: whether the pieces are identical after the replay, and p50 / p95 / max of
- baseline: |gap seen through the proxy - gap seen straight from the upstream| (what the proxy adds),
- replay: |gap seen from the replay - gap seen through the proxy while recording| (record + replay),
and the replay's p50 and p95 as a ratio of the baseline's: the replay's error read against the scheduling
noise of the same machine in the same run (a ratio near or under 1: the replay adds no more than the proxy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_ws import aconnect_ws

from dotmock.dsl.fmt import format_text
from dotmock.dsl.loader import load_text
from dotmock.dsl.recording import Recorded, fixtures_text, merge
from dotmock.server.record_proxy import running_proxy
from dotmock.server.running import running_server

PATTERN_MS = (20, 35, 50)
ARGUMENTS = ('{"n"', ": ", "1", "}")  # a tool call's arguments, in the pieces they stream in
GEMINI_PATH = "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
Timed = list[tuple[str, float]]  # (piece, seconds since the request was sent)


def _gaps_ms(n: int) -> list[int]:
    return [150, *[PATTERN_MS[i % len(PATTERN_MS)] for i in range(n - 1)]]


def _cadence(texts: list[str]) -> str:
    return "\n".join(f"    {json.dumps(t)} after {g}ms" for t, g in zip(texts, _gaps_ms(len(texts)), strict=True))


def _words(n: int) -> list[str]:
    return [f"w{i:02d} " for i in range(n)]


def chat_fixture(s: int, chunks: int) -> str:
    return (
        f'fixture "chat {s}" {{\n  match POST /v1/chat/completions {{ message contains "chat {s}." }}\n'
        f"  cadence {{\n{_cadence(_words(chunks))}\n  }}\n}}"
    )


def calls_fixture(s: int, chunks: int) -> str:
    texts = [*_words(max(1, chunks - len(ARGUMENTS))), *ARGUMENTS]
    return (
        f'fixture "calls {s}" {{\n  match POST /v1/chat/completions {{ message contains "calls {s}." }}\n'
        f'  cadence {{\n{_cadence(texts)}\n  }}\n  toolCall "lookup" id "call_{s}" {{"n": 1}}\n}}'
    )


def gemini_fixture(s: int, chunks: int) -> str:
    texts = [*_words(max(1, chunks - 1)), '{"n": 1}']  # a Gemini call is one piece
    return (
        f'fixture "gemini {s}" {{\n  match POST {GEMINI_PATH} {{ message contains "gemini {s}." }}\n'
        f'  cadence {{\n{_cadence(texts)}\n  }}\n  toolCall "lookup" {{"n": 1}}\n}}'
    )


def ws_fixture(s: int, chunks: int) -> str:
    events = [
        f'    "response.text.delta" {json.dumps({"delta": w})} after {g}ms'
        for w, g in zip(_words(chunks), _gaps_ms(chunks), strict=True)
    ]
    events.append('    "response.completed" {"status": "completed"} after 20ms')
    body = "\n".join(events)
    match = f'match websocket /v1/chat {{ message contains "ws {s}." }}'
    return f'fixture "ws {s}" {{\n  {match}\n  events {{\n{body}\n  }}\n}}'


async def _sse(http: httpx.AsyncClient, url: str, body: dict[str, Any], pieces: Callable[[Any], list[str]]) -> Timed:
    out: Timed = []
    start = time.monotonic()
    async with http.stream("POST", url, json=body, headers={"x-goog-api-key": "k"}) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                now = time.monotonic() - start
                out += [(p, now) for p in pieces(json.loads(line[6:]))]
    return out


def _chat_pieces(event: Any) -> list[str]:
    delta = (event.get("choices") or [{}])[0].get("delta", {})
    calls = [c.get("function", {}).get("arguments") for c in delta.get("tool_calls") or []]
    return [p for p in [delta.get("content"), *calls] if p]


def _gemini_pieces(event: Any) -> list[str]:
    parts = ((event.get("candidates") or [{}])[0].get("content") or {}).get("parts") or []
    out = [p["text"] for p in parts if p.get("text")]
    return out + [json.dumps(p["functionCall"]["args"]) for p in parts if "functionCall" in p]


def _messages(kind: str, s: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{kind} {s}."}]


async def read_chat(http: httpx.AsyncClient, base: str, s: int, kind: str = "chat") -> Timed:
    body = {"model": "m", "stream": True, "messages": _messages(kind, s)}
    return await _sse(http, base + "/v1/chat/completions", body, _chat_pieces)


async def read_calls(http: httpx.AsyncClient, base: str, s: int) -> Timed:
    return await read_chat(http, base, s, "calls")


async def read_gemini(http: httpx.AsyncClient, base: str, s: int) -> Timed:
    body = {"contents": [{"role": "user", "parts": [{"text": f"gemini {s}."}]}]}
    return await _sse(http, base + GEMINI_PATH + "?alt=sse", body, _gemini_pieces)


async def read_ws(http: httpx.AsyncClient, base: str, s: int) -> Timed:
    out: Timed = []
    async with aconnect_ws("ws" + base[4:] + "/v1/chat", http) as ws:
        start = time.monotonic()
        await ws.send_json({"type": "message", "data": {"model": "m", "messages": _messages("ws", s)}})
        while True:
            frame = await ws.receive_json(timeout=30)
            now = time.monotonic() - start
            if frame.get("type") == "response.completed":
                return out
            out.append((str((frame.get("data") or {}).get("delta")), now))


@dataclass(frozen=True)
class Form:
    name: str
    fixture: Callable[[int, int], str]
    read: Callable[[httpx.AsyncClient, str, int], Awaitable[Timed]]


FORMS = {
    f.name: f
    for f in (
        Form("chat", chat_fixture, read_chat),
        Form("calls", calls_fixture, read_calls),
        Form("gemini", gemini_fixture, read_gemini),
        Form("ws", ws_fixture, read_ws),
    )
}


def gaps(timed: Timed) -> list[float]:
    times = [t for _, t in timed]
    return [b - a for a, b in zip([0.0, *times], times, strict=False)]


def errors(a: list[Timed], b: list[Timed]) -> list[float]:
    return [abs(x - y) * 1000 for sa, sb in zip(a, b, strict=True) for x, y in zip(gaps(sa), gaps(sb), strict=True)]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


async def _read_all(form: Form, base: str, streams: int) -> list[Timed]:
    async with httpx.AsyncClient(timeout=30) as http:
        return [await form.read(http, base, s) for s in range(streams)]


async def main(streams: int, chunks: int, forms: list[Form]) -> None:
    mock = 'scenario "bench upstream"\n\n' + "\n\n".join(f.fixture(s, chunks) for f in forms for s in range(streams))
    records: list[Recorded] = []
    seen: dict[str, tuple[list[Timed], list[Timed]]] = {}
    async with running_server(load_text(mock + "\n", "up.mock").cases[0]) as upstream:
        for form in forms:
            direct = await _read_all(form, upstream.base_url, streams)
            async with running_proxy(upstream.base_url, records.append) as proxy:
                seen[form.name] = (direct, await _read_all(form, proxy.base_url, streams))
    text = format_text(merge(None, fixtures_text(records), header="# bench"), "bench.mock")
    print(f"{streams} streams x {chunks} pieces per form")
    print(
        "| form | pieces identical | baseline p50 / p95 / max (ms) | replay p50 / p95 / max (ms) "
        "| replay/baseline p50 | p95 |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    async with running_server(load_text(text, "bench.mock").cases[0]) as replay:
        for form in forms:
            direct, proxied = seen[form.name]
            replayed = await _read_all(form, replay.base_url, streams)
            same = all([c for c, _ in a] == [c for c, _ in b] for a, b in zip(proxied, replayed, strict=True))
            base, again = errors(direct, proxied), errors(proxied, replayed)
            cells = [f"{_p(v, 0.5):.2f} / {_p(v, 0.95):.2f} / {max(v):.2f}" for v in (base, again)]
            ratios = [_p(again, q) / max(_p(base, q), 0.01) for q in (0.5, 0.95)]
            print(f"| {form.name} | {same} | {cells[0]} | {cells[1]} | {ratios[0]:.2f} | {ratios[1]:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--forms", default=",".join(FORMS), help=f"comma-separated, of {', '.join(FORMS)}")
    args = parser.parse_args()
    chosen = [FORMS[name.strip()] for name in args.forms.split(",") if name.strip()]
    asyncio.run(main(args.streams, args.chunks, chosen))
