//! Discovery (docs/config.md, docs/discovery.md) against mock upstreams: each real response shape, failures with
//! and without a cache, a slow `/models` that times out, the cache files, `POST
//! /v1/admin/discover`, and 40 channels × 100 models discovered with bounded concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{MockUpstream, Reply, TestGateway};
use axum::body::Bytes;
use serde_json::{json, Value};

fn sample(file: &str) -> Bytes {
    let path = format!("{}/tests/data/discovery/{file}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(path).expect("sample"))
}

fn raw(body: Bytes) -> Reply {
    Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body,
    }
}

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

async fn models_of(gateway: &TestGateway, channel: &str) -> Vec<String> {
    let body: Value = gateway.get("/v1/models").await.json().await.expect("json");
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["channels"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == channel))
        })
        .filter_map(|m| m["id"].as_str().map(String::from))
        .collect();
    ids.sort();
    ids
}

fn config_for(channels: &[(&str, &str, &str)], extra: &str) -> String {
    let mut text = format!("discovery: {{ enabled: false, timeout_s: 1 }}\n{extra}\nchannels:\n");
    for (id, provider, base_url) in channels {
        text.push_str(&format!(
            "  - {{ id: {id}, provider: {provider}, base_url: \"{base_url}\", api_key: sk-disc-{id}-secret, configured_models: [fallback-model] }}\n"
        ));
    }
    text
}

#[tokio::test]
async fn real_response_shapes_become_catalog_entries() {
    let openrouter = MockUpstream::start(&[]).await;
    openrouter.set_models_reply(Some(raw(sample("openrouter_models.json"))));
    let ollama = MockUpstream::start(&[]).await;
    ollama.set_models_reply(Some(raw(sample("ollama_api_tags.json"))));
    let together = MockUpstream::start(&[]).await;
    together.set_models_reply(Some(raw(sample("together.json"))));
    let config = config_for(
        &[
            ("openrouter", "mock", &openrouter.base_url()),
            ("ollama", "mock_ollama", &ollama.base_url()),
            ("together", "mock", &together.base_url()),
        ],
        "",
    );
    let gateway = TestGateway::start(&config).await;
    let result = discover(&gateway).await;
    assert_eq!(result["data"]["succeeded"], 3);
    let counts: Vec<(String, u64)> = result["data"]["channels"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["channel_id"].as_str().unwrap_or("").to_string(),
                c["models"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("ollama".into(), 7),
            ("openrouter".into(), 414),
            ("together".into(), 88)
        ]
    );
    // The auth header of a bearer channel, and none for a keyless local one.
    let asked = openrouter
        .recorded()
        .into_iter()
        .find(|r| r.path == "/v1/models")
        .expect("asked");
    assert_eq!(
        asked
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer sk-disc-openrouter-secret")
    );
    assert_eq!(models_of(&gateway, "ollama").await.len(), 7);
    let listed: Value = gateway.get("/v1/models").await.json().await.expect("json");
    let nomic = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == "nomic-embed-text:latest");
    assert_eq!(nomic.map(|m| m["kind"].clone()), Some(json!("embedding")));
    // OpenRouter facts reach the catalog: context and per-1M prices.
    let explain: Value = gateway
        .get("/v1/route/explain?model=qwen/qwen3.8-27b")
        .await
        .json()
        .await
        .expect("json");
    let top = &explain["candidates"][0];
    assert_eq!(top["channel"], "openrouter");
    assert_eq!(top["context_length"], 262144);
    assert_eq!(top["price"]["input"], 0.45);
    assert_eq!(top["price"]["output"], 3.2);
    assert_eq!(top["price"]["cached_input"], 0.05);
    assert_eq!(top["price"]["source"], "discovery");
    // Ollama's parameter_size wins over the name.
    let explain: Value = gateway
        .get("/v1/route/explain?model=qwen2.5:14b-instruct")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(explain["candidates"][0]["parameters_b"], 14.8);
    gateway.stop().await;
}

