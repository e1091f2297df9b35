//! `/v1/stats/*` (docs/http-api.md): thin handlers over `stats::params` (parsing), `stats::report`
//! (pure reports over the in-memory aggregates, or with `history.url` over aggregates of every
//! instance's usage records of the days asked, built by the same code) and `stats::alerts`.
//! Every body is `{"success": true, "data": ...}`; a bad parameter is a 400 naming it. Field names follow the
//! original router where it had them (`notified_channels`, `error_counts`, `last_error_times`
//! in channel-status); clearing the alerts of a channel that is neither configured nor in the
//! alert log is a 404. Clearing also lifts the blacklist and gives up the channel's alert
//! claims in the shared state, so its next alerts are written again.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use chrono::{Datelike, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::error::ApiError;
use crate::explain::wall_clock;
use crate::health::BreakerState;
use crate::shared_state::alerts::release_claims;
use crate::state::AppState;
use crate::stats::aggregate::UsageAggregates;
use crate::stats::params::{self, DateRange, StatsParamError};
use crate::stats::report;

type Pairs = Query<HashMap<String, String>>;

fn ok<T: Serialize>(data: T) -> Json<Value> {
    Json(json!({"success": true, "data": data}))
}

fn bad(e: StatsParamError) -> ApiError {
    ApiError::bad_request("invalid_parameter", e.to_string()).with_param(e.param())
}

fn with_aggregates<T>(state: &AppState, f: impl FnOnce(&UsageAggregates) -> T) -> T {
    match state.aggregates.read() {
        Ok(guard) => f(&guard),
        Err(poisoned) => f(&poisoned.into_inner()),
    }
}

/// The aggregates of the request's `key=` client key, or of every call without one, for a
/// report over the days of `range`: with a shared history (`history.url`), every instance's
/// records of those days; else, or when that read fails, this instance's own.
async fn with_key_aggregates<T>(
    state: &AppState,
    q: &HashMap<String, String>,
    range: DateRange,
    f: impl FnOnce(&UsageAggregates) -> T,
) -> T {
    let key = q.get("key").map(|k| k.trim()).filter(|k| !k.is_empty());
    if let Some(shared) = shared_usage(state, range).await {
        return match key {
            Some(key) => f(shared.for_key(key)),
            None => f(&shared),
        };
    }
    match key {
        Some(key) => with_aggregates(state, |a| f(a.for_key(key))),
        None => with_aggregates(state, f),
    }
}

/// Every instance's usage of the days of `range` (`history.url`); `None` without it.
async fn shared_usage(state: &AppState, range: DateRange) -> Option<UsageAggregates> {
    crate::history::shared_usage(state.history.as_ref(), range.first, range.last).await
}

fn day(date: chrono::NaiveDate) -> DateRange {
    DateRange::ending_on(date, 1)
}

fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

pub async fn daily(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_daily(&q, today()).map_err(bad)?;
    Ok(ok(with_key_aggregates(&s, &q, day(p.date), |a| {
        report::daily(a, &p)
    })
    .await))
}

pub async fn weekly(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_weekly(&q, today()).map_err(bad)?;
    let range = DateRange::week_of(p.target_date);
    Ok(ok(with_key_aggregates(&s, &q, range, |a| {
        report::weekly(a, &p)
    })
    .await))
}

pub async fn monthly(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_monthly(&q, today()).map_err(bad)?;
    let range = DateRange::month(p.year, p.month).unwrap_or(day(today()));
    Ok(ok(with_key_aggregates(&s, &q, range, |a| {
        report::monthly(a, &p)
    })
    .await))
}

pub async fn summary(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_summary(&q, today()).map_err(bad)?;
    let range = summary_range(&p);
    Ok(ok(with_key_aggregates(&s, &q, range, |a| {
        report::summary(a, &p)
    })
    .await))
}

/// Every day the summary reads: this week, this month and the last `days`.
fn summary_range(p: &params::SummaryParams) -> DateRange {
    let week = DateRange::week_of(p.today);
    let month = DateRange::month(p.today.year(), p.today.month()).unwrap_or(week);
    let last_days = DateRange::ending_on(p.today, p.days);
    DateRange {
        first: week.first.min(month.first).min(last_days.first),
        last: week.last.max(month.last).max(last_days.last),
    }
}

