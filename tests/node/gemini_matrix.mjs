// The official @google/genai SDK under dotmock's faults: each cell is one call form x one fault word, all cells
// run concurrently; one JSON line per cell says what the SDK returned or threw. Used by
// tests/test_gemini_node.py (argv: a JSON list of [form, word] pairs; GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY
// from the env, read by the SDK itself). Forms: `generate` (generateContent) and `stream`
// (generateContentStream) as the README writes them, with the SDK's defaults (no retries, no timeout);
// `generate-retry` and `stream-retry` with httpOptions.retryOptions and a per-attempt timeout.
// This is an observer, not an example client: it catches everything so that each outcome can be asserted.
import { GoogleGenAI } from "@google/genai";

const plain = new GoogleGenAI({});
const careful = new GoogleGenAI({
  httpOptions: {
    timeout: Number(process.env.GEMINI_MATRIX_TIMEOUT_MS),
    retryOptions: { attempts: 3, initialDelay: 0.02, maxDelay: 0.05, jitter: 0 },
  },
});

async function run(form, word) {
  const client = form.endsWith("-retry") ? careful : plain;
  const params = { model: "gemini-2.0-flash", contents: `please [${word}] #${form}` };
  if (form.startsWith("generate")) {
    const response = await client.models.generateContent(params);
    return { text: response.text ?? "", finish: response.candidates?.[0]?.finishReason ?? null, chunks: 1 };
  }
  const stream = await client.models.generateContentStream(params);
  let text = "";
  let chunks = 0;
  let finish = null;
  try {
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.text ?? "";
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
  } catch (err) {
    err.partial = { text, chunks };
    throw err;
  }
  return { text, finish, chunks };
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
      name: err?.name ?? null,
      status: err?.status ?? null,
      message: String(err?.message ?? err).slice(0, 400),
      cause: err?.cause?.constructor?.name ?? null,
      partial: err?.partial ?? null,
    };
  }
}

const cells = JSON.parse(process.argv[2]);
const results = await Promise.all(cells.map(cell));
for (const result of results) process.stdout.write(JSON.stringify(result) + "\n");
