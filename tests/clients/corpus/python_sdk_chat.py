"""The official openai Python SDK as its README shows it: stream a chat completion, print the text.
No error handling of its own: what the SDK raises is what the user sees."""

from openai import OpenAI

client = OpenAI(timeout=20.0)
stream = client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
