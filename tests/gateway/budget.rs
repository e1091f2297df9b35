//! Budgets (docs/http-api.md): a channel's `daily_budget` and `cost_control.global_daily_budget`, per
//! UTC day, from spend pre-seeded in today's usage log plus the calls made here.
//!
//! Alerts (`budget_warning` at `alert_threshold`, `budget_exceeded` at 100 %, each once per
//! budget per day, also across a restart) are written after each usage record. With
//! `auto_disable_on_budget_exceeded`, paid candidates over budget are skipped: free models
//! still serve, and a request left with nothing gets `429 budget_exceeded`.

use crate::support::usage_log::{usage_file_name, usage_record, write_log};
use crate::support::{MockUpstream, Reply, TestGateway};
use chrono::Utc;
use serde_json::{json, Value};
use smart_ai_router::budget::BudgetGate;

/// A paid model (USD 1 per 1M tokens either way, 128k context) with a budget of 1 USD a day,
/// and a free one with an 8k context, which the `by_context` strategy ranks second.
fn config(mock: &MockUpstream, cost_control: &str) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
cost_control: {cost_control}
routing:
  sorting_strategies:
    by_context: [ {{ field: context_score, weight: 1.0 }} ]
channels:
  - id: paid
    name: Paid
    provider: mock
    base_url: {url}
    api_key: sk-paid-key-0123456789
    tags: [budgeted]
    daily_budget: 1.0
    configured_models: [gpt-4o-mini]
    model_pricing:
      gpt-4o-mini: {{ input: 1.0, output: 1.0 }}
  - id: free
    name: Free
    provider: mock
    base_url: {url}
    api_key: sk-free-key-0123456789
    tags: [budgeted]
    configured_models: ["tiny-chat-8k:free"]
"#,
        url = mock.base_url()
    )
}

/// Start with today's log holding one call per `(channel, cost)`.
async fn start(mock: &MockUpstream, cost_control: &str, spent: &[(&str, f64)]) -> TestGateway {
    let dir = tempfile::tempdir().expect("dir");
    let today = Utc::now().date_naive();
    let lines: Vec<String> = spent
        .iter()
        .enumerate()
        .map(|(i, (channel, cost))| {
            usage_record(json!({
                "timestamp": format!("{today}T00:00:00.000Z"), "request_id": format!("req_seed{i}"),
                "channel_id": channel, "channel_name": channel, "model": "gpt-4o-mini",
                "total_cost": cost
            }))
            .to_string()
        })
        .collect();
    write_log(&dir.path().join("logs"), &usage_file_name(today), &lines);
    crate::support::write_config(dir.path(), &config(mock, cost_control));
    TestGateway::start_in(dir).await
}

/// Make the mock's next answers cost 0.1 USD each at 1 USD per 1M tokens.
fn answers_cost_a_tenth(mock: &MockUpstream) {
    mock.set_default(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-big", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100000, "completion_tokens": 0, "total_tokens": 100000}
        }),
        headers: vec![],
    });
}

/// A paid call, then wait until its record (and any alert it raised) is written.
async fn paid_call(gateway: &TestGateway) {
    assert_eq!(gateway.chat("gpt-4o-mini").await.status(), 200);
    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
}

/// `(channel_id, alert_type, message)` of the budget alerts, oldest first.
async fn budget_alerts(gateway: &TestGateway) -> Vec<(String, String, String)> {
    let body: Value = gateway
        .get("/v1/stats/alerts")
        .await
        .json()
        .await
        .expect("alerts");
    let mut alerts: Vec<(String, String, String)> = body["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            a["alert_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("budget_"))
        })
        .map(|a| {
            let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (text("channel_id"), text("alert_type"), text("message"))
        })
        .collect();
    alerts.reverse();
    alerts
}

fn alert(channel: &str, kind: &str, message: &str) -> (String, String, String) {
    (channel.into(), kind.into(), message.into())
}

#[tokio::test]
async fn a_channel_budget_warns_at_the_threshold_and_when_spent_once_a_day() {
    let mock = MockUpstream::start(&[]).await;
    answers_cost_a_tenth(&mock);
    let cost = "{ alert_threshold: 0.8 }";
    let gateway = start(&mock, cost, &[("paid", 0.75)]).await;
    let warning = || {
        alert(
            "paid",
            "budget_warning",
            "85% of the daily budget of 1.00 spent (0.8500)",
        )
    };
    let exceeded = || {
        alert(
            "paid",
            "budget_exceeded",
            "daily budget of 1.00 exceeded: 1.0500 spent today",
        )
    };
    assert_eq!(budget_alerts(&gateway).await, []);
    paid_call(&gateway).await; // 0.85: past 80 %
    assert_eq!(budget_alerts(&gateway).await, [warning()]);
    paid_call(&gateway).await; // 0.95: warned already today
    assert_eq!(budget_alerts(&gateway).await, [warning()]);
    paid_call(&gateway).await; // 1.05: spent
    assert_eq!(budget_alerts(&gateway).await, [warning(), exceeded()]);
    paid_call(&gateway).await; // 1.15
    assert_eq!(budget_alerts(&gateway).await, [warning(), exceeded()]);

    // A restart remembers today's alerts from the alerts file.
    let TestGateway { dir, running, .. } = gateway;
    if let Some(running) = running {
        running.shutdown().await;
    }
    let gateway = TestGateway::start_in(dir).await;
    paid_call(&gateway).await; // 1.25
    assert_eq!(budget_alerts(&gateway).await, [warning(), exceeded()]);
    gateway.stop().await;
}

