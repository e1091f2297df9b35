//! The stats API (docs/http-api.md) against a known usage log: hand-made `usage_YYYYMMDD.jsonl` files are
//! written into the usage dir before the gateway starts (it rebuilds its aggregates from them),
//! then every `/v1/stats/*` report is compared with figures worked out by hand in the comments.
//! Also: bad parameters are 400s with exact messages, corrupt lines are skipped and counted,
//! alerts from a rejected key are listed, cleared and persisted, `channel-status` shows the
//! blacklist, and `/metrics` counts a call.

use std::time::Duration;

use crate::support::usage_log::{usage_file_name, usage_record, write_log};
use crate::support::{MockUpstream, Reply, TestGateway};
use chrono::{Datelike, Days, NaiveDate, Utc};
use serde_json::{json, Value};
use smart_ai_router::stats::aggregate::UsageAggregates;

/// One record of the known log.
fn line(
    timestamp: &str,
    channel: (&str, &str),
    model: &str,
    status: &str,
    tokens: (u64, u64),
    cost: f64,
    response_time_ms: u64,
) -> String {
    let (channel_id, channel_name) = channel;
    let (input, output) = tokens;
    usage_record(json!({
        "timestamp": timestamp, "provider": channel_id, "channel_id": channel_id,
        "channel_name": channel_name, "model": model, "query": model, "status": status,
        "http_status": if status == "success" { 200 } else { 502 },
        "input_tokens": input, "output_tokens": output, "total_tokens": input + output,
        "total_cost": cost, "response_time_ms": response_time_ms
    }))
    .to_string()
}

const GROQ: (&str, &str) = ("groq", "Groq");
const OPENROUTER: (&str, &str) = ("openrouter", "OpenRouter");
const LLAMA: &str = "llama-3.1-8b-instant";
const MINI: &str = "openai/gpt-4o-mini";
const HAIKU: &str = "anthropic/claude-3-haiku";
const MYSTERY: &str = "mystery-model-7b";

/// The known log. Week of Mon 2026-11-16: A, B, C on Wed 18th (with 3 corrupt lines and a
/// blank one), D, E on Fri 20th. Earlier in November: F on Mon 2nd. October: G on the 30th.
fn write_known_log(logs: &std::path::Path) {
    let mut b = usage_record(json!({
        "timestamp": "2026-11-18T11:00:00.000Z", "provider": "openrouter",
        "channel_id": "openrouter", "channel_name": "OpenRouter", "model": MINI,
        "input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500, "cached_tokens": 200,
        "reasoning_tokens": 100, "total_cost": 0.0045, "response_time_ms": 1000
    }));
    b["input_cost"] = json!(0.0005);
    b["output_cost"] = json!(0.004);
    let mut e = usage_record(json!({
        "timestamp": "2026-11-20T09:30:00.000Z", "provider": "groq", "channel_id": "groq",
        "channel_name": "Groq", "model": MYSTERY, "input_tokens": 10, "output_tokens": 10,
        "total_tokens": 20, "response_time_ms": 100
    }));
    e["cost_known"] = json!(false);
    write_log(
        logs,
        "usage_20261118.jsonl",
        &[
            line(
                "2026-11-18T10:00:00.000Z",
                GROQ,
                LLAMA,
                "success",
                (100, 50),
                0.001,
                200,
            ),
            b.to_string(),
            line(
                "2026-11-18T12:00:00.000Z",
                OPENROUTER,
                MINI,
                "error",
                (0, 0),
                0.0,
                3000,
            ),
            "{not json".into(),
            r#"{"timestamp":"2026-11-18T13:00:00.000Z","status":"succ"#.into(),
            String::new(),
            r#"{"timestamp":"yesterday","status":"success"}"#.into(),
        ],
    );
    write_log(
        logs,
        "usage_20261120.jsonl",
        &[
            line(
                "2026-11-20T09:00:00.000Z",
                GROQ,
                LLAMA,
                "success",
                (200, 100),
                0.002,
                400,
            ),
            e.to_string(),
        ],
    );
    write_log(
        logs,
        "usage_20261102.jsonl",
        &[line(
            "2026-11-02T08:00:00.000Z",
            ("openrouter", "OpenRouter (old name)"),
            HAIKU,
            "success",
            (2000, 1000),
            0.01,
            1500,
        )],
    );
    write_log(
        logs,
        "usage_20261030.jsonl",
        &[line(
            "2026-10-30T23:59:59.999Z",
            GROQ,
            LLAMA,
            "success",
            (50, 50),
            0.0005,
            100,
        )],
    );
}

