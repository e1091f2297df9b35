//! Upstream calls through the proxy the environment names (`HTTP_PROXY`, as every HTTP client
//! the gateway used honoured): the calls' lean client steps aside for `reqwest`. A channel whose
//! host does not resolve is reached through the proxy (a mock that answers the absolute-form
//! request itself, as a forward proxy would relay it); without the variable, the same call
//! cannot connect.

use serde_json::json;

use crate::support::binary::GatewayProcess;
use crate::support::{write_config, MockUpstream};

const CONFIG: &str = r#"
discovery: { enabled: false }
channels:
  - { id: far, provider: mock, base_url: "http://upstream.invalid:9/v1", api_key: sk-far-0123456789, timeout_s: 5, configured_models: [px-model] }
"#;

async fn chat(gateway: &GatewayProcess) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.base))
        .json(&json!({"model": "px-model", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_through_the_proxy_the_environment_names() {
    let proxy = MockUpstream::start(&["px-model"]).await;
    let root = tempfile::tempdir().expect("dir");
    write_config(root.path(), CONFIG);
    let config_dir = root.path().join("config");
    let proxy_url = proxy.base_url().trim_end_matches("/v1").to_string();

    let gateway =
        GatewayProcess::start_with_env(&config_dir, None, &[("HTTP_PROXY", &proxy_url)]).await;
    let response = chat(&gateway).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-router-channel"]
            .to_str()
            .expect("ascii"),
        "far"
    );
    let seen = proxy.recorded();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].headers["host"], "upstream.invalid:9");
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-far-0123456789");
    drop(gateway);

    // Without the variable the gateway connects directly, and the host does not resolve.
    let direct = GatewayProcess::start(&config_dir, None).await;
    let response = chat(&direct).await;
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.expect("json");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("connection failed"), "{body}");
    assert_eq!(proxy.recorded().len(), 1);
}