#[tokio::test]
async fn the_global_budget_warns_exactly_at_the_threshold_under_the_global_id() {
    let mock = MockUpstream::start(&[]).await;
    answers_cost_a_tenth(&mock);
    let cost = "{ global_daily_budget: 2.0, alert_threshold: 0.8 }";
    // 1.5 spent elsewhere; the paid channel's own budget is far away.
    let gateway = start(&mock, cost, &[("elsewhere", 1.5)]).await;
    paid_call(&gateway).await; // 1.6 = 80 % of 2.0
    assert_eq!(
        budget_alerts(&gateway).await,
        [alert(
            "global",
            "budget_warning",
            "80% of the daily budget of 2.00 spent (1.6000)"
        )]
    );
    let body: Value = gateway
        .get("/v1/stats/alerts")
        .await
        .json()
        .await
        .expect("alerts");
    assert_eq!(body["data"]["alerts"][0]["channel_name"], "all channels");
    gateway.stop().await;
}

#[tokio::test]
async fn free_calls_raise_no_budget_alert() {
    let mock = MockUpstream::start(&[]).await;
    answers_cost_a_tenth(&mock);
    let cost = "{ global_daily_budget: 1.0, alert_threshold: 0.5 }";
    let gateway = start(&mock, cost, &[("paid", 0.9)]).await;
    assert_eq!(gateway.chat("tiny-chat-8k:free").await.status(), 200);
    let running = gateway.running.as_ref().expect("running");
    running.state.usage.flush().await;
    assert_eq!(budget_alerts(&gateway).await, []);
    gateway.stop().await;
}

/// Which of the gateway's catalog entries the budget gate skips, as `channel/model`.
fn blocked(gateway: &TestGateway) -> Vec<String> {
    let state = &gateway.running.as_ref().expect("running").state;
    let snapshot = state.snapshot();
    let gate = BudgetGate::new(&state.aggregates, &state.spend_board, &snapshot.config);
    snapshot
        .catalog
        .entries
        .iter()
        .filter(|e| gate.blocks(e))
        .map(|e| format!("{}/{}", e.channel.id, e.model_id))
        .collect()
}

#[tokio::test]
async fn the_gate_skips_paid_models_over_a_budget_only_when_told_to() {
    let mock = MockUpstream::start(&[]).await;
    let disable = "{ auto_disable_on_budget_exceeded: true }";
    let gateway = start(&mock, disable, &[("paid", 0.99)]).await;
    assert_eq!(blocked(&gateway), Vec::<String>::new(), "0.99 of 1.00");
    gateway.stop().await;

    let gateway = start(&mock, disable, &[("paid", 0.6), ("paid", 0.4)]).await;
    assert_eq!(blocked(&gateway), ["paid/gpt-4o-mini"], "1.00 of 1.00");
    gateway.stop().await;

    let global = "{ global_daily_budget: 0.5, auto_disable_on_budget_exceeded: true }";
    let gateway = start(&mock, global, &[("elsewhere", 0.5)]).await;
    assert_eq!(blocked(&gateway), ["paid/gpt-4o-mini"], "the global budget");
    gateway.stop().await;

    let gateway = start(&mock, "{}", &[("paid", 5.0)]).await;
    assert_eq!(blocked(&gateway), Vec::<String>::new(), "not told to");
    gateway.stop().await;
}

#[tokio::test]
async fn a_request_with_only_paid_candidates_over_budget_gets_429() {
    let mock = MockUpstream::start(&[]).await;
    let disable = "{ auto_disable_on_budget_exceeded: true }";
    let gateway = start(&mock, disable, &[("paid", 1.2)]).await;
    let response = gateway.chat("gpt-4o-mini").await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.expect("error body");
    assert_eq!(body["error"]["code"], "budget_exceeded");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(mock.completions().len(), 0, "nothing reached the upstream");
    gateway.stop().await;
}

#[tokio::test]
async fn free_candidates_still_serve_when_paid_ones_are_over_budget() {
    let mock = MockUpstream::start(&[]).await;
    let disable = "{ global_daily_budget: 1.0, auto_disable_on_budget_exceeded: true }";
    let gateway = start(&mock, disable, &[("elsewhere", 1.0)]).await;
    // by_context ranks the paid model first; over budget, it is skipped.
    for _ in 0..3 {
        let response = gateway
            .client
            .post(gateway.url("/v1/chat/completions"))
            .header("x-router-strategy", "by_context")
            .json(
                &json!({"model": "tag:budgeted", "messages": [{"role": "user", "content": "Hi"}]}),
            )
            .send()
            .await
            .expect("request reaches the gateway");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response
                .headers()
                .get("x-router-channel")
                .and_then(|v| v.to_str().ok()),
            Some("free")
        );
    }
    assert!(mock
        .completions()
        .iter()
        .all(|r| r.json()["model"] == "tiny-chat-8k:free"));
    gateway.stop().await;
}
