"""Drive the gateway with the official OpenAI Python SDK: a plain call, streamed calls (with
and without `stream_options.include_usage`) and a tool call. Run by `tests/openai_sdk.rs`
against a gateway whose channel is a mock upstream.

Usage: python3 openai_sdk_check.py BASE_URL   (BASE_URL like http://127.0.0.1:PORT/v1)
Prints `ok` and exits 0 when every check passes; an AssertionError names the one that failed.
"""

import json
import sys

from openai import OpenAI

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def main(base_url: str) -> None:
    client = OpenAI(base_url=base_url, api_key="client-token-not-for-upstream", max_retries=0, timeout=30)

    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    assert raw.headers.get("x-router-channel") == "a", dict(raw.headers)
    plain = raw.parse()
    assert plain.choices[0].message.content == "Hello from the mock.", plain
    assert plain.usage is not None and plain.usage.total_tokens == 17, plain.usage

    # The gateway asks the upstream for usage but hides that chunk from this client.
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the mock.", text
    assert all(c.usage is None and c.choices for c in chunks), chunks[-1]

    # A client that asks for usage gets the usage chunk last.
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [], chunks[-1]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 16, chunks[-1]

    answer = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    call = choice.message.tool_calls[0]
    assert call.id == "call_1" and call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"city": "Paris"}, call.function.arguments

    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