/// A gateway over the known log, with one channel whose upstream is `mock`.
async fn start_with_log(mock: &MockUpstream, log: impl FnOnce(&std::path::Path)) -> TestGateway {
    let dir = tempfile::tempdir().expect("dir");
    log(&dir.path().join("logs"));
    crate::support::write_config(dir.path(), &channel_config(mock));
    TestGateway::start_in(dir).await
}

fn channel_config(mock: &MockUpstream) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
channels:
  - id: good
    name: Good
    provider: mock
    base_url: {url}
    api_key: sk-good-key-1234567890abcdef
    configured_models: [gpt-4o-mini]
    model_pricing:
      gpt-4o-mini: {{ input: 0.5, output: 1.5 }}
  - id: bad
    name: Bad Key
    provider: mock
    base_url: {url}
    api_key: sk-bad-key-1234567890abcdef
    configured_models: [rejected-model-8b]
  - id: worse
    name: Worse Key
    provider: mock
    base_url: {url}
    api_key: sk-worse-key-1234567890abcdef
    configured_models: [refused-model-8b]
"#,
        url = mock.base_url()
    )
}

async fn get(gateway: &TestGateway, path: &str) -> (u16, Value) {
    let response = gateway.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// `data` of a successful stats call.
async fn data(gateway: &TestGateway, path: &str) -> Value {
    let (status, body) = get(gateway, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(body["success"], true, "{path}: {body}");
    body["data"].clone()
}

fn figures(requests: u64, cost: f64, tokens: u64) -> Value {
    json!({"requests": requests, "cost": cost, "tokens": tokens})
}

fn channel(name: &str, requests: u64, cost: f64, tokens: u64) -> Value {
    json!({"name": name, "requests": requests, "cost": cost, "tokens": tokens})
}

#[tokio::test]
async fn daily_weekly_and_monthly_reports_of_the_known_log() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = start_with_log(&mock, write_known_log).await;

    // A, B, C: 3 requests (C failed), 5.5 mUSD; response times 200, 1000, 3000.
    let daily = data(&gateway, "/v1/stats/daily?target_date=2026-11-18").await;
    let expected = json!({
        "date": "2026-11-18",
        "total_requests": 3, "successful_requests": 2, "failed_requests": 1,
        "total_input_tokens": 1100, "total_output_tokens": 550, "total_cached_tokens": 200,
        "total_reasoning_tokens": 100, "total_tokens": 1650, "total_cost": 0.0055,
        "unknown_cost_requests": 0, "unrouted_requests": 0,
        // 5.5 mUSD / 3 and / 1.65 k tokens, in whole nano-USD.
        "avg_cost_per_request": 0.001833333, "avg_cost_per_1k_tokens": 0.003333333,
        // (200 + 1000 + 3000) / 3; p95 is 3000's bucket [2944, 3072), reported as 3008.
        "avg_response_time_ms": 1400.0, "p95_response_time_ms": 3008,
        "providers": {"groq": figures(1, 0.001, 150), "openrouter": figures(2, 0.0045, 1500)},
        "channels": {"groq": channel("Groq", 1, 0.001, 150),
                     "openrouter": channel("OpenRouter", 2, 0.0045, 1500)},
        "models": {LLAMA: figures(1, 0.001, 150), MINI: figures(2, 0.0045, 1500)}
    });
    assert_eq!(daily, expected);

    // Mon 16th..Sun 22nd: A..E; E's cost is unknown.
    let weekly = data(&gateway, "/v1/stats/weekly?target_date=2026-11-18").await;
    let expected = json!({
        "week_start": "2026-11-16", "week_end": "2026-11-22",
        "total_requests": 5, "successful_requests": 4, "failed_requests": 1,
        "total_input_tokens": 1310, "total_output_tokens": 660, "total_cached_tokens": 200,
        "total_reasoning_tokens": 100, "total_tokens": 1970, "total_cost": 0.0075,
        "unknown_cost_requests": 1, "unrouted_requests": 0,
        "avg_cost_per_request": 0.0015, "avg_cost_per_1k_tokens": 0.003807107,
        "avg_response_time_ms": 940.0, "p95_response_time_ms": 3008,
        "providers": {"groq": figures(3, 0.003, 470), "openrouter": figures(2, 0.0045, 1500)},
        "channels": {"groq": channel("Groq", 3, 0.003, 470),
                     "openrouter": channel("OpenRouter", 2, 0.0045, 1500)},
        "models": {LLAMA: figures(2, 0.003, 450), MINI: figures(2, 0.0045, 1500),
                   MYSTERY: figures(1, 0.0, 20)}
    });
    assert_eq!(weekly, expected);

    // November: A..F. The channel's name is the latest day's, not F's old one.
    let monthly = data(&gateway, "/v1/stats/monthly?year=2026&month=11").await;
    let expected = json!({
        "year": 2026, "month": 11,
        "total_requests": 6, "successful_requests": 5, "failed_requests": 1,
        "total_input_tokens": 3310, "total_output_tokens": 1660, "total_cached_tokens": 200,
        "total_reasoning_tokens": 100, "total_tokens": 4970, "total_cost": 0.0175,
        "unknown_cost_requests": 1, "unrouted_requests": 0,
        "avg_cost_per_request": 0.002916667, "avg_cost_per_1k_tokens": 0.003521127,
        "avg_response_time_ms": 1033.3, "p95_response_time_ms": 3008,
        "providers": {"groq": figures(3, 0.003, 470), "openrouter": figures(3, 0.0145, 4500)},
        "channels": {"groq": channel("Groq", 3, 0.003, 470),
                     "openrouter": channel("OpenRouter", 3, 0.0145, 4500)},
        "models": {LLAMA: figures(2, 0.003, 450), MINI: figures(2, 0.0045, 1500),
                   MYSTERY: figures(1, 0.0, 20), HAIKU: figures(1, 0.01, 3000)}
    });
    assert_eq!(monthly, expected);

    let october = data(&gateway, "/v1/stats/monthly?year=2026&month=10").await;
    assert_eq!(
        (
            &october["total_requests"],
            &october["total_cost"],
            &october["models"]
        ),
        (
            &json!(1),
            &json!(0.0005),
            &json!({LLAMA: figures(1, 0.0005, 100)})
        )
    );
    let empty = data(&gateway, "/v1/stats/daily?target_date=2026-11-19").await;
    assert_eq!(
        (
            &empty["total_requests"],
            &empty["avg_cost_per_request"],
            &empty["p95_response_time_ms"],
            &empty["models"]
        ),
        (&json!(0), &json!(0.0), &json!(0), &json!({}))
    );
    gateway.stop().await;
}

#[tokio::test]
async fn top_lists_and_cost_breakdowns_of_the_known_log() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = start_with_log(&mock, write_known_log).await;

    // Tied at 2 requests: model ids ascending.
    let top = data(
        &gateway,
        "/v1/stats/top-models?period=weekly&target_date=2026-11-18&limit=2",
    )
    .await;
    let expected = json!({
        "period": "weekly", "target_date": "2026-11-18", "start_date": "2026-11-16",
        "end_date": "2026-11-22", "by": "requests",
        "models": [
            {"model": LLAMA, "requests": 2, "cost": 0.003, "tokens": 450,
             "avg_cost_per_request": 0.0015, "avg_tokens_per_request": 225.0},
            {"model": MINI, "requests": 2, "cost": 0.0045, "tokens": 1500,
             "avg_cost_per_request": 0.00225, "avg_tokens_per_request": 750.0}
        ]
    });
    assert_eq!(top, expected);

    // The 30 days up to the 18th: A, B, C, F and G (October).
    let top = data(
        &gateway,
        "/v1/stats/top-models?days=30&target_date=2026-11-18&by=tokens",
    )
    .await;
    let expected = json!({
        "period": "days", "days": 30, "target_date": "2026-11-18", "start_date": "2026-10-20",
        "end_date": "2026-11-18", "by": "tokens",
        "models": [
            {"model": HAIKU, "requests": 1, "cost": 0.01, "tokens": 3000,
             "avg_cost_per_request": 0.01, "avg_tokens_per_request": 3000.0},
            {"model": MINI, "requests": 2, "cost": 0.0045, "tokens": 1500,
             "avg_cost_per_request": 0.00225, "avg_tokens_per_request": 750.0},
            {"model": LLAMA, "requests": 2, "cost": 0.0015, "tokens": 250,
             "avg_cost_per_request": 0.00075, "avg_tokens_per_request": 125.0}
        ]
    });
    assert_eq!(top, expected);

    // By cost (the default for channels).
    let top = data(
        &gateway,
        "/v1/stats/top-channels?period=weekly&target_date=2026-11-18",
    )
    .await;
    let expected = json!({
        "period": "weekly", "target_date": "2026-11-18", "start_date": "2026-11-16",
        "end_date": "2026-11-22", "by": "cost",
        "channels": [
            {"channel_id": "openrouter", "channel": "OpenRouter", "requests": 2, "cost": 0.0045,
             "tokens": 1500, "avg_cost_per_request": 0.00225, "avg_tokens_per_request": 750.0,
             "successful_requests": 1, "failed_requests": 1, "success_rate": 0.5,
             "avg_response_time_ms": 2000.0, "p95_response_time_ms": 3008},
            // Response times 200, 400, 100: p95 is 400's bucket [400, 416), reported as 408.
            {"channel_id": "groq", "channel": "Groq", "requests": 3, "cost": 0.003,
             "tokens": 470, "avg_cost_per_request": 0.001, "avg_tokens_per_request": 156.67,
             "successful_requests": 3, "failed_requests": 0, "success_rate": 1.0,
             "avg_response_time_ms": 233.3, "p95_response_time_ms": 408}
        ]
    });
    assert_eq!(top, expected);

    // November: 14.5 of 17.5 mUSD on openrouter.
    let breakdown = data(
        &gateway,
        "/v1/stats/cost-breakdown?period=monthly&target_date=2026-11-18",
    )
    .await;
    let expected = json!({
        "period": "monthly", "breakdown_by": "provider", "target_date": "2026-11-18",
        "start_date": "2026-11-01", "end_date": "2026-11-30", "total_cost": 0.0175,
        "breakdown": [
            {"key": "openrouter", "provider": "openrouter", "cost": 0.0145, "percentage": 82.86, "requests": 3, "tokens": 4500},
            {"key": "groq", "provider": "groq", "cost": 0.003, "percentage": 17.14, "requests": 3, "tokens": 470}
        ],
        "unrouted_requests": 0
    });
    assert_eq!(breakdown, expected);
    let by_model = data(
        &gateway,
        "/v1/stats/cost-breakdown?period=monthly&target_date=2026-11-18&breakdown_by=model",
    )
    .await;
    assert_eq!(
        by_model["breakdown"],
        json!([
            {"key": HAIKU, "model": HAIKU, "cost": 0.01, "percentage": 57.14, "requests": 1, "tokens": 3000},
            {"key": MINI, "model": MINI, "cost": 0.0045, "percentage": 25.71, "requests": 2, "tokens": 1500},
            {"key": LLAMA, "model": LLAMA, "cost": 0.003, "percentage": 17.14, "requests": 2, "tokens": 450},
            {"key": MYSTERY, "model": MYSTERY, "cost": 0.0, "percentage": 0.0, "requests": 1, "tokens": 20}
        ])
    );
    let by_channel = data(
        &gateway,
        "/v1/stats/cost-breakdown?target_date=2026-11-18&breakdown_by=channel",
    )
    .await;
    assert_eq!(
        by_channel["breakdown"],
        json!([
            {"key": "openrouter", "channel": "openrouter", "name": "OpenRouter", "cost": 0.0045, "percentage": 81.82,
             "requests": 2, "tokens": 1500},
            {"key": "groq", "channel": "groq", "name": "Groq", "cost": 0.001, "percentage": 18.18, "requests": 1,
             "tokens": 150}
        ])
    );
    gateway.stop().await;
}

