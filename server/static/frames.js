// The raw frame debug view: every SSE event / WebSocket frame as received (or sent), with timestamps.

const MAX_SHOWN = 4000; // characters of a frame shown inline; the whole text is in the row's title

export class FrameLog {
  constructor(tbody, countEl) {
    this.tbody = tbody;
    this.countEl = countEl;
    this.clear();
  }

  clear() {
    this.tbody.replaceChildren();
    this.frames = 0;
    this.chunks = 0;
    this.last = null;
    this.origin = performance.now();
    this.update();
  }

  /** Start timing from now (a new request or connection). */
  restart() {
    this.origin = performance.now();
    this.last = null;
  }

  now() {
    return performance.now() - this.origin;
  }

  /**
   * Add a row. dir: "in" (server -> panel), "out" (panel -> server), "note" (connection events, not frames).
   * kind: content | end | error | malformed | meta | note. Returns the row.
   */
  add({ dir, kind, label, data, t = this.now() }) {
    const isFrame = dir !== "note";
    if (isFrame) this.frames += 1;
    if (kind === "content") this.chunks += 1;
    const delta = this.last === null ? t : t - this.last;
    this.last = t;
    const row = document.createElement("tr");
    row.className = `frame ${dir} ${kind}`;
    row.dataset.dir = dir;
    row.dataset.kind = kind;
    const text = data ?? "";
    row.title = text;
    const cells = [
      isFrame ? String(this.frames) : "",
      t.toFixed(1),
      delta.toFixed(1),
      dir === "in" ? "←" : dir === "out" ? "→" : "·",
      label ?? "",
      text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text,
    ];
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = value;
      row.append(td);
    }
    this.tbody.append(row);
    this.update();
    const wrap = this.tbody.closest(".table-wrap"); // follow the newest frame without moving the page
    if (wrap) wrap.scrollTop = wrap.scrollHeight;
    return row;
  }

  note(label, data = "", kind = "note") {
    return this.add({ dir: "note", kind, label, data });
  }

  update() {
    this.countEl.dataset.frames = String(this.frames);
    this.countEl.dataset.chunks = String(this.chunks);
    this.countEl.textContent = `${this.frames} frame${this.frames === 1 ? "" : "s"}, ` +
      `${this.chunks} content chunk${this.chunks === 1 ? "" : "s"}`;
  }
}
