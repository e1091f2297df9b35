//! Responses ↔ chat: exact requests and answers.

use serde_json::{json, Value};

use super::*;

fn request(value: Value) -> ResponsesRequest {
    serde_json::from_value(value).expect("a Responses request")
}

fn translate(value: Value) -> Value {
    let chat = responses_request_to_chat(&request(value)).expect("translates");
    serde_json::to_value(chat).expect("serialises")
}

#[test]
fn a_string_input() {
    assert_eq!(
        translate(
            json!({"model": "gpt-4o-mini", "input": "Hello", "instructions": "Be brief.", "max_output_tokens": 50})
        ),
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hello"}
            ],
            "max_tokens": 50
        })
    );
}

#[test]
fn items_tools_and_a_json_schema() {
    let chat = translate(json!({
        "model": "m",
        "stream": true,
        "input": [
            {"role": "developer", "content": "Use tools."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_2", "output": "noon"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "18C at noon."}]}
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}, "strict": true}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}},
        "reasoning": {"effort": "low"},
        "temperature": 0.5
    }));
    assert_eq!(
        chat,
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "Use tools."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "auto"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "18C", "tool_call_id": "call_1"},
                {"role": "tool", "content": "noon", "tool_call_id": "call_2"},
                {"role": "assistant", "content": "18C at noon."}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": 0.5,
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}, "strict": true}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}},
            "reasoning_effort": "low"
        })
    );
}

#[test]
fn built_in_tools_and_bad_input_are_refused() {
    let web = request(json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}));
    assert!(responses_request_to_chat(&web)
        .expect_err("refused")
        .0
        .contains("web_search"));
    let bad = request(json!({"model": "m", "input": [{"type": "function_call"}]}));
    assert!(responses_request_to_chat(&bad)
        .expect_err("refused")
        .0
        .contains("input[0]"));
    let number = request(json!({"model": "m", "input": 7}));
    assert!(responses_request_to_chat(&number).is_err());
}

#[test]
fn stored_conversations_are_refused() {
    let previous = request(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
    assert!(check_stateless(&previous)
        .expect_err("400")
        .0
        .contains("keeps no conversation state"));
    let stored = request(json!({"model": "m", "input": "x", "store": true}));
    assert!(check_stateless(&stored)
        .expect_err("400")
        .0
        .contains("store"));
    assert!(check_stateless(&request(
        json!({"model": "m", "input": "x", "store": false})
    ))
    .is_ok());
}

#[test]
fn a_chat_answer_becomes_a_response() {
    let req = request(
        json!({"model": "gpt-4o-mini", "input": "Weather?", "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]}),
    );
    let answer: ChatResponse = serde_json::from_value(json!({
        "id": "chatcmpl-77", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Checking.",
            "tool_calls": [{"id": "call_A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70,
                  "prompt_tokens_details": {"cached_tokens": 10}, "completion_tokens_details": {"reasoning_tokens": 4}}
    }))
    .expect("a chat answer");
    let mut response =
        serde_json::to_value(chat_response_to_responses(&req, &answer)).expect("json");
    response["created_at"] = json!(0);
    assert_eq!(
        response,
        json!({
            "id": "resp_77", "object": "response", "created_at": 0, "status": "completed",
            "error": null, "incomplete_details": null, "instructions": "Be brief.", "max_output_tokens": null,
            "model": "gpt-4o-mini-2024-07-18",
            "output": [
                {"type": "message", "id": "msg_77", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
                {"type": "function_call", "id": "fc_A", "call_id": "call_A", "name": "get_weather",
                 "arguments": "{\"city\":\"Oslo\"}", "status": "completed"}
            ],
            "parallel_tool_calls": true, "temperature": null, "tool_choice": "auto",
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
            "top_p": null, "text": {"format": {"type": "text"}}, "store": false, "metadata": {},
            "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 10},
                      "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 4}, "total_tokens": 70}
        })
    );
}

#[test]
fn a_cut_answer_is_incomplete() {
    let req = request(json!({"model": "m", "input": "x", "max_output_tokens": 5}));
    let answer: ChatResponse = serde_json::from_value(json!({
        "id": "c", "model": "m", "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "abc"}}]
    }))
    .expect("answer");
    let response = chat_response_to_responses(&req, &answer);
    assert_eq!(response.status, "incomplete");
    assert_eq!(
        response.incomplete_details,
        Some(json!({"reason": "max_output_tokens"}))
    );
    assert_eq!(response.max_output_tokens, Some(5));
}