#[tokio::test]
async fn summary_compares_today_with_the_week_and_month() {
    let today = Utc::now().date_naive();
    let yesterday = today - Days::new(1);
    let long_ago = today - Days::new(40);
    let mock = MockUpstream::start(&[]).await;
    let gateway = start_with_log(&mock, |logs| {
        for (date, cost) in [(today, 0.003), (yesterday, 0.002), (long_ago, 0.01)] {
            let timestamp = format!("{date}T00:00:00.000Z");
            let record = line(&timestamp, GROQ, LLAMA, "success", (10, 10), cost, 100);
            write_log(logs, &usage_file_name(date), &[record]);
        }
    })
    .await;
    let summary = data(&gateway, "/v1/stats/summary?days=7").await;

    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let this_week = if yesterday >= monday { 2 } else { 1 };
    let this_month = if yesterday.month() == today.month() {
        2
    } else {
        1
    };
    let week_cost = if this_week == 2 { 0.005 } else { 0.003 };
    let month_cost = if this_month == 2 { 0.005 } else { 0.003 };
    assert_eq!(summary["today"]["date"], today.to_string());
    assert_eq!(summary["today"]["total_requests"], 1);
    assert_eq!(summary["today"]["total_cost"], 0.003);
    assert_eq!(summary["this_week"]["week_start"], monday.to_string());
    assert_eq!(summary["this_week"]["total_requests"], this_week);
    assert_eq!(summary["this_month"]["month"], today.month());
    assert_eq!(summary["this_month"]["total_requests"], this_month);
    let last_days = &summary["last_days"];
    assert_eq!(last_days["days"], 7);
    assert_eq!(last_days["start_date"], (today - Days::new(6)).to_string());
    assert_eq!(last_days["end_date"], today.to_string());
    assert_eq!(last_days["total_requests"], 2);
    assert_eq!(last_days["total_cost"], 0.005);
    // Today against the mean day of this week so far; the week's mean day against the month's.
    let round4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let week_avg = week_cost / f64::from(today.weekday().num_days_from_monday() + 1);
    let month_avg = month_cost / f64::from(today.day());
    assert_eq!(
        summary["comparison"],
        json!({
            "daily_vs_weekly_avg": round4((0.003 - week_avg) / week_avg),
            "weekly_vs_monthly_avg": round4((week_avg - month_avg) / month_avg)
        })
    );
    let default_days = data(&gateway, "/v1/stats/summary").await;
    assert_eq!(default_days["last_days"]["days"], 30);
    assert_eq!(default_days["last_days"]["total_requests"], 2);
    let sixty = data(&gateway, "/v1/stats/summary?days=60").await;
    assert_eq!(sixty["last_days"]["total_requests"], 3);
    gateway.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_400s_that_name_the_parameter() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = start_with_log(&mock, write_known_log).await;
    let cases = [
        (
            "/v1/stats/daily?target_date=2026-13-01",
            "target_date",
            "invalid target_date \"2026-13-01\": expected a date YYYY-MM-DD, e.g. 2026-11-21",
        ),
        (
            "/v1/stats/weekly?target_date=18.11.2026",
            "target_date",
            "invalid target_date \"18.11.2026\": expected a date YYYY-MM-DD, e.g. 2026-11-21",
        ),
        (
            "/v1/stats/monthly?year=2026&month=13",
            "month",
            "invalid month \"13\": expected an integer from 1 to 12",
        ),
        (
            "/v1/stats/summary?days=abc",
            "days",
            "invalid days \"abc\": expected an integer from 1 to 365",
        ),
        (
            "/v1/stats/top-models?limit=0",
            "limit",
            "invalid limit \"0\": expected an integer from 1 to 50",
        ),
        (
            "/v1/stats/top-models?by=speed",
            "by",
            "invalid by \"speed\": expected one of requests, cost, tokens",
        ),
        (
            "/v1/stats/top-channels?period=yearly",
            "period",
            "invalid period \"yearly\": expected one of daily, weekly, monthly (or days=N)",
        ),
        (
            "/v1/stats/cost-breakdown?period=weekly&days=7",
            "period",
            "invalid period \"weekly\": expected either period or days, not both",
        ),
        (
            "/v1/stats/cost-breakdown?breakdown_by=region",
            "breakdown_by",
            "invalid breakdown_by \"region\": expected one of provider, channel, model, key",
        ),
        (
            "/v1/stats/alerts?hours=169",
            "hours",
            "invalid hours \"169\": expected an integer from 1 to 168",
        ),
    ];
    for (path, param, message) in cases {
        let (status, body) = get(&gateway, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(
            body,
            json!({"error": {"message": message, "type": "invalid_request_error",
                             "code": "invalid_parameter", "param": param}}),
            "{path}"
        );
    }
    gateway.stop().await;
}

#[tokio::test]
async fn corrupt_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().expect("dir");
    write_known_log(dir.path());
    let (aggregates, report) = UsageAggregates::rebuild_from_dir(dir.path()).expect("rebuild");
    assert_eq!(report.files_read, 4);
    assert_eq!(report.records, 7);
    assert_eq!(report.corrupt_lines, 3);
    assert_eq!(report.blank_lines, 1);
    let corrupt: Vec<u64> = report.first_corrupt.iter().map(|c| c.line).collect();
    assert_eq!(corrupt, [4, 5, 7]);
    assert!(report
        .first_corrupt
        .iter()
        .all(|c| c.file == dir.path().join("usage_20261118.jsonl")));
    let date = NaiveDate::from_ymd_opt(2026, 11, 18).expect("date");
    assert_eq!(aggregates.day(date).map(|d| d.total.requests), Some(3));
}

