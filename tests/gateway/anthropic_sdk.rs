//! The gateway as the official Anthropic Python SDK sees it (`POST /v1/messages`): create,
//! stream, a tools round trip, an image block, count_tokens and a 404, made by
//! `tests/python/anthropic_sdk_check.py` against a gateway whose channel is a native Anthropic
//! mock (passthrough) or an OpenAI mock (translation). The SDK must be installed (`.ci/run`
//! installs it): without it these tests fail.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::usage_log::read_usage;
use crate::support::{AnthropicMock, MockUpstream, Reply, TestGateway};

const TOKEN: &str = "sar-test-token-0123456789";

/// Run the SDK script against `base_url`; what it saw.
pub async fn run_sdk_script(script: &str, args: &[&str]) -> Value {
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let run = tokio::process::Command::new("python3")
        .arg(script)
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK script finishes")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.trim()).expect("the script prints JSON")
}

fn config(provider: &str, base_url: &str, logs: &std::path::Path) -> String {
    format!(
        r#"
auth: {{ enabled: true, api_token: {TOKEN} }}
discovery: {{ enabled: false }}
usage: {{ dir: "{logs}" }}
channels:
  - id: up
    provider: {provider}
    base_url: {base_url}
    api_key: sk-upstream-key-0123456789
    configured_models: [claude-sonnet-4-5]
"#,
        logs = logs.display()
    )
}

#[tokio::test]
async fn the_anthropic_sdk_against_a_native_anthropic_channel() {
    let upstream = AnthropicMock::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = TestGateway::start(&config("mock_xkey", &upstream.base_url(), logs.path())).await;
    let seen = run_sdk_script(
        "anthropic_sdk_check.py",
        &[&gateway.base, TOKEN, "claude-sonnet-4-5"],
    )
    .await;
    let cache_usage = json!({"input_tokens": 12, "output_tokens": 7, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 50});
    assert_eq!(seen["router_channel"], "up");
    assert_eq!(
        seen["create"],
        json!({"type": "message", "role": "assistant", "text": "Hello from the Anthropic mock.", "stop_reason": "end_turn", "usage": cache_usage})
    );
    assert_eq!(
        seen["stream"],
        json!({"pieces": ["Hello from", " the Anthropic", " mock."], "text": "Hello from the Anthropic mock.", "stop_reason": "end_turn", "usage": cache_usage})
    );
    assert_eq!(
        seen["tools"],
        json!({"stop_reason": "tool_use", "calls": [{"name": "get_weather", "input": {"location": "Paris"}}],
               "answer": "Hello from the Anthropic mock.", "answer_stop_reason": "end_turn"})
    );
    assert_eq!(seen["image"], "Hello from the Anthropic mock.");
    assert_eq!(seen["count_tokens"], 15);
    assert_eq!(
        seen["not_found"],
        json!({"status": 404, "type": "not_found_error"})
    );

    // Passthrough: the client's bytes with only `model` replaced, the channel's key and version.
    let sent = upstream.messages();
    assert_eq!(sent.len(), 5);
    assert_eq!(sent[0].headers["x-api-key"], "sk-upstream-key-0123456789");
    assert_eq!(sent[0].headers["anthropic-version"], "2023-06-01");
    assert_eq!(
        sent[0].json(),
        json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hello"}]})
    );
    assert_eq!(sent[1].json()["stream"], true);
    assert_eq!(sent[1].json().get("stream_options"), None);
    assert_eq!(sent[4].json()["messages"][0]["content"][0]["type"], "image");

    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
    let records = read_usage(logs.path());
    let served: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "success")
        .collect();
    assert_eq!(served.len(), 5);
    for record in &served {
        assert_eq!(record["request_format"], "anthropic_messages");
        assert_eq!(record["channel_format"], "anthropic");
    }
    // The history row names the API the client spoke, as the record does.
    for record in &served {
        let id = record["request_id"].as_str().expect("request id");
        assert_eq!(
            gateway.history_row(id, Some(TOKEN)).await["request_format"],
            "anthropic_messages"
        );
    }
    let streamed = served
        .iter()
        .find(|r| r["stream"] == true)
        .expect("the stream's record");
    assert_eq!(
        (
            &streamed["input_tokens"],
            &streamed["cached_tokens"],
            &streamed["cache_write_tokens"],
            &streamed["output_tokens"]
        ),
        (&json!(162), &json!(50), &json!(100), &json!(7))
    );
    gateway.stop().await;
}

#[tokio::test]
async fn the_anthropic_sdk_against_an_openai_channel() {
    let upstream = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = TestGateway::start(&config("mock", &upstream.base_url(), logs.path())).await;
    // create, stream: the echo; the tools round trip: a call, then the echo; the image: echo.
    upstream.push(Reply::Echo);
    upstream.push(Reply::Echo);
    upstream.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-tool", "object": "chat.completion", "created": 1700000000, "model": "claude-sonnet-4-5",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}
        }),
        headers: Vec::new(),
    });
    let seen = run_sdk_script(
        "anthropic_sdk_check.py",
        &[&gateway.url("/anthropic"), TOKEN, "claude-sonnet-4-5"],
    )
    .await;
    assert_eq!(
        seen["create"],
        json!({"type": "message", "role": "assistant", "text": "Hello from the mock.", "stop_reason": "end_turn",
               "usage": {"input_tokens": 12, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    );
    assert_eq!(
        seen["stream"],
        json!({"pieces": ["Hello", " from", " the", " mock."], "text": "Hello from the mock.", "stop_reason": "end_turn",
               "usage": {"input_tokens": 12, "output_tokens": 4, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    );
    assert_eq!(
        seen["tools"],
        json!({"stop_reason": "tool_use", "calls": [{"name": "get_weather", "input": {"location": "Paris"}}],
               "answer": "Hello from the mock.", "answer_stop_reason": "end_turn"})
    );
    assert_eq!(seen["image"], "Hello from the mock.");
    assert_eq!(seen["count_tokens"], 15);
    assert_eq!(
        seen["not_found"],
        json!({"status": 404, "type": "not_found_error"})
    );

    // Translated: chat requests, the tool result as a tool message, the image as a data URL.
    let sent = upstream.completions();
    assert_eq!(sent.len(), 5);
    assert_eq!(
        sent[0].json(),
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 100})
    );
    assert_eq!(
        sent[1].json()["stream_options"],
        json!({"include_usage": true})
    );
    let round_trip = sent[3].json();
    assert_eq!(
        round_trip["messages"][1]["tool_calls"][0]["function"]["arguments"],
        "{\"location\":\"Paris\"}"
    );
    assert_eq!(
        round_trip["messages"][2],
        json!({"role": "tool", "content": "18C, sunny", "tool_call_id": "call_1"})
    );
    assert_eq!(
        sent[4].json()["messages"][0]["content"][0]["image_url"]["url"]
            .as_str()
            .map(|u| u.starts_with("data:image/png;base64,iVBOR")),
        Some(true)
    );
    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
    let records = read_usage(logs.path());
    let served: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "success")
        .collect();
    assert_eq!(served.len(), 5);
    assert!(served
        .iter()
        .all(|r| r["request_format"] == "anthropic_messages" && r["channel_format"] == "openai"));
    gateway.stop().await;
}
