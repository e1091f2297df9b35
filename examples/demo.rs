//! The five-minute tour: no keys, no network.
//!
//! Starts two mock OpenAI-compatible providers on ephemeral ports ("acme", a paid cloud, and
//! "freebie", a free one whose `qwen3-32b` is rate-limited), writes a config for them into a
//! temp dir, starts the gateway against it, then: shows how a tag query is ranked
//! (`/v1/route/explain`), sends a few requests (tag queries, a name query, an alias) and prints
//! which channel and model served each, shows a failover from the rate-limited model, and
//! streams one answer.
//!
//!     cargo run --example demo

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use smart_ai_router::app::{self, ServeOptions};
use smart_ai_router::config::ConfigSource;

/// A mock provider: lists `models`; answers chat completions echoing the model; answers 429
/// for `rate_limited`.
#[derive(Clone)]
struct Mock {
    name: &'static str,
    models: Vec<&'static str>,
    rate_limited: Option<&'static str>,
    calls: Arc<AtomicU64>,
}

async fn list(State(mock): State<Mock>) -> Json<Value> {
    let data: Vec<Value> = mock
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "owned_by": mock.name}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn complete(State(mock): State<Mock>, Json(body): Json<Value>) -> Response {
    mock.calls.fetch_add(1, Ordering::Relaxed);
    let model = body["model"].as_str().unwrap_or("?").to_string();
    if mock.rate_limited == Some(model.as_str()) {
        let error = json!({"error": {"message": "Rate limit reached, please try again in 20 seconds", "type": "rate_limit"}});
        return (StatusCode::TOO_MANY_REQUESTS, Json(error)).into_response();
    }
    let text = format!("Hello from {} / {model}", mock.name);
    if body["stream"].as_bool() == Some(true) {
        let mut sse = String::new();
        for word in text.split_inclusive(' ') {
            let chunk = json!({"object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": {"content": word}}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        let usage = json!({"object": "chat.completion.chunk", "model": model, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}});
        sse.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
        return ([("content-type", "text/event-stream")], sse).into_response();
    }
    Json(json!({
        "id": "chatcmpl-demo", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
    }))
    .into_response()
}

async fn start_mock(mock: Mock) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/v1/models", get(list))
        .route("/v1/chat/completions", post(complete))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let acme = Mock {
        name: "acme",
        models: vec!["gpt-4o-mini", "qwen/qwen3-32b", "claude-3-haiku-20240307"],
        rate_limited: None,
        calls: Arc::default(),
    };
    let freebie = Mock {
        name: "freebie",
        models: vec![
            "qwen/qwen3-32b:free",
            "qwen/qwen3-8b:free",
            "llama-3.1-8b-instant",
        ],
        rate_limited: Some("qwen/qwen3-32b:free"),
        calls: Arc::default(),
    };
    let acme_addr = start_mock(acme.clone()).await?;
    let freebie_addr = start_mock(freebie.clone()).await?;

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config)?;
    std::fs::write(
        config.join("providers.yaml"),
        "providers:\n  mock: { base_url: http://127.0.0.1:9/v1, auth: bearer, format: openai }\n",
    )?;
    std::fs::write(
        config.join("router_config.yaml"),
        format!(
            r#"
server: {{ cache_dir: "{root}/cache" }}
usage: {{ dir: "{root}/logs" }}
channels:
  - id: acme
    name: Acme Cloud
    provider: mock
    base_url: http://{acme_addr}/v1
    api_key: sk-demo-acme
    tags: [cloud]
    model_aliases: {{ my-chat: gpt-4o-mini }}
    model_pricing:
      gpt-4o-mini: {{ input: 0.15, output: 0.60 }}
      qwen/qwen3-32b: {{ input: 0.10, output: 0.30 }}
      claude-3-haiku-20240307: {{ input: 0.25, output: 1.25 }}
  - id: freebie
    name: Freebie
    provider: mock
    base_url: http://{freebie_addr}/v1
    api_key: sk-demo-free
    tags: [cloud]
"#,
            root = dir.path().display()
        ),
    )?;

    let gateway = app::start(ServeOptions {
        source: ConfigSource::new(&config),
        host: Some("127.0.0.1".into()),
        port: Some(0),
    })
    .await?;
    let base = format!("http://{}", gateway.addr);
    let client = reqwest::Client::new();
    // Discovery runs in the background at start; wait until both channels are in the catalog.
    for _ in 0..100 {
        let health: Value = client
            .get(format!("{base}/health"))
            .send()
            .await?
            .json()
            .await?;
        if health["catalog"]["entries"].as_u64() == Some(6) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "smart-ai-router demo: gateway on {base}, two mock providers (acme: paid, freebie: free)\n"
    );

    let explain: Value = client
        .get(format!("{base}/v1/route/explain?model=tag:qwen3"))
        .send()
        .await?
        .json()
        .await?;
    println!(
        "ranking of \"tag:qwen3\" with {} ({}):",
        explain["strategy"], explain["weights"]
    );
    for c in explain["candidates"].as_array().into_iter().flatten() {
        println!(
            "  #{} {:<30} score {:.3}  cost {:.2}  params {:.2}  context {:.2}",
            c["rank"],
            format!(
                "{}/{}",
                c["channel"].as_str().unwrap_or(""),
                c["model"].as_str().unwrap_or("")
            ),
            c["score"].as_f64().unwrap_or(0.0),
            c["sub_scores"]["cost_score"]["value"]
                .as_f64()
                .unwrap_or(0.0),
            c["sub_scores"]["parameter_score"]["value"]
                .as_f64()
                .unwrap_or(0.0),
            c["sub_scores"]["context_score"]["value"]
                .as_f64()
                .unwrap_or(0.0),
        );
    }
    println!();

    for model in [
        "qwen3-32b",
        "tag:free,qwen3",
        "tag:qwen3,!free",
        "gpt-4o-mini",
        "my-chat",
        "claude-3-haiku",
    ] {
        let response = client
            .post(format!("{base}/v1/chat/completions"))
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "Hello!"}]}))
            .send()
            .await?;
        let h = |n: &str| {
            response
                .headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        let (channel, upstream, attempts) = (
            h("x-router-channel"),
            h("x-router-model"),
            h("x-router-attempts"),
        );
        let status = response.status();
        let body: Value = response.json().await?;
        println!(
            "{model:<18} -> {status} {channel}/{upstream} after {attempts} attempt(s): {}",
            body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_else(|| body["error"]["message"].as_str().unwrap_or(""))
        );
    }
    println!("  (qwen3-32b: freebie's free copy ranked first and answered 429, so the gateway failed over to acme;");
    println!("   that copy now cools down for the 20 s the error asked, so tag:free,qwen3 went straight to qwen3-8b:free)\n");

    let stream = client
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"model": "tag:free,qwen3", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await?
        .text()
        .await?;
    let events = stream.matches("data: ").count();
    println!(
        "streamed \"tag:free,qwen3\": {events} SSE events, the last is {:?}",
        stream.trim_end().lines().last().unwrap_or("")
    );
    println!(
        "\nupstream calls: acme {}, freebie {}",
        acme.calls.load(Ordering::Relaxed),
        freebie.calls.load(Ordering::Relaxed)
    );
    gateway.shutdown().await;
    Ok(())
}