/// Awaits `condition` on the gateway, checked every few milliseconds; fails after 30 s.
async fn wait_for<F, Fut>(what: &str, condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

async fn restart(gateway: TestGateway) -> TestGateway {
    let TestGateway { dir, running, .. } = gateway;
    if let Some(running) = running {
        running.shutdown().await;
    }
    TestGateway::start_in(dir).await
}

async fn alert_count(gateway: &TestGateway) -> u64 {
    data(gateway, "/v1/stats/alerts").await["total_alerts"]
        .as_u64()
        .unwrap_or(0)
}

fn channel_status<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["channels"]
        .as_array()
        .and_then(|channels| channels.iter().find(|c| c["channel_id"] == id))
        .unwrap_or_else(|| panic!("channel {id} in {status}"))
}

#[tokio::test]
async fn a_rejected_key_raises_an_alert_that_is_listed_cleared_and_persisted() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_default(Reply::error(
        401,
        "Incorrect API key provided: sk-bad-key-1234567890abcdef",
    ));
    let gateway = start_with_log(&mock, |_| {}).await;
    assert_eq!(gateway.chat("rejected-model-8b").await.status(), 502);
    wait_for("the alert", || async { alert_count(&gateway).await == 1 }).await;

    let alerts = data(&gateway, "/v1/stats/alerts?hours=1").await;
    assert_eq!(alerts["time_range_hours"], 1);
    assert_eq!(alerts["alert_counts"], json!({"invalid_api_key": 1}));
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["channel_id"], "bad");
    assert_eq!(alert["channel_name"], "Bad Key");
    assert_eq!(alert["alert_type"], "invalid_api_key");
    assert_eq!(
        alert["message"],
        "API key rejected by the upstream: HTTP 401: Incorrect API key provided: ***"
    );
    assert_eq!(alert["details"], json!({"error_class": "invalid_api_key"}));
    let stamped = alert["timestamp"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamped).is_ok(),
        "{stamped}"
    );

    let status = data(&gateway, "/v1/stats/channel-status").await;
    let bad = channel_status(&status, "bad");
    assert_eq!(bad["enabled"], true);
    assert_eq!(bad["blacklisted"]["reason"], "invalid_api_key");
    assert_eq!(
        bad["blacklisted"]["message"],
        "HTTP 401: Incorrect API key provided: ***"
    );
    assert_eq!(channel_status(&status, "good")["blacklisted"], Value::Null);
    // The blacklisted channel is not tried again.
    assert_eq!(gateway.chat("rejected-model-8b").await.status(), 503);
    assert_eq!(mock.completions().len(), 1);

    // The alert outlives a restart; clearing it lifts the blacklist and outlives one too.
    let gateway = restart(gateway).await;
    assert_eq!(alert_count(&gateway).await, 1);
    let response = gateway
        .client
        .post(gateway.url("/v1/stats/clear-alerts/bad"))
        .send()
        .await
        .expect("clear");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"success": true, "message": "cleared 1 alert(s) of channel bad and lifted its blacklist"})
    );
    assert_eq!(alert_count(&gateway).await, 0);
    let status = data(&gateway, "/v1/stats/channel-status").await;
    assert_eq!(channel_status(&status, "bad")["blacklisted"], Value::Null);
    let gateway = restart(gateway).await;
    assert_eq!(alert_count(&gateway).await, 0);
    let alerts_file = gateway.dir.path().join("logs/channel_alerts.jsonl");
    assert_eq!(
        std::fs::read_to_string(alerts_file).ok().as_deref(),
        Some("")
    );
    gateway.stop().await;
}

