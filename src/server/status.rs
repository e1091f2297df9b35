//! `GET /health` (and its Kubernetes-style aliases): is the gateway serving, and with what —
//! channel counts, catalog size, discovery state per channel, the usage log (dropped records,
//! write errors, the backlog and the last write error), open connections, the error of the
//! last rejected config reload, and the request history's counters and write errors (a broken
//! history database never fails a request and does not degrade the status; it shows here).
//! `degraded` when a reload was rejected, the usage log cannot be written, no channel is
//! enabled, or the catalog is empty; then `empty_catalog` says why (disabled channels and their
//! reasons, enabled channels without models and their last discovery error). Readiness is 503
//! until at least one model is routable (in the catalog, its channel not blacklisted). Never
//! shows a key.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::state::AppState;

pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(health_body(&state))
}

fn health_body(state: &AppState) -> Value {
    let snapshot = state.snapshot();
    let config = &snapshot.config;
    let catalog = &snapshot.catalog;
    let enabled = config.enabled_channels().count();
    let config_error = state.config_error.load_full().map(|e| e.to_string());
    let usage_error = state.usage.failing();
    let usage = state.usage.counts();
    let alert_write_errors = state
        .alerts
        .lock()
        .map(|a| a.write_errors())
        .unwrap_or_default();
    let status =
        if config_error.is_some() || usage_error.is_some() || enabled == 0 || catalog.is_empty() {
            "degraded"
        } else {
            "ok"
        };
    let discovery = state
        .discovery
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    let last_discovery = discovery.values().filter_map(|d| d.last_success).max();
    let empty_catalog = catalog.is_empty().then(|| {
        let unreachable: Vec<Value> = config
            .enabled_channels()
            .map(|c| {
                let error = discovery.get(&c.id).and_then(|d| d.last_error.clone());
                json!({"channel": c.id, "base_url": c.base_url, "last_error": error})
            })
            .collect();
        json!({
            "reason": catalog.empty_reason(),
            "disabled_channels": config.channels.len() - enabled,
            "channels_without_models": unreachable,
        })
    });
    let mut channels = Map::new();
    for channel in &config.channels {
        let d = discovery.get(&channel.id);
        channels.insert(
            channel.id.clone(),
            json!({
                "enabled": channel.enabled,
                "disabled_reason": channel.disabled_reason,
                "models": catalog.channel_entries(&channel.id).count(),
                // What the catalog serves (`configured` while discovery has never succeeded),
                // else what discovery last recorded.
                "source": catalog
                    .channel_source(&channel.id)
                    .map(|s| json!(s))
                    .or_else(|| d.and_then(|d| d.source).map(|s| json!(s))),
                "last_success": d.and_then(|d| d.last_success),
                "last_error": d.and_then(|d| d.last_error.clone()),
            }),
        );
    }
    let mut distinct: Vec<&str> = catalog
        .entries
        .iter()
        .map(|e| e.model_id.as_str())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started_at.elapsed().as_secs(),
        "channels": {
            "total": config.channels.len(),
            "enabled": enabled,
            "disabled": config.channels.len() - enabled,
        },
        "catalog": {
            "entries": catalog.len(),
            "models": distinct.len(),
            "tags": catalog.index.tag_count(),
            "generation": snapshot.generation,
        },
        "last_discovery": last_discovery,
        "discovery": channels,
        "usage": {
            "dropped_records": usage.dropped,
            "write_errors": usage.write_errors,
            "backlog_records": usage.backlog,
            "last_write_error": usage_error,
            "alert_write_errors": alert_write_errors,
            "corrupt_lines_skipped_at_start": state.corrupt_usage_lines,
        },
        "connections": {
            "open": state.metrics.connections.open_now(),
            "max": match config.server.connections.max_connections {
                0 => super::connection::default_max_connections(),
                n => n,
            },
        },
        "config_error": config_error,
        "empty_catalog": empty_catalog,
        // `local` (no state.redis_url), `ok`, or `degraded` (Redis unreachable: local state).
        "shared_state": state.shared().status().as_str(),
        "shared_state_events_applied": state.shared().applied(),
        "history": history_health(state),
    })
}

/// `GET /health/readiness`: the `/health` body with `ready` and `routable_entries`; 200 once at
/// least one model can be routed to, else 503 with `not_ready_reason`.
pub async fn readiness(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.snapshot();
    let now = tokio::time::Instant::now();
    let routable = snapshot
        .catalog
        .entries
        .iter()
        .filter(|e| state.health.blacklist(&e.channel, now).is_none())
        .count();
    let mut body = health_body(&state);
    body["ready"] = json!(routable > 0);
    body["routable_entries"] = json!(routable);
    if routable > 0 {
        return Json(body).into_response();
    }
    body["not_ready_reason"] = json!(if snapshot.catalog.is_empty() {
        snapshot.catalog.empty_reason().to_string()
    } else {
        "every channel with models is blacklisted (rejected key or exhausted quota); see GET /v1/stats/channel-status".to_string()
    });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// The request history's counters: rows stored, dropped, write errors and the last one, size.
fn history_health(state: &AppState) -> Value {
    match (&state.history, &state.history_error) {
        (Some(history), _) => json!(history.health()),
        (None, Some(error)) => json!({"enabled": false, "write_errors": 1, "last_error": error}),
        (None, None) => json!({"enabled": false}),
    }
}
