//! Two instances count as one, on a real `redis-server` (the test fails when it is not
//! installed): the 5xx breaker opens after `failure_threshold` failures in total, however
//! they fall on the instances, and a success on either starts the count again; a channel
//! blacklisted by a 401 seen on both instances is alerted once across their alert logs, and
//! once more after its alerts are cleared.

use std::time::Duration;

use crate::shared_state::{applied, channel_of, first_status, pair, two_channels, wait_applied};
use crate::support::mock::Gate;
use crate::support::redis::RedisServer;
use crate::support::{MockUpstream, Reply, TestGateway};
use serde_json::{json, Value};
use tokio::time::Instant;

/// `a-first` ranks first, `b-backup` second; the breaker opens at 3 failures for a minute.
fn config(redis: &RedisServer, first: &MockUpstream, backup: &MockUpstream) -> String {
    two_channels(redis, first, backup, (3, 60), "")
}

/// One call on `gateway`; returns the channel that served it (all calls are served).
async fn served_by(gateway: &TestGateway) -> String {
    let response = gateway.chat("gpt-4o-mini").await;
    assert_eq!(response.status().as_u16(), 200);
    channel_of(&response)
}

/// Wait until `gateway` applied `n` more events than `seen`.
async fn wait_applied_n(gateway: &TestGateway, seen: u64, n: u64) {
    wait_applied(gateway, seen + n - 1, Duration::from_millis(500)).await;
}

/// Poll the explain status of `a-first` on `gateway` until it starts with `want`.
async fn wait_status(gateway: &TestGateway, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let status = first_status(gateway).await;
        if status.starts_with(want) {
            return;
        }
        assert!(Instant::now() < deadline, "status never {want:?}: {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn failures_split_between_instances_open_the_breaker_at_the_threshold_in_total() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup)).await;
    for _ in 0..3 {
        first.push(Reply::error(500, "upstream exploded"));
    }

    // One failure on A, heard by B.
    let seen = applied(&b).await;
    assert_eq!(served_by(&a).await, "b-backup");
    wait_applied_n(&b, seen, 1).await;
    // Two on B: the second is the third in total.
    assert_eq!(served_by(&b).await, "b-backup");
    let status = first_status(&b).await;
    assert!(
        !status.starts_with("cooling down"),
        "two failures: {status}"
    );
    assert_eq!(served_by(&b).await, "b-backup");
    assert_eq!(first.completion_count(), 3);
    wait_status(&b, "cooling down").await;
    assert_eq!(served_by(&b).await, "b-backup");

    // Open on A too: it never calls the channel again.
    wait_status(&a, "cooling down").await;
    assert_eq!(served_by(&a).await, "b-backup");
    assert_eq!(
        first.completion_count(),
        3,
        "exactly three calls reached it"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_success_on_either_instance_starts_the_count_again() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup)).await;
    first.push(Reply::error(500, "upstream exploded"));
    first.push(Reply::error(500, "upstream exploded"));

    // Two failures on A, then a success on A: B hears all three.
    let seen = applied(&b).await;
    assert_eq!(served_by(&a).await, "b-backup");
    assert_eq!(served_by(&a).await, "b-backup");
    assert_eq!(served_by(&a).await, "a-first");
    wait_applied_n(&b, seen, 3).await;

    // Two more failures on B: four since the start, two since the success.
    first.push(Reply::error(500, "upstream exploded"));
    first.push(Reply::error(500, "upstream exploded"));
    assert_eq!(served_by(&b).await, "b-backup");
    assert_eq!(served_by(&b).await, "b-backup");
    assert_eq!(served_by(&b).await, "a-first", "still closed after two");
    assert_eq!(first.completion_count(), 6);
    a.stop().await;
    b.stop().await;
}

/// `GET /v1/stats/alerts` of `gateway`.
async fn alerts(gateway: &TestGateway) -> Value {
    let body: Value = gateway
        .get("/v1/stats/alerts")
        .await
        .json()
        .await
        .expect("alerts json");
    body["data"].clone()
}

