// The dotmock test panel: fixtures, request composer (HTTP/SSE or WebSocket), streaming preview,
// raw frames and the fixture editor. Plain modules, no build step, nothing loaded from elsewhere.

import { Editor } from "./editor.js";
import { renderFixtures } from "./fixtures.js";
import { FrameLog } from "./frames.js";
import { runHttp } from "./http.js";
import { Preview } from "./preview.js";
import { WsTester } from "./ws.js";

const $ = (id) => document.getElementById(id);
const TOKEN = document.querySelector('meta[name="dotmock-token"]')?.content ?? "";
const JOURNAL_REFRESH_MS = 2000;

// The HTTP endpoints come from the server's API registry (`apis` of /_dotmock/scenario).
const ENDPOINTS = {
  http: ["/v1/chat/completions", "/v1/responses"],
  ws: ["/v1/chat", "/v1/responses"],
};
const API_OF = new Map();

function learnApis(apis) {
  if (!Array.isArray(apis) || !apis.length) return;
  API_OF.clear();
  for (const api of apis) for (const path of api.paths) API_OF.set(path, api);
  ENDPOINTS.http = [...API_OF.keys()].filter((path) => !path.includes("{"));
  if (protocol() === "http") setProtocol("http");
}

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
  const stream = streamed ? { stream: true } : {};
  if (endpoint.endsWith("/responses")) return { model, input: text, ...stream };
  const messages = [{ role: "user", content: text }];
  if (API_OF.get(endpoint)?.family === "anthropic") return { model, max_tokens: 1024, messages, ...stream };
  return { model, messages, ...stream };
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
    const body = requestBody(endpoint, $("stream").checked);
    const terminator = API_OF.get(endpoint)?.terminator;
    // Anthropic's API refuses a request without a key and a version (any key does for the mock).
    const headers = API_OF.get(endpoint)?.family === "anthropic"
      ? { "x-api-key": "dotmock-panel", "anthropic-version": "2023-06-01" } : {};
    await runHttp({ endpoint, body, terminator, log, preview, signal: abort.signal, headers });
  } finally {
    $("abort").disabled = true;
  }
}

async function loadScenario({ first = false } = {}) {
  const res = await fetch("/_dotmock/scenario", { cache: "no-store" });
  const scenario = await res.json();
  learnApis(scenario.apis);
  $("scenario-name").textContent = `${scenario.name} — ${scenario.path} (dialect ${scenario.dialect})`;
  renderFixtures($("fixtures"), $("fixture-count"), scenario, useFixture);
  // A scenario that only answers WebSockets opens on WebSocket, at its first fixture's path.
  const fixtures = scenario.fixtures ?? [];
  if (first && fixtures.length && fixtures.every((f) => f.match.protocol === "websocket")) useFixture(fixtures[0]);
}

function useFixture(fixture) {
  const m = fixture.match;
  setProtocol(m.protocol === "websocket" ? "ws" : "http");
  if (m.path && ENDPOINTS[protocol()].includes(m.path)) $("endpoint").value = m.path;
  if (m.model) $("model").value = m.model;
  const contains = (m.text ?? []).find((r) => r.kind === "contains");
  if (contains) $("message").value = contains.value;
}

const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

async function showJournal() {
  const res = await fetch("/_dotmock/journal", { cache: "no-store" });
  if (!res.ok) return;
  const j = await res.json();
  const last = j.http.at(-1);
  const conn = j.websocket.at(-1);
  const parts = [`${plural(j.http.length, "HTTP exchange")}, ${plural(j.websocket.length, "WebSocket connection")}`];
  if (last) {
    parts.push(`last HTTP #${last.id} ${last.path} → ${last.fixture ?? "no fixture"} ${last.status ?? ""}, ` +
      `${plural(last.chunks_sent, "chunk")}${last.faults?.length ? `, fault ${last.faults.join(", ")}` : ""}`);
  }
  if (conn) parts.push(`last WebSocket #${conn.id} ${conn.path}: ${plural(conn.frames.length, "frame")}`);
  const text = parts.join(" · ");
  if ($("journal-summary").textContent !== text) $("journal-summary").textContent = text;
}

async function resetServer() {
  const res = await fetch("/_dotmock/reset", {
    method: "POST", headers: { "content-type": "application/json", "x-dotmock-token": TOKEN }, body: "{}",
  });
  log.note("reset", res.ok ? "attempt counters and journal reset: the next request is attempt 1"
    : `reset refused: HTTP ${res.status}`, res.ok ? "note" : "error");
  await showJournal();
}

// The journal summary follows the server by itself while the page is shown (requests from other clients too).
function followJournal() {
  let busy = false;
  setInterval(async () => {
    if (busy || document.visibilityState !== "visible") return;
    busy = true;
    try {
      await showJournal();
    } catch {
      // the server stopped: keep the last summary
    } finally {
      busy = false;
    }
  }, JOURNAL_REFRESH_MS);
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
  $("reset").addEventListener("click", resetServer);
  const editor = new Editor({
    textarea: $("editor"), backdrop: $("editor-backdrop"), gutter: $("editor-gutter"), errors: $("editor-errors"),
    status: $("editor-status"), save: $("editor-save"), revert: $("editor-revert"), path: $("editor-path"),
    note: $("editor-note"), box: $("editor-box"), file: $("editor-file"), fileRow: $("editor-file-row"),
  }, { onApplied: loadScenario });
  Promise.all([loadScenario({ first: true }), editor.load(), showJournal()]).then(() => {
    document.body.dataset.ready = "true";
    followJournal();
  });
}

init();
