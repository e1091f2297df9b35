//! The streaming translators, fed event by event: exact client events.

use serde_json::{json, Value};

use super::*;
use crate::protocol::responses::ResponsesRequest;

/// `(event name or "", data)` of every SSE event in `sse`.
fn events(sse: &str) -> Vec<(String, Value)> {
    sse.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|event| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in event.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).unwrap_or_else(|_| json!(d));
                }
            }
            (name, data)
        })
        .collect()
}

fn chunk(delta: Value, finish: Value) -> String {
    json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

const USAGE_CHUNK: &str = r#"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52,"prompt_tokens_details":{"cached_tokens":32}}}"#;

fn text_and_tool_stream() -> Vec<String> {
    vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"reasoning_content": "Think"}), Value::Null),
        chunk(json!({"content": "Hel"}), Value::Null),
        chunk(json!({"content": "lo"}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        USAGE_CHUNK.to_owned(),
        "[DONE]".to_owned(),
    ]
}

#[test]
fn chat_chunks_become_messages_events_as_they_arrive() {
    let mut translator = ChatToMessages::new("asked-model");
    let mut per_chunk = Vec::new();
    for data in text_and_tool_stream() {
        let mut out = String::new();
        translator.push(data.as_bytes(), &mut out);
        per_chunk.push(events(&out));
    }
    // The first chunk already gives the client its first events.
    assert_eq!(per_chunk[0].len(), 2);
    let all: Vec<(String, Value)> = per_chunk.into_iter().flatten().collect();
    let expected = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_9", "type": "message", "role": "assistant", "content": [], "model": "gpt-4o-mini", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Think"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hel"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "lo"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 2}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"input_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 32, "output_tokens": 12}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    assert_eq!(all, expected);
    let mut after = String::new();
    translator.finish(&mut after);
    assert_eq!(after, "", "finish is idempotent");
}

#[test]
fn an_upstream_error_chunk_becomes_an_anthropic_error_event() {
    let mut translator = ChatToMessages::new("m");
    let mut out = String::new();
    translator.push(
        chunk(json!({"content": "a"}), Value::Null).as_bytes(),
        &mut out,
    );
    out.clear();
    translator.push(
        br#"{"error":{"message":"upstream died","type":"server_error"}}"#,
        &mut out,
    );
    assert_eq!(
        events(&out),
        vec![(
            "error".to_owned(),
            json!({"type": "error", "error": {"type": "api_error", "message": "upstream died"}})
        )]
    );
    out.clear();
    translator.push(b"[DONE]", &mut out);
    assert_eq!(out, "");
}

fn anthropic_stream() -> Vec<Value> {
    vec![
        json!({"type": "message_start", "message": {"id": "msg_01A", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 12, "cache_creation_input_tokens": 3337, "cache_read_input_tokens": 6289, "output_tokens": 1}}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQ"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Paris\"}"}}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 198}}),
        json!({"type": "message_stop"}),
    ]
}

#[test]
fn anthropic_events_become_chat_chunks() {
    let mut translator = MessagesToChat::new("asked", true);
    let mut out = String::new();
    for event in anthropic_stream() {
        translator.push(event.to_string().as_bytes(), &mut out);
    }
    let chunks: Vec<Value> = events(&out).into_iter().map(|(_, data)| data).collect();
    let base = |choices: Value| json!({"id": "chatcmpl-01A", "object": "chat.completion.chunk", "created": 0, "model": "claude-sonnet-4-5", "choices": choices});
    let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "finish_reason": finish}]);
    let mut expected = vec![
        base(choice(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )),
        base(choice(json!({"reasoning_content": "Hmm"}), Value::Null)),
        base(choice(json!({"content": "Hi"}), Value::Null)),
        base(choice(
            json!({"tool_calls": [{"index": 0, "id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        )),
        base(choice(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": \"Paris\"}"}}]}),
            Value::Null,
        )),
        base(choice(json!({}), json!("tool_calls"))),
        base(json!([])),
        json!("[DONE]"),
    ];
    if let Some(usage_chunk) = expected.get_mut(6) {
        usage_chunk["usage"] = json!({"prompt_tokens": 9638, "completion_tokens": 198, "total_tokens": 9836, "prompt_tokens_details": {"cached_tokens": 6289}, "cache_creation_input_tokens": 3337, "cache_read_input_tokens": 6289});
    }
    let chunks: Vec<Value> = chunks
        .into_iter()
        .map(|mut c| {
            if c.get("created").is_some() {
                c["created"] = json!(0);
            }
            c
        })
        .collect();
    assert_eq!(chunks, expected);
    let usage = translator.usage().expect("usage");
    assert_eq!(
        (
            usage.input_tokens,
            usage.cache_write_tokens,
            usage.output_tokens
        ),
        (9638, 3337, 198)
    );
}

