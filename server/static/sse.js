// Server-Sent Events, parsed by hand from a fetch body (EventSource cannot POST or show raw frames).
// Follows the HTML spec's rules: lines end in CRLF, LF or CR; a blank line dispatches; `field: value`
// (one leading space dropped); `data` lines join with "\n"; lines starting with ":" are comments.

export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.name = "";
    this.data = [];
    this.id = null;
    this.lines = [];
  }

  /** Feed decoded text; returns the events completed by it: {event, data, id, raw}. */
  feed(text) {
    this.buffer += text;
    const out = [];
    const eol = /\r\n|\r|\n/g;
    let start = 0;
    for (;;) {
      eol.lastIndex = start;
      const m = eol.exec(this.buffer);
      if (!m) break;
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, m.index), out);
      start = m.index + m[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** The body ended: whatever was not closed by a blank line, marked incomplete (browsers drop it). */
  end() {
    if (this.buffer) {
      this.line(this.buffer, []);
      this.buffer = "";
    }
    if (!this.lines.length) return [];
    const event = this.event();
    event.incomplete = true;
    this.reset();
    return [event];
  }

  event() {
    return { event: this.name || "message", data: this.data.join("\n"), id: this.id, raw: this.lines.join("\n") };
  }

  line(line, out) {
    if (line === "") {
      if (this.lines.length) out.push(this.event());
      this.reset();
      return;
    }
    this.lines.push(line);
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.name = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
  }
}

const CONTENT_TYPES = new Set(["response.output_text.delta", "response.text.delta"]);
const END_TYPES = new Set(["response.completed", "done", "response.done"]); // response.done: Realtime
const FAIL_TYPES = new Set(["response.failed", "response.incomplete", "error"]);

/**
 * What one event means to a reader of the stream, for both SSE (name + data text) and WebSocket frames.
 * kind: "content" (text: the delta), "end" (the terminator: [DONE] / response.completed), "error",
 * "malformed" (data is not JSON), "meta" (anything else).
 */
export function interpret(name, dataText) {
  if (dataText === "[DONE]") return { kind: "end", label: "[DONE]" };
  let value;
  try {
    value = JSON.parse(dataText);
  } catch {
    return { kind: "malformed", label: name && name !== "message" ? name : "not JSON" };
  }
  return interpretValue(name, value);
}

/** A tool call's opening line in the preview: `⚙ get_weather [call_1] `, its arguments follow. */
function callHead(name, id) {
  return `\n⚙ ${name ?? "?"} [${id ?? "?"}] `;
}

/** A Gemini chunk's parts: its text (thoughts left out) and its whole function calls, and its finishReason. */
function geminiMeaning(label, candidate) {
  const parts = Array.isArray(candidate?.content?.parts) ? candidate.content.parts : [];
  const calls = parts.filter((p) => p?.functionCall).map((p) => p.functionCall);
  const text = parts.filter((p) => typeof p?.text === "string" && !p.thought).map((p) => p.text).join("");
  const finish = candidate?.finishReason ? `, finish: ${candidate.finishReason}` : "";
  const ends = Boolean(candidate?.finishReason); // the last chunk of a whole answer carries it (its terminator)
  if (calls.length) {
    const names = calls.map((c) => c.name).join(", ");
    const shown = calls.map((c) => callHead(c.name, c.id ?? "no id") + JSON.stringify(c.args ?? {})).join("");
    return { kind: "call", label: `${label} (functionCall ${names}${finish})`, text: text + shown, ends };
  }
  if (text) return { kind: "content", label: `${label}${finish ? ` (${finish.slice(2)})` : ""}`, text, ends };
  return finish ? { kind: "meta", label: `${label} (${finish.slice(2)})`, ends } : null;
}

/**
 * Tool calls, refusals and Anthropic text as they stream on each API (docs/language.md, Agents): a call's
 * opening is kind "call" (shown, not counted as a content chunk), its argument pieces are content. Gemini
 * sends each call whole in one chunk: that chunk is the call.
 */
function agentMeaning(label, obj, choice) {
  if (Array.isArray(obj.candidates)) return geminiMeaning(label === "data" ? "chunk" : label, obj.candidates[0]);
  const call = Array.isArray(choice?.delta?.tool_calls) ? choice.delta.tool_calls[0] : null;
  if (call) {
    const fn = call.function ?? {};
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    if (fn.name) return { kind: "call", label: `${label} (tool call ${fn.name})`, text: callHead(fn.name, call.id) + args };
    return { kind: "content", label: `${label} (arguments)`, text: args };
  }
  if (choice?.delta && typeof choice.delta.refusal === "string") {
    return { kind: "content", label: `${label} (refusal)`, text: choice.delta.refusal };
  }
  if (label === "response.output_item.added" && obj.item?.type === "function_call") {
    return { kind: "call", label: `${label} (tool call ${obj.item.name})`, text: callHead(obj.item.name, obj.item.call_id) };
  }
  if ((label === "response.function_call_arguments.delta" || label === "response.refusal.delta") && typeof obj.delta === "string") {
    return { kind: "content", label, text: obj.delta };
  }
  if (label === "content_block_start" && obj.content_block?.type === "tool_use") {
    return { kind: "call", label: `${label} (tool_use ${obj.content_block.name})`, text: callHead(obj.content_block.name, obj.content_block.id) };
  }
  if (label === "content_block_delta" && obj.delta?.type === "input_json_delta") {
    return { kind: "content", label: `${label} (input_json_delta)`, text: String(obj.delta.partial_json ?? "") };
  }
  if (label === "content_block_delta" && obj.delta?.type === "text_delta") {
    return { kind: "content", label, text: String(obj.delta.text ?? "") };
  }
  return null;
}

export function interpretValue(name, value) {
  const obj = value && typeof value === "object" ? value : {};
  const type = typeof obj.type === "string" ? obj.type : null;
  const label = (name && name !== "message" ? name : null) || type || obj.object || "data";
  if (obj.error || FAIL_TYPES.has(label)) {
    const err = obj.error && typeof obj.error === "object" ? obj.error : obj;
    return { kind: "error", label, text: String(err.message ?? JSON.stringify(obj)) };
  }
  if (END_TYPES.has(label)) return { kind: "end", label };
  if ((CONTENT_TYPES.has(label) || CONTENT_TYPES.has(type)) && typeof obj.delta === "string") {
    return { kind: "content", label, text: obj.delta };
  }
  const choice = Array.isArray(obj.choices) ? obj.choices[0] : null;
  const agent = agentMeaning(label, obj, choice);
  if (agent) return agent;
  if (choice && choice.delta && typeof choice.delta.content === "string") {
    return { kind: "content", label, text: choice.delta.content };
  }
  if (choice && choice.finish_reason) return { kind: "meta", label: `${label} (finish: ${choice.finish_reason})` };
  return { kind: "meta", label };
}
