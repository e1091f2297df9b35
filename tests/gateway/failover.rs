//! Failover through the real gateway to scripted mock upstreams (docs/failover.md): what each upstream
//! error does to the call in hand (fail over or return as is) and to LATER calls (blacklisted
//! channel, cooling or removed model, circuit breaker with one half-open trial), the 502 and
//! 503 answers, connect errors, timeouts, non-JSON 200s, redirects, and the alert file.
//!
//! Every test ranks candidates with a strategy that scores them all alike, so the order is the
//! tie-break (channel `priority`, channel id, model id) and never depends on live figures.
//! Ordering between concurrent calls is forced with [`Gate`]s, never with sleeps; the only
//! waits are for a cooldown's own deadline, read from the gateway's health state.
//!
//! Left out: the 401 blacklist lifting when the channel's key changes needs a config reload,
//! which does not exist yet.

use std::time::{Duration, SystemTime};

use crate::support::mock::Gate;
use crate::support::{MockUpstream, Reply, TestGateway};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use smart_ai_router::health::BreakerState;
use tokio::time::Instant;

const KEY_A: &str = "sk-test-key-aaaa-0001";
const KEY_B: &str = "sk-test-key-bbbb-0002";
const KEY_C: &str = "sk-test-key-cccc-0003";
/// Failure guard for anything a test waits on.
const GUARD: Duration = Duration::from_secs(20);

/// One `channels:` item.
fn channel(id: &str, base_url: &str, key: &str, priority: i32, models: &[&str]) -> String {
    channel_with(id, base_url, key, priority, models, "")
}

fn channel_with(
    id: &str,
    base_url: &str,
    key: &str,
    priority: i32,
    models: &[&str],
    extra: &str,
) -> String {
    let models: Vec<String> = models.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "  - {{ id: {id}, provider: mock, base_url: \"{base_url}\", api_key: \"{key}\", \
         priority: {priority}, configured_models: [{}]{extra} }}\n",
        models.join(", ")
    )
}

/// A config whose strategy scores every candidate alike (order = tie-break).
fn config(routing: &str, channels: &[String]) -> String {
    format!(
        "discovery: {{ enabled: false }}\n\
         routing:\n  default_strategy: flat\n  sorting_strategies:\n    flat: [ {{ field: free_score, weight: 1.0 }} ]\n{routing}\
         channels:\n{}",
        channels.concat()
    )
}

/// Two channels `a` (tried first) and `b`, each with `models`.
async fn two_channels(routing: &str, models_a: &[&str], models_b: &[&str]) -> Setup {
    let a = MockUpstream::start(&[]).await;
    let b = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        routing,
        &[
            channel("a", &a.base_url(), KEY_A, 0, models_a),
            channel("b", &b.base_url(), KEY_B, 1, models_b),
        ],
    ))
    .await;
    Setup { gateway, a, b }
}

/// One channel `a` with `models`.
async fn one_channel(routing: &str, models: &[&str]) -> (TestGateway, MockUpstream) {
    let a = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        routing,
        &[channel("a", &a.base_url(), KEY_A, 0, models)],
    ))
    .await;
    (gateway, a)
}

struct Setup {
    gateway: TestGateway,
    a: MockUpstream,
    b: MockUpstream,
}

/// What the gateway answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `(status, x-router-channel, x-router-model, x-router-attempts)`.
    fn served(&self) -> (u16, &str, &str, &str) {
        (
            self.status,
            self.header("x-router-channel").unwrap_or(""),
            self.header("x-router-model").unwrap_or(""),
            self.header("x-router-attempts").unwrap_or(""),
        )
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("the answer is JSON")
    }

    fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .expect("an OpenAI error body")
            .to_string()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("answer body");
    Answer {
        status,
        headers,
        text,
    }
}

fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]})
}

async fn chat(gateway: &TestGateway, model: &str) -> Answer {
    answer(gateway.chat(model).await).await
}

/// Send a chat in the background (for calls that a [`Gate`] holds).
fn chat_in_background(gateway: &TestGateway, model: &str) -> tokio::task::JoinHandle<Answer> {
    let request = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .json(&chat_body(model));
    tokio::spawn(async move { answer(request.send().await.expect("gateway answers")).await })
}

