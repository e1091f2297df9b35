//! What a newcomer and an operator see: aliases in `/v1/models` and as tags, `created` from the
//! upstream, a 401 during discovery raising the alert and the blacklist, readiness 503 until a
//! model is routable, an empty catalog explained (404, `/health`, `models`), and no reload
//! warning because `--port` was given.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{MockUpstream, Reply, TestGateway};

async fn discover(gateway: &TestGateway) -> Value {
    let response = gateway
        .client
        .post(gateway.url("/v1/admin/discover"))
        .send()
        .await
        .expect("discover");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn json_of(gateway: &TestGateway, path: &str) -> (u16, Value) {
    let response = gateway.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn aliases_are_listed_and_their_words_become_tags() {
    let upstream = MockUpstream::start(&["ep-20250203083646-2szv9", "qwen3-8b"]).await;
    let config = format!(
        r#"
discovery: {{ enabled: false }}
channels:
  - id: ark
    provider: mock
    base_url: "{}"
    api_key: k
    configured_models: [ep-20250203083646-2szv9, qwen3-8b]
    model_aliases: {{ doubao-1.5-pro-256k: ep-20250203083646-2szv9 }}
"#,
        upstream.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    let (_, list) = json_of(&gateway, "/v1/models").await;
    let items = list["data"].as_array().expect("items");
    let ids: Vec<&str> = items.iter().filter_map(|m| m["id"].as_str()).collect();
    // One list, sorted by id: models and aliases alike.
    assert_eq!(
        ids,
        ["doubao-1.5-pro-256k", "ep-20250203083646-2szv9", "qwen3-8b"]
    );
    let alias = &items[0];
    assert_eq!(alias["alias_of"], "ep-20250203083646-2szv9");
    assert_eq!(alias["channel"], "ark");
    assert_eq!(alias["channels"], json!(["ark"]));
    let tags: Vec<&str> = alias["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for tag in ["doubao", "1.5", "pro", "256k"] {
        assert!(tags.contains(&tag), "{tag} not in {tags:?}");
    }
    assert!(items[1]["tags"]
        .as_array()
        .expect("tags")
        .contains(&json!("doubao")));
    assert!(items[1].get("alias_of").is_none());

    // A tag query reaches the model known only by its alias; the upstream gets its own id.
    let answer = gateway.chat("tag:doubao,pro").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        upstream.completions()[0].json()["model"],
        "ep-20250203083646-2szv9"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn created_comes_from_the_upstream_list() {
    let upstream = MockUpstream::start(&["m-7b"]).await;
    let config = format!(
        "discovery: {{ enabled: false }}\nchannels:\n  - {{ id: c, provider: mock, base_url: \"{}\", api_key: k }}\n",
        upstream.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    discover(&gateway).await;
    let (_, list) = json_of(&gateway, "/v1/models").await;
    assert_eq!(list["data"][0]["id"], "m-7b");
    assert_eq!(list["data"][0]["created"], 1_700_000_000);
    gateway.stop().await;
}

#[tokio::test]
async fn a_401_during_discovery_raises_the_alert_and_blacklists_the_channel() {
    let upstream = MockUpstream::start(&[]).await;
    upstream.set_models_reply(Some(Reply::error(401, "Incorrect API key provided")));
    let config = format!(
        "discovery: {{ enabled: false }}\nchannels:\n  - {{ id: rejected, name: Rejected, provider: mock, base_url: \"{}\", api_key: sk-wrong-0123456789abcdef, configured_models: [m-8b] }}\n",
        upstream.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    let report = discover(&gateway).await;
    assert_eq!(report["data"]["channels"][0]["ok"], false, "{report}");

    let (_, status) = json_of(&gateway, "/v1/stats/channel-status").await;
    let channel = &status["data"]["channels"][0];
    assert_eq!(channel["blacklisted"]["reason"], "invalid_api_key");
    // The alert is written by the background writer: wait for it, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let alerts = loop {
        let (_, alerts) = json_of(&gateway, "/v1/stats/alerts").await;
        if alerts["data"]["total_alerts"] == 1 || tokio::time::Instant::now() > deadline {
            break alerts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let alert = &alerts["data"]["alerts"][0];
    assert_eq!(alert["alert_type"], "invalid_api_key");
    assert_eq!(alert["channel_id"], "rejected");
    let message = alert["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("API key rejected by the upstream: during discovery: "),
        "{message}"
    );
    assert!(!message.contains("sk-wrong"), "{message}");
    // A call is not even tried on the blacklisted channel.
    assert_eq!(gateway.chat("m-8b").await.status(), 503);
    assert_eq!(upstream.completion_count(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn readiness_is_503_until_a_model_is_routable() {
    let upstream = MockUpstream::start(&["m-8b"]).await;
    let config = format!(
        "discovery: {{ enabled: false }}\nchannels:\n  - {{ id: late, provider: mock, base_url: \"{}\", api_key: k }}\n",
        upstream.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    let (status, body) = json_of(&gateway, "/health/readiness").await;
    assert_eq!(status, 503);
    assert_eq!(
        (body["ready"].clone(), body["routable_entries"].clone()),
        (json!(false), json!(0))
    );
    assert_eq!(
        body["not_ready_reason"],
        "the catalog is empty: 1 enabled channel(s) have no models yet (not reachable, or not discovered yet): late. Set a channel's key variable (e.g. export GROQ_API_KEY=...) or start a local server (Ollama, LM Studio); GET /health shows each channel's state"
    );
    discover(&gateway).await;
    let (status, body) = json_of(&gateway, "/health/readiness").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["ready"].clone(), body["routable_entries"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(body["status"], "ok");
    assert!(body.get("not_ready_reason").is_none());
    gateway.stop().await;
}

const KEYLESS: &str = r#"
discovery: { enabled: false }
channels:
  - { id: groq, provider: mock, api_key: "${SAR_OPS_TEST_UNSET_GROQ}", tags: [cloud] }
  - { id: off, provider: mock, api_key: k, enabled: false }
  - { id: local, provider: mock_local, base_url: "http://127.0.0.1:9/v1" }
"#;

const WHY: &str = "the catalog is empty: 2 of 3 channels are disabled: groq (environment variable SAR_OPS_TEST_UNSET_GROQ is not set); off (enabled: false in the config); 1 enabled channel(s) have no models yet (not reachable, or not discovered yet): local. Set a channel's key variable (e.g. export GROQ_API_KEY=...) or start a local server (Ollama, LM Studio); GET /health shows each channel's state";

#[tokio::test]
async fn an_empty_catalog_is_explained_in_the_404_and_in_health() {
    let gateway = TestGateway::start(KEYLESS).await;
    let answer = gateway.chat("tag:free,qwen3").await;
    assert_eq!(answer.status(), 404);
    let body: Value = answer.json().await.expect("json");
    assert_eq!(
        body["error"]["message"],
        format!("no model matches \"tag:free,qwen3\": {WHY}")
    );
    let (_, health) = json_of(&gateway, "/health").await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["empty_catalog"]["reason"], WHY);
    assert_eq!(health["empty_catalog"]["disabled_channels"], 2);
    assert_eq!(
        health["empty_catalog"]["channels_without_models"],
        json!([{"channel": "local", "base_url": "http://127.0.0.1:9/v1", "last_error": null}])
    );
    gateway.stop().await;
}

#[test]
fn models_explains_an_empty_catalog() {
    let dir = tempfile::tempdir().expect("dir");
    crate::support::write_config(dir.path(), KEYLESS);
    let source = smart_ai_router::config::ConfigSource::new(dir.path().join("config"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(
        smart_ai_router::cli::models(&source, None, &mut out, &mut err),
        0
    );
    let out = String::from_utf8_lossy(&out);
    assert!(out.ends_with(&format!("0 entries\n{WHY}\n")), "{out}");
}
