//! Thin handlers for the routed endpoints: read the body within limits, hand it to the proxy.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::body::read_body;
use crate::proxy::{self, RouteKind};
use crate::state::AppState;

async fn routed(
    state: Arc<AppState>,
    route: RouteKind,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match read_body(&state, body).await {
        Ok(bytes) => proxy::handle(state, route, headers, bytes).await,
        Err(error) => {
            state.metrics.request(route.label(), error.status.as_u16());
            error.into_response()
        }
    }
}

pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    routed(state, RouteKind::Chat, headers, body).await
}

pub async fn completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    routed(state, RouteKind::Completion, headers, body).await
}

pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    routed(state, RouteKind::Embedding, headers, body).await
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.usage.dropped());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response()
}