async fn guarded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn breaker(gateway: &TestGateway, health_key: &str) -> Option<BreakerState> {
    let running = gateway.running.as_ref().expect("gateway running");
    running
        .state
        .health
        .model_state(health_key)
        .map(|view| view.breaker.state)
}

/// When the (channel, model)'s cooldown ends; panics unless it is cooling down.
fn cooling_until(gateway: &TestGateway, health_key: &str) -> Instant {
    match breaker(gateway, health_key) {
        Some(BreakerState::Open { until }) => until,
        other => panic!("{health_key} should be cooling down, is {other:?}"),
    }
}

/// The lines of `<usage.dir>/channel_alerts.jsonl` once everything queued is written.
async fn alerts(gateway: &TestGateway) -> Vec<Value> {
    let running = gateway.running.as_ref().expect("gateway running");
    running.state.usage.flush().await;
    read_jsonl(&gateway.dir.path().join("logs/channel_alerts.jsonl"))
}

/// Every usage record written so far.
async fn usage_records(gateway: &TestGateway) -> Vec<Value> {
    let running = gateway.running.as_ref().expect("gateway running");
    running.state.usage.flush().await;
    let name = format!("usage_{}.jsonl", chrono::Utc::now().format("%Y%m%d"));
    read_jsonl(&gateway.dir.path().join("logs").join(name))
}

