"""A client that asks for a structured answer (a JSON Schema in the request) on the official SDKs.

    python structured_extract.py MODE [--api chat|responses|messages|gemini|responses-ws]

MODE:
- naive: sends the schema as a plain dict (response_format / text.format / output_config.format /
  response_json_schema), reads the answer with json.loads and prints it: whatever came back is used.
- careful: the SDK's own parse() with a pydantic model (chat.completions.parse, responses.parse,
  messages.parse; Gemini and the WebSocket answer are validated with model_validate_json); an answer that
  does not fit is asked for again, at most 3 times, then reported on stderr (exit 1).
- parse: the SDK's parse() with nothing caught: a ValidationError ends the process.
- correct (--api chat or responses, the openai SDK): an answer that does not fit is sent back in the
  conversation with what was wrong ("that was not valid JSON for the schema ..., try again") and asked for
  again in a new turn, at most 3 times: Chat with the whole history, Responses chained by
  previous_response_id; then reported on stderr (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import pydantic

PROMPT = "extract the weather in Paris"
ATTEMPTS = 3


class Weather(pydantic.BaseModel):
    city: str
    temp: float


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
    "required": ["city", "temp"],
    "additionalProperties": False,
}


def openai_client() -> Any:
    import openai

    base = os.environ["OPENAI_BASE_URL"]
    return openai.OpenAI(max_retries=0, timeout=5.0, websocket_base_url=base.replace("http", "ws", 1))


def ask_text(api: str) -> str:
    """The answer's text, the schema sent as a plain dict."""
    messages = [{"role": "user", "content": PROMPT}]
    if api == "chat":
        fmt = {"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}}
        return (
            openai_client()
            .chat.completions.create(model="m", messages=messages, response_format=fmt)
            .choices[0]
            .message.content
            or ""
        )
    if api == "responses":
        fmt = {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}}
        return str(openai_client().responses.create(model="m", input=PROMPT, text=fmt).output_text)
    if api == "responses-ws":
        fmt = {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}}
        with openai_client().responses.connect() as connection:
            connection.response.create(model="m", input=PROMPT, text=fmt)
            for event in connection:
                if event.type == "response.completed":
                    return str(event.response.output_text)
            raise RuntimeError("the connection ended before response.completed")
    if api == "messages":
        import anthropic

        client = anthropic.Anthropic(max_retries=0, timeout=5.0)
        config: Any = {"format": {"type": "json_schema", "schema": SCHEMA}}
        message = client.messages.create(model="m", max_tokens=256, messages=messages, output_config=config)
        return "".join(b.text for b in message.content if b.type == "text")
    from google import genai
    from google.genai import types

    client = genai.Client(http_options=types.HttpOptions(timeout=5000))
    config = types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=SCHEMA)
    return client.models.generate_content(model="m", contents=PROMPT, config=config).text or ""


def ask_parsed(api: str) -> Weather:
    """The SDK's parse(): a pydantic model in, a parsed object (or a ValidationError) out."""
    messages: Any = [{"role": "user", "content": PROMPT}]
    if api == "chat":
        parsed = openai_client().chat.completions.parse(model="m", messages=messages, response_format=Weather)
        value = parsed.choices[0].message.parsed
    elif api == "responses":
        value = openai_client().responses.parse(model="m", input=PROMPT, text_format=Weather).output_parsed
    elif api == "messages":
        import anthropic

        client = anthropic.Anthropic(max_retries=0, timeout=5.0)
        value = client.messages.parse(model="m", max_tokens=256, messages=messages, output_format=Weather).parsed_output
    else:  # Gemini's `.parsed` is None for an answer that does not fit (it raises nothing): validate the text
        return Weather.model_validate_json(ask_text(api))
    if value is None:
        raise ValueError("no parsed answer")
    return value


CORRECTION = "that was not valid JSON for the schema ({problem}); try again with JSON that fits it"
FORMAT = {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}


def ask_correcting(api: str) -> Weather:
    """An answer validated with model_validate_json; one that does not fit is answered in a new turn."""
    client = openai_client()
    messages: list[Any] = [{"role": "user", "content": PROMPT}]
    previous: dict[str, str] = {}
    problem = ""
    for _ in range(ATTEMPTS):
        if api == "chat":
            chat_format: Any = {"type": "json_schema", "json_schema": {k: v for k, v in FORMAT.items() if k != "type"}}
            completion = client.chat.completions.create(model="m", messages=messages, response_format=chat_format)
            answer = completion.choices[0].message.content or ""
        else:  # only the new turn: the conversation so far lives on the server
            turn = messages[-1]["content"]
            reply = client.responses.create(model="m", input=turn, text={"format": FORMAT}, **previous)
            answer, previous = str(reply.output_text), {"previous_response_id": reply.id}
        try:
            return Weather.model_validate_json(answer)
        except pydantic.ValidationError as err:
            problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the answer'}: {e['msg']}" for e in err.errors())
        messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": CORRECTION.format(problem=problem)},
        ]
    raise ValueError(f"no answer that fits the schema after {ATTEMPTS} tries ({problem})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("naive", "careful", "parse", "correct"))
    parser.add_argument("--api", default="chat", choices=("chat", "responses", "messages", "gemini", "responses-ws"))
    args = parser.parse_args()
    if args.mode == "correct":
        if args.api not in ("chat", "responses"):
            parser.error("correct speaks --api chat or responses")
        try:
            weather = ask_correcting(args.api)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"{weather.city}: {weather.temp}")
        return 0
    if args.mode == "naive":
        print(json.loads(ask_text(args.api)))
        return 0
    if args.mode == "parse":
        print(ask_parsed(args.api))
        return 0
    problem = ""
    for _ in range(ATTEMPTS):
        try:
            if args.api == "responses-ws":
                weather = Weather.model_validate_json(ask_text(args.api))
            else:
                weather = ask_parsed(args.api)
        except (pydantic.ValidationError, ValueError) as err:
            problem = str(err).splitlines()[0]
            continue
        print(f"{weather.city}: {weather.temp}")
        return 0
    print(f"error: no answer that fits the schema after {ATTEMPTS} tries ({problem})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