pub async fn top_models(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_top_models(&q, today()).map_err(bad)?;
    let range = p.period.range(p.target_date);
    Ok(ok(with_key_aggregates(&s, &q, range, |a| {
        report::top_models(a, &p)
    })
    .await))
}

pub async fn top_channels(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_top_channels(&q, today()).map_err(bad)?;
    let range = p.period.range(p.target_date);
    Ok(ok(with_key_aggregates(&s, &q, range, |a| {
        report::top_channels(a, &p)
    })
    .await))
}

pub async fn cost_breakdown(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_cost_breakdown(&q, today()).map_err(bad)?;
    let range = p.period.range(p.target_date);
    Ok(ok(with_key_aggregates(&s, &q, range, |a| {
        report::cost_breakdown(a, &p)
    })
    .await))
}

pub async fn alerts(
    State(s): State<Arc<AppState>>,
    Query(q): Pairs,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse_alerts(&q).map_err(bad)?;
    let log = s.alerts.lock().unwrap_or_else(|p| p.into_inner());
    Ok(ok(log.recent(p.hours, Utc::now())))
}

pub async fn clear_alerts(
    State(s): State<Arc<AppState>>,
    super::path_text::PathText(channel_id): super::path_text::PathText,
) -> Result<Json<Value>, ApiError> {
    let configured = s.snapshot().config.channel(&channel_id).is_some();
    let alerted = s
        .alerts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .has_channel(&channel_id);
    if !configured && !alerted {
        return Err(ApiError {
            status: axum::http::StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: Some("channel_not_found"),
            param: None,
            message: format!(
                "no channel {channel_id:?} in the config or the alert log; GET /v1/stats/channel-status lists the channels"
            ),
            retry_after: None,
        });
    }
    let alerts = s.alerts.clone();
    let id = channel_id.clone();
    let cleared = tokio::task::spawn_blocking(move || {
        alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear_channel(&id)
    })
    .await
    .map_err(|e| ApiError::internal(format!("clearing alerts failed: {e}")))?
    .map_err(|e| ApiError::internal(format!("cannot rewrite the alerts file: {e}")))?;
    release_claims(s.shared(), [channel_id.as_str()], today());
    s.health.clear_blacklist(&channel_id);
    Ok(Json(
        json!({"success": true, "message": format!("cleared {cleared} alert(s) of channel {channel_id} and lifted its blacklist")}),
    ))
}

pub async fn clear_all_alerts(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let alerts = s.alerts.clone();
    let cleared = tokio::task::spawn_blocking(move || {
        alerts.lock().unwrap_or_else(|p| p.into_inner()).clear_all()
    })
    .await
    .map_err(|e| ApiError::internal(format!("clearing alerts failed: {e}")))?
    .map_err(|e| ApiError::internal(format!("cannot rewrite the alerts file: {e}")))?;
    let snapshot = s.snapshot();
    let ids = snapshot.config.channels.iter().map(|c| c.id.as_str());
    release_claims(s.shared(), ids.chain(["global"]), today());
    for channel in &snapshot.config.channels {
        s.health.clear_blacklist(&channel.id);
    }
    Ok(Json(
        json!({"success": true, "message": format!("cleared {cleared} alert(s) and lifted every blacklist")}),
    ))
}

