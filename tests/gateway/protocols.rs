//! Every client's API: the accounting of cache reads and writes in the usage record, one model
//! by id or alias (`GET /v1/models/{id}`), and the native Anthropic mock upstream.

use serde_json::{json, Value};

use crate::support::usage_log::read_usage;
use crate::support::{AnthropicMock, MockUpstream, Reply, TestGateway};

fn openai_config(mock: &MockUpstream, logs: &std::path::Path) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
usage: {{ dir: "{logs}" }}
channels:
  - id: claude-compat
    name: Claude through an OpenAI-compatible endpoint
    provider: mock
    base_url: {url}
    api_key: sk-test-0123456789
    configured_models: [claude-sonnet-4-5, qwen/qwen3-235b-a22b]
    model_aliases: {{ my-sonnet: claude-sonnet-4-5 }}
    model_pricing:
      claude-sonnet-4-5: {{ input: 3, output: 15 }}
      qwen/qwen3-235b-a22b: {{ input: 1, output: 2 }}
"#,
        url = mock.base_url(),
        logs = logs.display()
    )
}

async fn records(gateway: &TestGateway, logs: &std::path::Path) -> Vec<Value> {
    let running = gateway.running.as_ref().expect("gateway running");
    running.state.usage.flush().await;
    read_usage(logs)
}

fn close(actual: &Value, expected: f64) {
    let actual = actual.as_f64().expect("a number");
    assert!(
        (actual - expected).abs() < 1e-12,
        "{actual} is not {expected}"
    );
}

#[tokio::test]
async fn cache_writes_and_reads_are_priced_from_the_knowledge_base() {
    let mock = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = TestGateway::start(&openai_config(&mock, logs.path())).await;
    // An answer whose usage carries Anthropic's cache figures next to OpenAI's.
    mock.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "claude-sonnet-4-5",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9638, "completion_tokens": 198, "total_tokens": 9836,
                      "prompt_tokens_details": {"cached_tokens": 6289},
                      "cache_creation_input_tokens": 3337, "cache_read_input_tokens": 6289}
        }),
        headers: Vec::new(),
    });
    let response = gateway.chat("claude-sonnet-4-5").await;
    assert_eq!(response.status(), 200);
    let records = records(&gateway, logs.path()).await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["input_tokens"], 9638);
    assert_eq!(record["cached_tokens"], 6289);
    assert_eq!(record["cache_write_tokens"], 3337);
    assert_eq!(record["cache_price_unknown"], false);
    assert_eq!(record["request_format"], "openai_chat");
    assert_eq!(record["channel_format"], "openai");
    // 12 × 3 + 3337 × 3.75 + 6289 × 0.30 per 1M (the cache prices come from the knowledge
    // base; model_pricing names only input and output); 198 × 15 per 1M.
    close(&record["input_cost"], 0.014_436_45);
    close(&record["output_cost"], 0.002_97);
    close(&record["total_cost"], 0.017_406_45);
    gateway.stop().await;
}

#[tokio::test]
async fn a_cache_read_without_any_known_price_is_flagged() {
    let mock = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = TestGateway::start(&openai_config(&mock, logs.path())).await;
    mock.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "qwen/qwen3-235b-a22b",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1000000, "completion_tokens": 0, "total_tokens": 1000000,
                      "prompt_tokens_details": {"cached_tokens": 400000}}
        }),
        headers: Vec::new(),
    });
    assert_eq!(gateway.chat("qwen/qwen3-235b-a22b").await.status(), 200);
    let records = records(&gateway, logs.path()).await;
    let record = &records[0];
    assert_eq!(record["cache_price_unknown"], true);
    assert_eq!(record["cost_known"], true);
    close(&record["input_cost"], 1.0);
    gateway.stop().await;
}

#[tokio::test]
async fn explain_shows_the_cache_prices() {
    let mock = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = TestGateway::start(&openai_config(&mock, logs.path())).await;
    let explained: Value = gateway
        .get("/v1/route/explain?model=claude-sonnet-4-5")
        .await
        .json()
        .await
        .expect("json");
    let text = explained.to_string();
    assert!(text.contains("\"cache_write\":3.75"), "{text}");
    assert!(text.contains("\"cached_input\":0.3"), "{text}");
    gateway.stop().await;
}

#[tokio::test]
async fn one_model_by_id_with_a_slash_or_by_alias() {
    let mock = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs");
    let gateway = TestGateway::start(&openai_config(&mock, logs.path())).await;
    let model: Value = gateway
        .get("/v1/models/claude-sonnet-4-5")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(model["id"], "claude-sonnet-4-5");
    assert_eq!(model["object"], "model");
    assert_eq!(model["channels"], json!(["claude-compat"]));
    let slashed: Value = gateway
        .get("/v1/models/qwen/qwen3-235b-a22b")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slashed["id"], "qwen/qwen3-235b-a22b");
    let alias: Value = gateway
        .get("/v1/models/my-sonnet")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(alias["id"], "my-sonnet");
    assert_eq!(alias["served_as"], json!(["claude-sonnet-4-5"]));
    let missing = gateway.get("/v1/models/nope-1").await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["error"]["code"], "model_not_found");
    gateway.stop().await;
}

#[tokio::test]
async fn the_anthropic_mock_lists_its_models_to_discovery() {
    let anthropic = AnthropicMock::start(&["claude-sonnet-4-5-20250929", "claude-haiku-4-5"]).await;
    let gateway = TestGateway::start(&format!(
        r#"
channels:
  - id: anthropic
    provider: mock_xkey
    base_url: {url}
    api_key: sk-ant-test-0123456789
"#,
        url = anthropic.base_url()
    ))
    .await;
    let discovered = gateway
        .client
        .post(gateway.url("/v1/admin/discover"))
        .send()
        .await
        .expect("discover");
    assert_eq!(discovered.status(), 200);
    let list: Value = gateway.get("/v1/models").await.json().await.expect("json");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["claude-haiku-4-5", "claude-sonnet-4-5-20250929"]);
    let listed = &anthropic.recorded()[0];
    assert_eq!(listed.headers["x-api-key"], "sk-ant-test-0123456789");
    assert_eq!(listed.headers["anthropic-version"], "2023-06-01");
    gateway.stop().await;
}

#[tokio::test]
async fn a_messages_passthrough_forwards_the_clients_anthropic_beta() {
    let anthropic = AnthropicMock::start(&[]).await;
    let gateway = TestGateway::start(&format!(
        "discovery: {{ enabled: false }}\nchannels:\n  - {{ id: claude, provider: mock_xkey, base_url: \"{}\", \
         api_key: sk-ant-0123456789, configured_models: [claude-sonnet-4-5] }}\n",
        anthropic.base_url()
    ))
    .await;
    let response = gateway
        .client
        .post(gateway.url("/anthropic/v1/messages?beta=true"))
        .header("x-api-key", "any-token")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "context-management-2025-06-27")
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}],
                      "context_management": {"edits": []}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-router-channel"], "claude");
    let sent = &anthropic.messages()[0];
    assert_eq!(
        sent.headers["anthropic-beta"],
        "context-management-2025-06-27"
    );
    assert_eq!(sent.json()["context_management"], json!({"edits": []}));
    gateway.stop().await;
}
