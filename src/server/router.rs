//! Every route of the gateway, in one table.

use std::sync::Arc;

use axum::extract::Request;
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::status;
use crate::state::AppState;

pub fn build_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(status::health))
        .route("/health/liveliness", get(status::health))
        .route("/health/readiness", get(status::health))
        .fallback(unknown_route)
        .with_state(state)
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::unknown_route(request.method().as_str(), request.uri().path())
}
