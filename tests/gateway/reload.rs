//! Live reload (docs/discovery.md): a reload that adds a channel, one that disables a channel, broken
//! YAML (the old config keeps serving and `/health` says why), the file watcher, an in-flight
//! request finishing on the old catalog, and a 401 blacklist lifting when the key changes.

use std::time::{Duration, Instant};

use crate::support::{MockUpstream, Reply, TestGateway};
use serde_json::Value;

fn channel(id: &str, base_url: &str, key: &str, models: &str) -> String {
    format!("  - {{ id: {id}, provider: mock, base_url: \"{base_url}\", api_key: {key}, configured_models: [{models}] }}\n")
}

fn config(channels: &[String]) -> String {
    format!(
        "discovery: {{ enabled: true, interval_s: 3600, timeout_s: 2 }}\nchannels:\n{}",
        channels.concat()
    )
}

async fn generation(gateway: &TestGateway) -> u64 {
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    health["catalog"]["generation"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_reload_adds_a_channel_and_discovers_only_it() {
    let first = MockUpstream::start(&["alpha-model"]).await;
    let second = MockUpstream::start(&["beta-model"]).await;
    let one = channel("first", &first.base_url(), "k1", "alpha-model");
    let gateway = TestGateway::start(&config(std::slice::from_ref(&one))).await;
    assert_eq!(gateway.chat("beta-model").await.status(), 404);
    gateway.rewrite_config(&config(&[
        one,
        channel("second", &second.base_url(), "k2", "other"),
    ]));
    let (status, body) = gateway.reload(None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["rediscovered"], serde_json::json!(["second"]));
    let response = gateway.chat("beta-model").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("x-router-channel")
            .and_then(|v| v.to_str().ok()),
        Some("second")
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_reload_that_disables_a_channel_removes_its_models() {
    let mock = MockUpstream::start(&[]).await;
    let on = channel("ch", &mock.base_url(), "k", "only-model");
    let gateway = TestGateway::start(
        &config(std::slice::from_ref(&on)).replace("enabled: true", "enabled: false"),
    )
    .await;
    assert_eq!(gateway.chat("only-model").await.status(), 200);
    let off = on.replace("api_key: k,", "api_key: k, enabled: false,");
    gateway.rewrite_config(
        &config(&[off]).replace("enabled: true, interval", "enabled: false, interval"),
    );
    assert_eq!(gateway.reload(None).await.0, 200);
    let response = gateway.chat("only-model").await;
    assert_eq!(response.status(), 404);
    gateway.stop().await;
}

#[tokio::test]
async fn broken_yaml_is_rejected_and_the_old_config_keeps_serving() {
    let mock = MockUpstream::start(&[]).await;
    let good = config(&[channel("ch", &mock.base_url(), "k", "kept-model")])
        .replace("enabled: true", "enabled: false");
    let gateway = TestGateway::start(&good).await;
    let before = generation(&gateway).await;
    std::fs::write(
        gateway.config_dir().join("router_config.yaml"),
        "channels:\n  - id: [unclosed\n",
    )
    .expect("write");
    let (status, body) = gateway.reload(None).await;
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap_or("").to_string();
    let file = gateway.config_dir().join("router_config.yaml");
    assert_eq!(
        message,
        format!("{}:3: did not find expected ',' or ']', while parsing a flow sequence at line 2 column 9", file.display())
    );
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["config_error"].as_str(), Some(message.as_str()));
    assert_eq!(generation(&gateway).await, before, "nothing swapped");
    assert_eq!(
        gateway.chat("kept-model").await.status(),
        200,
        "the old config serves"
    );
    gateway.rewrite_config(&good);
    assert_eq!(gateway.reload(None).await.0, 200);
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(health["config_error"], Value::Null);
    gateway.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_config_path_that_is_a_fifo_or_a_device_is_refused_without_blocking() {
    let mock = MockUpstream::start(&[]).await;
    let good = config(&[channel("ch", &mock.base_url(), "k", "kept-model")])
        .replace("enabled: true", "enabled: false");
    let gateway = TestGateway::start(&good).await;
    let file = gateway.config_dir().join("router_config.yaml");
    // A FIFO blocks whoever opens it until something writes; /dev/zero never ends.
    std::fs::remove_file(&file).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(&file)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let (status, body) = gateway.reload(None).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("cannot read: not a regular file"),
        "{message}"
    );
    std::fs::remove_file(&file).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", &file).expect("symlink");
    let (status, _) = gateway.reload(None).await;
    assert_eq!(status, 400);
    // Every serving thread still answers, and the old config serves.
    for _ in 0..8 {
        let health: Value = gateway.get("/health").await.json().await.expect("json");
        assert_eq!(health["status"], "degraded");
    }
    assert_eq!(gateway.chat("kept-model").await.status(), 200);
    std::fs::remove_file(&file).expect("remove");
    gateway.rewrite_config(&good);
    assert_eq!(gateway.reload(None).await.0, 200);
    gateway.stop().await;
}

#[tokio::test]
async fn the_file_watcher_picks_up_an_edit() {
    let mock = MockUpstream::start(&[]).await;
    let base = config(&[channel("ch", &mock.base_url(), "k", "m1")])
        .replace("enabled: true", "enabled: false");
    let gateway = TestGateway::start(&base).await;
    let before = generation(&gateway).await;
    gateway.rewrite_config(&base.replace("configured_models: [m1]", "configured_models: [m1, m2]"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while generation(&gateway).await == before {
        assert!(
            Instant::now() < deadline,
            "the edit was not picked up within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gateway.chat("m2").await.status(), 200);
    gateway.stop().await;
}

#[tokio::test]
async fn an_in_flight_request_finishes_on_the_old_catalog() {
    let mock = MockUpstream::start(&[]).await;
    mock.push(Reply::delayed(Duration::from_millis(400), Reply::Echo));
    let base = config(&[channel("ch", &mock.base_url(), "k", "slow-model")])
        .replace("enabled: true", "enabled: false");
    let gateway = TestGateway::start(&base).await;
    let url = gateway.url("/v1/chat/completions");
    let client = gateway.client.clone();
    let slow = tokio::spawn(async move {
        client
            .post(url)
            .json(&serde_json::json!({"model": "slow-model", "messages": []}))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    // Wait until the upstream has the request, then remove the channel.
    let deadline = Instant::now() + Duration::from_secs(5);
    while mock.completions().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the slow request never reached the mock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gateway.rewrite_config(&base.replace("api_key: k,", "api_key: k, enabled: false,"));
    assert_eq!(gateway.reload(None).await.0, 200);
    assert_eq!(
        gateway.chat("slow-model").await.status(),
        404,
        "new requests see the new config"
    );
    assert_eq!(
        slow.await.ok().and_then(Result::ok),
        Some(200),
        "the in-flight one finished"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_401_blacklist_lifts_when_the_key_changes() {
    let mock = MockUpstream::start(&[]).await;
    mock.push(Reply::error(401, "invalid api key"));
    let base = config(&[channel("ch", &mock.base_url(), "old-key", "keyed-model")])
        .replace("enabled: true", "enabled: false");
    let gateway = TestGateway::start(&base).await;
    assert_eq!(gateway.chat("keyed-model").await.status(), 502);
    assert_eq!(
        gateway.chat("keyed-model").await.status(),
        503,
        "blacklisted: nothing to try"
    );
    assert_eq!(mock.completions().len(), 1);
    gateway.rewrite_config(&base.replace("old-key", "new-key"));
    assert_eq!(gateway.reload(None).await.0, 200);
    let response = gateway.chat("keyed-model").await;
    assert_eq!(response.status(), 200);
    let sent = mock.completions();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer new-key")
    );
    gateway.stop().await;
}

#[tokio::test]
async fn sighup_reloads_without_any_file_change() {
    let mock = MockUpstream::start(&[]).await;
    let base = config(&[channel("ch", &mock.base_url(), "k", "m1")])
        .replace("enabled: true", "enabled: false");
    let gateway = TestGateway::start(&base).await;
    let before = generation(&gateway).await;
    // The gateway has installed its SIGHUP handler; signal this (test) process.
    let sent = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(std::process::id().to_string())
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while generation(&gateway).await == before {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gateway.chat("m1").await.status(), 200);
    gateway.stop().await;
}
