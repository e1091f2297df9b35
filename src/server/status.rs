//! `GET /health` (and its Kubernetes-style aliases): is the gateway serving, and what with.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    let config = &snapshot.config;
    let enabled = config.enabled_channels().count();
    let config_error = state.config_error.load_full().map(|e| e.to_string());
    let status = if config_error.is_some() || enabled == 0 {
        "degraded"
    } else {
        "ok"
    };
    Json(json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started_at.elapsed().as_secs(),
        "channels": {
            "total": config.channels.len(),
            "enabled": enabled,
            "disabled": config.channels.len() - enabled,
        },
        "config_error": config_error,
    }))
}