#[tokio::test]
async fn a_failing_models_endpoint_keeps_the_last_good_list() {
    let mock = MockUpstream::start(&["model-a", "model-b"]).await;
    let gateway = TestGateway::start(&config_for(&[("ch", "mock", &mock.base_url())], "")).await;
    assert_eq!(
        models_of(&gateway, "ch").await,
        vec!["fallback-model"],
        "configured models before discovery"
    );
    assert_eq!(discover(&gateway).await["data"]["succeeded"], 1);
    assert_eq!(models_of(&gateway, "ch").await, vec!["model-a", "model-b"]);
    mock.set_models_reply(Some(Reply::error(500, "upstream exploded")));
    let result = discover(&gateway).await;
    assert_eq!(result["data"]["failed"], 1);
    assert_eq!(
        result["data"]["channels"][0]["error"],
        format!(
            "HTTP 500 from {}/models: upstream exploded",
            mock.base_url()
        )
    );
    assert_eq!(
        models_of(&gateway, "ch").await,
        vec!["model-a", "model-b"],
        "last good list kept"
    );
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(
        health["discovery"]["ch"]["last_error"],
        format!(
            "HTTP 500 from {}/models: upstream exploded",
            mock.base_url()
        )
    );
    assert_eq!(health["discovery"]["ch"]["source"], "api");
    gateway.stop().await;
}

#[tokio::test]
async fn without_a_cache_a_failure_falls_back_to_configured_models() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_models_reply(Some(Reply::error(401, "bad key sk-disc-ch-secret")));
    let gateway = TestGateway::start(&config_for(&[("ch", "mock", &mock.base_url())], "")).await;
    let result = discover(&gateway).await;
    let error = result["data"]["channels"][0]["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(
        error,
        format!("HTTP 401 from {}/models: bad key ***", mock.base_url())
    );
    assert_eq!(models_of(&gateway, "ch").await, vec!["fallback-model"]);
    // Both views say where the served models come from.
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(
        health["discovery"]["ch"]["source"], "configured",
        "{health}"
    );
    let status: Value = gateway
        .get("/v1/stats/channel-status")
        .await
        .json()
        .await
        .expect("json");
    let ch = status["data"]["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["channel_id"] == "ch"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ch["discovery"]["source"], "configured", "{status}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_slow_models_endpoint_times_out() {
    let mock = MockUpstream::start(&["late"]).await;
    mock.set_models_reply(Some(Reply::delayed(Duration::from_secs(5), Reply::Echo)));
    let gateway = TestGateway::start(&config_for(&[("slow", "mock", &mock.base_url())], "")).await;
    let started = Instant::now();
    let result = discover(&gateway).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by discovery.timeout_s"
    );
    assert_eq!(
        result["data"]["channels"][0]["error"],
        format!("timed out after 1s fetching {}/models", mock.base_url())
    );
    gateway.stop().await;
}

#[tokio::test]
async fn the_cache_serves_the_next_start_and_holds_no_secret() {
    let mock = MockUpstream::start(&["cached-1", "cached-2"]).await;
    let config = config_for(&[("ch", "mock", &mock.base_url())], "");
    let gateway = TestGateway::start(&config).await;
    discover(&gateway).await;
    let cache_file = gateway.dir.path().join("cache/channels/ch.json");
    let text = std::fs::read_to_string(&cache_file).expect("cache written");
    assert!(!text.contains("sk-disc-ch-secret"));
    let cached: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(cached["channel_id"], "ch");
    assert_eq!(cached["models"][0]["id"], "cached-1");
    assert_eq!(cached["models"][0]["raw"]["owned_by"], "mock");
    let dir = tempfile::TempDir::new().expect("dir");
    // Restart on the same files: the models are there before any discovery, from the cache.
    std::fs::create_dir_all(dir.path().join("cache/channels")).expect("mkdir");
    std::fs::copy(&cache_file, dir.path().join("cache/channels/ch.json")).expect("copy");
    crate::support::write_config(dir.path(), &config);
    gateway.stop().await;
    mock.set_models_reply(Some(Reply::error(503, "down")));
    let again = TestGateway::start_in(dir).await;
    assert_eq!(models_of(&again, "ch").await, vec!["cached-1", "cached-2"]);
    let health: Value = again.get("/health").await.json().await.expect("json");
    assert_eq!(health["discovery"]["ch"]["source"], "cache");
    again.stop().await;
}

