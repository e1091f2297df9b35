"""Drive the gateway with the official OpenAI Python SDK across formats. Run by
tests/gateway/openai_formats.rs.

Usage: python3 openai_protocols_check.py BASE_URL MODEL chat|responses
  chat       chat completions (plain, streamed with usage, a tool call) against a gateway whose
             channel is a native Anthropic upstream (translated to Messages and back);
  responses  responses.create (plain, streamed, function tools), a stored conversation
             (refused with 400) and models.retrieve, against an OpenAI-format channel.
Prints one JSON object of what the SDK saw; the Rust test asserts the exact values.
"""

import json
import sys

from openai import OpenAI, BadRequestError

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


def chat(client, model):
    seen = {}
    hello = [{"role": "user", "content": "Hello"}]
    plain = client.chat.completions.create(model=model, messages=hello)
    seen["plain"] = {
        "text": plain.choices[0].message.content,
        "finish_reason": plain.choices[0].finish_reason,
        "prompt_tokens": plain.usage.prompt_tokens,
        "completion_tokens": plain.usage.completion_tokens,
        "cached_tokens": plain.usage.prompt_tokens_details.cached_tokens,
    }
    chunks = list(
        client.chat.completions.create(
            model=model, messages=hello, stream=True, stream_options={"include_usage": True}
        )
    )
    seen["stream"] = {
        "pieces": [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content],
        "finish_reason": [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason],
        "usage": chunks[-1].usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}),
        "cached_tokens": chunks[-1].usage.prompt_tokens_details.cached_tokens,
    }
    tool = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[{"type": "function", "function": WEATHER}],
    )
    call = tool.choices[0].message.tool_calls[0]
    seen["tools"] = {
        "finish_reason": tool.choices[0].finish_reason,
        "name": call.function.name,
        "arguments": json.loads(call.function.arguments),
    }
    return seen


def responses(client, model):
    seen = {}
    plain = client.responses.create(model=model, input="Hello", instructions="Be brief.")
    seen["plain"] = {
        "status": plain.status,
        "text": plain.output_text,
        "usage": plain.usage.model_dump(include={"input_tokens", "output_tokens", "total_tokens"}),
    }
    events = list(client.responses.create(model=model, input="Hello", stream=True))
    seen["stream"] = {
        "types": [e.type for e in events],
        "text": "".join(e.delta for e in events if e.type == "response.output_text.delta"),
        "final_text": events[-1].response.output_text,
        "usage": events[-1].response.usage.model_dump(include={"input_tokens", "output_tokens", "total_tokens"}),
    }
    tool = client.responses.create(
        model=model,
        input=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[{"type": "function", **WEATHER}],
    )
    calls = [item for item in tool.output if item.type == "function_call"]
    seen["tools"] = [{"name": c.name, "call_id": c.call_id, "arguments": json.loads(c.arguments)} for c in calls]
    followup = client.responses.create(
        model=model,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name, "arguments": calls[0].arguments},
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18C, sunny"},
        ],
        tools=[{"type": "function", **WEATHER}],
    )
    seen["tool_answer"] = followup.output_text
    try:
        client.responses.create(model=model, input="again", previous_response_id=plain.id)
        seen["previous"] = None
    except BadRequestError as e:
        seen["previous"] = {"status": e.status_code, "mentions_state": "keeps no conversation state" in str(e)}
    seen["retrieve"] = client.models.retrieve(model).id
    return seen


def main(base_url, model, mode):
    client = OpenAI(base_url=base_url, api_key="client-token", max_retries=0, timeout=30)
    seen = chat(client, model) if mode == "chat" else responses(client, model)
    print(json.dumps(seen, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
