// The fixture editor: the scenario's .mock text, validated live by the server (the same file:line:col
// errors as `dotmock check`), error positions highlighted, applied to the running server on save.

const DEBOUNCE_MS = 250;

// The server's secret for control writes, carried by the page the server served (docs/security.md).
const TOKEN = document.querySelector('meta[name="dotmock-token"]')?.content ?? "";

async function postJson(url, value) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-dotmock-token": TOKEN },
    body: JSON.stringify(value),
  });
  let body = {};
  try {
    body = await res.json();
  } catch {
    body = { ok: false, message: `HTTP ${res.status}` };
  }
  return { status: res.status, body };
}

export class Editor {
  constructor(el, { onApplied }) {
    this.el = el;
    this.onApplied = onApplied;
    this.path = "";
    this.saved = "";
    this.savedTexts = new Map(); // file -> the text being served
    this.buffers = new Map(); // file -> unsaved edits, kept while another file is open
    this.seq = 0;
    this.timer = null;
    this.errors = [];
    el.textarea.addEventListener("input", () => this.changed());
    el.textarea.addEventListener("scroll", () => this.syncScroll());
    el.textarea.addEventListener("keydown", (e) => this.key(e));
    el.save.addEventListener("click", () => this.save());
    el.revert.addEventListener("click", () => this.setText(this.saved));
    el.file.addEventListener("change", () => this.open(el.file.value));
  }

  async load() {
    const res = await fetch("/_dotmock/source", { cache: "no-store" });
    const src = await res.json();
    this.main = src.path;
    this.el.note.hidden = !src.note;
    this.el.note.textContent = src.note ?? "";
    this.writes = src.writes_to_disk;
    this.el.save.title = src.writes_to_disk ? "apply and write the file"
      : "apply in memory (start `dotmock serve --allow-write` to write the file)";
    this.listFiles(src.files ?? [{ path: src.path, text: src.text, role: "scenario" }]);
    this.open(this.savedTexts.has(this.path) ? this.path : src.path);
  }

  /** The scenario file and the files it includes, each editable (the headline example keeps its fixtures in one). */
  listFiles(files) {
    this.savedTexts = new Map(files.map((f) => [f.path, f.text]));
    const options = files.map((f) => {
      const option = document.createElement("option");
      option.value = f.path;
      option.textContent = f.role === "include" ? `${f.path} (included)` : f.path;
      return option;
    });
    this.el.file.replaceChildren(...options);
    this.el.fileRow.hidden = files.length < 2;
  }

  /** Show `file`, keeping the unsaved edits of the one that was open. */
  open(file) {
    if (this.path && this.savedTexts.has(this.path) && this.el.textarea.value !== this.saved) {
      this.buffers.set(this.path, this.el.textarea.value);
    } else if (this.path) {
      this.buffers.delete(this.path);
    }
    this.path = file;
    this.el.file.value = file;
    this.el.path.textContent = file;
    this.saved = this.savedTexts.get(file) ?? "";
    this.setText(this.buffers.get(file) ?? this.saved);
  }

  setText(text) {
    this.el.textarea.value = text;
    this.changed(true);
  }

