//! The OpenAI SDK across formats: chat completions served by a native Anthropic channel
//! (translated to Messages and back, cache figures included), the Responses API served by an
//! OpenAI-format channel, and failover that crosses formats (an Anthropic channel answering
//! 529 or breaking a stream before its first byte hands the call to an OpenAI-format one).

use serde_json::{json, Value};

use crate::anthropic_sdk::run_sdk_script;
use crate::support::{AnthropicMock, AnthropicReply, MockUpstream, Reply, TestGateway};

fn one_channel(provider: &str, base_url: &str) -> String {
    format!(
        "discovery: {{ enabled: false }}\nchannels:\n  - {{ id: up, provider: {provider}, base_url: \"{base_url}\", \
         api_key: sk-upstream-0123456789, configured_models: [claude-sonnet-4-5] }}\n"
    )
}

#[tokio::test]
async fn openai_chat_against_a_native_anthropic_channel() {
    let upstream = AnthropicMock::start(&[]).await;
    let gateway = TestGateway::start(&one_channel("mock_xkey", &upstream.base_url())).await;
    let seen = run_sdk_script(
        "openai_protocols_check.py",
        &[&gateway.url("/v1"), "claude-sonnet-4-5", "chat"],
    )
    .await;
    // Anthropic's input 12 + cache write 100 + cache read 50 = 162 prompt tokens.
    assert_eq!(
        seen["plain"],
        json!({"text": "Hello from the Anthropic mock.", "finish_reason": "stop", "prompt_tokens": 162, "completion_tokens": 7, "cached_tokens": 50})
    );
    assert_eq!(
        seen["stream"],
        json!({"pieces": ["Hello from", " the Anthropic", " mock."], "finish_reason": ["stop"],
               "usage": {"prompt_tokens": 162, "completion_tokens": 7, "total_tokens": 169}, "cached_tokens": 50})
    );
    assert_eq!(
        seen["tools"],
        json!({"finish_reason": "tool_calls", "name": "get_weather", "arguments": {"location": "Paris"}})
    );
    let sent = upstream.messages();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[0].json(),
        json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "messages": [{"role": "user", "content": "Hello"}]})
    );
    assert_eq!(
        sent[2].json()["tools"],
        json!([{"name": "get_weather", "description": "The weather in a city",
                "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}])
    );
    gateway.stop().await;
}

#[tokio::test]
async fn the_responses_api_against_an_openai_channel() {
    let upstream = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&one_channel("mock", &upstream.base_url())).await;
    upstream.push(Reply::Echo);
    upstream.push(Reply::Echo);
    upstream.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-tool", "object": "chat.completion", "created": 1700000000, "model": "claude-sonnet-4-5",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}
        }),
        headers: Vec::new(),
    });
    let seen = run_sdk_script(
        "openai_protocols_check.py",
        &[&gateway.url("/v1"), "claude-sonnet-4-5", "responses"],
    )
    .await;
    assert_eq!(
        seen["plain"],
        json!({"status": "completed", "text": "Hello from the mock.", "usage": {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}})
    );
    assert_eq!(
        seen["stream"],
        json!({
            "types": ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                      "response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
                      "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
            "text": "Hello from the mock.", "final_text": "Hello from the mock.",
            "usage": {"input_tokens": 12, "output_tokens": 4, "total_tokens": 16}
        })
    );
    assert_eq!(
        seen["tools"],
        json!([{"name": "get_weather", "call_id": "call_7", "arguments": {"location": "Paris"}}])
    );
    assert_eq!(seen["tool_answer"], "Hello from the mock.");
    assert_eq!(
        seen["previous"],
        json!({"status": 400, "mentions_state": true})
    );
    assert_eq!(seen["retrieve"], "claude-sonnet-4-5");
    let sent = upstream.completions();
    assert_eq!(sent.len(), 4, "the refused call never reaches the upstream");
    assert_eq!(
        sent[0].json(),
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]})
    );
    assert_eq!(
        sent[3].json()["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
            {"role": "tool", "content": "18C, sunny", "tool_call_id": "call_7"}
        ])
    );
    gateway.stop().await;
}

/// An Anthropic channel first (priority 0), an OpenAI-format one second, same model.
fn two_formats(anthropic: &AnthropicMock, openai: &MockUpstream) -> String {
    format!(
        "discovery: {{ enabled: false }}\nchannels:\n\
         - {{ id: claude, provider: mock_xkey, base_url: \"{}\", api_key: sk-ant-0123456789, priority: 0, configured_models: [claude-sonnet-4-5] }}\n\
         - {{ id: compat, provider: mock, base_url: \"{}\", api_key: sk-oai-0123456789, priority: 1, configured_models: [claude-sonnet-4-5] }}\n",
        anthropic.base_url(),
        openai.base_url()
    )
}

async fn post(
    gateway: &TestGateway,
    path: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = gateway.post_json(path, &body).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

#[tokio::test]
async fn an_overloaded_anthropic_channel_fails_over_to_an_openai_one() {
    let anthropic = AnthropicMock::start(&[]).await;
    let openai = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&two_formats(&anthropic, &openai)).await;
    anthropic.push(AnthropicReply::Overloaded);
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, headers, text) = post(&gateway, "/v1/messages", body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["x-router-channel"], "compat");
    assert_eq!(headers["x-router-attempts"], "2");
    let answer: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["content"][0]["text"], "Hello from the mock.");
    assert_eq!(anthropic.messages().len(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_messages_stream_that_fails_before_its_first_byte_fails_over_across_formats() {
    let anthropic = AnthropicMock::start(&[]).await;
    let openai = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&two_formats(&anthropic, &openai)).await;
    // The Anthropic stream's first data event is an overloaded error: nothing reached the
    // client yet, so the call moves to the OpenAI-format channel and is translated.
    anthropic.push(AnthropicReply::Generic(Reply::StreamBytes {
        pieces: vec![bytes::Bytes::from(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        )],
        gap: std::time::Duration::ZERO,
        end: crate::support::StreamEnd::Close,
    }));
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, headers, text) = post(&gateway, "/v1/messages", body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["x-router-channel"], "compat");
    assert_eq!(headers["content-type"], "text/event-stream");
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(text.contains("\"stop_reason\":\"end_turn\""), "{text}");
    gateway.stop().await;
}

#[tokio::test]
async fn gateway_errors_on_messages_are_in_anthropic_shape_with_router_headers() {
    let openai = MockUpstream::start(&[]).await;
    openai.set_default(Reply::error(500, "boom"));
    let gateway = TestGateway::start(&one_channel("mock", &openai.base_url())).await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, headers, text) = post(&gateway, "/v1/messages", body).await;
    assert_eq!(status, 502);
    assert!(headers.contains_key("x-router-attempts"));
    let error: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "api_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("boom")),
        "{text}"
    );
    // A 400 from an OpenAI channel reaches a Messages client in Anthropic's shape.
    openai.push(Reply::error(400, "max_tokens is too large"));
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, _, text) = post(&gateway, "/v1/messages", body).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("json"),
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens is too large"}})
    );
    gateway.stop().await;
}
