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
        end: crate::support::StreamEnd::Stall,
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
    // The router's own 404 and 405 on a Messages path answer in that shape too.
    for (method, path, status, kind) in [
        (
            reqwest::Method::GET,
            "/v1/messages",
            405,
            "invalid_request_error",
        ),
        (
            reqwest::Method::PUT,
            "/anthropic/v1/messages",
            405,
            "invalid_request_error",
        ),
        (
            reqwest::Method::POST,
            "/v1/messages/nope",
            404,
            "not_found_error",
        ),
    ] {
        let response = gateway
            .client
            .request(method.clone(), gateway.url(path))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["type"], "error", "{method} {path}: {error}");
        assert_eq!(error["error"]["type"], kind, "{method} {path}: {error}");
    }
    // Elsewhere they stay OpenAI's, and a long path is echoed cut to 512 characters.
    let long = format!("/v1/{}", "x".repeat(20_000));
    let response = gateway.get(&long).await;
    assert_eq!(response.status().as_u16(), 404);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["code"], "unknown_url");
    let message = error["error"]["message"].as_str().expect("message");
    assert!(message.len() < 700, "{} bytes", message.len());
    assert!(message.contains("… (cut: 20004 bytes in all)"), "{message}");
    gateway.stop().await;
}

/// A gateway whose one channel's provider declares the Responses API (`responses: true`).
async fn responses_gateway(upstream: &MockUpstream, logs: &std::path::Path) -> TestGateway {
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "discovery: {{ enabled: false }}\nusage: {{ dir: \"{}\" }}\nchannels:\n  - {{ id: up, provider: mock_responses, \
         base_url: \"{}\", api_key: sk-upstream-0123456789, configured_models: [gpt-5-mini] }}\n",
        logs.display(),
        upstream.base_url()
    );
    crate::support::write_config(dir.path(), &config);
    let providers = format!(
        "{}  mock_responses: {{ base_url: \"http://127.0.0.1:9/v1\", auth: bearer, format: openai, responses: true }}\n",
        crate::support::TEST_PROVIDERS
    );
    std::fs::write(dir.path().join("config/providers.yaml"), providers).expect("providers");
    TestGateway::start_in(dir).await
}

#[tokio::test]
async fn a_channel_that_serves_responses_gets_the_client_bytes() {
    let upstream = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = responses_gateway(&upstream, logs.path()).await;
    let answer = json!({"id": "resp_up", "object": "response", "status": "completed", "model": "gpt-5-mini",
        "output": [{"type": "message", "id": "msg_up", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hi there", "annotations": []}]}],
        "usage": {"input_tokens": 21, "input_tokens_details": {"cached_tokens": 5}, "output_tokens": 3,
                  "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 24}});
    upstream.push(Reply::Json {
        status: 200,
        body: answer.clone(),
        headers: Vec::new(),
    });
    let events = [
        json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_s", "object": "response", "status": "in_progress", "output": []}}),
        json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_s", "output_index": 0, "content_index": 0, "delta": "Hi"}),
        json!({"type": "response.completed", "sequence_number": 2, "response": {"id": "resp_s", "object": "response", "status": "completed", "output": [],
               "usage": {"input_tokens": 40, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 42}}}),
    ];
    let pieces: Vec<bytes::Bytes> = events
        .iter()
        .map(|e| {
            bytes::Bytes::from(format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or("")
            ))
        })
        .collect();
    let raw_stream: String = pieces
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    upstream.push(Reply::StreamBytes {
        pieces,
        gap: std::time::Duration::ZERO,
        end: crate::support::StreamEnd::Stall,
    });

    let client_body =
        r#"{"input":"Hello","model":"gpt-5-mini","reasoning":{"effort":"minimal"},"x_custom":1}"#;
    let response = gateway
        .client
        .post(gateway.url("/v1/responses"))
        .header("content-type", "application/json")
        .body(client_body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json"), answer);
    let (status, _, text) = post(
        &gateway,
        "/v1/responses",
        json!({"model": "gpt-5-mini", "input": "Hello", "stream": true}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, raw_stream, "the upstream's events, unchanged");
    let sent = upstream.completions();
    assert_eq!(sent[0].path, "/v1/responses");
    assert_eq!(sent[0].body, client_body.as_bytes(), "the client's bytes");
    assert_eq!(sent[1].json().get("stream_options"), None);

    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
    let records = crate::support::usage_log::read_usage(logs.path());
    assert_eq!(records.len(), 2);
    let tokens: Vec<(Value, Value, Value)> = records
        .iter()
        .map(|r| {
            (
                r["input_tokens"].clone(),
                r["cached_tokens"].clone(),
                r["output_tokens"].clone(),
            )
        })
        .collect();
    assert!(
        tokens.contains(&(json!(21), json!(5), json!(3))),
        "{tokens:?}"
    );
    assert!(
        tokens.contains(&(json!(40), json!(0), json!(2))),
        "{tokens:?}"
    );
    assert!(records
        .iter()
        .all(|r| r["request_format"] == "openai_responses"
            && r["status"] == "success"
            && r["usage_estimated"] == false));
    // The history row names the API the client spoke, as the record does.
    let id = records[0]["request_id"].as_str().expect("request id");
    assert_eq!(
        gateway.history_row(id, None).await["request_format"],
        "openai_responses"
    );
    gateway.stop().await;
}
