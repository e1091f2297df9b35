//! The request history over HTTP (admin): `GET /v1/requests` (search, filters, pages),
//! `GET /v1/requests/{id}` and its alias `/api/requests/{id}` (the whole row). Thin handlers:
//! parameters parse in `history::query`, the store answers on a blocking thread.

use super::path_text::PathText;
use crate::proxy::request::clip_client_text;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;

use super::error::ApiError;
use crate::history::{HistoryPage, HistoryQuery, HistoryRow, HistoryStore};
use crate::state::AppState;

/// The store, or a 503 saying why there is none.
pub fn store_of(state: &AppState) -> Result<Arc<dyn HistoryStore>, ApiError> {
    match (&state.history, &state.history_error) {
        (Some(history), _) => Ok(history.store()),
        (None, Some(error)) => Err(ApiError::unavailable(
            "history_unavailable",
            format!("The request history is unavailable: {error}."),
        )),
        (None, None) => Err(ApiError::unavailable(
            "history_disabled",
            "The request history is off (history.enabled: false in router_config.yaml).",
        )),
    }
}

/// Run a store call on a blocking thread.
pub async fn blocking<T: Send + 'static>(
    store: Arc<dyn HistoryStore>,
    f: impl FnOnce(&dyn HistoryStore) -> Result<T, crate::history::HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::internal(format!("history query failed: {e}")))?
        .map_err(|e| match e {
            // A shared database that is down or refuses the gateway: unavailable, not broken.
            crate::history::HistoryError::Postgres(_) => {
                ApiError::unavailable("history_unavailable", e.to_string())
            }
            e => ApiError::internal(e.to_string()),
        })
}

/// Parse the parameters of a history search (a bad one is a 400 naming it).
pub fn parse_query(params: &HashMap<String, String>) -> Result<HistoryQuery, ApiError> {
    HistoryQuery::from_params(params)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.message).with_param(e.param))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<HistoryPage>, ApiError> {
    let query = parse_query(&params)?;
    let store = store_of(&state)?;
    blocking(store, move |s| s.search(&query)).await.map(Json)
}

pub async fn one(
    State(state): State<Arc<AppState>>,
    PathText(id): PathText,
) -> Result<Json<HistoryRow>, ApiError> {
    let store = store_of(&state)?;
    let wanted = id.clone();
    match blocking(store, move |s| s.get(&wanted)).await? {
        Some(row) => Ok(Json(row)),
        None => Err(not_found(&id)),
    }
}

/// 404 `request_not_found`.
pub fn not_found(id: &str) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::NOT_FOUND,
        kind: "invalid_request_error",
        code: Some("request_not_found"),
        param: None,
        message: format!(
            "No request {:?} in the history (it may be older than history.retention_days).",
            clip_client_text(id)
        ),
        retry_after: None,
    }
}
