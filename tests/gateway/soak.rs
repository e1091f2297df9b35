//! Soak test (ignored by default; issue: hardening): mixed traffic against the real binary for
//! `SOAK_SECONDS` (default 600) with 30% injected upstream faults on two of three channels.
//! Zero client requests may fail while the healthy channel matches, and the gateway's RSS must
//! stay flat (no growth trend).
//!
//!     cargo test --release --test soak -- --ignored --nocapture
//!     SOAK_SECONDS=60 cargo test --release --test soak -- --ignored --nocapture   # a short run

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// A mock provider failing `fault_pct` of requests (evenly spread), in turn with a 500, a 429
/// with Retry-After, a 200 HTML page and a slow answer past the channel's timeout.
async fn flaky(
    State((calls, fault_pct)): State<(Arc<AtomicU64>, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let n = calls.fetch_add(1, Ordering::Relaxed);
    if n % 100 < fault_pct {
        return match (n / 100 + n) % 4 {
            0 => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "{\"error\":{\"message\":\"boom\"}}",
            )
                .into_response(),
            1 => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "{\"error\":{\"message\":\"slow down\"}}",
            )
                .into_response(),
            2 => (
                [("content-type", "text/html")],
                "<html>gateway error</html>",
            )
                .into_response(),
            _ => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                (StatusCode::OK, "{}").into_response()
            }
        };
    }
    let model = body["model"].as_str().unwrap_or("m").to_string();
    if body["stream"].as_bool() == Some(true) {
        let mut sse = String::new();
        for word in ["Hello", " soak", " test"] {
            sse.push_str(&format!(
                "data: {}\n\n",
                json!({"model": model, "choices": [{"index": 0, "delta": {"content": word}}]})
            ));
        }
        sse.push_str(&format!("data: {}\n\n", json!({"model": model, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})));
        sse.push_str("data: [DONE]\n\n");
        return ([("content-type", "text/event-stream")], sse).into_response();
    }
    Json(json!({"model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}))
    .into_response()
}

async fn start_mock(fault_pct: u64) -> String {
    let app = Router::new()
        .route(
            "/v1/models",
            get(|| async { Json(json!({"data": [{"id": "soak-model"}]})) }),
        )
        .route("/v1/chat/completions", post(flaky))
        .with_state((Arc::new(AtomicU64::new(0)), fault_pct));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/v1")
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10-minute soak; run with --ignored"]
async fn ten_minutes_of_faulty_upstreams() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let (healthy, flaky_a, flaky_b) = (
        start_mock(0).await,
        start_mock(30).await,
        start_mock(30).await,
    );
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("mkdir");
    std::fs::write(
        config.join("providers.yaml"),
        "providers:\n  mock: { base_url: http://127.0.0.1:9/v1, auth: bearer }\n",
    )
    .expect("write");
    std::fs::write(
        config.join("router_config.yaml"),
        format!(
            r#"
server: {{ port: {port}, cache_dir: "{root}/cache" }}
usage: {{ dir: "{root}/logs" }}
discovery: {{ enabled: true, interval_s: 30, timeout_s: 2 }}
routing: {{ max_attempts: 3, cooldown_s: 1, max_cooldown_s: 5, failure_threshold: 2 }}
channels:
  - {{ id: flaky-a, provider: mock, base_url: "{flaky_a}", api_key: a, timeout_s: 1, priority: 0 }}
  - {{ id: flaky-b, provider: mock, base_url: "{flaky_b}", api_key: b, timeout_s: 1, priority: 0 }}
  - {{ id: healthy, provider: mock, base_url: "{healthy}", api_key: h, timeout_s: 1, priority: 1 }}
"#,
            root = dir.path().display()
        ),
    )
    .expect("write");
    let mut child = crate::support::binary()
        .args(["serve", "--config-dir"])
        .arg(&config)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let pid = child.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client.get(format!("{base}/health")).send().await.ok();
        let entries = match ready {
            Some(r) => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|h| h["catalog"]["entries"].as_u64()),
            None => None,
        };
        if entries == Some(3) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not discover its channels"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut workers = Vec::new();
    for worker in 0..16u64 {
        let (client, base, ok, failed) = (client.clone(), base.clone(), ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut i = worker;
            while Instant::now() < end {
                i += 16;
                let stream = i % 3 == 0;
                let model = ["soak-model", "tag:soak", "tag:!local,soak"][(i % 3) as usize];
                let sent = client
                    .post(format!("{base}/v1/chat/completions"))
                    .json(&json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}))
                    .send()
                    .await;
                let good = match sent {
                    Ok(r) if r.status() == 200 => r.text().await.is_ok_and(|t| !stream || t.ends_with("data: [DONE]\n\n")),
                    _ => false,
                };
                if good { ok.fetch_add(1, Ordering::Relaxed) } else { failed.fetch_add(1, Ordering::Relaxed) };
                // About 1,500 requests per second in all: steady traffic, not a load test.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    let mut samples = Vec::new();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(5)).await;
        samples.push(rss_kb(pid));
        println!(
            "t+{:>4}s rss {} kB ok {} failed {}",
            samples.len() * 5,
            samples.last().unwrap_or(&0),
            ok.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
    }
    for w in workers {
        let _ = w.await;
    }
    let health: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(
        health["usage"]["dropped_records"], 0,
        "no usage record dropped"
    );
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!("requests: {ok} ok, {failed} failed; rss samples (kB): {samples:?}");
    assert_eq!(
        failed, 0,
        "client requests failed while a healthy channel matched"
    );
    assert!(ok > seconds * 50, "traffic flowed: {ok}");
    // Flat memory: the last third's mean is within 10% (+2 MB) of the second third's.
    let third = samples.len() / 3;
    if third > 0 {
        let mean = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len() as f64;
        let (middle, last) = (
            mean(&samples[third..2 * third]),
            mean(&samples[2 * third..]),
        );
        assert!(
            last <= middle * 1.10 + 2048.0,
            "RSS grew: middle {middle:.0} kB, last {last:.0} kB"
        );
    }
}
