//! Named client keys (`auth.keys`) through the real gateway, without Redis: a key is
//! recognised (plain, from an environment variable, or as its SHA-256), its name lands in the
//! usage record, the request history (`/v1/requests?key=`), `/v1/stats/*?key=`,
//! `breakdown_by=key` and `/metrics`; its rpm and daily budget answer 429 with `Retry-After`
//! naming the limit; `allow` answers 403 outside it; disabled and expired keys are refused; a
//! reload that removes a key revokes it at once; a reload whose `allow` query does not parse is
//! refused, and the running keys keep working.

use std::time::Duration;

use crate::support::usage_log::read_usage;
use crate::support::{MockUpstream, TestGateway};
use serde_json::{json, Value};

const API_TOKEN: &str = "t1-shared-api-token";
const ADMIN_TOKEN: &str = "t2-admin-token";
const TEAM_TOKEN: &str = "team-token-0123456789";
fn family_sha256() -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(b"family-token-0123456789");
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn config(mock: &MockUpstream, keys: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
auth:
  enabled: true
  api_token: {API_TOKEN}
  admin_token: {ADMIN_TOKEN}
  keys: {keys}
channels:
  - id: paid
    provider: mock
    base_url: {url}
    api_key: sk-paid-0123456789
    configured_models: [gpt-4o-mini]
    model_pricing:
      gpt-4o-mini: {{ input: 1000.0, output: 1000.0 }}
  - id: free
    provider: mock
    base_url: {url}
    api_key: sk-free-0123456789
    configured_models: ["tiny-chat:free"]
"#,
        url = mock.base_url()
    )
}

