//! chat → Messages: exact requests and answers.

use serde_json::{json, Value};

use super::*;

fn translate(request: Value) -> Value {
    let request: ChatRequest = serde_json::from_value(request).expect("a chat request");
    let messages = chat_request_to_messages(&request).expect("translates");
    serde_json::to_value(messages).expect("serialises")
}

#[test]
fn a_full_chat_request_becomes_messages() {
    let chat = json!({
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "English only."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/sky.png", "detail": "low"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
            {"role": "user", "content": "Thanks"}
        ],
        "max_completion_tokens": 300,
        "stop": "END",
        "temperature": 1.5,
        "top_p": 0.9,
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}},
                  {"type": "function", "function": {"name": "get_time"}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "user": "u-1",
        "stream": true,
        "logprobs": true
    });
    let expected = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 300,
        "system": "You are terse.\n\nEnglish only.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/sky.png"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"},
                {"type": "text", "text": "Thanks"}
            ]}
        ],
        "stop_sequences": ["END"],
        "stream": true,
        "temperature": 1.0,
        "top_p": 0.9,
        "metadata": {"user_id": "u-1"},
        "tools": [
            {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true}
    });
    assert_eq!(translate(chat), expected);
}

#[test]
fn defaults_and_tool_choices() {
    let plain = translate(json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}));
    assert_eq!(
        plain,
        json!({"model": "m", "max_tokens": 4096, "messages": [{"role": "user", "content": "Hi"}]})
    );
    let cases = [
        (json!("auto"), json!({"type": "auto"})),
        (json!("none"), json!({"type": "none"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"type": "tool", "name": "f"}),
        ),
    ];
    for (choice, expected) in cases {
        let messages = translate(json!({"model": "m", "messages": [], "tool_choice": choice}));
        assert_eq!(messages["tool_choice"], expected);
    }
}

#[test]
fn an_unknown_role_or_part_is_refused() {
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]
    }))
    .expect("parses");
    let err = chat_request_to_messages(&request).expect_err("refused");
    assert!(err.0.contains("input_audio"), "{err}");
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "m", "messages": [{"role": "function", "content": "x"}]
    }))
    .expect("parses");
    assert!(chat_request_to_messages(&request).is_err());
}

#[test]
fn finish_reasons() {
    let table = [
        (Some("end_turn"), "stop"),
        (Some("stop_sequence"), "stop"),
        (Some("max_tokens"), "length"),
        (Some("tool_use"), "tool_calls"),
        (Some("refusal"), "content_filter"),
        (Some("pause_turn"), "stop"),
        (None, "stop"),
    ];
    for (stop, finish) in table {
        assert_eq!(stop_reason_to_finish(stop), finish, "{stop:?}");
    }
}

#[test]
fn a_message_becomes_a_chat_answer_with_cache_figures() {
    let message: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_01XY", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Think.", "signature": "abc"},
            {"type": "text", "text": "It is "},
            {"type": "text", "text": "sunny."},
            {"type": "tool_use", "id": "toolu_9", "name": "log", "input": {"note": "ok"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 3337, "cache_read_input_tokens": 6289, "output_tokens": 198}
    }))
    .expect("a message");
    let mut chat = serde_json::to_value(messages_response_to_chat(&message)).expect("serialises");
    assert!(chat["created"].as_u64().is_some_and(|c| c > 1_700_000_000));
    chat["created"] = json!(0);
    assert_eq!(
        chat,
        json!({
            "id": "chatcmpl-01XY", "object": "chat.completion", "created": 0, "model": "claude-sonnet-4-5",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null, "message": {
                "role": "assistant", "content": "It is sunny.", "reasoning_content": "Think.",
                "tool_calls": [{"id": "toolu_9", "type": "function", "function": {"name": "log", "arguments": "{\"note\":\"ok\"}"}}]
            }}],
            "usage": {
                "prompt_tokens": 9638, "completion_tokens": 198, "total_tokens": 9836,
                "prompt_tokens_details": {"cached_tokens": 6289},
                "cache_creation_input_tokens": 3337, "cache_read_input_tokens": 6289
            }
        })
    );
}

#[test]
fn the_tap_reads_translated_usage_exactly() {
    let usage = anthropic_usage_to_chat(&super::super::anthropic::Usage {
        input_tokens: 12,
        output_tokens: 198,
        cache_creation_input_tokens: 3337,
        cache_read_input_tokens: 6289,
    });
    let body = serde_json::to_vec(&json!({"choices": [], "usage": usage})).expect("json");
    let read = crate::usage::tap::usage_from_body(&body).expect("usage");
    assert_eq!(
        (
            read.input_tokens,
            read.cached_tokens,
            read.cache_write_tokens,
            read.output_tokens
        ),
        (9638, 6289, 3337, 198)
    );
}
