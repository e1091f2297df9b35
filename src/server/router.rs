//! Every route of the gateway, in one table.

use std::sync::Arc;

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;

use super::error::ApiError;
use super::{catalog_api, routes, status};
use crate::state::AppState;

pub fn build_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(routes::chat_completions))
        .route("/v1/completions", post(routes::completions))
        .route("/v1/embeddings", post(routes::embeddings))
        .route("/v1/models", get(catalog_api::list_models))
        .route("/v1/route/explain", get(catalog_api::route_explain))
        .route("/health", get(status::health))
        .route("/health/liveliness", get(status::health))
        .route("/health/readiness", get(status::health))
        .route("/metrics", get(routes::metrics))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::unknown_route(request.method().as_str(), request.uri().path())
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::method_not_allowed(request.method().as_str(), request.uri().path())
}
