//! The server starts, answers `/health` and its aliases, answers unknown routes with an
//! OpenAI-style error, and stops gracefully.

use crate::support::TestGateway;
use serde_json::Value;

const CONFIG: &str = r#"
discovery: { enabled: false }
channels:
  - { id: local, provider: mock_local, configured_models: ["qwen3:8b"] }
  - { id: keyless, provider: mock }
"#;

#[tokio::test]
async fn health_answers_with_channel_counts_on_every_alias() {
    let gateway = TestGateway::start(CONFIG).await;
    for path in ["/health", "/health/liveliness", "/health/readiness"] {
        let response = gateway.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["status"], "ok", "{path}");
        assert_eq!(body["channels"]["total"], 2);
        assert_eq!(body["channels"]["enabled"], 1);
        assert_eq!(body["channels"]["disabled"], 1);
        assert_eq!(body["config_error"], Value::Null);
        assert_eq!(body["catalog"]["entries"], 1);
        assert_eq!(
            body["discovery"]["keyless"]["disabled_reason"],
            "no api_key, and provider mock needs one"
        );
        assert_eq!(body["usage"]["dropped_records"], 0);
    }
    gateway.stop().await;
}

#[tokio::test]
async fn an_unknown_route_gets_an_openai_error() {
    let gateway = TestGateway::start(CONFIG).await;
    let response = gateway.get("/v2/nothing").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unknown_url");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        "Unrecognized request URL (GET /v2/nothing). See the README for the routes this gateway serves."
    );
    gateway.stop().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let gateway = TestGateway::start(CONFIG).await;
    let url = gateway.url("/health");
    assert_eq!(gateway.get("/health").await.status(), 200);
    gateway.stop().await;
    let after = reqwest::Client::new().get(url).send().await;
    assert!(after.is_err(), "the listener is closed after shutdown");
}
