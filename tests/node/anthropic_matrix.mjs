// The official @anthropic-ai/sdk under dotmock's faults: each cell is one call form x one fault word, all cells
// run concurrently; one JSON line per cell says what the SDK returned or threw. Used by
// tests/test_anthropic_sdks.py (argv: a JSON list of [form, word] pairs; ANTHROPIC_BASE_URL from the env).
// This is an observer, not an example client: it catches everything so that each outcome can be asserted.
import Anthropic from "@anthropic-ai/sdk";

// A generous timeout: a loaded machine must not turn a 300 ms silence into a timeout.
const client = new Anthropic({ maxRetries: 2, timeout: 30_000 });

function request(word, form) {
  return {
    model: "claude-test",
    max_tokens: 64,
    messages: [{ role: "user", content: `please ${word} #${form}` }],
  };
}

async function run(form, word) {
  const body = request(word, form);
  if (form === "create") {
    const message = await client.messages.create(body);
    return { text: message.content.map((b) => b.text ?? "").join(""), stop_reason: message.stop_reason };
  }
  if (form === "stream") {
    const stream = await client.messages.create({ ...body, stream: true });
    let text = "";
    const events = [];
    for await (const event of stream) {
      events.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    }
    return { text, events };
  }
  if (form === "helper") {
    const stream = client.messages.stream(body);
    let text = "";
    stream.on("text", (piece) => {
      text += piece;
    });
    const final = await stream.finalMessage();
    return { text, final: final.content.map((b) => b.text ?? "").join(""), stop_reason: final.stop_reason };
  }
  throw new Error(`unknown form ${form}`);
}

async function cell([form, word]) {
  try {
    return { form, word, ok: true, ...(await run(form, word)) };
  } catch (err) {
    return {
      form,
      word,
      ok: false,
      error: err?.constructor?.name ?? typeof err,
      status: err?.status ?? null,
      type: err?.type ?? err?.error?.error?.type ?? null,
      message: String(err?.message ?? err).slice(0, 300),
      cause: err?.cause?.constructor?.name ?? null,
    };
  }
}

const cells = JSON.parse(process.argv[2]);
const results = await Promise.all(cells.map(cell));
for (const result of results) process.stdout.write(JSON.stringify(result) + "\n");