fn read_jsonl(path: &std::path::Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

fn alert_types(alerts: &[Value]) -> Vec<(String, String)> {
    alerts
        .iter()
        .map(|a| {
            (
                a["channel_id"].as_str().unwrap_or("").to_string(),
                a["alert_type"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

#[tokio::test]
async fn invalid_key_blacklists_every_model_of_the_channel_and_writes_an_alert() {
    let s = two_channels("", &["m1", "m2"], &["m1", "m2"]).await;
    s.a.push(Reply::error(
        401,
        &format!("Incorrect API key provided: {KEY_A}"),
    ));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    // Later calls skip every model of `a`.
    assert_eq!(chat(&s.gateway, "m2").await.served(), (200, "b", "m2", "1"));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "1"));
    assert_eq!(s.a.completion_count(), 1);
    assert_eq!(s.b.completion_count(), 3);

    let alerts = alerts(&s.gateway).await;
    assert_eq!(
        alert_types(&alerts),
        vec![("a".to_string(), "invalid_api_key".to_string())]
    );
    assert_eq!(
        alerts[0]["message"],
        "API key rejected by the upstream: HTTP 401: Incorrect API key provided: ***"
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_403_that_speaks_of_rate_limits_cools_the_model_down_without_a_blacklist() {
    let s = two_channels("", &["m1", "m2"], &["m1"]).await;
    s.a.push(Reply::error(
        403,
        "Rate limit exceeded for this organization",
    ));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    // a/m1 cools down for the default backoff (`cooldown_s`: 30).
    let left = cooling_until(&s.gateway, "a/m1").saturating_duration_since(Instant::now());
    assert!(
        left > Duration::from_secs(29) && left <= Duration::from_secs(30),
        "{left:?}"
    );
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "1"));
    // The channel is not blacklisted: its other model serves.
    assert_eq!(chat(&s.gateway, "m2").await.served(), (200, "a", "m2", "1"));
    assert_eq!(s.a.completion_count(), 2);
    assert_eq!(alerts(&s.gateway).await, Vec::<Value>::new());
    s.gateway.stop().await;
}

#[tokio::test]
async fn payment_required_and_quota_bodies_blacklist_the_channel() {
    let cases = [
        Reply::error(402, "Payment required"),
        Reply::error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        Reply::error(400, "Insufficient balance, please top up your account"),
    ];
    for reply in cases {
        let what = format!("{reply:?}");
        let s = two_channels("", &["m1", "m2"], &["m1", "m2"]).await;
        s.a.push(reply);
        assert_eq!(
            chat(&s.gateway, "m1").await.served(),
            (200, "b", "m1", "2"),
            "{what}"
        );
        assert_eq!(
            chat(&s.gateway, "m2").await.served(),
            (200, "b", "m2", "1"),
            "{what}"
        );
        assert_eq!(s.a.completion_count(), 1, "{what}");
        assert_eq!(
            alert_types(&alerts(&s.gateway).await),
            vec![("a".to_string(), "quota_exhausted".to_string())],
            "{what}"
        );
        s.gateway.stop().await;
    }
}

#[tokio::test]
async fn retry_after_seconds_cools_that_model_down_for_that_long() {
    let s = two_channels("", &["m1", "m2"], &["m1"]).await;
    s.a.push(Reply::error_with_retry_after(429, "Too many requests", "2"));
    let sent = Instant::now();
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    let until = cooling_until(&s.gateway, "a/m1");
    assert!(until > sent + Duration::from_millis(1990), "too short");
    assert!(until <= Instant::now() + Duration::from_secs(2), "too long");

    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "1"));
    // Other models of the channel still serve.
    assert_eq!(chat(&s.gateway, "m2").await.served(), (200, "a", "m2", "1"));
    assert_eq!(s.a.completion_count(), 2);

    // When the cooldown ends, a/m1 serves again (its half-open trial succeeds and closes it).
    tokio::time::sleep_until(until).await;
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "a", "m1", "1"));
    assert_eq!(breaker(&s.gateway, "a/m1"), Some(BreakerState::Closed));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "a", "m1", "1"));
    assert_eq!(s.a.completion_count(), 4);
    s.gateway.stop().await;
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let s = two_channels("", &["m1", "m2"], &["m1"]).await;
    // A whole second 3 to 4 s from now (HTTP dates have no fractions).
    let at = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 4, 0)
        .expect("a valid time");
    let header = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    s.a.push(Reply::error_with_retry_after(
        429,
        "Too many requests",
        &header,
    ));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    let left = cooling_until(&s.gateway, "a/m1").saturating_duration_since(Instant::now());
    let expected = SystemTime::from(at)
        .duration_since(SystemTime::now())
        .expect("the date is ahead");
    let difference = left.abs_diff(expected);
    assert!(
        difference < Duration::from_millis(100),
        "{left:?} vs {expected:?}"
    );
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "1"));
    assert_eq!(chat(&s.gateway, "m2").await.served(), (200, "a", "m2", "1"));
    assert_eq!(s.a.completion_count(), 2);
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_later_429_with_a_shorter_retry_after_never_shortens_the_cooldown() {
    let (gateway, a) = one_channel("", &["m1"]).await;
    let gate = Gate::new();
    // The first call is held at the mock; the second is rate limited for 30 s meanwhile; then
    // the first one's 429 asks for only 1 s.
    a.push(Reply::Gated(
        gate.clone(),
        Box::new(Reply::error_with_retry_after(429, "slow down", "1")),
    ));
    a.push(Reply::error_with_retry_after(429, "slow down", "30"));
    let held = chat_in_background(&gateway, "m1");
    guarded("the first call to reach the mock", gate.wait_arrived(1)).await;

    let second = chat(&gateway, "m1").await;
    assert_eq!(second.status, 502);
    assert_eq!(
        second.error_message(),
        "All 1 attempt failed: a/m1: HTTP 429: slow down"
    );
    let until = cooling_until(&gateway, "a/m1");

    gate.open();
    let first = guarded("the held call", held).await.expect("task");
    assert_eq!(first.status, 502);
    assert_eq!(cooling_until(&gateway, "a/m1"), until);

    let third = chat(&gateway, "m1").await;
    assert_eq!(third.status, 503);
    assert_eq!(third.header("retry-after"), Some("30"));
    assert_eq!(third.json()["error"]["code"], "no_available_channel");
    assert_eq!(a.completion_count(), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn a_wait_hint_in_the_body_sets_the_cooldown() {
    let (gateway, a) = one_channel("", &["m1"]).await;
    a.push(Reply::error(
        429,
        "Rate limit reached for requests. Please try again in 20 seconds.",
    ));
    let sent = Instant::now();
    assert_eq!(chat(&gateway, "m1").await.status, 502);
    let until = cooling_until(&gateway, "a/m1");
    assert!(until > sent + Duration::from_millis(19_990), "too short");
    assert!(
        until <= Instant::now() + Duration::from_secs(20),
        "too long"
    );
    let next = chat(&gateway, "m1").await;
    assert_eq!(next.status, 503);
    assert_eq!(next.header("retry-after"), Some("20"));
    assert_eq!(a.completion_count(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn model_not_found_removes_only_that_model() {
    let s = two_channels("", &["m1", "m2"], &["m1"]).await;
    s.a.push(Reply::error(404, "The model `m1` does not exist"));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    assert_eq!(breaker(&s.gateway, "a/m1"), Some(BreakerState::Removed));
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "1"));
    assert_eq!(chat(&s.gateway, "m2").await.served(), (200, "a", "m2", "1"));
    assert_eq!(s.a.completion_count(), 2);
    s.gateway.stop().await;
}

#[tokio::test]
async fn repeated_5xx_open_the_breaker_then_exactly_one_half_open_trial_goes_through() {
    let routing = "  failure_threshold: 3\n  cooldown_s: 0.3\n  max_attempts: 1\n";
    let (gateway, a) = one_channel(routing, &["m1"]).await;
    for _ in 0..3 {
        a.push(Reply::error(500, "internal error"));
    }
    for expected_failures in [1, 2] {
        assert_eq!(chat(&gateway, "m1").await.status, 502);
        let view = gateway
            .running
            .as_ref()
            .expect("running")
            .state
            .health
            .model_state("a/m1")
            .expect("state");
        assert_eq!(view.breaker.state, BreakerState::Closed);
        assert_eq!(view.breaker.consecutive_failures, expected_failures);
    }
    let before_third = Instant::now();
    assert_eq!(chat(&gateway, "m1").await.status, 502);
    let until = cooling_until(&gateway, "a/m1");
    assert!(until > before_third + Duration::from_millis(300));
    assert!(until <= Instant::now() + Duration::from_millis(300));
    let cooling = chat(&gateway, "m1").await;
    assert_eq!(cooling.status, 503);
    assert_eq!(cooling.header("retry-after"), Some("1"));
    assert_eq!(a.completion_count(), 3);

    // Half-open: the trial fails, so it opens again for twice as long.
    tokio::time::sleep_until(until).await;
    a.push(Reply::error(500, "still broken"));
    let before_trial = Instant::now();
    assert_eq!(chat(&gateway, "m1").await.status, 502);
    let until = cooling_until(&gateway, "a/m1");
    assert!(until > before_trial + Duration::from_millis(600));
    assert!(until <= Instant::now() + Duration::from_millis(600));
    assert_eq!(chat(&gateway, "m1").await.status, 503);
    assert_eq!(a.completion_count(), 4);

    // Half-open again: while the one trial is held at the mock, other calls are refused.
    tokio::time::sleep_until(until).await;
    let gate = Gate::new();
    a.push(Reply::Gated(gate.clone(), Box::new(Reply::Echo)));
    let trial = chat_in_background(&gateway, "m1");
    guarded("the trial to reach the mock", gate.wait_arrived(1)).await;
    let refused = chat(&gateway, "m1").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        refused.error_message(),
        "No candidate for \"m1\" can be tried now: a/m1: recovering (a trial request is in flight)."
    );
    assert_eq!(a.completion_count(), 5);
    gate.open();
    assert_eq!(
        guarded("the trial", trial).await.expect("task").served(),
        (200, "a", "m1", "1")
    );
    // The successful trial closed it.
    assert_eq!(breaker(&gateway, "a/m1"), Some(BreakerState::Closed));
    assert_eq!(chat(&gateway, "m1").await.served(), (200, "a", "m1", "1"));
    assert_eq!(a.completion_count(), 6);
    gateway.stop().await;
}

#[tokio::test]
async fn a_plain_400_is_returned_as_is_without_failover() {
    let s = two_channels("", &["m1"], &["m1"]).await;
    let body = r#"{"error":{"message":"'messages' is a required property","type":"invalid_request_error","param":"messages","code":null}}"#;
    s.a.push(Reply::Raw {
        status: 400,
        content_type: "application/json".into(),
        body: body.into(),
    });
    let answer = chat(&s.gateway, "m1").await;
    assert_eq!(answer.served(), (400, "a", "m1", "1"));
    assert_eq!(answer.text, body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(s.b.completion_count(), 0);
    // The channel's health is untouched: it serves the next call.
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "a", "m1", "1"));
    assert_eq!(s.a.completion_count(), 2);
    assert_eq!(s.b.completion_count(), 0);
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_content_policy_400_is_never_failed_over() {
    let s = two_channels("", &["m1"], &["m1"]).await;
    let body = r#"{"error":{"code":"content_policy_violation","message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error"}}"#;
    s.a.push(Reply::Raw {
        status: 400,
        content_type: "application/json".into(),
        body: body.into(),
    });
    let answer = chat(&s.gateway, "m1").await;
    assert_eq!(answer.served(), (400, "a", "m1", "1"));
    assert_eq!(answer.text, body);
    assert_eq!(s.b.completion_count(), 0);
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_context_length_400_moves_on_to_a_larger_context() {
    let a = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        "",
        &[channel_with(
            "a",
            &a.base_url(),
            KEY_A,
            0,
            &["m1-32k", "m2-16k", "m3-32k", "m4-128k"],
            ", tags: [ctxtest]",
        )],
    ))
    .await;
    a.push(Reply::error(
        400,
        "This model's maximum context length is 32768 tokens. However, your messages resulted in 40000 tokens.",
    ));
    let answer = chat(&gateway, "tag:ctxtest").await;
    // m2-16k and m3-32k are skipped: their context is no larger than the one that failed.
    assert_eq!(answer.served(), (200, "a", "m4-128k", "2"));
    let models: Vec<Value> = a
        .completions()
        .iter()
        .map(|r| r.json()["model"].clone())
        .collect();
    assert_eq!(models, vec![json!("m1-32k"), json!("m4-128k")]);
    // A context-length answer says nothing about health.
    assert_eq!(breaker(&gateway, "a/m1-32k"), None);
    gateway.stop().await;
}

#[tokio::test]
async fn max_attempts_is_respected() {
    let a = MockUpstream::start(&[]).await;
    let b = MockUpstream::start(&[]).await;
    let c = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        "  max_attempts: 2\n",
        &[
            channel("a", &a.base_url(), KEY_A, 0, &["m1"]),
            channel("b", &b.base_url(), KEY_B, 1, &["m1"]),
            channel("c", &c.base_url(), KEY_C, 2, &["m1"]),
        ],
    ))
    .await;
    a.push(Reply::error(500, "boom a"));
    b.push(Reply::error(503, "boom b"));
    let answer = chat(&gateway, "m1").await;
    assert_eq!(answer.status, 502);
    assert_eq!(
        answer.error_message(),
        "All 2 attempts failed: a/m1: HTTP 500: boom a; b/m1: HTTP 503: boom b"
    );
    assert_eq!(
        (
            a.completion_count(),
            b.completion_count(),
            c.completion_count()
        ),
        (1, 1, 0)
    );
    gateway.stop().await;
}