/// `sar_shared_state_claims_total{outcome=...}` of `gateway`.
async fn claims(gateway: &TestGateway, outcome: &str) -> u64 {
    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    let series = format!("sar_shared_state_claims_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_401_seen_on_both_instances_is_alerted_once() {
    let redis = RedisServer::start();
    let (first, backup) = (
        MockUpstream::start(&[]).await,
        MockUpstream::start(&[]).await,
    );
    let (a, b) = pair(&config(&redis, &first, &backup)).await;
    // Both calls reach the channel before either instance hears of the other's blacklist.
    let gate = Gate::new();
    for _ in 0..2 {
        let refused = Reply::error(401, "Incorrect API key provided");
        first.push(Reply::Gated(gate.clone(), Box::new(refused)));
    }
    let call = |gateway: &TestGateway| {
        let (client, url) = (gateway.client.clone(), gateway.url("/v1/chat/completions"));
        tokio::spawn(async move {
            let body =
                json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]});
            let response = client.post(url).json(&body).send().await.expect("reaches");
            (response.status().as_u16(), channel_of(&response))
        })
    };
    let (on_a, on_b) = (call(&a), call(&b));
    let arrived = tokio::time::timeout(Duration::from_secs(5), gate.wait_arrived(2)).await;
    assert!(arrived.is_ok(), "both calls reach a-first");
    gate.open();
    let served = (on_a.await.expect("A"), on_b.await.expect("B"));
    let backup_ok = (200, "b-backup".to_string());
    assert_eq!(served, (backup_ok.clone(), backup_ok));

    // Both instances found the alert due; one won its claim, the other left it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let won = claims(&a, "won").await + claims(&b, "won").await;
        let lost = claims(&a, "lost").await + claims(&b, "lost").await;
        if (won, lost) == (1, 1) {
            break;
        }
        assert!(won + lost < 2, "claims: won {won}, lost {lost}");
        assert!(Instant::now() < deadline, "claims: won {won}, lost {lost}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The winner writes right after its claim.
    let (on_a, on_b) = loop {
        let (on_a, on_b) = (alerts(&a).await, alerts(&b).await);
        let count = |log: &Value| log["total_alerts"].as_u64().unwrap_or(0);
        if count(&on_a) + count(&on_b) > 0 || Instant::now() > deadline {
            assert_eq!(count(&on_a) + count(&on_b), 1, "A: {on_a}\nB: {on_b}");
            break (on_a, on_b);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (writer, other, written) = if on_a["total_alerts"] == 1 {
        (&a, &b, &on_a)
    } else {
        (&b, &a, &on_b)
    };
    let alert = &written["alerts"][0];
    assert_eq!(alert["channel_id"], "a-first");
    assert_eq!(alert["alert_type"], "invalid_api_key");
    assert_eq!(
        alert["message"],
        "API key rejected by the upstream: HTTP 401: Incorrect API key provided"
    );
    assert_eq!(first.completion_count(), 2);

    // Cleared on the instance that wrote it: the blacklist is lifted on both and the claim
    // given up, so the next 401 (on the other instance) is alerted again, once.
    let cleared = writer
        .client
        .post(writer.url("/v1/stats/clear-alerts/a-first"))
        .send()
        .await
        .expect("clear");
    assert_eq!(cleared.status().as_u16(), 200);
    wait_status(other, "available").await;
    first.push(Reply::error(401, "Incorrect API key provided"));
    assert_eq!(served_by(other).await, "b-backup");
    assert_eq!(first.completion_count(), 3);
    let deadline = Instant::now() + Duration::from_secs(5);
    while claims(other, "won").await + claims(writer, "won").await < 2 {
        assert!(Instant::now() < deadline, "the new alert was never claimed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let again = loop {
        let again = alerts(other).await;
        if again["total_alerts"] != 0 || Instant::now() > deadline {
            break again;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(again["total_alerts"], 1, "{again}");
    assert_eq!(alerts(writer).await["total_alerts"], 0);
    a.stop().await;
    b.stop().await;
}
