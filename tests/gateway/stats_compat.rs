//! Stats answers that scripts written for the original router read: channel-status's
//! `notified_channels`, `error_counts`, `last_error_times`; cost-breakdown items keyed by
//! `model` / `channel` / `provider`; calls that reached no channel counted as such; clearing
//! the alerts of an unknown channel is a 404.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{MockUpstream, Reply, TestGateway};

async fn data(gateway: &TestGateway, path: &str) -> Value {
    let body: Value = gateway.get(path).await.json().await.expect("json");
    assert_eq!(body["success"], true, "{path}: {body}");
    body["data"].clone()
}

/// Poll `path` until `done` holds (bounded: the alert is written by a background task).
async fn data_when(gateway: &TestGateway, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let value = data(gateway, path).await;
        if done(&value) || tokio::time::Instant::now() > deadline {
            return value;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn channel_status_and_breakdowns_use_the_original_field_names() {
    let rejecting = MockUpstream::start(&[]).await;
    rejecting.set_default(Reply::error(401, "invalid api key"));
    let failing = MockUpstream::start(&[]).await;
    failing.set_default(Reply::error(500, "boom"));
    let working = MockUpstream::start(&[]).await;
    let config = format!(
        r#"
discovery: {{ enabled: false }}
routing: {{ max_attempts: 1 }}
channels:
  - {{ id: bad, name: Bad Key, provider: mock, base_url: "{}", api_key: k1, configured_models: [model-a-8b] }}
  - {{ id: flaky, name: Flaky, provider: mock, base_url: "{}", api_key: k2, configured_models: [model-b-8b] }}
  - {{ id: good, name: Good, provider: mock, base_url: "{}", api_key: k3, configured_models: [model-c-8b], pricing: {{ input: 1, output: 2 }} }}
"#,
        rejecting.base_url(),
        failing.base_url(),
        working.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    assert_eq!(gateway.chat("model-a-8b").await.status(), 502);
    assert_eq!(gateway.chat("model-b-8b").await.status(), 502);
    assert_eq!(gateway.chat("model-c-8b").await.status(), 200);
    // Its only channel is blacklisted now: this call reaches no channel.
    assert_eq!(gateway.chat("model-a-8b").await.status(), 503);

    // Alerts and usage records are written in the background: wait for both, bounded.
    let status = data_when(&gateway, "/v1/stats/channel-status", |v| {
        v["notified_channels"] == json!(["bad"]) && v["error_counts"].get("flaky").is_some()
    })
    .await;
    assert_eq!(status["notified_channels"], json!(["bad"]));
    assert_eq!(status["error_counts"], json!({"bad": 1, "flaky": 1}));
    let times = status["last_error_times"].as_object().expect("object");
    assert_eq!(times.keys().collect::<Vec<_>>(), ["bad", "flaky"]);
    for at in times.values() {
        let at = at.as_str().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }
    assert_eq!(status["channels"].as_array().map(Vec::len), Some(3));

    let daily = data_when(&gateway, "/v1/stats/daily", |v| v["total_requests"] == 4).await;
    assert_eq!(daily["total_requests"], 4);
    assert_eq!(daily["unrouted_requests"], 1);
    assert_eq!(
        daily["providers"]
            .as_object()
            .map(|p| p.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["mock".to_string()])
    );
    assert!(daily["models"].get("(none)").is_none());
    assert_eq!(daily["channels"]["good"]["requests"], 1);

    let by_model = data(&gateway, "/v1/stats/cost-breakdown?breakdown_by=model").await;
    let models: Vec<&str> = by_model["breakdown"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["model"].as_str())
        .collect();
    assert_eq!(models, ["model-c-8b", "model-a-8b", "model-b-8b"]);
    assert_eq!(by_model["unrouted_requests"], 1);
    let by_channel = data(&gateway, "/v1/stats/cost-breakdown?breakdown_by=channel").await;
    assert_eq!(by_channel["breakdown"][0]["channel"], "good");
    assert_eq!(by_channel["breakdown"][0]["name"], "Good");
    let by_provider = data(&gateway, "/v1/stats/cost-breakdown?breakdown_by=provider").await;
    assert_eq!(by_provider["breakdown"][0]["provider"], "mock");
    assert_eq!(by_provider["breakdown"].as_array().map(Vec::len), Some(1));

    let unknown = gateway
        .client
        .post(gateway.url("/v1/stats/clear-alerts/nobody"))
        .send()
        .await
        .expect("clear");
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(body["error"]["code"], "channel_not_found");
    let known = gateway
        .client
        .post(gateway.url("/v1/stats/clear-alerts/flaky"))
        .send()
        .await
        .expect("clear");
    assert_eq!(known.status(), 200);
    gateway.stop().await;
}
