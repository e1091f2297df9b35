//! Thin handlers for the routed endpoints: read the body within limits, hand it to the proxy
//! with the request's snapshot, and turn a [`RouteFailure`] into the client's error answer.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};

use super::body::read_body;
use super::error::ApiError;
use crate::limits::ClientKey;
use crate::proxy::{self, RouteFailure, RouteKind};
use crate::state::{AppState, Snapshot};

pub(super) async fn routed(state: Arc<AppState>, route: RouteKind, request: Request) -> Response {
    // The request's own header map, moved (the `HeaderMap` extractor would clone it).
    let (parts, body) = request.into_parts();
    let Some(snapshot) = parts.extensions.get::<Arc<Snapshot>>().cloned() else {
        return ApiError::internal("the request has no config snapshot").into_response();
    };
    let response = match read_body(&snapshot, body).await {
        Ok(bytes) => {
            let key = parts.extensions.get::<ClientKey>().cloned();
            // Boxed: the call's future is ~3.5 KB, and axum's service wrappers move the
            // handler's future by value a few times per request (2-3% of the gateway's
            // samples went to those copies at 64 connections); a box moves as a pointer.
            let handled = Box::pin(proxy::handle(
                state.clone(),
                snapshot,
                route,
                &parts.headers,
                key,
                bytes,
            ));
            match handled.await {
                Ok(response) => response,
                Err(RouteFailure { error, headers }) => {
                    let error = ApiError::from(error);
                    state.metrics.error(error.code.unwrap_or("error"));
                    let mut response = error.into_response();
                    response.headers_mut().extend(headers);
                    response
                }
            }
        }
        Err(error) => error.into_response(),
    };
    state
        .metrics
        .request(route.label(), response.status().as_u16());
    response
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
