//! What translation adds to a call: the request translated before the first attempt, and the
//! first upstream event turned into the client's first events (the translated stream's extra
//! time to first byte; target ≤ 50 µs). Also the per-event cost of reading Anthropic usage on
//! a passthrough Messages stream.
//!
//! Run: `cargo bench --bench protocol` (times are per call).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use smart_ai_router::protocol::anthropic::MessagesRequest;
use smart_ai_router::protocol::responses::ResponsesRequest;
use smart_ai_router::protocol::stream::{ChatToMessages, ChatToResponses, MessagesToChat};
use smart_ai_router::protocol::to_chat::messages_request_to_chat;
use smart_ai_router::usage::anthropic_usage::AnthropicStreamUsage;

const MESSAGES_BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"system":[{"type":"text","text":"You are a careful assistant. Answer briefly.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"What is the weather in Paris and in Rome today?"},{"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"18C, sunny"},{"type":"text","text":"And Rome?"}]}],"tools":[{"name":"get_weather","description":"The weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}"#;

const FIRST_CHAT_CHUNK: &[u8] = br#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_fc9f1d7035","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#;

const TEXT_CHAT_CHUNK: &[u8] = br#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_fc9f1d7035","choices":[{"index":0,"delta":{"content":" boardwalk"},"logprobs":null,"finish_reason":null}]}"#;

const MESSAGE_START: &[u8] = br#"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#;

const TEXT_DELTA: &[u8] =
    br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" boardwalk"}}"#;

fn bench(c: &mut Criterion) {
    c.bench_function("messages request -> chat body", |b| {
        b.iter(|| {
            let request: Result<MessagesRequest, _> =
                serde_json::from_str(black_box(MESSAGES_BODY));
            let chat = request.ok().map(|r| messages_request_to_chat(&r));
            chat.and_then(|c| c.ok())
                .and_then(|c| serde_json::to_vec(&c).ok())
        })
    });
    c.bench_function("first chat chunk -> messages events", |b| {
        b.iter(|| {
            let mut translator = ChatToMessages::new("claude-sonnet-4-5");
            let mut out = String::new();
            translator.push(black_box(FIRST_CHAT_CHUNK), &mut out);
            translator.push(black_box(TEXT_CHAT_CHUNK), &mut out);
            out
        })
    });
    c.bench_function("message_start -> first chat chunk", |b| {
        b.iter(|| {
            let mut translator = MessagesToChat::new("claude-sonnet-4-5", false);
            let mut out = String::new();
            translator.push(black_box(MESSAGE_START), &mut out);
            out
        })
    });
    let request = ResponsesRequest {
        model: "gpt-4o".into(),
        input: serde_json::json!("Hello"),
        stream: Some(true),
        ..ResponsesRequest::default()
    };
    c.bench_function("first chat chunks -> responses events", |b| {
        b.iter(|| {
            let mut translator = ChatToResponses::new(&request);
            let mut out = String::new();
            translator.push(black_box(FIRST_CHAT_CHUNK), &mut out);
            translator.push(black_box(TEXT_CHAT_CHUNK), &mut out);
            out
        })
    });
    c.bench_function("anthropic usage tap, one text delta", |b| {
        let mut usage = AnthropicStreamUsage::new();
        b.iter(|| usage.observe(black_box(TEXT_DELTA)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
