// The scenario's fixtures as a list: each with its match, knobs and faults (from GET /_dotmock/scenario).

const KINDS = { TextOutcome: "text", ErrorOutcome: "error", WsOutcome: "events" };

function q(value) {
  return JSON.stringify(value);
}

function seconds(s) {
  if (s === null || s === undefined) return "";
  return s < 1 ? `${Math.round(s * 1000)}ms` : `${+s.toFixed(3)}s`;
}

function short(text, n = 100) {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

export function matchLine(match) {
  const where = match.protocol === "websocket" ? `websocket ${match.path ?? "*"}` : `${match.method} ${match.path ?? "*"}`;
  const rules = [];
  if (match.model) rules.push(`model ${q(match.model)}`);
  for (const r of match.text ?? []) rules.push(`message ${r.kind} ${q(r.value)}`);
  for (const r of match.headers ?? []) rules.push(`header ${q(r.name)} ${r.kind}${r.value !== null ? ` ${q(r.value)}` : ""}`);
  for (const r of match.json ?? []) {
    const value = r.kind === "present" || r.kind === "absent" ? "" : ` ${JSON.stringify(r.value)}`;
    rules.push(`json ${q(r.path)} ${r.kind}${value}`);
  }
  if (match.attempt) {
    const a = match.attempt;
    rules.push(`attempt ${a.last === null ? `${a.first}..` : a.last === a.first ? a.first : `${a.first}..${a.last}`}`);
  }
  return rules.length ? `${where} { ${rules.join("  ")} }` : where;
}

export function faultLine(f) {
  const after = f.after_chunks !== null ? ` after ${f.after_chunks} chunks` : f.after_s !== null ? ` after ${seconds(f.after_s)}` : "";
  if (f.kind === "stall") return `stall${after}${f.duration_s !== null ? ` for ${seconds(f.duration_s)}` : ""}`;
  if (f.kind === "slowFirstToken") return `slowFirstToken ${seconds(f.duration_s)}`;
  if (f.kind === "malformedChunk") return `malformedChunk${after}${f.data !== null ? ` ${q(f.data)}` : ""}`;
  if (f.kind === "errorEvent") return `errorEvent${after}${f.message ? ` ${q(f.message)}` : ""}`;
  if (f.kind === "schemaViolation") return `schemaViolation${f.violation ? ` ${f.violation}` : ""}${f.data !== null ? ` ${q(f.data)}` : ""}`;
  return `${f.kind}${after}`;
}

function wsKnobs(ws) {
  const out = [];
  if (!ws) return out;
  if (ws.close_after) out.push("closeAfter");
  if (ws.close_code !== null) out.push(`closeCode ${ws.close_code}`);
  if (ws.disconnect_after_ms !== null) out.push(`disconnectAfterMs ${ws.disconnect_after_ms}`);
  return out;
}

function describe(fixture) {
  const o = fixture.outcome;
  const kind = KINDS[fixture.outcome_kind] ?? fixture.outcome_kind;
  const lines = [];
  const knobs = [];
  const faults = [];
  if (kind === "text") {
    lines.push(`response ${q(short(o.text))}`);
    const s = o.streaming;
    knobs.push(`chunkSize ${s.chunk_size}`, `latencyMs ${s.latency_ms}`);
    if (s.truncate_after_chunks !== null) knobs.push(`truncateAfterChunks ${s.truncate_after_chunks}`);
    if (o.dialect) knobs.push(`dialect ${o.dialect}`);
    for (const f of o.faults ?? []) faults.push(faultLine(f));
    knobs.push(...wsKnobs(fixture.ws));
  } else if (kind === "error") {
    lines.push(`error ${o.status}${o.message ? ` ${q(short(o.message))}` : ""}`);
    for (const [name, value] of o.headers ?? []) knobs.push(`${name}: ${value}`);
  } else if (kind === "events") {
    for (const e of o.events ?? []) {
      lines.push(`${q(e.type)} ${short(JSON.stringify(e.data ?? null), 60)}${e.delay_s ? ` after ${seconds(e.delay_s)}` : ""}`);
    }
    knobs.push(...wsKnobs(o));
  }
  return { kind, lines, knobs, faults };
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Render `scenario.fixtures` into `list`; `onUse(fixture)` fills the composer from one. */
export function renderFixtures(list, countEl, scenario, onUse) {
  list.replaceChildren();
  countEl.textContent = String(scenario.fixtures.length);
  for (const fixture of scenario.fixtures) {
    const d = describe(fixture);
    const li = el("li", `fixture ${d.kind}`);
    li.dataset.name = fixture.name;
    const head = el("div", "fixture-head");
    head.append(el("strong", "name", fixture.name), el("span", `tag ${d.kind}`, d.kind));
    const use = el("button", "use", "try");
    use.type = "button";
    use.title = "fill the request composer to hit this fixture";
    use.addEventListener("click", () => onUse(fixture));
    head.append(use);
    li.append(head, el("code", "match", matchLine(fixture.match)));
    for (const line of d.lines) li.append(el("code", "outcome", line));
    if (d.knobs.length) {
      const knobs = el("div", "chips knobs");
      for (const k of d.knobs) knobs.append(el("span", "chip", k));
      li.append(knobs);
    }
    if (d.faults.length) {
      const faults = el("div", "chips faults");
      for (const f of d.faults) faults.append(el("span", "chip fault", `fault ${f}`));
      li.append(faults);
    }
    list.append(li);
  }
}
