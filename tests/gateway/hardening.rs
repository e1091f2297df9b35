//! Bad input and broken upstreams (issue: hardening): every case gets a clear OpenAI-style
//! error with the right status, nothing panics, no task is left behind, and the gateway keeps
//! serving afterwards.

use std::time::{Duration, Instant};

use crate::support::{MockUpstream, Reply, StreamEnd, TestGateway};
use axum::body::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn setup(extra: &str) -> (TestGateway, MockUpstream) {
    let mock = MockUpstream::start(&[]).await;
    let config = format!(
        r#"
discovery: {{ enabled: false }}
server: {{ max_body_bytes: 1048576, request_body_timeout_s: 0.5 }}
{extra}
channels:
  - {{ id: only, provider: mock, base_url: "{}", api_key: sk-harden-0000, timeout_s: 1, configured_models: [hard-model] }}
"#,
        mock.base_url()
    );
    (TestGateway::start(&config).await, mock)
}

async fn post_raw(gateway: &TestGateway, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn error_of(body: &Value) -> (String, String) {
    (
        body["error"]["code"].as_str().unwrap_or("").to_string(),
        body["error"]["message"].as_str().unwrap_or("").to_string(),
    )
}

async fn still_serves(gateway: &TestGateway) {
    assert_eq!(
        gateway.chat("hard-model").await.status(),
        200,
        "the gateway keeps serving"
    );
}

#[tokio::test]
async fn malformed_bodies_get_400s_with_clear_messages() {
    let (gateway, mock) = setup("").await;
    let cases: &[(&str, &str, &str)] = &[
        ("{\"model\": ", "invalid_json", "The request body is not valid JSON: EOF while parsing a value at line 1 column 10."),
        ("[1, 2]", "invalid_request_body", "The request body must be a JSON object; got an array."),
        ("\"text\"", "invalid_request_body", "The request body must be a JSON object; got a string."),
        ("", "invalid_request_body", "The request body is empty: send a JSON object such as {\"model\": \"tag:free\", \"messages\": [...]}."),
        ("{\"messages\": []}", "invalid_request_body", "`model` is required: a model name such as \"qwen3-235b-a22b\" or a tag query such as \"tag:free,qwen3\" (or set routing.default_model)."),
        ("{\"model\": 7}", "invalid_request_body", "`model` must be a string, got 7."),
        ("{\"model\": [\"a\"]}", "invalid_request_body", "`model` must be a string, got [\"a\"]."),
        ("{\"model\": \"\"}", "invalid_model_query", "`model` is empty: give a model name such as \"qwen3-235b-a22b\" or a tag query such as \"tag:free,qwen3\""),
        ("{\"model\": \"tag:!\"}", "invalid_model_query", "`!` in \"tag:!\" needs a tag after it, e.g. \"tag:free,!local\""),
        ("{\"model\": \"tag:>abc\"}", "invalid_model_query", "`>abc` in \"tag:>abc\" is not a valid filter: use a size such as >20b, <=8b, >=270m or ctx>=128k for context"),
    ];
    for (body, code, message) in cases {
        let (status, answer) = post_raw(&gateway, body.to_string()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            error_of(&answer),
            (code.to_string(), message.to_string()),
            "{body}"
        );
        assert_eq!(answer["error"]["type"], "invalid_request_error");
    }
    let (status, answer) = post_raw(&gateway, "{\"model\": \"no-such-model\"}").await;
    assert_eq!(status, 404);
    assert_eq!(error_of(&answer).0, "model_not_found");
    assert!(
        mock.completions().is_empty(),
        "no bad request reached the upstream"
    );
    still_serves(&gateway).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let (gateway, mock) = setup("").await;
    let huge = format!(
        "{{\"model\":\"hard-model\",\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(20 * 1024 * 1024)
    );
    let (status, answer) = post_raw(&gateway, huge).await;
    assert_eq!(status, 413);
    assert_eq!(
        error_of(&answer),
        ("request_too_large".into(), "Request body is larger than the gateway's limit of 1048576 bytes (server.max_body_bytes).".into())
    );
    assert!(mock.completions().is_empty());
    still_serves(&gateway).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_a_413_without_waiting_for_the_body() {
    let (gateway, mock) = setup("").await;
    let addr = gateway.running.as_ref().map(|r| r.addr).expect("running");
    // Far past the limit: answered at once (a wait would end in a 408 instead); just past it,
    // and the body never sent: a 413 too once the body timeout ends.
    for length in ["99999999999999", "1048577"] {
        let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n{{\"model\":");
        socket.write_all(head.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the gateway answered and closed within 5 s");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 413"), "{length}: {text}");
        assert!(text.contains("\"code\":\"request_too_large\""), "{text}");
    }
    assert!(mock.completions().is_empty());
    still_serves(&gateway).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_body_times_out() {
    let (gateway, _mock) = setup("").await;
    let addr = gateway.running.as_ref().map(|r| r.addr).expect("running");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"model\":";
    socket.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the gateway answered and closed within 5 s");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "it waited for server.request_body_timeout_s"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    still_serves(&gateway).await;
    gateway.stop().await;
}

#[tokio::test]
async fn an_upstream_that_sends_headers_then_stalls_times_out_and_fails() {
    let (gateway, mock) = setup("").await;
    mock.set_default(Reply::StallAfterHeaders);
    let started = Instant::now();
    let (status, answer) = post_raw(
        &gateway,
        json!({"model": "hard-model", "messages": []}).to_string(),
    )
    .await;
    assert_eq!(status, 502);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by the channel's timeout_s"
    );
    assert_eq!(
        error_of(&answer),
        (
            "all_attempts_failed".into(),
            "All 1 attempt failed: only/hard-model: timed out reading the response body".into()
        )
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_stream_that_stalls_after_its_first_event_ends_with_an_error_event() {
    let (gateway, mock) = setup("").await;
    mock.push(Reply::Stream {
        events: vec![json!({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}).to_string()],
        gap: Duration::ZERO,
        end: StreamEnd::Stall,
    });
    let response = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .json(&json!({"model": "hard-model", "stream": true, "messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(5), response.text())
        .await
        .expect("ends")
        .expect("body");
    let last = text.trim_end().lines().last().unwrap_or("");
    let error: Value =
        serde_json::from_str(last.trim_start_matches("data: ")).unwrap_or(Value::Null);
    assert_eq!(error["error"]["code"], "stream_interrupted", "{text}");
    assert_eq!(error["error"]["message"], "upstream sent nothing for 1s");
    gateway.stop().await;
}

#[tokio::test]
async fn invalid_json_and_huge_upstream_bodies_are_502s() {
    let (gateway, mock) = setup("").await;
    mock.push(Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: Bytes::from_static(b"{\"choices\": ["),
    });
    let (status, answer) = post_raw(
        &gateway,
        json!({"model": "hard-model", "messages": []}).to_string(),
    )
    .await;
    assert_eq!(status, 502);
    assert_eq!(
        error_of(&answer).1,
        "All 1 attempt failed: only/hard-model: HTTP 200 with a body that is not JSON: \"{\\\"choices\\\": [\""
    );
    let huge = Bytes::from(vec![b' '; 65 * 1024 * 1024]);
    mock.push(Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: huge,
    });
    let (status, answer) = post_raw(
        &gateway,
        json!({"model": "hard-model", "messages": []}).to_string(),
    )
    .await;
    assert_eq!(status, 502);
    assert_eq!(
        error_of(&answer).1,
        "All 1 attempt failed: only/hard-model: response body larger than 64 MiB"
    );
    still_serves(&gateway).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_redirect_loop_is_not_followed() {
    let (gateway, mock) = setup("").await;
    let url = format!("{}/chat/completions", mock.base_url());
    mock.push(Reply::Json {
        status: 302,
        body: json!({}),
        headers: vec![("location".into(), url.clone())],
    });
    let (status, answer) = post_raw(
        &gateway,
        json!({"model": "hard-model", "messages": []}).to_string(),
    )
    .await;
    assert_eq!(status, 502);
    assert!(error_of(&answer).1.contains(&url), "{answer}");
    assert_eq!(mock.completions().len(), 1, "one request, no loop");
    gateway.stop().await;
}

#[tokio::test]
async fn no_task_is_left_behind_after_faults() {
    let (gateway, mock) = setup("routing: { failure_threshold: 100 }").await;
    still_serves(&gateway).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    for _ in 0..5 {
        mock.push(Reply::StallAfterHeaders);
        let _ = post_raw(
            &gateway,
            json!({"model": "hard-model", "messages": []}).to_string(),
        )
        .await;
        mock.push(Reply::Stream {
            events: vec![json!({"choices": [{"index": 0, "delta": {"content": "a"}}]}).to_string()],
            gap: Duration::ZERO,
            end: StreamEnd::Close,
        });
        let _ = gateway
            .client
            .post(gateway.url("/v1/chat/completions"))
            .json(&json!({"model": "hard-model", "stream": true, "messages": []}))
            .send()
            .await
            .map(|r| r.bytes());
    }
    still_serves(&gateway).await;
    // Connections the client pool keeps and the mock's stalled handlers may linger; the
    // gateway's own per-request work must not accumulate.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = metrics.num_alive_tasks();
        if alive <= baseline + 12 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{alive} tasks alive, {baseline} before the faults"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gateway.stop().await;
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_a_400_in_the_api_shape() {
    let (gateway, _mock) = setup("").await;
    for path in [
        "/v1/requests/%ff%fe",
        "/api/requests/%ff",
        "/v1/models/%ff",
        "/requests/%ff",
        "/v1/stats/clear-alerts/%ff",
    ] {
        let request = if path.contains("clear-alerts") {
            gateway.client.post(gateway.url(path))
        } else {
            gateway.client.get(gateway.url(path))
        };
        let response = request.send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["error"]["code"], "invalid_path", "{path}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    still_serves(&gateway).await;
    gateway.stop().await;
}