async fn chat(gateway: &TestGateway, token: &str, model: &str) -> (u16, Option<String>, Value) {
    let response = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(token)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("request reaches the gateway");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

async fn admin_get(gateway: &TestGateway, path: &str) -> Value {
    let response = gateway
        .client
        .get(gateway.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request reaches the gateway");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.expect("json")
}

/// Poll `/v1/stats/summary?key=` until the key's calls are counted (the writer is async).
async fn wait_for_requests(gateway: &TestGateway, key: &str, requests: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let daily = admin_get(gateway, &format!("/v1/stats/daily?key={key}")).await;
        if daily["data"]["total_requests"].as_u64() == Some(requests) {
            return daily;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "key {key} never reached {requests} requests: {daily}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_key_is_recognised_named_in_records_stats_and_metrics() {
    let mock = MockUpstream::start(&[]).await;
    std::env::set_var("SAR_TEST_TEAM_TOKEN", TEAM_TOKEN);
    let keys = format!(
        r#"[ {{ name: team, token: "${{SAR_TEST_TEAM_TOKEN}}" }}, {{ name: family, token_sha256: "{}" }} ]"#,
        family_sha256()
    );
    let gateway = TestGateway::start(&config(&mock, &keys)).await;

    let (status, _, body) = chat(&gateway, TEAM_TOKEN, "gpt-4o-mini").await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = chat(&gateway, "family-token-0123456789", "gpt-4o-mini").await;
    assert_eq!(status, 200);
    let (status, _, _) = chat(&gateway, TEAM_TOKEN, "gpt-4o-mini").await;
    assert_eq!(status, 200);
    // The single api_token keeps working, and records no key.
    let (status, _, _) = chat(&gateway, API_TOKEN, "gpt-4o-mini").await;
    assert_eq!(status, 200);
    let (status, _, body) = chat(&gateway, "not-a-key", "gpt-4o-mini").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    // On a Messages route the refusal is in Anthropic's shape.
    let response = gateway
        .client
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", "not-a-key")
        .json(&json!({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
    let error: Value = response.json().await.expect("json");
    assert_eq!(
        (error["type"].as_str(), error["error"]["type"].as_str()),
        (Some("error"), Some("authentication_error")),
        "{error}"
    );

    wait_for_requests(&gateway, "team", 2).await;
    wait_for_requests(&gateway, "family", 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut records = read_usage(&gateway.dir.path().join("logs"));
    while records.len() < 4 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        records = read_usage(&gateway.dir.path().join("logs"));
    }
    let mut names: Vec<Option<&str>> = records.iter().map(|r| r["key_name"].as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![None, Some("family"), Some("team"), Some("team")]
    );

    // The request history names the key too, and finds a key's calls by it.
    gateway.flush_history().await;
    let team = admin_get(&gateway, "/v1/requests?key=team").await;
    let team_rows = team["data"].as_array().expect("rows");
    assert_eq!(
        (team["total"].as_u64(), team_rows.len()),
        (Some(2), 2),
        "{team}"
    );
    assert!(team_rows.iter().all(|r| r["key_name"] == "team"), "{team}");
    let family = admin_get(&gateway, "/v1/requests?key=family").await;
    assert_eq!(family["total"], 1, "{family}");

    let breakdown = admin_get(&gateway, "/v1/stats/cost-breakdown?breakdown_by=key").await;
    let items = breakdown["data"]["breakdown"]
        .as_array()
        .expect("items")
        .clone();
    let by_key: Vec<(String, u64)> = items
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap_or("?").to_string(),
                i["requests"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // Calls without a key count in the total, not as a row.
    assert_eq!(by_key.len(), 2, "{breakdown}");
    assert_eq!(breakdown["data"]["total_cost"], 0.068);
    assert_eq!(by_key[0], ("team".to_string(), 2));
    assert!(by_key.contains(&("family".to_string(), 1)), "{by_key:?}");

    let metrics = gateway.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("sar_key_requests_total{key=\"team\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sar_key_requests_total{key=\"family\"} 1"),
        "{metrics}"
    );
    // A token never reaches a log or the metrics.
    assert!(!metrics.contains(TEAM_TOKEN));
    gateway.stop().await;
}

#[tokio::test]
async fn rpm_and_daily_budget_answer_429_naming_the_limit() {
    let mock = MockUpstream::start(&[]).await;
    let keys = r#"[ { name: fast, token: fast-token-0123, rpm: 2 },
                    { name: thrifty, token: thrifty-token-0123, daily_budget: 0.03 } ]"#;
    let gateway = TestGateway::start(&config(&mock, keys)).await;

    for _ in 0..2 {
        assert_eq!(
            chat(&gateway, "fast-token-0123", "gpt-4o-mini").await.0,
            200
        );
    }
    let (status, retry_after, body) = chat(&gateway, "fast-token-0123", "gpt-4o-mini").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Key \"fast\": rpm limit of 2 reached"),
        "{message}"
    );
    let wait: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(mock.completion_count(), 2);

    // 17 tokens at 1000 per 1M each way: 0.017 a call; the third is over 0.03.
    for _ in 0..2 {
        assert_eq!(
            chat(&gateway, "thrifty-token-0123", "gpt-4o-mini").await.0,
            200
        );
    }
    wait_for_requests(&gateway, "thrifty", 2).await;
    let (status, retry_after, body) = chat(&gateway, "thrifty-token-0123", "tiny-chat:free").await;
    assert_eq!(status, 429, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Key \"thrifty\" is over its daily budget of 0.03 (0.0340 spent)"),
        "{message}"
    );
    let wait: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert_eq!(mock.completion_count(), 4);
    gateway.stop().await;
}

#[tokio::test]
async fn allow_bounds_the_models_and_disabled_or_expired_keys_are_refused() {
    let mock = MockUpstream::start(&[]).await;
    let keys = r#"[ { name: kids, token: kids-token-0123, allow: "tag:free" },
                    { name: old, token: old-token-0123, expires_at: "2020-01-01" },
                    { name: off, token: off-token-0123, disabled: true } ]"#;
    let gateway = TestGateway::start(&config(&mock, keys)).await;

    let (status, _, body) = chat(&gateway, "kids-token-0123", "gpt-4o-mini").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        "Key \"kids\" may not use \"gpt-4o-mini\": its allow query is \"tag:free\" (auth.keys)."
    );
    let (status, _, body) = chat(&gateway, "kids-token-0123", "tag:free").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "tiny-chat:free");
    let (status, _, body) = chat(&gateway, "old-token-0123", "tag:free").await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Key \"old\" has expired (auth.keys expires_at)."
    );
    let (status, _, body) = chat(&gateway, "off-token-0123", "tag:free").await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Key \"off\" is disabled (auth.keys)."
    );
    // A key opens the API routes, never the admin ones.
    let response = gateway
        .client
        .get(gateway.url("/v1/stats/daily"))
        .bearer_auth("kids-token-0123")
        .send()
        .await
        .expect("reaches");
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(mock.completion_count(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_reload_that_removes_a_key_revokes_it_at_once() {
    let mock = MockUpstream::start(&[]).await;
    let both = r#"[ { name: a, token: a-token-0123 }, { name: b, token: b-token-0123 } ]"#;
    let gateway = TestGateway::start(&config(&mock, both)).await;
    assert_eq!(chat(&gateway, "b-token-0123", "gpt-4o-mini").await.0, 200);

    let only_a = r#"[ { name: a, token: a-token-0123 } ]"#;
    gateway.rewrite_config(&config(&mock, only_a));
    assert_eq!(gateway.reload(Some(ADMIN_TOKEN)).await.0, 200);
    assert_eq!(chat(&gateway, "b-token-0123", "gpt-4o-mini").await.0, 401);
    assert_eq!(chat(&gateway, "a-token-0123", "gpt-4o-mini").await.0, 200);
    gateway.stop().await;
}

#[tokio::test]
async fn a_reload_with_a_bad_allow_query_is_refused_and_the_old_keys_keep_working() {
    let mock = MockUpstream::start(&[]).await;
    let keys = r#"[ { name: a, token: a-token-0123, allow: "tag:free" }, { name: b, token: b-token-0123 } ]"#;
    let gateway = TestGateway::start(&config(&mock, keys)).await;
    assert_eq!(
        chat(&gateway, "a-token-0123", "tiny-chat:free").await.0,
        200
    );
    assert_eq!(chat(&gateway, "a-token-0123", "gpt-4o-mini").await.0, 403);

    // Key b gains an allow query that does not parse; a new key c comes with it.
    let bad = r#"[ { name: a, token: a-token-0123 }, { name: b, token: b-token-0123, allow: "tag:!" }, { name: c, token: c-token-0123 } ]"#;
    let file = gateway.config_dir().join("router_config.yaml");
    let text = gateway.rewrite_config(&config(&mock, bad));
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("allow:") && l.contains("tag:!"))
        .expect("the allow line")
        + 1;
    let (status, body) = gateway.reload(Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(
        message,
        format!(
            r#"{}:{line}: auth.keys[1].allow: "tag:!" is not a usable model query (key "b"): `!` in "tag:!" needs a tag after it, e.g. "tag:free,!local""#,
            file.display()
        )
    );
    let health = admin_get(&gateway, "/health").await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["config_error"].as_str(), Some(message));

    // The running keys are kept: a is still bounded, b unbounded, c unknown.
    assert_eq!(chat(&gateway, "a-token-0123", "gpt-4o-mini").await.0, 403);
    assert_eq!(
        chat(&gateway, "a-token-0123", "tiny-chat:free").await.0,
        200
    );
    assert_eq!(chat(&gateway, "b-token-0123", "gpt-4o-mini").await.0, 200);
    assert_eq!(chat(&gateway, "c-token-0123", "gpt-4o-mini").await.0, 401);
    gateway.stop().await;
}