/// Per channel: enabled, blacklist, cooldowns, last error, live figures, discovery, today.
pub async fn channel_status(State(s): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = s.snapshot();
    let now = Instant::now();
    let discovery = s.discovery.lock().map(|d| d.clone()).unwrap_or_default();
    let today_totals = match shared_usage(&s, day(today())).await {
        Some(shared) => shared.day(today()).cloned(),
        None => with_aggregates(&s, |a| a.day(today()).cloned()),
    };
    let mut channels = Vec::new();
    // Read what the alert log knows first, so its lock is not held while health is read.
    let (notified_channels, alerted_at) = {
        let log = s.alerts.lock().unwrap_or_else(|p| p.into_inner());
        let times: HashMap<&str, chrono::DateTime<Utc>> = snapshot
            .config
            .channels
            .iter()
            .filter_map(|c| Some((c.id.as_str(), log.latest_alert_at(&c.id)?)))
            .collect();
        (log.notified_channels(), times)
    };
    let mut error_counts = serde_json::Map::new();
    let mut last_error_times = serde_json::Map::new();
    for channel in &snapshot.config.channels {
        let mut cooling = Vec::new();
        let mut removed = Vec::new();
        let (mut calls, mut failures, mut models) = (0u64, 0u64, 0usize);
        let mut last_error: Option<(Instant, String)> = None;
        let mut ttft_sum = (0.0, 0u32);
        for entry in snapshot.catalog.channel_entries(&channel.id) {
            models += 1;
            let Some(view) = s.health.model_state(&entry.health_key) else {
                continue;
            };
            calls += view.live.calls;
            failures += view.live.failures;
            if let Some(t) = view.live.ttft_ms {
                ttft_sum = (ttft_sum.0 + t, ttft_sum.1 + 1);
            }
            match view.breaker.state {
                BreakerState::Open { until } if until > now => {
                    cooling.push(json!({"model": entry.model_id, "until": wall_clock(until)}))
                }
                BreakerState::Removed => removed.push(json!(entry.model_id)),
                _ => {}
            }
            if let Some((at, message)) = view.last_error {
                if last_error.as_ref().is_none_or(|(t, _)| at > *t) {
                    last_error = Some((at, message));
                }
            }
        }
        let blacklist = s.health.blacklist(channel, now).map(|b| {
            json!({"reason": b.reason.as_str(), "until": wall_clock(b.until), "message": b.message})
        });
        let failed_today = today_totals
            .as_ref()
            .and_then(|d| d.channels.get(&channel.id))
            .map_or(0, |c| c.totals.failed_requests);
        if failed_today > 0 {
            error_counts.insert(channel.id.clone(), json!(failed_today));
        }
        let alerted = alerted_at.get(channel.id.as_str()).copied();
        let last_seen = last_error.as_ref().map(|(at, _)| {
            Utc::now()
                - chrono::Duration::from_std(now.saturating_duration_since(*at)).unwrap_or_default()
        });
        if let Some(at) = last_seen.into_iter().chain(alerted).max() {
            last_error_times.insert(
                channel.id.clone(),
                json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
        let today = today_totals.as_ref().and_then(|d| d.channels.get(&channel.id)).map(|c| {
            json!({"requests": c.totals.requests, "successful": c.totals.successful_requests, "failed": c.totals.failed_requests,
                   "cost": c.totals.cost_usd(), "avg_response_time_ms": c.totals.avg_response_time_ms()})
        });
        channels.push(json!({
            "channel_id": channel.id,
            "name": channel.name,
            "provider": channel.provider.key,
            "enabled": channel.enabled,
            "disabled_reason": channel.disabled_reason,
            "models": models,
            "blacklisted": blacklist,
            "cooling_down": cooling,
            "removed_models": removed,
            "last_error": last_error.map(|(at, message)| json!({"message": message, "at": wall_clock_past(at, now)})),
            "calls": calls,
            "errors": failures,
            "success_rate": if calls == 0 { Value::Null } else { json!(((calls - failures) as f64 / calls as f64 * 10_000.0).round() / 10_000.0) },
            "avg_ttft_ms": if ttft_sum.1 == 0 { Value::Null } else { json!((ttft_sum.0 / ttft_sum.1 as f64).round()) },
            "discovery": discovery.get(&channel.id).map(|d| json!({
                "last_success": d.last_success, "last_attempt": d.last_attempt, "last_error": d.last_error,
                "models": d.models,
                "source": snapshot.catalog.channel_source(&channel.id).map(|s| json!(s)).or_else(|| d.source.map(|s| json!(s))),
            })),
            "today": today,
        }));
    }
    ok(json!({
        "channels": channels,
        "notified_channels": notified_channels,
        "error_counts": error_counts,
        "last_error_times": last_error_times,
    }))
}

fn wall_clock_past(at: Instant, now: Instant) -> String {
    let ago = now.saturating_duration_since(at);
    let when = Utc::now() - chrono::Duration::from_std(ago).unwrap_or_default();
    when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
