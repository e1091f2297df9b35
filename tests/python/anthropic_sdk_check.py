"""Drive the gateway's /v1/messages with the official Anthropic Python SDK: a plain create,
a stream (text_stream and the final message's usage), a tools round trip, an image block and
count_tokens. Run by tests/gateway/anthropic_sdk.rs against a gateway whose channel is either a
mock native Anthropic upstream or a mock OpenAI upstream (translation).

Usage: python3 anthropic_sdk_check.py BASE_URL TOKEN MODEL
Prints one JSON object of what the SDK saw; the Rust test asserts the exact values.
"""

import json
import sys

import anthropic

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}
# A 1x1 transparent PNG.
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def usage(u):
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
    }


def text_of(message):
    return "".join(b.text for b in message.content if b.type == "text")


def main(base_url: str, token: str, model: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key=token, max_retries=0, timeout=30)
    seen = {}
    hello = [{"role": "user", "content": "Hello"}]

    raw = client.messages.with_raw_response.create(model=model, max_tokens=100, messages=hello)
    seen["router_channel"] = raw.headers.get("x-router-channel")
    message = raw.parse()
    seen["create"] = {
        "type": message.type,
        "role": message.role,
        "text": text_of(message),
        "stop_reason": message.stop_reason,
        "usage": usage(message.usage),
    }

    with client.messages.stream(model=model, max_tokens=100, messages=hello) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    seen["stream"] = {
        "pieces": pieces,
        "text": text_of(final),
        "stop_reason": final.stop_reason,
        "usage": usage(final.usage),
    }

    ask = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.messages.create(model=model, max_tokens=100, messages=ask, tools=[WEATHER_TOOL])
    calls = [b for b in first.content if b.type == "tool_use"]
    second = client.messages.create(
        model=model,
        max_tokens=100,
        tools=[WEATHER_TOOL],
        messages=ask
        + [
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": calls[0].id, "content": "18C, sunny"}],
            },
        ],
    )
    seen["tools"] = {
        "stop_reason": first.stop_reason,
        "calls": [{"name": c.name, "input": c.input} for c in calls],
        "answer": text_of(second),
        "answer_stop_reason": second.stop_reason,
    }

    image = client.messages.create(
        model=model,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
                    {"type": "text", "text": "What is this?"},
                ],
            }
        ],
    )
    seen["image"] = text_of(image)

    count = client.messages.count_tokens(model=model, messages=hello, system="Be brief.")
    seen["count_tokens"] = count.input_tokens

    try:
        client.messages.create(model="no-such-model-xyz", max_tokens=10, messages=hello)
        seen["not_found"] = None
    except anthropic.NotFoundError as e:
        seen["not_found"] = {"status": e.status_code, "type": e.body["error"]["type"]}

    print(json.dumps(seen, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
