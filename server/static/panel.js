// The dotmock test panel: fixtures, request composer (HTTP/SSE or WebSocket), streaming preview,
// raw frames and the fixture editor. Plain modules, no build step, nothing loaded from elsewhere.

import { Editor } from "./editor.js";
import { renderFixtures } from "./fixtures.js";
import { FrameLog } from "./frames.js";
import { runHttp } from "./http.js";
import { Preview } from "./preview.js";
import { WsTester } from "./ws.js";

const $ = (id) => document.getElementById(id);

const ENDPOINTS = {
  http: ["/v1/chat/completions", "/v1/responses"],
  ws: ["/v1/chat", "/v1/responses"],
};

const log = new FrameLog($("frames"), $("frame-count"));
const preview = new Preview({
  text: $("preview-text"), status: $("preview-status"), timing: $("preview-timing"), mark: $("stream-mark"),
});
let abort = null;

function protocol() {
  return $("proto-ws").checked ? "ws" : "http";
}

function wsBase() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
}

function setProtocol(value) {
  $(value === "ws" ? "proto-ws" : "proto-http").checked = true;
  document.body.dataset.protocol = value;
  const select = $("endpoint");
  const keep = select.value;
  select.replaceChildren(...ENDPOINTS[value].map((path) => new Option(path, path)));
  if (ENDPOINTS[value].includes(keep)) select.value = keep;
}

function requestBody(endpoint, streamed) {
  const model = $("model").value;
  const text = $("message").value;
  if (endpoint.endsWith("/responses")) return { model, input: text, ...(streamed ? { stream: true } : {}) };
  return { model, messages: [{ role: "user", content: text }], ...(streamed ? { stream: true } : {}) };
}

const ws = new WsTester({
  log,
  preview,
  onState(state, code) {
    const el = $("ws-state");
    el.dataset.state = state;
    el.textContent = state === "closed" && code !== undefined ? `closed ${code}` : state;
    $("ws-close").disabled = state !== "open";
    $("ws-connect").textContent = state === "open" ? "Reconnect" : "Connect";
  },
});

async function send() {
  const endpoint = $("endpoint").value;
  if (protocol() === "ws") {
    if (!ws.open && !(await ws.connect(wsBase() + endpoint))) return;
    ws.send({ type: "message", data: requestBody(endpoint, false) });
    return;
  }
  abort?.abort();
  abort = new AbortController();
  $("abort").disabled = false;
  try {
    await runHttp({ endpoint, body: requestBody(endpoint, $("stream").checked), log, preview, signal: abort.signal });
  } finally {
    $("abort").disabled = true;
  }
}

async function loadScenario() {
  const res = await fetch("/_dotmock/scenario", { cache: "no-store" });
  const scenario = await res.json();
  $("scenario-name").textContent = `${scenario.name} — ${scenario.path} (dialect ${scenario.dialect})`;
  renderFixtures($("fixtures"), $("fixture-count"), scenario, useFixture);
}

function useFixture(fixture) {
  const m = fixture.match;
  setProtocol(m.protocol === "websocket" ? "ws" : "http");
  if (m.path && ENDPOINTS[protocol()].includes(m.path)) $("endpoint").value = m.path;
  if (m.model) $("model").value = m.model;
  const contains = (m.text ?? []).find((r) => r.kind === "contains");
  if (contains) $("message").value = contains.value;
}

async function showJournal() {
  const res = await fetch("/_dotmock/journal", { cache: "no-store" });
  const j = await res.json();
  const last = j.http.at(-1);
  const conn = j.websocket.at(-1);
  const parts = [`${j.http.length} HTTP exchange(s), ${j.websocket.length} WebSocket connection(s)`];
  if (last) {
    parts.push(`last HTTP #${last.id} ${last.path} → ${last.fixture ?? "no fixture"} ${last.status ?? ""}, ` +
      `${last.chunks_sent} chunk(s)${last.faults?.length ? `, fault ${last.faults.join(", ")}` : ""}`);
  }
  if (conn) parts.push(`last WebSocket #${conn.id} ${conn.path}: ${conn.frames.length} frame(s)`);
  $("journal-summary").textContent = parts.join(" · ");
}

function init() {
  $("base-url").textContent = `${location.origin}/v1`;
  setProtocol("http");
  for (const radio of document.querySelectorAll("input[name=protocol]")) {
    radio.addEventListener("change", () => setProtocol(protocol()));
  }
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  $("abort").addEventListener("click", () => abort?.abort());
  $("ws-connect").addEventListener("click", () => ws.connect(wsBase() + $("endpoint").value));
  $("ws-close").addEventListener("click", () => ws.close(Number($("ws-close-code").value) || 1000));
  $("frames-clear").addEventListener("click", () => log.clear());
  $("journal-refresh").addEventListener("click", showJournal);
  const editor = new Editor({
    textarea: $("editor"), backdrop: $("editor-backdrop"), gutter: $("editor-gutter"), errors: $("editor-errors"),
    status: $("editor-status"), save: $("editor-save"), revert: $("editor-revert"), path: $("editor-path"),
    note: $("editor-note"), box: $("editor-box"),
  }, { onApplied: loadScenario });
  Promise.all([loadScenario(), editor.load()]).then(() => {
    document.body.dataset.ready = "true";
  });
}

init();