#[tokio::test]
async fn clear_all_alerts_clears_every_channel_and_persists() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_default(Reply::error(401, "Incorrect API key provided"));
    let gateway = start_with_log(&mock, |_| {}).await;
    assert_eq!(gateway.chat("rejected-model-8b").await.status(), 502);
    assert_eq!(gateway.chat("refused-model-8b").await.status(), 502);
    wait_for("two alerts", || async { alert_count(&gateway).await == 2 }).await;
    let response = gateway
        .client
        .post(gateway.url("/v1/stats/clear-all-alerts"))
        .send()
        .await
        .expect("clear all");
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"success": true, "message": "cleared 2 alert(s) and lifted every blacklist"})
    );
    assert_eq!(alert_count(&gateway).await, 0);
    let status = data(&gateway, "/v1/stats/channel-status").await;
    for id in ["bad", "worse"] {
        assert_eq!(channel_status(&status, id)["blacklisted"], Value::Null);
    }
    let gateway = restart(gateway).await;
    assert_eq!(alert_count(&gateway).await, 0);
    gateway.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_attempts_tokens_and_cost_per_channel() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = start_with_log(&mock, |_| {}).await;
    assert_eq!(gateway.chat("gpt-4o-mini").await.status(), 200);
    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
    let response = gateway.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("metrics text");
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        r#"sar_requests_total{route="chat",status="200"} 1"#,
        r#"sar_attempts_total{channel="good",model="gpt-4o-mini",outcome="success"} 1"#,
        r#"sar_latency_seconds_count{channel="good",model="gpt-4o-mini"} 1"#,
        r#"sar_tokens_total{channel="good",model="gpt-4o-mini",kind="input"} 12"#,
        r#"sar_tokens_total{channel="good",model="gpt-4o-mini",kind="output"} 5"#,
        r#"sar_tokens_total{channel="good",model="gpt-4o-mini",kind="cached"} 0"#,
        // 12 × 0.5 / 1M + 5 × 1.5 / 1M.
        r#"sar_cost_total{channel="good",model="gpt-4o-mini"} 0.0000135"#,
        "sar_usage_records_dropped_total 0",
    ] {
        assert!(lines.contains(&expected), "missing {expected}\n{text}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn health_counts_the_corrupt_lines_skipped_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    write_known_log(&logs);
    crate::support::write_config(dir.path(), "discovery: { enabled: false }\n");
    let gateway = TestGateway::start_in(dir).await;
    let health: Value = gateway.get("/health").await.json().await.expect("json");
    assert_eq!(health["usage"]["corrupt_lines_skipped_at_start"], 3);
    gateway.stop().await;
}

#[tokio::test]
async fn a_cost_in_another_currency_is_counted_apart_not_added_as_usd() {
    let mock = MockUpstream::start(&[]).await;
    let gateway = start_with_log(&mock, |logs| {
        let usd = line(
            "2026-11-18T10:00:00.000Z",
            GROQ,
            LLAMA,
            "success",
            (10, 5),
            0.1,
            100,
        );
        let mut cny: Value = serde_json::from_str(&line(
            "2026-11-18T10:01:00.000Z",
            ("cny", "CNY Channel"),
            LLAMA,
            "success",
            (10, 5),
            0.7,
            100,
        ))
        .expect("record");
        cny["cost_currency"] = json!("CNY");
        write_log(
            logs,
            &usage_file_name(NaiveDate::from_ymd_opt(2026, 11, 18).expect("date")),
            &[usd, cny.to_string()],
        );
    })
    .await;
    let day = data(&gateway, "/v1/stats/daily?target_date=2026-11-18").await;
    assert_eq!(day["total_requests"], 2);
    assert_eq!(day["total_cost"], 0.1, "{day}");
    assert_eq!(day["other_currency_requests"], 1);
    assert_eq!(day["channels"]["cny"]["cost"], 0.0);
    gateway.stop().await;
}