#[tokio::test]
async fn a_corrupt_cache_file_is_ignored() {
    let mock = MockUpstream::start(&["x"]).await;
    let dir = tempfile::TempDir::new().expect("dir");
    std::fs::create_dir_all(dir.path().join("cache/channels")).expect("mkdir");
    std::fs::write(
        dir.path().join("cache/channels/ch.json"),
        b"{\"schema\": 1, \"models\": [",
    )
    .expect("write");
    crate::support::write_config(
        dir.path(),
        &config_for(&[("ch", "mock", &mock.base_url())], ""),
    );
    let gateway = TestGateway::start_in(dir).await;
    assert_eq!(models_of(&gateway, "ch").await, vec!["fallback-model"]);
    gateway.stop().await;
}

/// One server for 40 channels: `/cN/v1/models` lists 100 models after 100 ms, counting how
/// many requests are in flight at once.
async fn start_many_channel_server(in_flight: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> String {
    use axum::extract::Path;
    let app = axum::Router::new().route(
        "/{channel}/v1/models",
        axum::routing::get(move |Path(channel): Path<String>| {
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let data: Vec<Value> = (0..100)
                    .map(|i| json!({"id": format!("{channel}-model-{i}")}))
                    .collect();
                axum::Json(json!({"object": "list", "data": data}))
            }
        }),
    );
    let addr = crate::support::mock::serve(app).await;
    format!("http://{addr}")
}

#[tokio::test]
async fn forty_channels_are_discovered_with_bounded_concurrency() {
    let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let server = start_many_channel_server(in_flight, peak.clone()).await;
    let ids: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    let urls: Vec<String> = ids.iter().map(|id| format!("{server}/{id}/v1")).collect();
    let channels: Vec<(&str, &str, &str)> = ids
        .iter()
        .zip(&urls)
        .map(|(id, url)| (id.as_str(), "mock", url.as_str()))
        .collect();
    let config = config_for(&channels, "").replace(
        "discovery: { enabled: false, timeout_s: 1 }",
        "discovery: { enabled: false, timeout_s: 5, concurrency: 8 }",
    );
    let gateway = TestGateway::start(&config).await;
    // Every fetch finishes within its timeout (5 s); how long the whole run takes is a
    // benchmark's question, not this test's.
    let result = discover(&gateway).await;
    assert_eq!(result["data"]["succeeded"], 40);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        8,
        "at most discovery.concurrency at once, and it was reached"
    );
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(health["catalog"]["entries"], 4000);
    gateway.stop().await;
}

#[tokio::test]
async fn x_api_key_auth_and_provider_headers_reach_the_models_endpoint() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_models_reply(Some(raw(sample("anthropic.json"))));
    let gateway = TestGateway::start(&config_for(
        &[("claude", "mock_xkey", &mock.base_url())],
        "",
    ))
    .await;
    let result = discover(&gateway).await;
    assert_eq!(result["data"]["channels"][0]["models"], 8);
    let asked = mock
        .recorded()
        .into_iter()
        .find(|r| r.path == "/v1/models")
        .expect("asked");
    let header = |name: &str| {
        asked
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    assert_eq!(
        header("x-api-key").as_deref(),
        Some("sk-disc-claude-secret")
    );
    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(header("authorization"), None);
    gateway.stop().await;
}