#[tokio::test]
async fn when_every_attempt_fails_the_502_lists_each_and_never_a_key() {
    let s = two_channels("", &["m1"], &["m1"]).await;
    s.a.push(Reply::error(
        500,
        &format!("internal error while using key {KEY_A}"),
    ));
    s.b.push(Reply::error(503, &format!("upstream failed for {KEY_B}")));
    let answer = chat(&s.gateway, "m1").await;
    assert_eq!(answer.status, 502);
    assert!(answer.header("x-request-id").is_some());
    let body = answer.json();
    assert_eq!(body["error"]["type"], "upstream_error");
    assert_eq!(body["error"]["code"], "all_attempts_failed");
    assert_eq!(
        body["error"]["message"],
        "All 2 attempts failed: a/m1: HTTP 500: internal error while using key ***; \
         b/m1: HTTP 503: upstream failed for ***"
    );
    assert!(!answer.text.contains(KEY_A) && !answer.text.contains(KEY_B));

    let records = usage_records(&s.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "error");
    assert_eq!(records[0]["http_status"], 502);
    assert_eq!(records[0]["attempts"], 2);
    s.gateway.stop().await;
}

#[tokio::test]
async fn nothing_available_is_a_503_with_retry_after() {
    let (gateway, a) = one_channel("  auth_blacklist_s: 3600\n", &["m1", "m2"]).await;
    a.push(Reply::error(401, "Invalid API key"));
    assert_eq!(chat(&gateway, "m1").await.status, 502);
    let answer = chat(&gateway, "m2").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("3600"));
    let body = answer.json();
    assert_eq!(body["error"]["code"], "no_available_channel");
    assert_eq!(
        body["error"]["message"],
        "No candidate for \"m2\" can be tried now: a/m2: blacklisted (invalid_api_key) for 3599s more."
    );
    assert_eq!(a.completion_count(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_connect_error_fails_over() {
    let b = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        "",
        &[
            channel("a", &closed_port_url(), KEY_A, 0, &["m1"]),
            channel("b", &b.base_url(), KEY_B, 1, &["m1"]),
        ],
    ))
    .await;
    assert_eq!(chat(&gateway, "m1").await.served(), (200, "b", "m1", "2"));
    let view = gateway
        .running
        .as_ref()
        .expect("running")
        .state
        .health
        .model_state("a/m1")
        .expect("a/m1 has a state");
    assert_eq!(view.breaker.consecutive_failures, 1);
    let (_, last_error) = view.last_error.expect("a last error");
    assert!(
        last_error.starts_with("connection failed: "),
        "{last_error}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_slow_upstream_past_its_timeout_fails_over() {
    let a = MockUpstream::start(&[]).await;
    let b = MockUpstream::start(&[]).await;
    let gateway = TestGateway::start(&config(
        "",
        &[
            channel_with("a", &a.base_url(), KEY_A, 0, &["m1"], ", timeout_s: 0.5"),
            channel("b", &b.base_url(), KEY_B, 1, &["m1"]),
        ],
    ))
    .await;
    // No response head at all, then a head with a body that never comes.
    let never = Gate::new();
    a.push(Reply::Gated(never.clone(), Box::new(Reply::Echo)));
    a.push(Reply::StallAfterHeaders);
    assert_eq!(chat(&gateway, "m1").await.served(), (200, "b", "m1", "2"));
    assert_eq!(chat(&gateway, "m1").await.served(), (200, "b", "m1", "2"));
    assert_eq!(a.completion_count(), 2);
    let records = usage_records(&gateway).await;
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["channel_id"] == "b"));
    never.open();
    gateway.stop().await;
}

