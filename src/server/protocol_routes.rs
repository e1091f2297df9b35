//! Thin handlers for the APIs other than OpenAI chat: Anthropic Messages (`POST /v1/messages`,
//! also under `/anthropic`), its token count, and OpenAI Responses (`POST /v1/responses`).
//!
//! Routing is the proxy's (`RouteKind::Messages` / `Responses`); what is decided here is the
//! shape of the gateway's own errors: a Messages client gets Anthropic's
//! `{"type":"error","error":{"type","message"}}` with the same status (and headers) the
//! OpenAI shape would have had.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::body::read_body;
use super::error::ApiError;
use super::routes::routed;
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::count_tokens::estimate_input_tokens;
use crate::protocol::errors::anthropic_error_body;
use crate::proxy::RouteKind;
use crate::state::{AppState, Snapshot};

/// Largest gateway error body reshaped for a Messages client.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn messages(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let response = routed(state, RouteKind::Messages, request).await;
    anthropic_errors(response).await
}

pub async fn responses(State(state): State<Arc<AppState>>, request: Request) -> Response {
    routed(state, RouteKind::Responses, request).await
}

/// `POST /v1/messages/count_tokens`: `{"input_tokens": N}`, an estimate (see
/// `protocol::count_tokens`).
pub async fn count_tokens(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(snapshot) = parts.extensions.get::<Arc<Snapshot>>().cloned() else {
        return anthropic_error(500, "the request has no config snapshot");
    };
    let bytes = match read_body(&snapshot, body).await {
        Ok(bytes) => bytes,
        Err(error) => return anthropic_errors(error.into_response()).await,
    };
    let request: MessagesRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(e) => {
            return anthropic_error(
                400,
                &format!("The request body is not a Messages request: {e}."),
            )
        }
    };
    match estimate_input_tokens(&request) {
        Ok(tokens) => axum::Json(json!({"input_tokens": tokens})).into_response(),
        Err(e) => anthropic_error(400, &e.0),
    }
}

/// A gateway error answer (OpenAI shape) in Anthropic's shape; any other answer unchanged.
pub async fn anthropic_errors(response: Response) -> Response {
    let status = response.status();
    if status.is_success() || !is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return anthropic_error(status.as_u16(), "the gateway's error was too large to show");
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let openai_message = parsed
        .as_ref()
        .filter(|v| v.get("type").and_then(Value::as_str) != Some("error"))
        .and_then(|v| v.get("error")?.get("message")?.as_str().map(str::to_owned));
    let body = match openai_message {
        Some(message) => {
            let reshaped = anthropic_error_body(status.as_u16(), &message).to_string();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Body::from(reshaped)
        }
        None => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

fn anthropic_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, anthropic_error_body(status, message).to_string()).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Auth errors on a Messages path in Anthropic's shape (the auth layer answers before any
/// handler).
pub fn is_messages_path(path: &str) -> bool {
    path.starts_with("/v1/messages") || path.starts_with("/anthropic/")
}

/// An [`ApiError`] for `path`: Anthropic-shaped on a Messages path.
pub async fn error_for_path(path: &str, error: ApiError) -> Response {
    let response = error.into_response();
    if is_messages_path(path) {
        anthropic_errors(response).await
    } else {
        response
    }
}
