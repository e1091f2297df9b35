//! Thin handlers for the routed endpoints: read the body within limits, hand it to the proxy.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};

use super::body::read_body;
use crate::proxy::{self, RouteKind};
use crate::state::AppState;

async fn routed(state: Arc<AppState>, route: RouteKind, request: Request) -> Response {
    // The request's own header map, moved (the `HeaderMap` extractor would clone it).
    let (parts, body) = request.into_parts();
    match read_body(&state, body).await {
        Ok(bytes) => proxy::handle(state, route, parts.headers, bytes).await,
        Err(error) => {
            state.metrics.request(route.label(), error.status.as_u16());
            error.into_response()
        }
    }
}

pub async fn chat_completions(State(state): State<Arc<AppState>>, request: Request) -> Response {
    routed(state, RouteKind::Chat, request).await
}

pub async fn completions(State(state): State<Arc<AppState>>, request: Request) -> Response {
    routed(state, RouteKind::Completion, request).await
}

pub async fn embeddings(State(state): State<Arc<AppState>>, request: Request) -> Response {
    routed(state, RouteKind::Embedding, request).await
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.usage.counts());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response()
}