#[tokio::test]
async fn an_html_page_invalid_json_or_an_error_object_with_200_fails_over() {
    let s = two_channels("", &["m1"], &["m1"]).await;
    s.a.push(Reply::Raw {
        status: 200,
        content_type: "text/html".into(),
        body: "<html><body>Welcome to nginx!</body></html>".into(),
    });
    s.a.push(Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: r#"{"id":"chatcmpl-1","choices":["#.into(),
    });
    s.a.push(Reply::Json {
        status: 200,
        body: json!({"error": {"message": "upstream overloaded", "type": "server_error"}}),
        headers: vec![],
    });
    for _ in 0..3 {
        assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    }
    assert_eq!(s.a.completion_count(), 3);
    assert_eq!(s.b.completion_count(), 3);
    let (_, last_error) = s
        .gateway
        .running
        .as_ref()
        .expect("running")
        .state
        .health
        .model_state("a/m1")
        .and_then(|view| view.last_error)
        .expect("a/m1 has a last error");
    assert_eq!(
        last_error,
        "HTTP 200 with an error body: upstream overloaded"
    );
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let s = two_channels("", &["m1"], &["m1"]).await;
    let elsewhere = MockUpstream::start(&[]).await;
    s.a.push(Reply::Json {
        status: 307,
        body: json!({}),
        headers: vec![(
            "location".into(),
            format!("{}/chat/completions", elsewhere.base_url()),
        )],
    });
    assert_eq!(chat(&s.gateway, "m1").await.served(), (200, "b", "m1", "2"));
    assert_eq!(elsewhere.completion_count(), 0);
    let (_, last_error) = s
        .gateway
        .running
        .as_ref()
        .expect("running")
        .state
        .health
        .model_state("a/m1")
        .and_then(|view| view.last_error)
        .expect("a/m1 has a last error");
    assert_eq!(
        last_error,
        format!(
            "HTTP 307: redirect to {}/chat/completions not followed (set the channel's base_url to the target)",
            elsewhere.base_url()
        )
    );
    assert_eq!(s.a.completion_count(), 1);
    s.gateway.stop().await;
}

