// The streaming preview: the answer's text growing as chunks arrive, its timing, and how the stream ended.

export class Preview {
  constructor({ text, status, timing, mark }) {
    this.el = { text, status, timing, mark };
    this.reset("");
  }

  reset(status) {
    this.el.text.textContent = "";
    this.el.text.classList.remove("error");
    this.el.status.textContent = status;
    this.el.timing.textContent = "";
    this.setMark(null);
    this.chunks = 0;
    this.first = null;
    this.lastAt = null;
    this.gaps = [];
  }

  status(text) {
    this.el.status.textContent = text;
  }

  /** Append one content chunk that arrived `t` ms after the request started. */
  append(text, t) {
    this.el.text.append(document.createTextNode(text));
    this.chunks += 1;
    if (this.first === null) this.first = t;
    if (this.lastAt !== null) this.gaps.push(t - this.lastAt);
    this.lastAt = t;
    this.showTiming();
  }

  /** Text that is no content chunk of its own (a tool call's opening line). */
  add(text) {
    this.el.text.append(document.createTextNode(text));
  }

  /** A whole (non-streamed) answer. */
  whole(text, isError = false) {
    this.el.text.textContent = text;
    this.el.text.classList.toggle("error", isError);
  }

  showTiming() {
    const parts = [`${this.chunks} chunk${this.chunks === 1 ? "" : "s"}`];
    if (this.first !== null) parts.push(`first at ${this.first.toFixed(0)} ms`);
    if (this.lastAt !== null) parts.push(`last at ${this.lastAt.toFixed(0)} ms`);
    if (this.gaps.length) {
      const mean = this.gaps.reduce((a, b) => a + b, 0) / this.gaps.length;
      parts.push(`mean gap ${mean.toFixed(0)} ms`);
    }
    this.el.timing.textContent = parts.join(" · ");
  }

  /** How the exchange ended: "complete", "truncated", "dropped", "error", "closed", or null to hide. */
  setMark(kind, text) {
    const mark = this.el.mark;
    if (!kind) {
      mark.hidden = true;
      mark.textContent = "";
      delete mark.dataset.kind;
      return;
    }
    mark.hidden = false;
    mark.dataset.kind = kind;
    mark.textContent = text ?? kind;
  }
}
