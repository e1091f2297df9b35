//! Messages → chat: exact requests and answers.

use serde_json::{json, Value};

use super::*;

fn translate(request: Value) -> Value {
    let request: MessagesRequest = serde_json::from_value(request).expect("a Messages request");
    let chat = messages_request_to_chat(&request).expect("translates");
    serde_json::to_value(chat).expect("serialises")
}

#[test]
fn a_full_request_becomes_chat() {
    let request = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Answer in English."}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}, "title": "report.pdf"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xyz"},
                {"type": "text", "text": "Checking the weather."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "18C"}, {"type": "text", "text": "sunny"}]},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": "timeout", "is_error": true},
                {"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}}
            ]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather by city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}, "cache_control": {"type": "ephemeral"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["END"],
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "metadata": {"user_id": "u-42"},
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    });
    let expected = json!({
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "You are terse.\n\nAnswer in English."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "report.pdf"}},
                {"type": "text", "text": "plain doc"}
            ]},
            {"role": "assistant", "content": "Checking the weather.", "tool_calls": [
                {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "content": "18C\nsunny", "tool_call_id": "toolu_01"},
            {"role": "tool", "content": "Error: timeout", "tool_call_id": "toolu_02"},
            {"role": "user", "content": "Thanks"}
        ],
        "max_tokens": 1024,
        "stop": ["END"],
        "temperature": 0.2,
        "top_p": 0.9,
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "user": "u-42"
    });
    assert_eq!(translate(request), expected);
}

#[test]
fn a_plain_stream_asks_for_usage() {
    let chat = translate(json!({
        "model": "m", "max_tokens": 10, "stream": true, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    }));
    assert_eq!(
        chat,
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"}
            ],
            "max_tokens": 10,
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
}

#[test]
fn tool_choices() {
    let cases = [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "none"}), json!("none")),
        (
            json!({"type": "tool", "name": "f"}),
            json!({"type": "function", "function": {"name": "f"}}),
        ),
    ];
    for (choice, expected) in cases {
        let chat = translate(json!({"model": "m", "messages": [], "tool_choice": choice}));
        assert_eq!(chat["tool_choice"], expected);
        assert_eq!(chat.get("parallel_tool_calls"), None);
    }
}

#[test]
fn a_server_tool_cannot_cross() {
    let request: MessagesRequest = serde_json::from_value(json!({
        "model": "m", "messages": [],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]
    }))
    .expect("parses");
    let err = messages_request_to_chat(&request).expect_err("refused");
    assert!(err.0.contains("web_search"), "{err}");
}

#[test]
fn stop_reasons() {
    let table = [
        (Some("stop"), "end_turn"),
        (Some("length"), "max_tokens"),
        (Some("tool_calls"), "tool_use"),
        (Some("function_call"), "tool_use"),
        (Some("content_filter"), "refusal"),
        (None, "end_turn"),
    ];
    for (finish, stop) in table {
        assert_eq!(finish_to_stop_reason(finish), stop, "{finish:?}");
    }
}

#[test]
fn a_chat_answer_becomes_a_message() {
    let answer: ChatResponse = serde_json::from_value(json!({
        "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me check.", "reasoning_content": "User wants weather.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]
        }}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150, "prompt_tokens_details": {"cached_tokens": 100}}
    }))
    .expect("a chat answer");
    let message = serde_json::to_value(chat_response_to_messages(&answer)).expect("serialises");
    assert_eq!(
        message,
        json!({
            "id": "msg_abc123", "type": "message", "role": "assistant", "model": "gpt-4o-mini",
            "content": [
                {"type": "thinking", "thinking": "User wants weather.", "signature": ""},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 20, "output_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 100}
        })
    );
}

#[test]
fn arguments_that_are_not_an_object_give_an_empty_input() {
    assert_eq!(input_of("{\"a\":1}"), json!({"a": 1}));
    assert_eq!(input_of("[1]"), json!({}));
    assert_eq!(input_of("{\"a\":"), json!({}));
}

#[test]
fn reasoning_counted_only_in_the_total_is_output_as_the_record_charges_it() {
    // xAI's shape: completion 1, total 303 for a prompt of 12 (290 of reasoning).
    let usage: crate::protocol::chat::ChatUsage = serde_json::from_value(serde_json::json!({
        "prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 303,
        "completion_tokens_details": {"reasoning_tokens": 290}
    }))
    .expect("usage");
    assert_eq!(chat_usage_to_anthropic(&usage).output_tokens, 291);
    let responses = crate::protocol::responses_translate::chat_usage_to_responses(&usage);
    assert_eq!(
        (
            responses.output_tokens,
            responses.output_tokens_details.reasoning_tokens,
            responses.total_tokens
        ),
        (291, 290, 303)
    );
}
