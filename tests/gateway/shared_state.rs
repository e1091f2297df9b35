//! Several instances act as one, on a real `redis-server` (the test fails when it is not
//! installed): two gateways on the same config share blacklists, cooldowns, the half-open
//! trial, budgets and key rates; Redis killed under load fails no request, `/health` says
//! `degraded`, and sharing resumes when Redis is back.

use std::time::Duration;

use crate::support::mock::Gate;
use crate::support::redis::RedisServer;
use crate::support::{MockUpstream, Reply, TestGateway};
use serde_json::{json, Value};
use tokio::time::Instant;

/// The explain status of channel `a-first` on `gateway`.
pub(crate) async fn first_status(gateway: &TestGateway) -> String {
    let explained: Value = gateway
        .get("/v1/route/explain?model=gpt-4o-mini")
        .await
        .json()
        .await
        .expect("json");
    let candidates = explained["candidates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    candidates
        .iter()
        .find(|c| c["channel"] == "a-first")
        .and_then(|c| c["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Two channels serving `gpt-4o-mini`: `a-first` ranks first (priority), `b-backup` second;
/// the breaker opens at the first failure for a second.
fn config(redis: &RedisServer, first: &MockUpstream, backup: &MockUpstream, extra: &str) -> String {
    two_channels(redis, first, backup, (1, 1), extra)
}

/// [`config`] with the breaker's `(failure_threshold, cooldown_s)`.
pub(crate) fn two_channels(
    redis: &RedisServer,
    first: &MockUpstream,
    backup: &MockUpstream,
    (failure_threshold, cooldown_s): (u32, u32),
    extra: &str,
) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
state: {{ redis_url: "{redis}", key_prefix: "sar-test:" }}
routing:
  failure_threshold: {failure_threshold}
  cooldown_s: {cooldown_s}
  # Same price on both channels: the tie breaks by priority, whatever the live figures say.
  default_strategy: by_price
  sorting_strategies: {{ by_price: [ {{ field: cost_score, weight: 1.0 }} ] }}
{extra}
channels:
  - id: a-first
    provider: mock
    base_url: {first}
    api_key: sk-first-0123456789
    priority: 0
    configured_models: [gpt-4o-mini]
  - id: b-backup
    provider: mock
    base_url: {backup}
    api_key: sk-backup-0123456789
    priority: 1
    configured_models: [gpt-4o-mini]
"#,
        redis = redis.url(),
        first = first.base_url(),
        backup = backup.base_url(),
    )
}

pub(crate) async fn health(gateway: &TestGateway) -> Value {
    gateway
        .get("/health")
        .await
        .json()
        .await
        .expect("health json")
}

/// Poll `/health` until `shared_state` is `want`.
pub(crate) async fn wait_shared(gateway: &TestGateway, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = health(gateway).await;
        if h["shared_state"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "shared_state never {want}: {h}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) async fn applied(gateway: &TestGateway) -> u64 {
    health(gateway).await["shared_state_events_applied"]
        .as_u64()
        .unwrap_or(0)
}

/// Wait until `gateway` applied more than `seen` events from the others, within `limit`.
pub(crate) async fn wait_applied(gateway: &TestGateway, seen: u64, limit: Duration) -> u64 {
    let deadline = Instant::now() + limit;
    loop {
        let now = applied(gateway).await;
        if now > seen {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "no event arrived within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub(crate) async fn pair(config: &str) -> (TestGateway, TestGateway) {
    let a = TestGateway::start(config).await;
    let b = TestGateway::start(config).await;
    wait_shared(&a, "ok").await;
    wait_shared(&b, "ok").await;
    (a, b)
}

pub(crate) fn channel_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-router-channel")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_401_on_one_instance_and_the_other_never_calls_that_key() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup, "")).await;
    let seen = applied(&b).await;
    first.push(Reply::error(401, "Incorrect API key provided"));

    let response = a.chat("gpt-4o-mini").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(channel_of(&response), "b-backup");
    let sent = Instant::now();
    wait_applied(&b, seen, Duration::from_millis(200)).await;
    let reached = sent.elapsed();
    assert!(reached < Duration::from_millis(200), "{reached:?}");

    for _ in 0..3 {
        let response = b.chat("gpt-4o-mini").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(channel_of(&response), "b-backup");
    }
    assert_eq!(
        first.completion_count(),
        1,
        "B never called the blacklisted key"
    );
    let status = first_status(&b).await;
    assert!(
        status.starts_with("blacklisted (invalid_api_key)"),
        "{status}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_429_cooldown_on_one_instance_is_honoured_by_the_other() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup, "")).await;
    let seen = applied(&b).await;
    first.push(Reply::error_with_retry_after(
        429,
        "Rate limit reached",
        "30",
    ));
    assert_eq!(channel_of(&a.chat("gpt-4o-mini").await), "b-backup");
    wait_applied(&b, seen, Duration::from_millis(200)).await;
    assert_eq!(channel_of(&b.chat("gpt-4o-mini").await), "b-backup");
    assert_eq!(first.completion_count(), 1);
    let status = first_status(&b).await;
    assert!(status.starts_with("cooling down"), "{status}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn exactly_one_instance_sends_the_half_open_trial() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup, "")).await;
    let seen = applied(&b).await;
    first.push(Reply::error(500, "upstream exploded"));
    assert_eq!(channel_of(&a.chat("gpt-4o-mini").await), "b-backup");
    wait_applied(&b, seen, Duration::from_millis(200)).await;
    // The breaker opened for `cooldown_s: 1` on both; the trial is due after it.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let gate = Gate::new();
    first.push(Reply::Gated(gate.clone(), Box::new(Reply::Echo)));
    let trial = {
        let client = a.client.clone();
        let url = a.url("/v1/chat/completions");
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}))
                .send()
                .await
                .expect("reaches A")
        })
    };
    let arrived = tokio::time::timeout(Duration::from_secs(5), gate.wait_arrived(1)).await;
    assert!(arrived.is_ok(), "A did not send the trial to a-first");
    // B's breaker is due for a trial too, but A holds it: B skips the channel.
    let on_b = b.chat("gpt-4o-mini").await;
    assert_eq!(on_b.status().as_u16(), 200);
    assert_eq!(channel_of(&on_b), "b-backup");
    assert_eq!(first.completion_count(), 2, "one failure, one trial");
    gate.open();
    let on_a = trial.await.expect("trial task");
    assert_eq!(on_a.status().as_u16(), 200);
    assert_eq!(channel_of(&on_a), "a-first");
    a.stop().await;
    b.stop().await;
}

/// A paid channel: 17 tokens at 1000 per 1M each way cost 0.017 a call.
fn paid_config(redis: &RedisServer, mock: &MockUpstream, extra: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
state: {{ redis_url: "{redis}", key_prefix: "sar-test:" }}
{extra}
channels:
  - id: paid
    provider: mock
    base_url: {url}
    api_key: sk-paid-0123456789
    configured_models: [gpt-4o-mini]
    model_pricing:
      gpt-4o-mini: {{ input: 1000.0, output: 1000.0 }}
"#,
        redis = redis.url(),
        url = mock.base_url()
    )
}

