//! `/`: the overview — today, 7 and 30 days of requests, tokens, cost and error rate; charts
//! per hour (from the history) and per day (from the usage aggregates; with `history.url`, every
//! instance's usage records); top models and channels; budget use; recent alerts. The `#live` block refreshes itself every 15 s.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use chrono::{Duration, NaiveDate, Utc};
use maud::{html, Markup};
use serde_json::json;

use super::layout::{self, badge, count, money, percent};
use super::Ui;
use crate::history::Bucket;
use crate::state::AppState;
use crate::stats::aggregate::{UsageAggregates, UsageBreakdown, UsageTotals};

const HOUR_MS: i64 = 3_600_000;
/// Hours in the per-hour chart.
const HOURS: i64 = 48;
/// Days in the per-day chart.
const DAYS: i64 = 30;

/// `GET /`.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Html<String> {
    let hourly = hourly(&ui.app).await;
    let today = Utc::now().date_naive();
    let first = today - Duration::days(DAYS - 1);
    let shared = crate::history::shared_usage(ui.app.history.as_ref(), first, today).await;
    let body = html! {
        h1 { "Overview" }
        div #live data-refresh-s="15" { (live(&ui.app, &hourly, shared.as_ref())) }
        link rel="stylesheet" href="/ui/assets/uPlot.min.css";
        script src="/ui/assets/uPlot.iife.min.js" {}
    };
    layout::page("Overview", "/", &ui.shell(&headers), body)
}