#[tokio::test]
async fn a_huge_model_list_is_refused() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_models_reply(Some(raw(Bytes::from(vec![b' '; 40 * 1024 * 1024]))));
    let gateway = TestGateway::start(
        &config_for(&[("big", "mock", &mock.base_url())], "")
            .replace("timeout_s: 1", "timeout_s: 10"),
    )
    .await;
    let result = discover(&gateway).await;
    assert_eq!(
        result["data"]["channels"][0]["error"],
        format!("{}/models: model list larger than 32 MiB", mock.base_url())
    );
    gateway.stop().await;
}

/// An Anthropic-style paged model list: 3 pages of 2 models, cursor `after_id`; every query
/// string is recorded.
async fn start_paged_server(queries: Arc<std::sync::Mutex<Vec<String>>>) -> String {
    use axum::extract::RawQuery;
    let app = axum::Router::new().route(
        "/v1/models",
        axum::routing::get(move |RawQuery(query): RawQuery| {
            let queries = queries.clone();
            async move {
                let query = query.unwrap_or_default();
                queries.lock().expect("lock").push(query.clone());
                let page = if query.contains("after_id=claude-b") {
                    2
                } else if query.contains("after_id=claude-d") {
                    3
                } else {
                    1
                };
                let ids = match page {
                    1 => ["claude-a", "claude-b"],
                    2 => ["claude-c", "claude-d"],
                    _ => ["claude-e", "claude-f"],
                };
                let data: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"id": id, "type": "model"}))
                    .collect();
                axum::Json(json!({
                    "data": data, "has_more": page < 3,
                    "first_id": ids[0], "last_id": ids[1],
                }))
            }
        }),
    );
    let addr = crate::support::mock::serve(app).await;
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn a_paged_anthropic_list_is_read_to_its_last_page() {
    let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let base = start_paged_server(queries.clone()).await;
    let gateway = TestGateway::start(&config_for(&[("claude", "mock_xkey", &base)], "")).await;
    let result = discover(&gateway).await;
    assert_eq!(result["data"]["channels"][0]["models"], 6, "{result}");
    assert_eq!(
        models_of(&gateway, "claude").await,
        ["claude-a", "claude-b", "claude-c", "claude-d", "claude-e", "claude-f"]
    );
    assert_eq!(
        *queries.lock().expect("lock"),
        [
            "limit=1000",
            "limit=1000&after_id=claude-b",
            "limit=1000&after_id=claude-d"
        ]
    );
    gateway.stop().await;
}

#[tokio::test]
async fn an_openai_list_is_one_request_without_paging_parameters() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_models_reply(Some(raw(sample("together.json"))));
    let gateway = TestGateway::start(&config_for(&[("t", "mock", &mock.base_url())], "")).await;
    discover(&gateway).await;
    let asked: Vec<_> = mock
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/v1/models")
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].query, None);
    gateway.stop().await;
}

#[tokio::test]
async fn a_page_cursor_that_does_not_move_ends_the_walk() {
    let mock = MockUpstream::start(&[]).await;
    let stuck = json!({"data": [{"id": "claude-x", "type": "model"}, {"id": "claude-y", "type": "model"}],
                       "has_more": true, "first_id": "claude-x", "last_id": "claude-y"});
    mock.set_models_reply(Some(raw(Bytes::from(stuck.to_string()))));
    let gateway = TestGateway::start(&config_for(
        &[("claude", "mock_xkey", &mock.base_url())],
        "",
    ))
    .await;
    let result = discover(&gateway).await;
    assert_eq!(result["data"]["channels"][0]["models"], 2, "{result}");
    let queries: Vec<Option<String>> = mock
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/v1/models")
        .map(|r| r.query)
        .collect();
    assert_eq!(
        queries,
        [
            Some("limit=1000".to_string()),
            Some("limit=1000&after_id=claude-y".to_string())
        ]
    );
    gateway.stop().await;
}