#[test]
fn without_include_usage_no_usage_chunk_and_errors_end_the_stream() {
    let mut translator = MessagesToChat::new("asked", false);
    let mut out = String::new();
    translator.push(anthropic_stream()[0].to_string().as_bytes(), &mut out);
    translator.push(
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        &mut out,
    );
    translator.push(br#"{"type":"message_stop"}"#, &mut out);
    let all = events(&out);
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1].1,
        json!({"error": {"message": "Overloaded", "type": "overloaded_error"}})
    );
    let mut plain = MessagesToChat::new("m", false);
    let mut out = String::new();
    for event in anthropic_stream() {
        plain.push(event.to_string().as_bytes(), &mut out);
    }
    assert!(out.ends_with("data: [DONE]\n\n"));
    assert!(!out.contains("\"usage\""));
}

#[test]
fn chat_chunks_become_responses_events() {
    let request: ResponsesRequest = serde_json::from_value(
        json!({"model": "gpt-4o-mini", "input": "Weather?", "stream": true}),
    )
    .expect("request");
    let mut translator = ChatToResponses::new(&request);
    let mut out = String::new();
    for data in text_and_tool_stream() {
        translator.push(data.as_bytes(), &mut out);
    }
    let all = events(&out);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (at, (name, data)) in all.iter().enumerate() {
        assert_eq!(data["type"], json!(name));
        assert_eq!(data["sequence_number"], json!(at), "{name}");
    }
    assert_eq!(all[0].1["response"]["status"], json!("in_progress"));
    assert_eq!(all[0].1["response"]["id"], json!("resp_9"));
    assert_eq!(
        all[2].1["item"],
        json!({"type": "message", "id": "msg_9", "status": "in_progress", "role": "assistant", "content": []})
    );
    assert_eq!(
        all[4].1,
        json!({"type": "response.output_text.delta", "item_id": "msg_9", "output_index": 0, "content_index": 0, "delta": "Hel", "logprobs": [], "sequence_number": 4})
    );
    assert_eq!(all[6].1["text"], json!("Hello"));
    assert_eq!(
        all[9].1["item"],
        json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "", "status": "in_progress"})
    );
    assert_eq!(
        all[10].1,
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": "{\"city\":", "sequence_number": 10})
    );
    assert_eq!(all[12].1["arguments"], json!("{\"city\":\"Paris\"}"));
    let done = &all[14].1["response"];
    assert_eq!(done["status"], json!("completed"));
    assert_eq!(
        done["output"],
        json!([
            {"type": "message", "id": "msg_9", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": "Hello", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"}
        ])
    );
    assert_eq!(
        done["usage"],
        json!({"input_tokens": 40, "input_tokens_details": {"cached_tokens": 32}, "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 52})
    );
}

#[test]
fn a_responses_stream_cut_by_the_limit_is_incomplete() {
    let request: ResponsesRequest =
        serde_json::from_value(json!({"model": "m", "input": "x"})).expect("request");
    let mut translator = ChatToResponses::new(&request);
    let mut out = String::new();
    translator.push(
        chunk(json!({"content": "abc"}), json!("length")).as_bytes(),
        &mut out,
    );
    translator.finish(&mut out);
    let last = events(&out).pop().expect("an event");
    assert_eq!(last.0, "response.incomplete");
    assert_eq!(
        last.1["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
}