/// Cool a/m1 down (one 500 opens it with `failure_threshold: 1`) and wait for the cooldown's end.
async fn open_then_wait_for_half_open(gateway: &TestGateway, a: &MockUpstream) {
    a.push(Reply::error(500, "internal error"));
    assert_eq!(chat(gateway, "m1").await.status, 502);
    tokio::time::sleep_until(cooling_until(gateway, "a/m1")).await;
}

#[tokio::test]
async fn a_trial_whose_client_goes_away_is_given_back() {
    let routing = "  failure_threshold: 1\n  cooldown_s: 0.2\n  max_attempts: 1\n";
    let (gateway, a) = one_channel(routing, &["m1"]).await;
    open_then_wait_for_half_open(&gateway, &a).await;
    let gate = Gate::new();
    a.push(Reply::Gated(gate.clone(), Box::new(Reply::Echo)));
    let trial = chat_in_background(&gateway, "m1");
    guarded("the trial to reach the mock", gate.wait_arrived(1)).await;
    trial.abort();
    guarded(
        "the trial's upstream request to be dropped",
        gate.wait_abandoned(1),
    )
    .await;
    // The next call is the new trial at once (not refused for a minute).
    assert_eq!(chat(&gateway, "m1").await.served(), (200, "a", "m1", "1"));
    assert_eq!(breaker(&gateway, "a/m1"), Some(BreakerState::Closed));
    let records = usage_records(&gateway).await;
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, vec!["error", "cancelled", "success"]);
    gateway.stop().await;
}