#[tokio::test]
async fn a_budget_across_both_stops_within_one_requests_cost() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start(&[]).await;
    let cost = "cost_control: { global_daily_budget: 0.05, auto_disable_on_budget_exceeded: true }";
    let (a, b) = pair(&paid_config(&redis, &mock, cost)).await;
    let mut served = 0u32;
    for turn in 0..10 {
        let (here, there) = if turn % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let seen = applied(there).await;
        let response = here.chat("gpt-4o-mini").await;
        if response.status().as_u16() == 429 {
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["error"]["code"], "budget_exceeded");
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
        served += 1;
        // Spend reaches the other instance within a second.
        wait_applied(there, seen, Duration::from_secs(1)).await;
    }
    // 3 × 0.017 = 0.051: the first call at or over 0.05 is the last one served.
    assert_eq!(served, 3);
    assert_eq!(mock.completion_count(), 3);
    // Both instances now refuse.
    assert_eq!(a.chat("gpt-4o-mini").await.status().as_u16(), 429);
    assert_eq!(b.chat("gpt-4o-mini").await.status().as_u16(), 429);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_keys_rpm_counts_requests_on_both_instances() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start(&[]).await;
    let auth = "auth: { enabled: true, api_token: shared-api-token, keys: [ { name: team, token: team-token-0123, rpm: 3 } ] }";
    let (a, b) = pair(&paid_config(&redis, &mock, auth)).await;
    let send = |gateway: &TestGateway| {
        gateway
            .client
            .post(gateway.url("/v1/chat/completions"))
            .bearer_auth("team-token-0123")
            .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}))
            .send()
    };
    for gateway in [&a, &b, &a] {
        let other = if std::ptr::eq(gateway, &a) { &b } else { &a };
        let seen = applied(other).await;
        assert_eq!(send(gateway).await.expect("reaches").status().as_u16(), 200);
        wait_applied(other, seen, Duration::from_millis(200)).await;
    }
    let refused = send(&b).await.expect("reaches");
    assert_eq!(refused.status().as_u16(), 429);
    let body: Value = refused.json().await.expect("json");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Key \"team\": rpm limit of 3 reached"),
        "{message}"
    );
    assert_eq!(mock.completion_count(), 3);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn redis_killed_under_load_fails_no_request_and_sharing_resumes() {
    let mut redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup, "")).await;

    let load = |gateway: &TestGateway| {
        let client = gateway.client.clone();
        let url = gateway.url("/v1/chat/completions");
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..40 {
                let response = client
                    .post(&url)
                    .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}))
                    .send()
                    .await
                    .expect("reaches the gateway");
                statuses.push(response.status().as_u16());
            }
            statuses
        })
    };
    let (on_a, on_b) = (load(&a), load(&b));
    tokio::time::sleep(Duration::from_millis(20)).await;
    redis.kill();
    let (on_a, on_b) = (on_a.await.expect("load A"), on_b.await.expect("load B"));
    assert!(
        on_a.iter().chain(&on_b).all(|s| *s == 200),
        "{on_a:?} {on_b:?}"
    );
    // A health event while Redis is down still acts locally.
    first.push(Reply::error(401, "Incorrect API key provided"));
    assert_eq!(channel_of(&a.chat("gpt-4o-mini").await), "b-backup");
    wait_shared(&a, "degraded").await;
    wait_shared(&b, "degraded").await;
    let metrics = a.get("/metrics").await.text().await.expect("metrics");
    let errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sar_shared_state_errors_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(errors >= 1, "{metrics}");

    redis.restart();
    wait_shared(&a, "ok").await;
    wait_shared(&b, "ok").await;
    // Back in sync: A's blacklist from the outage reached B on resync.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let status = first_status(&b).await;
        if status.starts_with("blacklisted (invalid_api_key)") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B never learned the blacklist: {status}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = first.completion_count();
    assert_eq!(channel_of(&b.chat("gpt-4o-mini").await), "b-backup");
    assert_eq!(first.completion_count(), before);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_refused_redis_password_is_named_in_the_log_and_never_shown() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let wrong = "not-the-redis-password-4711";
    let text = config(&redis, &first, &backup, "").replace(
        &redis.url(),
        &redis
            .url()
            .replace("redis://", &format!("redis://:{wrong}@")),
    );
    let dir = tempfile::tempdir().expect("dir");
    crate::support::write_config(dir.path(), &text);
    let gateway =
        crate::support::binary::GatewayProcess::start(&dir.path().join("config"), None).await;
    // The server has no password: it refuses the AUTH.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while gateway.log_lines_with("shared state (Redis) unavailable: cannot subscribe: ") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the refusal was never logged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = gateway.log.lock().expect("log").join("\n");
    assert!(log.contains("Password authentication failed"), "{log}");
    assert!(!log.contains(wrong), "{log}");
}
