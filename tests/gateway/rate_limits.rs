//! Provider rate limits known before the refusal, without Redis: a channel's `limits`, a
//! `model_limits` group (`*:free` counts every free model of the channel together), and
//! limits learned from the upstream's `x-ratelimit-*` headers. A candidate whose window is
//! full is skipped (as a cooling-down one is): the next candidate serves, or the client gets
//! 503 with `Retry-After`, and `/v1/route/explain` says why. The upstream never sees the
//! request that would have collected a 429.

use crate::support::{MockUpstream, Reply, TestGateway};
use serde_json::{json, Value};

fn config(mock: &MockUpstream, limits: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
channels:
  - id: groq
    provider: mock
    base_url: {url}
    api_key: sk-groq-0123456789
    configured_models: ["llama-a:free", "llama-b:free", "llama-big"]
{limits}
"#,
        url = mock.base_url()
    )
}

async fn chat(gateway: &TestGateway, model: &str) -> (u16, Option<String>, Value) {
    let response = gateway.chat(model).await;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn seconds(retry_after: Option<String>) -> u64 {
    retry_after
        .expect("Retry-After")
        .parse()
        .expect("whole seconds")
}

#[tokio::test]
async fn a_full_channel_window_is_skipped_and_explained() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(&mock, "    limits: { rpm: 2 }")).await;
    assert_eq!(chat(&gateway, "llama-big").await.0, 200);
    assert_eq!(chat(&gateway, "llama-a:free").await.0, 200);
    let (status, retry_after, body) = chat(&gateway, "llama-big").await;
    assert_eq!(status, 503, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("groq/llama-big: rpm limit of 2 reached; the window resets in"),
        "{message}"
    );
    assert!((1..=60).contains(&seconds(retry_after)));
    assert_eq!(mock.completion_count(), 2);

    let explained = gateway
        .get("/v1/route/explain?model=llama-big")
        .await
        .json::<Value>()
        .await
        .expect("json");
    let status = explained["candidates"][0]["status"]
        .as_str()
        .unwrap_or_default();
    assert!(
        status.starts_with("skipped: rpm limit of 2 reached"),
        "{explained}"
    );
    assert_eq!(explained["dropped"][0]["channel"], "groq");
    gateway.stop().await;
}

#[tokio::test]
async fn a_suffix_group_counts_its_models_together_and_others_still_serve() {
    let mock = MockUpstream::start(&[]).await;
    let limits = r#"    model_limits: { "*:free": { rpm: 1 } }"#;
    let gateway = TestGateway::start(&config(&mock, limits)).await;
    assert_eq!(chat(&gateway, "llama-a:free").await.0, 200);
    let (status, _, body) = chat(&gateway, "llama-b:free").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("groq/llama-b:free: rpm limit of 1 reached"));
    // The paid model is outside the group.
    assert_eq!(chat(&gateway, "llama-big").await.0, 200);
    assert_eq!(mock.completion_count(), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn zero_remaining_in_the_upstream_headers_waits_for_the_reset() {
    let mock = MockUpstream::start(&[]).await;
    mock.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "llama-big",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        }),
        headers: vec![
            ("x-ratelimit-limit-requests".into(), "14400".into()),
            ("x-ratelimit-remaining-requests".into(), "0".into()),
            ("x-ratelimit-reset-requests".into(), "42s".into()),
        ],
    });
    let gateway = TestGateway::start(&config(&mock, "")).await;
    assert_eq!(chat(&gateway, "llama-big").await.0, 200);
    let (status, retry_after, body) = chat(&gateway, "llama-big").await;
    assert_eq!(status, 503, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("groq/llama-big: upstream rate limit exhausted for 42s more"),
        "{message}"
    );
    let wait = seconds(retry_after);
    assert!((41..=42).contains(&wait), "{wait}");
    // Only the one model learned it; the others of the channel serve.
    assert_eq!(chat(&gateway, "llama-a:free").await.0, 200);
    assert_eq!(mock.completion_count(), 2);
    gateway.stop().await;
}