#[tokio::test]
async fn a_request_error_of_another_call_does_not_give_away_the_trial() {
    let routing = "  failure_threshold: 1\n  cooldown_s: 0.2\n  max_attempts: 1\n";
    let (gateway, a) = one_channel(routing, &["m1"]).await;
    // An earlier call, admitted while a/m1 was healthy, is held at the mock...
    let early = Gate::new();
    a.push(Reply::Gated(
        early.clone(),
        Box::new(Reply::error(
            400,
            "This model's maximum context length is 8192 tokens",
        )),
    ));
    let early_call = chat_in_background(&gateway, "m1");
    guarded("the early call to reach the mock", early.wait_arrived(1)).await;
    // ...while a/m1 breaks, cools down, and its half-open trial is held too.
    open_then_wait_for_half_open(&gateway, &a).await;
    let trial_gate = Gate::new();
    a.push(Reply::Gated(trial_gate.clone(), Box::new(Reply::Echo)));
    let trial = chat_in_background(&gateway, "m1");
    guarded("the trial to reach the mock", trial_gate.wait_arrived(1)).await;
    // The early call's context-length answer has no bearing on the trial.
    early.open();
    assert_eq!(
        guarded("the early call", early_call)
            .await
            .expect("task")
            .status,
        502
    );
    let refused = chat(&gateway, "m1").await;
    assert_eq!(refused.status, 503);
    assert_eq!(a.completion_count(), 3);
    trial_gate.open();
    assert_eq!(
        guarded("the trial", trial).await.expect("task").served(),
        (200, "a", "m1", "1")
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_burst_of_429s_from_calls_in_flight_cools_down_once() {
    let (gateway, a) = one_channel("  max_attempts: 1\n", &["m1"]).await;
    let gate = Gate::new();
    for _ in 0..4 {
        a.push(Reply::Gated(
            gate.clone(),
            Box::new(Reply::error(429, "Rate limit reached for requests")),
        ));
    }
    let calls: Vec<_> = (0..4).map(|_| chat_in_background(&gateway, "m1")).collect();
    guarded("four calls to reach the mock", gate.wait_arrived(4)).await;
    let released = Instant::now();
    gate.open();
    for call in calls {
        assert_eq!(
            guarded("a held call", call).await.expect("task").status,
            502
        );
    }
    // One episode: the first backoff step (`cooldown_s`: 30), not 30·2³.
    let until = cooling_until(&gateway, "a/m1");
    assert!(until > released + Duration::from_secs(30), "too short");
    assert!(
        until <= Instant::now() + Duration::from_secs(30),
        "escalated"
    );
    gateway.stop().await;
}
