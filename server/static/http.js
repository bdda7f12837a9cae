// One HTTP request from the composer: a JSON answer, or an SSE stream read chunk by chunk from the body.

import { SseParser, interpret } from "./sse.js";

/** A JSON answer's tool calls, one `⚙ name [id] {arguments}` line each (Chat, Responses, Anthropic). */
function callLines(value) {
  const calls = [];
  for (const c of value.choices?.[0]?.message?.tool_calls ?? []) calls.push([c.function?.name, c.id, c.function?.arguments]);
  for (const item of Array.isArray(value.output) ? value.output : []) {
    if (item?.type === "function_call") calls.push([item.name, item.call_id, item.arguments]);
  }
  for (const block of Array.isArray(value.content) ? value.content : []) {
    if (block?.type === "tool_use") calls.push([block.name, block.id, JSON.stringify(block.input)]);
  }
  for (const part of geminiParts(value)) {
    if (part?.functionCall) calls.push([part.functionCall.name, part.functionCall.id ?? "no id", JSON.stringify(part.functionCall.args ?? {})]);
  }
  return calls.map(([name, id, args]) => `⚙ ${name} [${id}] ${args ?? ""}`);
}

function geminiParts(value) {
  const parts = Array.isArray(value.candidates) ? value.candidates[0]?.content?.parts : null;
  return Array.isArray(parts) ? parts : [];
}

/** Gemini's answer text: its text parts, thoughts left out. */
function geminiText(value) {
  const texts = geminiParts(value).filter((p) => typeof p?.text === "string" && !p.thought).map((p) => p.text);
  return texts.length ? texts.join("") : null;
}

function answerText(value) {
  if (!value || typeof value !== "object") return null;
  const calls = callLines(value);
  if (calls.length) {
    const text = value.choices?.[0]?.message?.content ?? (Array.isArray(value.content) ? value.content.find((b) => b?.type === "text")?.text : null) ?? geminiText(value);
    return [text, ...calls].filter(Boolean).join("\n");
  }
  if (value.error) return `error: ${value.error.message ?? JSON.stringify(value.error)}`;
  const choice = Array.isArray(value.choices) ? value.choices[0] : null;
  if (choice?.message && typeof choice.message.content === "string") return choice.message.content;
  if (typeof value.output_text === "string") return value.output_text;
  if (geminiText(value) !== null) return geminiText(value);
  for (const item of Array.isArray(value.output) ? value.output : []) {
    for (const part of Array.isArray(item?.content) ? item.content : []) {
      if (typeof part?.text === "string") return part.text;
    }
  }
  return null;
}

function headerLines(res) {
  return [...res.headers].map(([name, value]) => `${name}: ${value}`).join(" · ");
}

async function readJson(res, log, preview) {
  let text;
  try {
    text = await res.text();
  } catch (err) {
    log.note("body cut", String(err), "error");
    preview.setMark("truncated", "truncated: the body was cut");
    return;
  }
  log.add({ dir: "in", kind: res.ok ? "meta" : "error", label: (res.headers.get("content-type") || "body").split(";")[0],
    data: text });
  let value = null;
  try {
    value = JSON.parse(text);
  } catch {
    /* shown raw below */
  }
  preview.whole(answerText(value) ?? text, !res.ok);
  const retry = res.headers.get("retry-after-ms") ?? res.headers.get("retry-after");
  if (!res.ok) {
    const wait = retry ? ` · Retry-After ${retry}` : "";
    preview.setMark("error", `HTTP ${res.status}${wait}`);
  } else {
    preview.setMark("complete", "complete");
  }
}

async function readSse(res, log, preview, endpoint, expected) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const state = { ended: false, error: null, malformed: 0 };
  const handle = (ev) => {
    const t = log.now();
    const meaning = ev.incomplete ? { kind: "malformed", label: "incomplete event (no blank line)" }
      : interpret(ev.event, ev.data);
    log.add({ dir: "in", kind: meaning.kind, label: meaning.label, data: ev.raw, t });
    if (meaning.kind === "content") preview.append(meaning.text, t);
    else if (meaning.kind === "call") preview.add(meaning.text);
    else if (meaning.kind === "end") state.ended = true;
    else if (meaning.kind === "error") state.error = meaning.text;
    else if (meaning.kind === "malformed") state.malformed += 1;
    if (meaning.ends) state.ended = true; // a Gemini chunk with its finishReason: content and terminator at once
  };
  let broke = null;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true })).forEach(handle);
    }
    parser.feed(decoder.decode()).forEach(handle);
  } catch (err) {
    broke = err;
  }
  parser.end().forEach(handle);
  const terminator = (expected ?? (endpoint.endsWith("/responses") ? "response.completed" : "data: [DONE]"))
    .replace(/^data: /, "");
  const t = log.now().toFixed(0);
  if (broke && broke.name === "AbortError") {
    log.note("aborted", `aborted by you at ${t} ms`, "error");
    preview.setMark("truncated", `aborted — no ${terminator}`);
    preview.status(`aborted by you at ${t} ms`);
  } else if (state.ended) {
    preview.setMark(state.error ? "error" : "complete", state.error ? `error event: ${state.error}` : `complete ✓ ${terminator}`);
    log.note("stream complete", `ended with ${terminator} at ${t} ms`);
    preview.status(state.error ? `error event at ${t} ms: ${state.error}` : `stream complete at ${t} ms: ${terminator}`);
  } else {
    const why = broke ? "the connection dropped" : "the stream ended";
    const extra = state.error ? ` · error event: ${state.error}` : "";
    preview.setMark("truncated", `truncated — no ${terminator}${broke ? " (connection dropped)" : ""}${extra}`);
    log.note("truncated", `${why} at ${t} ms without ${terminator}${broke ? `: ${broke.message}` : ""}`, "truncated");
    preview.status(`${why} at ${t} ms without ${terminator}${extra}`);
  }
  if (state.malformed) preview.status(`${preview.el.status.textContent} · ${state.malformed} malformed event(s)`);
}

/** POST `body` to `endpoint`, showing the answer in `preview` and every frame in `log`. */
export async function runHttp({ endpoint, body, terminator, log, preview, signal, headers = {} }) {
  log.clear();
  preview.reset(`POST ${endpoint} …`);
  log.note(`POST ${endpoint}`, JSON.stringify(body));
  let res;
  try {
    res = await fetch(endpoint, {
      method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal,
    });
  } catch (err) {
    log.note("no response", String(err), "error");
    preview.setMark("dropped", err.name === "AbortError" ? "aborted" : "dropped — no response");
    return;
  }
  const t = log.now();
  log.note(`HTTP ${res.status}`, headerLines(res));
  preview.status(`HTTP ${res.status} ${res.statusText} · headers at ${t.toFixed(0)} ms`);
  const type = res.headers.get("content-type") || "";
  if (type.includes("text/event-stream") && res.body) await readSse(res, log, preview, endpoint, terminator);
  else await readJson(res, log, preview);
}