  key(event) {
    if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.el.textarea.setRangeText("  ", this.el.textarea.selectionStart, this.el.textarea.selectionEnd, "end");
      this.changed();
    } else if (event.key === "s" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.save();
    }
  }

  changed(now = false) {
    this.draw();
    clearTimeout(this.timer);
    this.status(this.el.textarea.value === this.saved ? "" : "edited, not applied", "muted");
    this.timer = setTimeout(() => this.validate(), now ? 0 : DEBOUNCE_MS);
  }

  status(text, kind) {
    this.el.status.textContent = text;
    this.el.status.dataset.kind = kind;
  }

  async validate() {
    const seq = ++this.seq;
    const text = this.el.textarea.value;
    const { body } = await postJson("/_dotmock/validate", { text, file: this.path });
    if (seq !== this.seq) return; // a newer edit is being checked
    this.show(body.errors ?? []);
    this.el.box.dataset.valid = String(Boolean(body.ok));
  }

  async save() {
    clearTimeout(this.timer);
    ++this.seq;
    const text = this.el.textarea.value;
    this.status("applying…", "muted");
    const { body } = await postJson("/_dotmock/source", { text, file: this.path });
    this.show(body.errors ?? []);
    if (body.ok) {
      this.saved = text;
      this.buffers.delete(this.path);
      await this.load(); // an edit may add or drop includes
      this.status(body.message, body.written ? "ok" : "memory");
      this.onApplied?.();
    } else {
      this.status(body.message ?? "not applied", "error");
    }
  }

  /** Every error of the scenario; those of the open file are drawn in its text, a click opens the file of any other. */
  show(errors) {
    this.errors = errors;
    const list = this.el.errors;
    list.replaceChildren();
    for (const err of errors) {
      const li = document.createElement("li");
      li.className = "error";
      li.dataset.line = String(err.line);
      li.dataset.column = String(err.column);
      const head = document.createElement("button");
      head.type = "button";
      head.className = "headline";
      head.textContent = err.headline;
      head.addEventListener("click", () => this.jump(err));
      const pre = document.createElement("pre");
      pre.textContent = err.rendered.split("\n").slice(1).join("\n");
      li.append(head, pre);
      list.append(li);
    }
    if (errors.length) this.status(`${errors.length} error${errors.length === 1 ? "" : "s"}`, "error");
    else if (this.el.textarea.value !== this.saved) this.status("valid — not applied yet", "muted");
    else if (this.el.status.dataset.kind === "error") this.status("valid", "ok");
    this.draw();
  }

  jump(err) {
    if (err.path !== this.path && this.savedTexts.has(err.path)) this.open(err.path);
    const lines = this.el.textarea.value.split("\n");
    let offset = 0;
    for (let i = 0; i < err.line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
    offset += Math.max(0, err.column - 1);
    this.el.textarea.focus();
    this.el.textarea.setSelectionRange(offset, offset + Math.max(1, err.width));
  }

  /** Line numbers and the highlight layer under the transparent textarea. */
  draw() {
    const lines = this.el.textarea.value.split("\n");
    const here = this.errors.filter((e) => e.path === this.path);
    const byLine = new Map();
    for (const err of here) {
      if (!byLine.has(err.line)) byLine.set(err.line, []);
      byLine.get(err.line).push(err);
    }
    const gutter = [];
    const back = [];
    lines.forEach((text, i) => {
      const n = i + 1;
      const errs = byLine.get(n);
      const num = document.createElement("div");
      num.textContent = String(n);
      num.dataset.line = String(n);
      const row = document.createElement("span");
      row.className = "line";
      row.dataset.line = String(n);
      if (errs) {
        num.className = "err";
        row.classList.add("err");
        num.title = row.title = errs.map((e) => e.message).join("\n");
        const err = errs[0];
        const start = Math.min(Math.max(0, err.column - 1), text.length);
        const end = Math.min(text.length, start + Math.max(1, err.width));
        const mark = document.createElement("mark");
        mark.textContent = text.slice(start, end) || " ";
        row.append(text.slice(0, start), mark, text.slice(end));
      } else {
        row.textContent = text;
      }
      row.append("\n");
      gutter.push(num);
      back.push(row);
    });
    this.el.gutter.replaceChildren(...gutter);
    this.el.backdrop.replaceChildren(...back);
    this.syncScroll();
  }

  syncScroll() {
    this.el.backdrop.scrollTop = this.el.textarea.scrollTop;
    this.el.backdrop.scrollLeft = this.el.textarea.scrollLeft;
    this.el.gutter.scrollTop = this.el.textarea.scrollTop;
  }
}
