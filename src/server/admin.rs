//! `/v1/admin/*`: run discovery now, reload the config now (admin token).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::runtime::discovery::discover;
use crate::runtime::reload::{reload, ReloadOutcome};
use crate::state::AppState;

fn rebuilder(state: &AppState) -> Result<&crate::state::rebuilder::Rebuilder, ApiError> {
    state
        .rebuilder
        .get()
        .ok_or_else(|| ApiError::internal("the snapshot writer is not running"))
}

/// `POST /v1/admin/discover`: every enabled channel, now; per-channel results.
pub async fn run_discovery(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let results = discover(&state, rebuilder(&state)?, None).await;
    let ok = results.iter().filter(|r| r.ok).count();
    Ok(Json(
        json!({"success": true, "data": {"channels": results, "succeeded": ok, "failed": results.len() - ok}}),
    ))
}

/// `POST /v1/admin/reload`: load the config files again.
pub async fn run_reload(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    match reload(&state, rebuilder(&state)?).await {
        ReloadOutcome::Applied {
            generation,
            rediscovered,
        } => Ok(Json(
            json!({"success": true, "data": {"generation": generation, "rediscovered": rediscovered}}),
        )),
        ReloadOutcome::Rejected(message) => Err(ApiError::bad_request("invalid_config", message)),
    }
}
