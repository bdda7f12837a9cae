"""A case's timeline as inline SVG, drawn from its JSON journal (times relative to the case's start).

One lane for the client process (start, exit), then one per attempt in start order: an HTTP exchange or a
WebSocket connection as a bar, chunks/frames as ticks, faults as red diamonds, a stream that ended without
its terminator (or a dropped connection) as a red cut at its end, the Retry-After window the server asked
for as a shaded band after the failed attempt, and a dashed arrow from a failed attempt to its retry.
Every string is escaped; every element carries a `<title>` so the details show on hover and to readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

from dotmock.dsl.catalogue import SILENT_FAULTS
from dotmock.runner.attempts import ws_end_is_abnormal
from dotmock.runner.results import CaseResult

WIDTH = 760
LABEL_W = 178
PAD_R = 24
LANE_H = 30  # the band a lane's bar, ticks and marks are drawn in
AXIS_H = 24
MAX_LANES = 80
_NICE = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600)


def seconds(t: float) -> str:
    """`0ms`, `250ms`, `1.5s`, `2m05s`."""
    if t < 1:
        return f"{t * 1000:.0f}ms"
    if t < 120:
        return f"{t:.3g}s" if t < 10 else f"{t:.1f}s"
    return f"{int(t // 60)}m{int(t % 60):02d}s"


def _short_path(path: Any) -> str:
    text = str(path or "")
    return text[len("/v1") :] if text.startswith("/v1/") else text


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else default


@dataclass(slots=True)
class Lane:
    label: str
    title: str
    kind: str  # "client", "http", "ws"
    css: str  # bar classes
    start: float
    end: float
    ticks: list[tuple[float, str, str]] = field(default_factory=list)  # (t, css class, title)
    faults: list[tuple[float, str]] = field(default_factory=list)
    cut: tuple[float, str] | None = None  # (t, label): the stream/connection ended short here
    end_label: str | None = None
    spans: list[tuple[float, float, str, str]] = field(default_factory=list)  # (from, to, css, title): stalls
    retry_after: tuple[float, float, bool] | None = None  # (from, seconds, honoured)
    call: str = ""
    attempt: int = 1


def _http_lane(ex: dict[str, Any]) -> Lane:
    start = _num(ex.get("started_at"))
    end = max(start, _num(ex.get("ended_at"), start))
    status = ex.get("status")
    stream = bool(ex.get("stream"))
    completed = bool(ex.get("completed"))
    faults = [str(f) for f in ex.get("faults") or []]
    failed = (isinstance(status, int) and status >= 400) or (stream and not completed) or bool(faults)
    css = "bar http " + ("bad" if failed else "ok")
    attempt = int(_num(ex.get("attempt"), 1))
    label = f"#{ex.get('id')} {ex.get('method', '')} {_short_path(ex.get('path'))}"
    facts = [
        f"attempt {attempt}",
        f"fixture {ex.get('fixture')!r}" if ex.get("fixture") else "no fixture matched",
        f"HTTP {status}" if status is not None else "no status",
        "streamed" if stream else "JSON",
        f"{int(_num(ex.get('chunks_sent')))} chunks",
    ]
    if faults:
        facts.append(f"fault {', '.join(faults)}")
    if ex.get("error"):
        facts.append(str(ex["error"]))
    full = f"#{ex.get('id')} {ex.get('method', '')} {ex.get('path', '')}"
    lane = Lane(
        label=label,
        title=f"{full} · " + " · ".join(facts) + f" · {seconds(start)} – {seconds(end)}",
        kind="http",
        css=css,
        start=start,
        end=end,
        call=str(ex.get("call_key") or ""),
        attempt=attempt,
    )
    stall_from: tuple[float, str] | None = None
    for tick in ex.get("ticks") or []:
        t, what = _num(tick.get("t"), start), str(tick.get("what") or "")
        if what == "chunk":
            lane.ticks.append((t, "tick chunk", f"chunk at {seconds(t)}"))
        elif what == "terminator":
            lane.ticks.append((t, "tick term", f"terminator at {seconds(t)}"))
        elif what.startswith("fault:"):
            kind = what[len("fault:") :]
            lane.faults.append((t, kind))
            if kind in SILENT_FAULTS:
                stall_from = (t, kind)
        elif what == "resume" and stall_from is not None:
            lane.spans.append((stall_from[0], t, "stall", f"{stall_from[1]}: silent {seconds(t - stall_from[0])}"))
            stall_from = None
        elif what == "client_disconnected":
            lane.ticks.append((t, "tick left", f"the client went away at {seconds(t)}"))
    if stall_from is not None:
        lane.spans.append((stall_from[0], end, "stall", f"{stall_from[1]}: silent until the end"))
    if stream and not completed and status is not None and status < 400:
        why = "client left" if ex.get("client_disconnected") and not faults else (faults[-1] if faults else "cut")
        lane.cut = (end, why)
    if isinstance(status, int):
        lane.end_label = str(status) if status >= 400 else None
    ra = ex.get("retry_after_s")
    if isinstance(ra, int | float) and ra > 0:
        lane.retry_after = (end, float(ra), True)
        lane.end_label = f"{status} · Retry-After {seconds(float(ra))}"
    return lane


def _ws_lane(conn: dict[str, Any], horizon: float) -> Lane:
    start = _num(conn.get("opened_at"))
    closed = conn.get("closed_at")
    end = max(start, _num(closed, horizon))
    dropped = bool(conn.get("dropped")) or conn.get("closed_by") == "drop"
    code_sent, code_recv = conn.get("close_code_sent"), conn.get("close_code_received")
    by = conn.get("closed_by")
    abnormal = ws_end_is_abnormal(dropped, by, code_sent)
    label = f"#{conn.get('id')} WS {_short_path(conn.get('path'))}"
    frames = conn.get("frames") or []
    n_in = sum(1 for f in frames if f.get("direction") == "in")
    facts = [f"{n_in} message(s) from the client", f"{len(frames) - n_in} frame(s) from the server"]
    if dropped:
        facts.append("dropped without a close frame (1006)")
    elif code_sent is not None:
        facts.append(f"server closed with {code_sent}")
    if code_recv is not None:
        facts.append(f"client close code {code_recv}")
    if conn.get("faults"):
        facts.append(f"fault {', '.join(str(f) for f in conn['faults'])}")
    exchanges = conn.get("exchanges") or []
    attempt = int(_num(exchanges[0].get("attempt"), 1)) if exchanges else 1
    full = f"#{conn.get('id')} WebSocket {conn.get('path', '')}"
    lane = Lane(
        label=label,
        title=f"{full} · "
        + " · ".join(facts)
        + f" · {seconds(start)} – "
        + (seconds(end) if closed is not None else "still open"),
        kind="ws",
        css="bar ws " + ("bad" if abnormal else "ok") + ("" if closed is not None else " open"),
        start=start,
        end=end,
        call=str(exchanges[0].get("call_key") or "") if exchanges else "",
        attempt=attempt,
    )
    for f in frames:
        t = _num(f.get("t"), start)
        d = f.get("direction")
        kind = f.get("type") or ("binary" if f.get("text") is None else "text")
        lane.ticks.append(
            (
                t,
                "tick " + ("frame-in" if d == "in" else "frame-out"),
                f"{'client → server' if d == 'in' else 'server → client'} {kind} at {seconds(t)}",
            )
        )
    for x in exchanges:
        for tick in x.get("ticks") or []:
            what = str(tick.get("what") or "")
            if what.startswith("fault:"):
                lane.faults.append((_num(tick.get("t"), start), what[len("fault:") :]))
    if dropped:
        lane.cut = (end, "drop 1006")
    elif code_sent is not None or code_recv is not None:
        lane.end_label = f"{code_sent if code_sent is not None else code_recv}" + (f" by {by}" if by else "")
    return lane


def _client_lane(case: CaseResult) -> Lane | None:
    c = case.client
    if c is None:
        return None
    start, end = max(0.0, c.started_at), max(c.started_at, c.ended_at)
    if c.spawn_error:
        css = "bad"
    elif c.timed_out or c.crashed or c.signal:
        css = "bad"
    elif c.exit_code == 0:
        css = "ok"
    else:
        css = "warn"
    argv = c.command
    return Lane(
        label="client",
        title=f"client {argv} · {c.describe_end()} · {seconds(start)} – {seconds(end)}",
        kind="client",
        css=f"bar client {css}",
        start=start,
        end=end,
        end_label=c.describe_end(),
    )


def lanes_of(case: CaseResult) -> list[Lane]:
    j = case.journal or {}
    horizon = max([_num(case.duration)] + ([case.client.ended_at] if case.client else []))
    attempts = [_http_lane(ex) for ex in j.get("http") or []]
    attempts += [_ws_lane(conn, horizon) for conn in j.get("websocket") or []]
    attempts.sort(key=lambda lane: lane.start)
    # A Retry-After window is honoured when the next attempt of the same call started after it ended.
    for i, lane in enumerate(attempts):
        if lane.retry_after is None:
            continue
        nxt = next((later for later in attempts[i + 1 :] if later.call == lane.call), None)
        if nxt is not None:
            frm, wait, _ = lane.retry_after
            lane.retry_after = (frm, wait, nxt.start >= frm + wait - 1e-3)
    client = _client_lane(case)
    return ([client] if client else []) + attempts


def _axis_step(span: float) -> float:
    for step in _NICE:
        if span / step <= 6:
            return step
    return _NICE[-1] * math.ceil(span / (_NICE[-1] * 6))


def _diamond(x: float, y: float, r: float = 5.0) -> str:
    return f"M{x:.1f} {y - r:.1f}L{x + r:.1f} {y:.1f}L{x:.1f} {y + r:.1f}L{x - r:.1f} {y:.1f}Z"


@dataclass(frozen=True, slots=True)
class Layout:
    """How a timeline is laid out: wide, lane labels in a column on the left; or narrow, for a phone, each
    label on its own line above its lane so the whole time axis fits the screen at a readable size."""

    name: str
    width: int
    label_w: int  # the label column (0 when labels go above the lanes)
    label_h: int  # the label line above each lane (0 when labels are in the column)
    label_chars: int  # a longer label is shortened with an ellipsis (the full one is in the lane's title)


WIDE = Layout("wide", WIDTH, LABEL_W, 0, 26)
NARROW = Layout("narrow", 360, 6, 15, 46)


def render_timeline(case: CaseResult, label: str) -> str:
    """The `<figure class="timeline">` of one case (always present: "no traffic" when there is none), drawn
    in both layouts; the page's style shows the one that fits the screen."""
    lanes = lanes_of(case)
    hidden = max(0, len(lanes) - MAX_LANES)
    lanes = lanes[:MAX_LANES]
    cuts = sum(1 for lane in lanes if lane.cut)
    attrs = f'class="timeline" data-lanes="{len(lanes)}" data-cuts="{cuts}"'
    if not lanes:
        return f'<figure {attrs}><p class="muted">No client run and no traffic recorded.</p></figure>'
    more = f'<figcaption class="muted">… {hidden} more attempts not drawn</figcaption>' if hidden else ""
    drawn = "".join(f'<div class="svgwrap {lay.name}">{_svg(lanes, label, lay)}</div>' for lay in (WIDE, NARROW))
    return f"<figure {attrs}>{drawn}{more}</figure>"


