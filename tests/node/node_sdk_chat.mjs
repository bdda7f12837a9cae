// The official openai npm SDK as its README shows it: stream a chat completion, print the text.
// No error handling of its own: what the SDK throws is what the user sees.
import OpenAI from "openai";

const client = new OpenAI({ timeout: 20_000 });
const stream = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Hello" }],
  stream: true,
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
}
process.stdout.write("\n");