/// The last [`HOURS`] hours from the history, every hour present (empty ones zero; all zero
/// when the history is off).
async fn hourly(app: &Arc<AppState>) -> Vec<Bucket> {
    let now = Utc::now().timestamp_millis();
    let from = (now / HOUR_MS - HOURS + 1) * HOUR_MS;
    let stored = match &app.history {
        Some(history) => {
            let store = history.store();
            tokio::task::spawn_blocking(move || store.buckets(from, HOUR_MS))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    (0..HOURS)
        .map(|i| from + i * HOUR_MS)
        .map(|start| {
            stored
                .iter()
                .find(|b| b.start_ms == start)
                .cloned()
                .unwrap_or(Bucket {
                    start_ms: start,
                    ..Bucket::default()
                })
        })
        .collect()
}

/// `shared`: every instance's usage of the last [`DAYS`] days (`history.url`); else this
/// instance's aggregates.
fn live(app: &AppState, hourly: &[Bucket], shared: Option<&UsageAggregates>) -> Markup {
    let today = Utc::now().date_naive();
    let (periods, daily, week) = {
        let local = app.aggregates.read().unwrap_or_else(|p| p.into_inner());
        let agg: &UsageAggregates = shared.unwrap_or(&local);
        let periods = [
            ("Today", agg.between(today, today).total),
            (
                "7 days",
                agg.between(today - Duration::days(6), today).total,
            ),
            (
                "30 days",
                agg.between(today - Duration::days(DAYS - 1), today).total,
            ),
        ];
        let daily: Vec<(NaiveDate, UsageTotals)> = (0..DAYS)
            .rev()
            .map(|back| today - Duration::days(back))
            .map(|d| (d, agg.day(d).map(|b| b.total.clone()).unwrap_or_default()))
            .collect();
        (
            periods,
            daily,
            agg.between(today - Duration::days(6), today),
        )
    };
    html! {
        div.cards {
            @for (label, totals) in &periods { (period_card(label, totals)) }
        }
        h2 { "Activity" }
        div.charts {
            div.chart data-chart="chart-hourly" { (hourly_table(hourly)) }
            div.chart data-chart="chart-daily" { (daily_table(&daily)) }
        }
        (layout::json_island("chart-hourly", &hourly_chart(hourly)))
        (layout::json_island("chart-daily", &daily_chart(&daily)))
        div.two {
            div { h2 { "Top models (7 days)" } (top_table(&week, false)) }
            div { h2 { "Top channels (7 days)" } (top_table(&week, true)) }
        }
        div.two {
            div { h2 { "Budget today" } (budgets(app, today)) }
            div { h2 { "Recent alerts" } (recent_alerts(app)) }
        }
    }
}

fn period_card(label: &str, t: &UsageTotals) -> Markup {
    html! {
        div.card {
            h3 { (label) }
            dl {
                dt { "Requests" } dd { (count(t.requests)) }
                dt { "Tokens" } dd { (count(t.total_tokens)) }
                dt { "Cost" } dd { (money(t.cost_usd())) }
                dt { "Error rate" } dd { (percent(t.failed_requests, t.requests)) }
            }
        }
    }
}

fn hourly_chart(hourly: &[Bucket]) -> serde_json::Value {
    json!({
        "title": "Per hour (48 h): requests, errors, cost",
        "x": hourly.iter().map(|b| b.start_ms / 1000).collect::<Vec<_>>(),
        "series": [
            {"label": "requests", "values": hourly.iter().map(|b| b.requests).collect::<Vec<_>>()},
            {"label": "errors", "values": hourly.iter().map(|b| b.errors).collect::<Vec<_>>()},
            {"label": "cost ($)", "scale": "r", "values": hourly.iter().map(|b| b.cost).collect::<Vec<_>>()},
        ],
    })
}

fn daily_chart(daily: &[(NaiveDate, UsageTotals)]) -> serde_json::Value {
    let x: Vec<i64> = daily
        .iter()
        .filter_map(|(d, _)| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .collect();
    json!({
        "title": "Per day (30 days): requests, errors, cost",
        "x": x,
        "series": [
            {"label": "requests", "values": daily.iter().map(|(_, t)| t.requests).collect::<Vec<_>>()},
            {"label": "errors", "values": daily.iter().map(|(_, t)| t.failed_requests).collect::<Vec<_>>()},
            {"label": "cost ($)", "scale": "r", "values": daily.iter().map(|(_, t)| t.cost_usd()).collect::<Vec<_>>()},
        ],
    })
}

fn hourly_table(hourly: &[Bucket]) -> Markup {
    html! {
        details {
            summary { "Per hour (48 h) as a table" }
            table {
                tr { th { "Hour (UTC)" } th.num { "Requests" } th.num { "Errors" } th.num { "Tokens" } th.num { "Cost" } }
                @for b in hourly.iter().rev().filter(|b| b.requests > 0) {
                    tr {
                        td { (chrono::DateTime::from_timestamp_millis(b.start_ms).map(|t| t.format("%m-%d %H:00").to_string()).unwrap_or_default()) }
                        td.num { (count(b.requests)) } td.num { (count(b.errors)) }
                        td.num { (count(b.tokens)) } td.num { (money(b.cost)) }
                    }
                }
            }
        }
    }
}

fn daily_table(daily: &[(NaiveDate, UsageTotals)]) -> Markup {
    html! {
        details {
            summary { "Per day (30 days) as a table" }
            table {
                tr { th { "Day" } th.num { "Requests" } th.num { "Errors" } th.num { "Tokens" } th.num { "Cost" } }
                @for (day, t) in daily.iter().rev().filter(|(_, t)| t.requests > 0) {
                    tr {
                        td { (day) }
                        td.num { (count(t.requests)) } td.num { (count(t.failed_requests)) }
                        td.num { (count(t.total_tokens)) } td.num { (money(t.cost_usd())) }
                    }
                }
            }
        }
    }
}

fn top_table(week: &UsageBreakdown, channels: bool) -> Markup {
    let mut rows: Vec<(String, &UsageTotals)> = if channels {
        week.channels
            .iter()
            .map(|(id, c)| (id.clone(), &c.totals))
            .collect()
    } else {
        week.models.iter().map(|(m, t)| (m.clone(), t)).collect()
    };
    rows.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(&b.0)));
    html! {
        @if rows.is_empty() { p.muted { "No calls yet." } } @else {
            table {
                tr { th { (if channels { "Channel" } else { "Model" }) } th.num { "Requests" } th.num { "Errors" } th.num { "Tokens" } th.num { "Cost" } }
                @for (name, t) in rows.iter().take(8) {
                    tr {
                        td { (name) } td.num { (count(t.requests)) } td.num { (count(t.failed_requests)) }
                        td.num { (count(t.total_tokens)) } td.num { (money(t.cost_usd())) }
                    }
                }
            }
        }
    }
}

fn meter(spent: f64, budget: f64) -> Markup {
    let share = if budget > 0.0 {
        (spent / budget).min(1.0)
    } else {
        1.0
    };
    html! {
        div.meter { span class=[(spent >= budget).then_some("over")] style={ "width:" (format!("{:.1}", share * 100.0)) "%" } {} }
    }
}

fn budgets(app: &AppState, today: NaiveDate) -> Markup {
    let snapshot = app.snapshot();
    let config = &snapshot.config;
    let agg = app.aggregates.read().unwrap_or_else(|p| p.into_inner());
    let global = config.cost_control.global_daily_budget;
    let channels: Vec<_> = config
        .channels
        .iter()
        .filter_map(|c| c.daily_budget.map(|b| (c, b)))
        .collect();
    html! {
        @if global.is_none() && channels.is_empty() {
            p.muted { "No daily budget is set (" code { "cost_control.global_daily_budget" } ", a channel's " code { "daily_budget" } ")." }
        } @else {
            table {
                tr { th { "Budget" } th.num { "Spent" } th.num { "Limit" } th { "" } }
                @if let Some(limit) = global {
                    @let spent = agg.spend_on(today, None);
                    tr { td { "All channels" } td.num { (money(spent)) } td.num { (money(limit)) } td { (meter(spent, limit)) } }
                }
                @for (channel, limit) in &channels {
                    @let spent = agg.spend_on(today, Some(&channel.id));
                    tr { td { (channel.id) } td.num { (money(spent)) } td.num { (money(*limit)) } td { (meter(spent, *limit)) } }
                }
            }
        }
    }
}

fn recent_alerts(app: &AppState) -> Markup {
    let report = app
        .alerts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .recent(24, Utc::now());
    html! {
        @if report.alerts.is_empty() { p.muted { "No alerts in the last 24 hours." } } @else {
            table {
                tr { th { "When" } th { "Channel" } th { "Type" } th { "Message" } }
                @for alert in report.alerts.iter().take(8) {
                    tr {
                        td { (alert.timestamp.get(..19).unwrap_or(&alert.timestamp)) }
                        td { (alert.channel_id) }
                        td { (badge("error", &alert.alert_type)) }
                        td { (alert.message) }
                    }
                }
            }
            p { a href="/alerts" { "All alerts →" } }
        }
    }
}
