// The official openai npm SDK's Realtime client (OpenAIRealtimeWS, on the `ws` package) under dotmock's
// WebSocket faults: one connection per cell, all at once; one JSON line per cell says how it ended. Used by
// tests/test_realtime.py (argv: a JSON list of prompt words; OPENAI_BASE_URL from the env, https: the SDK
// always connects with wss://, so the test puts a TLS front before the mock; NODE_EXTRA_CA_CERTS trusts it).
// An observer, not an example client: it records what the SDK emits, with a 1 s silence as its own limit.
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";

const SILENCE_MS = 1000;
const client = new OpenAI();

function cell(word) {
  return new Promise((resolve) => {
    const seen = { word, types: [], text: "", end: null, error: null, closeCode: null };
    const rt = new OpenAIRealtimeWS({ model: "gpt-realtime" }, client);
    let timer = null;
    const finish = (end) => {
      if (seen.end !== null) return;
      seen.end = end;
      clearTimeout(timer);
      try {
        rt.close();
      } catch {}
      setTimeout(() => resolve(seen), 50);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish("silence"), SILENCE_MS);
    };
    rt.on("event", (event) => {
      seen.types.push(event.type);
      arm();
      if (event.type === "response.output_text.delta") seen.text += event.delta;
      if (event.type === "response.done") finish("response.done");
    });
    rt.on("error", (err) => {
      seen.error = { name: err.name, message: String(err.message).slice(0, 200), code: err.error?.code ?? null };
      finish(err.error ? "error event" : "sdk error");
    });
    rt.socket.on("close", (code) => {
      seen.closeCode = code;
      finish(`close ${code}`);
    });
    rt.socket.on("open", () => {
      arm();
      rt.send({ type: "session.update", session: { type: "realtime", output_modalities: ["text"] } });
      rt.send({
        type: "conversation.item.create",
        item: { type: "message", role: "user", content: [{ type: "input_text", text: `please ${word} #node` }] },
      });
      rt.send({ type: "response.create" });
    });
  });
}

const words = JSON.parse(process.argv[2]);
for (const result of await Promise.all(words.map(cell))) process.stdout.write(JSON.stringify(result) + "\n");
