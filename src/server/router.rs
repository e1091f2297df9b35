//! Every route of the gateway, in one table, and the middleware every request passes: the
//! snapshot loaded once, then access control.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::routing::{get, post};
use axum::Router;

use super::error::ApiError;
use super::{admin, auth, catalog_api, history_api, protocol_routes, routes, stats_api, status};
use crate::state::AppState;

pub fn build_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(routes::chat_completions))
        .route("/v1/completions", post(routes::completions))
        .route("/v1/embeddings", post(routes::embeddings))
        .route("/v1/messages", post(protocol_routes::messages))
        .route("/anthropic/v1/messages", post(protocol_routes::messages))
        .route(
            "/v1/messages/count_tokens",
            post(protocol_routes::count_tokens),
        )
        .route(
            "/anthropic/v1/messages/count_tokens",
            post(protocol_routes::count_tokens),
        )
        .route("/v1/responses", post(protocol_routes::responses))
        .route("/v1/models", get(catalog_api::list_models))
        .route("/v1/models/{*id}", get(catalog_api::get_model))
        .route("/v1/route/explain", get(catalog_api::route_explain))
        .route("/health", get(status::health))
        .route("/health/liveliness", get(status::health))
        .route("/health/readiness", get(status::readiness))
        .route("/metrics", get(routes::metrics))
        .route("/v1/stats/daily", get(stats_api::daily))
        .route("/v1/stats/weekly", get(stats_api::weekly))
        .route("/v1/stats/monthly", get(stats_api::monthly))
        .route("/v1/stats/summary", get(stats_api::summary))
        .route("/v1/stats/top-models", get(stats_api::top_models))
        .route("/v1/stats/top-channels", get(stats_api::top_channels))
        .route("/v1/stats/cost-breakdown", get(stats_api::cost_breakdown))
        .route("/v1/stats/alerts", get(stats_api::alerts))
        .route("/v1/stats/channel-status", get(stats_api::channel_status))
        .route(
            "/v1/stats/clear-alerts/{channel_id}",
            post(stats_api::clear_alerts),
        )
        .route(
            "/v1/stats/clear-all-alerts",
            post(stats_api::clear_all_alerts),
        )
        .route("/v1/admin/discover", post(admin::run_discovery))
        .route("/v1/admin/reload", post(admin::run_reload))
        .route("/v1/requests", get(history_api::list))
        .route("/v1/requests/{id}", get(history_api::one))
        .route("/api/requests/{id}", get(history_api::one))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            load_snapshot,
        ))
        .with_state(state)
}

/// The first middleware: load the snapshot once; everything after it (auth, body limits,
/// routing, handlers) reads this one from the request, so a reload in between cannot give one
/// request two configs.
async fn load_snapshot(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request.extensions_mut().insert(state.snapshot());
    next.run(request).await
}

/// 404 in the shape of the client's API (a Messages path answers as Anthropic does).
async fn unknown_route(request: Request) -> axum::response::Response {
    let path = request.uri().path();
    let error = ApiError::unknown_route(request.method().as_str(), path);
    protocol_routes::error_for_path(path, error).await
}

/// 405 in the shape of the client's API.
async fn method_not_allowed(request: Request) -> axum::response::Response {
    let path = request.uri().path();
    let error = ApiError::method_not_allowed(request.method().as_str(), path);
    protocol_routes::error_for_path(path, error).await
}
