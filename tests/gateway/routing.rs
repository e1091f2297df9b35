//! Routing through the real gateway to mock upstreams: tag, negative-tag, name, alias and
//! date-alias queries reach the right channel and upstream model; the body is passed through
//! unchanged except `model`; the response carries the `x-router-*` headers.

use crate::support::{MockUpstream, TestGateway};
use serde_json::{json, Value};

struct Setup {
    gateway: TestGateway,
    cloud: MockUpstream,
    local: MockUpstream,
}

async fn setup() -> Setup {
    let cloud = MockUpstream::start(&[]).await;
    let local = MockUpstream::start(&[]).await;
    let config = format!(
        r#"
discovery: {{ enabled: false }}
channels:
  - id: cloud
    name: Cloud
    provider: mock
    base_url: {cloud}
    api_key: sk-cloud-key-123456
    tags: [cloud]
    configured_models: [qwen/qwen3-8b:free, qwen/qwen3-32b, openai/gpt-4o-mini, claude-3-haiku-20240307, text-embedding-3-small]
    model_aliases: {{ doubao-1.5-pro-256k: ep-20250203083646-2szv9 }}
    model_pricing:
      qwen/qwen3-32b: {{ input: 0.1, output: 0.3 }}
      openai/gpt-4o-mini: {{ input: 0.15, output: 0.6 }}
  - id: local
    provider: mock_local
    base_url: {local}
    configured_models: ["qwen3:8b", "llama3.2:latest"]
"#,
        cloud = cloud.base_url(),
        local = local.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    Setup {
        gateway,
        cloud,
        local,
    }
}

async fn served_by(gateway: &TestGateway, model: &str) -> (u16, String, String) {
    let response = gateway.chat(model).await;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    (status, header("x-router-channel"), header("x-router-model"))
}

#[tokio::test]
async fn tag_queries_reach_the_matching_upstream_model() {
    let s = setup().await;
    assert_eq!(
        served_by(&s.gateway, "tag:free,qwen3,!local").await,
        (200, "cloud".into(), "qwen/qwen3-8b:free".into())
    );
    assert_eq!(
        s.cloud
            .completions()
            .last()
            .map(|r| r.json()["model"].clone()),
        Some(json!("qwen/qwen3-8b:free"))
    );
    assert_eq!(
        served_by(&s.gateway, "tag:local,qwen3").await,
        (200, "local".into(), "qwen3:8b".into())
    );
    assert_eq!(
        s.local
            .completions()
            .last()
            .map(|r| r.json()["model"].clone()),
        Some(json!("qwen3:8b"))
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn name_alias_and_date_alias_queries() {
    let s = setup().await;
    assert_eq!(
        served_by(&s.gateway, "gpt-4o-mini").await,
        (200, "cloud".into(), "openai/gpt-4o-mini".into())
    );
    assert_eq!(
        served_by(&s.gateway, "doubao-1.5-pro-256k").await,
        (200, "cloud".into(), "ep-20250203083646-2szv9".into())
    );
    assert_eq!(
        served_by(&s.gateway, "claude-3-haiku").await,
        (200, "cloud".into(), "claude-3-haiku-20240307".into())
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn the_body_reaches_the_upstream_unchanged_except_model() {
    let s = setup().await;
    let body = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":"auto","response_format":{"type":"json_object"},"logprobs":true,"x_unknown":{"keep":[1,2.50,"\u00e9"]}}"#;
    let response = s
        .gateway
        .client
        .post(s.gateway.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-token-should-not-leak")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let sent = s
        .cloud
        .completions()
        .pop()
        .expect("upstream got the request");
    let expected = body.replace(
        r#""model":"gpt-4o-mini""#,
        r#""model":"openai/gpt-4o-mini""#,
    );
    assert_eq!(String::from_utf8_lossy(&sent.body), expected);
    assert_eq!(
        sent.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer sk-cloud-key-123456")
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn responses_carry_the_router_headers() {
    let s = setup().await;
    let response = s.gateway.chat("tag:qwen3,!free,!local").await;
    assert_eq!(response.status(), 200);
    let h = response.headers();
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(get("x-router-channel"), "cloud");
    assert_eq!(get("x-router-model"), "qwen/qwen3-32b");
    assert_eq!(get("x-router-attempts"), "1");
    assert_eq!(get("x-router-strategy"), "cost_first");
    assert!(
        get("x-request-id").starts_with("req_"),
        "{}",
        get("x-request-id")
    );
    assert!(get("x-router-score").parse::<f64>().is_ok());
    assert!(get("x-router-time").parse::<u64>().is_ok());
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["model"], "qwen/qwen3-32b");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the mock."
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn no_match_and_bad_queries_are_openai_errors() {
    let s = setup().await;
    let response = s.gateway.chat("tag:free,nonexistent").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "model_not_found");
    assert_eq!(
        body["error"]["message"],
        "no model matches \"tag:free,nonexistent\": no model has tag \"nonexistent\""
    );
    let response = s.gateway.chat("tag:,,").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_model_query");
    assert_eq!(body["error"]["param"], "model");
    let response = s.gateway.chat("text-embedding-3-small").await;
    assert_eq!(response.status(), 404);
    // The explain route takes no longer a query than a call does, and echoes what it refuses
    // cut to 512 characters.
    let long = "a".repeat(4097);
    let response = s
        .gateway
        .get(&format!("/v1/route/explain?model={long}"))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        (
            body["error"]["code"].as_str(),
            body["error"]["param"].as_str()
        ),
        (Some("invalid_model_query"), Some("model"))
    );
    let response = s
        .gateway
        .get(&format!(
            "/v1/route/explain?model=tag:qwen3&strategy={}",
            "s".repeat(3000)
        ))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("… (cut: 3000 bytes in all)"), "{message}");
    s.gateway.stop().await;
}

#[tokio::test]
async fn embeddings_route_picks_embedding_models_only() {
    let s = setup().await;
    let response = s
        .gateway
        .post_json(
            "/v1/embeddings",
            &json!({"model": "tag:cloud", "input": "hello"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("x-router-model")
            .and_then(|v| v.to_str().ok()),
        Some("text-embedding-3-small")
    );
    assert_eq!(
        s.cloud
            .completions()
            .last()
            .map(|r| r.path.clone())
            .as_deref(),
        Some("/v1/embeddings")
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn the_strategy_header_changes_the_order() {
    let s = setup().await;
    // cost_first prefers the free cloud model; local_first the local one.
    assert_eq!(served_by(&s.gateway, "tag:qwen3").await.1, "cloud");
    let response = s
        .gateway
        .client
        .post(s.gateway.url("/v1/chat/completions"))
        .header("x-router-strategy", "local_first")
        .json(&json!({"model": "tag:qwen3", "messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        response
            .headers()
            .get("x-router-channel")
            .and_then(|v| v.to_str().ok()),
        Some("local")
    );
    assert_eq!(
        response
            .headers()
            .get("x-router-strategy")
            .and_then(|v| v.to_str().ok()),
        Some("local_first")
    );
    let response = s
        .gateway
        .client
        .post(s.gateway.url("/v1/chat/completions"))
        .header("x-router-strategy", "fastest")
        .json(&json!({"model": "tag:qwen3", "messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    s.gateway.stop().await;
}

/// A request without `model`, or with `auto`, is routed by `routing.rules` (first whose
/// prompt bound fits, named in `x-router-rule`), else `routing.default_model`; the upstream
/// gets its own model id inserted. Without either, it is a 400 that says how to set one.
#[tokio::test]
async fn requests_without_a_model_follow_the_rules_then_the_default() {
    let local = MockUpstream::start(&[]).await;
    let config = format!(
        r#"
discovery: {{ enabled: false }}
routing:
  default_model: "tag:qwen3"
  rules:
    - {{ name: long, when: {{ min_prompt_tokens: 1000 }}, model: "llama3.2" }}
channels:
  - id: local
    provider: mock_local
    base_url: {local}
    configured_models: ["qwen3:8b", "llama3.2:latest"]
"#,
        local = local.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    let short = json!({"messages": [{"role": "user", "content": "Hi"}]});
    let response = gateway.post_json("/v1/chat/completions", &short).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-router-model"], "qwen3:8b");
    assert!(response.headers().get("x-router-rule").is_none());
    let sent = local.completions().last().map(|r| r.json()).expect("sent");
    assert_eq!(sent["model"], "qwen3:8b");
    assert_eq!(sent["messages"], short["messages"]);

    let long =
        json!({"model": "auto", "messages": [{"role": "user", "content": "word ".repeat(2000)}]});
    let response = gateway.post_json("/v1/chat/completions", &long).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-router-rule"], "long");
    assert_eq!(response.headers()["x-router-model"], "llama3.2:latest");
    gateway.stop().await;

    let bare = TestGateway::start(&config.replace(
        "  default_model: \"tag:qwen3\"\n  rules:\n    - { name: long, when: { min_prompt_tokens: 1000 }, model: \"llama3.2\" }\n",
        "  max_attempts: 2\n",
    ))
    .await;
    let response = bare.post_json("/v1/chat/completions", &short).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["param"], "model");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("routing.default_model")),
        "{body}"
    );
    bare.stop().await;
}

/// An answer that never reached a channel still says what the router did: a 404 for a query
/// that matches nothing carries `x-request-id` (the client's own), `x-router-attempts: 0`,
/// the strategy and the time.
#[tokio::test]
async fn a_no_match_answer_carries_the_router_headers() {
    let s = setup().await;
    let response = s
        .gateway
        .client
        .post(s.gateway.url("/v1/chat/completions"))
        .header("x-request-id", "client-trace-42")
        .json(&json!({"model": "tag:nothing-has-this", "messages": []}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);
    let headers = response.headers();
    assert_eq!(headers["x-request-id"], "client-trace-42");
    assert_eq!(headers["x-router-attempts"], "0");
    assert_eq!(headers["x-router-strategy"], "cost_first");
    assert!(headers["x-router-time"]
        .to_str()
        .is_ok_and(|t| t.parse::<u64>().is_ok()));
    s.gateway.stop().await;
}