def _svg(lanes: list[Lane], label: str, layout: Layout) -> str:
    ends = [max(lane.end, lane.start) for lane in lanes]
    ends += [lane.retry_after[0] + lane.retry_after[1] for lane in lanes if lane.retry_after]
    span = max([*ends, 0.05]) * 1.04
    plot_w = layout.width - layout.label_w - PAD_R
    stride = layout.label_h + LANE_H

    def x(t: float) -> float:
        return layout.label_w + max(0.0, min(t, span)) / span * plot_w

    height = AXIS_H + len(lanes) * stride + 8
    out = [
        f'<svg viewBox="0 0 {layout.width} {height}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(label)}</title>",
    ]
    step = _axis_step(span)
    k = 0
    while k * step <= span:
        t = k * step
        out.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{AXIS_H - 4}" y2="{height - 4}"/>'
            f'<text class="axis" x="{x(t):.1f}" y="{AXIS_H - 8}">{escape(seconds(t))}</text>'
        )
        k += 1
    positions: dict[int, tuple[float, float]] = {}  # lane index -> (bar end x, bar mid y), for retry arrows
    last_of_call: dict[str, int] = {}
    for i, lane in enumerate(lanes):
        line_top = AXIS_H + i * stride
        top = line_top + layout.label_h
        mid = top + LANE_H / 2
        bar_y, bar_h = top + 8, LANE_H - 16
        n = layout.label_chars
        short = lane.label if len(lane.label) <= n else lane.label[: n - 1] + "…"
        prefix = "↻ " if lane.kind != "client" and lane.attempt > 1 else ""
        label_y = line_top + 13 if layout.label_h else mid + 4
        out.append(f'<g class="lane {lane.kind}" data-kind="{lane.kind}"><title>{escape(lane.title)}</title>')
        out.append(f'<text class="lbl" x="4" y="{label_y:.1f}">{escape(prefix + short)}</text>')
        if lane.retry_after:
            frm, wait, honoured = lane.retry_after
            css = "retry-after" + ("" if honoured else " violated")
            band = max(1.0, x(frm + wait) - x(frm))
            sooner = "" if honoured else " (the retry came sooner)"
            out.append(
                f'<rect class="{css}" x="{x(frm):.1f}" y="{top + 2}" width="{band:.1f}" height="{LANE_H - 4}">'
                f"<title>Retry-After {escape(seconds(wait))}: the server asked the client to wait until "
                f"{escape(seconds(frm + wait))}{sooner}</title></rect>"
            )
        x0, x1 = x(lane.start), x(lane.end)
        out.append(
            f'<rect class="{lane.css}" x="{x0:.1f}" y="{bar_y}" width="{max(2.0, x1 - x0):.1f}" '
            f'height="{bar_h}" rx="2"/>'
        )
        for frm, to, css, title in lane.spans:
            out.append(
                f'<rect class="{css}" x="{x(frm):.1f}" y="{bar_y}" width="{max(2.0, x(to) - x(frm)):.1f}" '
                f'height="{bar_h}"><title>{escape(title)}</title></rect>'
            )
        for t, css, title in lane.ticks:
            y1, y2 = (top + 3, bar_y + 4) if "frame-in" in css else (bar_y - 2, bar_y + bar_h + 2)
            if "term" in css:
                y1, y2 = top + 2, top + LANE_H - 2
            out.append(
                f'<line class="{css}" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y1}" y2="{y2}">'
                f"<title>{escape(title)}</title></line>"
            )
        for t, kind in lane.faults:
            out.append(
                f'<path class="fault" d="{_diamond(x(t), top + 5)}"><title>fault {escape(kind)} at '
                f"{escape(seconds(t))}</title></path>"
            )
        if lane.kind == "client":
            out.append(
                f'<circle class="start" cx="{x0:.1f}" cy="{mid:.1f}" r="4"><title>client started at '
                f"{escape(seconds(lane.start))}</title></circle>"
            )
            out.append(
                f'<rect class="exit" x="{x1 - 3:.1f}" y="{mid - 6:.1f}" width="6" height="12">'
                f"<title>client {escape(lane.end_label or '')} at {escape(seconds(lane.end))}</title></rect>"
            )
        if lane.cut:
            t, why = lane.cut
            cx = x(t)
            zig = f"M{cx:.1f} {top + 2}l4 4l-6 4l6 4l-6 4l6 4l-4 4" if LANE_H >= 28 else f"M{cx:.1f} {top}v{LANE_H}"
            out.append(
                f'<path class="cut" data-cut="{escape(why)}" d="{zig}"><title>cut at {escape(seconds(t))}: '
                f"{escape(why)} — ended without its terminator</title></path>"
            )
        end_text = lane.cut[1] if lane.cut else lane.end_label
        if end_text:
            anchor = "end" if x1 > layout.width - 90 else "start"
            tx = x1 - 6 if anchor == "end" else x1 + 7
            css = "endlbl bad" if lane.cut else "endlbl"
            out.append(
                f'<text class="{css}" x="{tx:.1f}" y="{mid + 4:.1f}" text-anchor="{anchor}">{escape(end_text)}</text>'
            )
        out.append("</g>")
        if lane.kind != "client" and lane.call:
            prev = last_of_call.get(lane.call)
            if prev is not None and lane.attempt > 1:
                px, py = positions[prev]
                gap = seconds(max(0.0, lane.start - lanes[prev].end))
                out.append(
                    f'<path class="retry" d="M{px:.1f} {py:.1f}C{px + 12:.1f} {py:.1f} {x0 - 12:.1f} {mid:.1f} '
                    f'{x0:.1f} {mid:.1f}"><title>retry: attempt {lane.attempt}, {escape(gap)} after attempt '
                    f"{lanes[prev].attempt} ended</title></path>"
                )
            last_of_call[lane.call] = i
        positions[i] = (x1, mid)
    out.append("</svg>")
    return "".join(out)


LEGEND = f"""<svg class="legend" viewBox="0 0 {WIDTH} 34" role="img" aria-label="timeline legend">
<rect class="bar client ok" x="4" y="10" width="26" height="12" rx="2"/><text x="36" y="20">client run</text>
<rect class="bar http ok" x="110" y="10" width="26" height="12" rx="2"/><text x="142" y="20">HTTP exchange</text>
<rect class="bar ws ok" x="240" y="10" width="26" height="12" rx="2"/><text x="272" y="20">WebSocket</text>
<line class="tick chunk" x1="352" x2="352" y1="8" y2="24"/><line class="tick chunk" x1="358" x2="358" y1="8" y2="24"/>
<text x="364" y="20">chunks / frames</text>
<path class="fault" d="{_diamond(468, 16)}"/><text x="478" y="20">fault</text>
<path class="cut" d="M522 2l4 4l-6 4l6 4l-6 4l6 4l-4 4"/><text x="532" y="20">cut / dropped</text>
<rect class="retry-after" x="618" y="6" width="30" height="20"/><text x="652" y="20">Retry-After</text>
</svg>"""
