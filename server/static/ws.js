// WebSocket connection testing: connect, send the seed's envelope, watch events, see the close code or drop.

import { interpretValue } from "./sse.js";

function meaningOf(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "malformed", label: "not JSON" };
  }
  if (value && typeof value === "object" && typeof value.type === "string" && "data" in value) {
    return interpretValue(value.type, value.data); // the envelope {"type", "data"}
  }
  return interpretValue(null, value); // bare events (response.create form)
}

export class WsTester {
  constructor({ log, preview, onState }) {
    this.log = log;
    this.preview = preview;
    this.onState = onState;
    this.ws = null;
    this.exchange = { content: false, ended: false };
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect(url) {
    if (this.ws) this.ws.close();
    this.log.clear();
    this.preview.reset(`connecting to ${url} …`);
    this.log.note("connect", url);
    this.onState("connecting");
    const ws = new WebSocket(url);
    this.ws = ws;
    return new Promise((resolve) => {
      ws.onopen = () => {
        this.log.note("open", `connected at ${this.log.now().toFixed(0)} ms`);
        this.preview.status(`connected to ${url}`);
        this.onState("open");
        resolve(true);
      };
      ws.onmessage = (event) => this.received(event);
      ws.onerror = () => this.log.note("error", "the WebSocket reported an error", "error");
      ws.onclose = (event) => {
        this.closed(event);
        resolve(false);
      };
    });
  }

  received(event) {
    const t = this.log.now();
    const text = typeof event.data === "string" ? event.data : `[binary frame, ${event.data.size ?? 0} bytes]`;
    const meaning = meaningOf(text);
    this.log.add({ dir: "in", kind: meaning.kind, label: meaning.label, data: text, t });
    if (meaning.kind === "content") {
      this.exchange.content = true;
      this.preview.append(meaning.text, t);
    } else if (meaning.kind === "call") {
      this.preview.add(meaning.text);
    } else if (meaning.kind === "end") {
      this.exchange.ended = true;
      this.preview.setMark("complete", `complete ✓ ${meaning.label}`);
      this.preview.status(`answer complete at ${t.toFixed(0)} ms: ${meaning.label}`);
    } else if (meaning.kind === "error") {
      this.preview.setMark("error", `error event: ${meaning.text}`);
      this.preview.status(`error event at ${t.toFixed(0)} ms: ${meaning.text}`);
    }
  }

  closed(event) {
    if (this.ws === null) return;
    this.ws = null;
    const dropped = event.code === 1006;
    const how = dropped ? "dropped without a close frame" : event.wasClean ? "closed cleanly" : "closed";
    const reason = event.reason ? `, reason ${JSON.stringify(event.reason)}` : "";
    this.log.note(`close ${event.code}`, `${how}: code ${event.code}${reason}`, dropped ? "error" : "note");
    this.preview.status(`connection ${how} at ${this.log.now().toFixed(0)} ms`);
    const cut = this.exchange.content && !this.exchange.ended ? " · truncated (no end event)" : "";
    if (dropped) this.preview.setMark("dropped", `dropped · 1006 (no close frame)${cut}`);
    else this.preview.setMark("closed", `closed · code ${event.code}${reason}${cut}`);
    this.onState("closed", event.code);
  }

  /** Send one JSON message (shown as an outgoing frame); the preview starts over for its answer. */
  send(message) {
    if (!this.open) return false;
    const text = JSON.stringify(message);
    this.preview.reset(`sent ${message.type ?? "message"}; waiting for events…`);
    this.exchange = { content: false, ended: false };
    this.ws.send(text);
    this.log.add({ dir: "out", kind: "meta", label: message.type ?? "message", data: text });
    return true;
  }

  close(code) {
    if (!this.ws) return;
    try {
      this.ws.close(code);
    } catch (err) {
      this.log.note("close refused", `${err.name}: ${err.message} (browsers may send 1000 or 3000-4999)`, "error");
    }
  }
}
