//! A mock native Anthropic upstream: `POST /v1/messages` answers in the Messages API's exact
//! shape (non-streamed `message` bodies and the full SSE event sequence, with prompt-cache
//! usage), `POST /v1/messages/count_tokens` and `GET /v1/models` in Anthropic's shapes.
//!
//! It checks what a real one checks first: a request without `x-api-key` or
//! `anthropic-version` gets 401 `authentication_error` / 400 `invalid_request_error`. By
//! default it echoes: text ("Hello from the Anthropic mock.") or, when the request offers tools
//! and its last turn is not a tool result, a `tool_use` of the first tool with
//! `{"location": "Paris"}`. A test scripts replies ([`AnthropicReply`]) in order, and reads
//! what was received (the [`Recorded`] requests).
#![allow(
    dead_code,
    reason = "a support module: each test uses some of the mock's replies"
)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::mock::{render, serve, Recorded, Reply};

/// Usage every echo reports: input 12, cache write 100, cache read 50, output 7.
pub const ECHO_USAGE: (u64, u64, u64, u64) = (12, 100, 50, 7);

/// The text of every echo.
pub const ECHO_TEXT: &str = "Hello from the Anthropic mock.";

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum AnthropicReply {
    /// The default (see the module doc).
    Echo,
    /// 529 `overloaded_error`, as Anthropic answers under load.
    Overloaded,
    /// An error in Anthropic's shape.
    Error {
        status: u16,
        kind: String,
        message: String,
    },
    /// A stream that sends `message_start` and then breaks with an `error` event.
    StreamError { kind: String, message: String },
    /// Anything the OpenAI mock can send (raw bytes, delays, stalls...).
    Generic(Reply),
}

#[derive(Default)]
struct AnthropicState {
    models: Mutex<Vec<String>>,
    script: Mutex<VecDeque<AnthropicReply>>,
    recorded: Mutex<Vec<Recorded>>,
}

/// A running mock Anthropic upstream.
#[derive(Clone)]
pub struct AnthropicMock {
    pub addr: SocketAddr,
    state: Arc<AnthropicState>,
}

impl AnthropicMock {
    pub async fn start(models: &[&str]) -> Self {
        let state = Arc::new(AnthropicState::default());
        *lock(&state.models) = models.iter().map(|m| m.to_string()).collect();
        let app = Router::new()
            .route("/v1/models", get(list_models))
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .with_state(state.clone());
        let addr = serve(app).await;
        Self { addr, state }
    }

    /// The base URL a channel should use: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, reply: AnthropicReply) {
        lock(&self.state.script).push_back(reply);
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        lock(&self.state.recorded).clone()
    }

    /// Requests received on `POST /v1/messages`.
    pub fn messages(&self) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.path == "/v1/messages")
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn read(state: &AnthropicState, request: Request) -> (Recorded, Value) {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        headers: parts.headers.clone(),
        body: bytes.clone(),
    };
    lock(&state.recorded).push(recorded.clone());
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (recorded, json)
}

/// Anthropic's own checks: the key and the version header.
fn refused(recorded: &Recorded) -> Option<Response> {
    if !recorded.headers.contains_key("x-api-key") {
        return Some(error(
            401,
            "authentication_error",
            "x-api-key header is required",
        ));
    }
    if !recorded.headers.contains_key("anthropic-version") {
        return Some(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    None
}

pub fn error_body(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(error_body(kind, message))).into_response()
}

async fn list_models(State(state): State<Arc<AnthropicState>>, request: Request) -> Response {
    let (recorded, _) = read(&state, request).await;
    if let Some(response) = refused(&recorded) {
        return response;
    }
    let models = lock(&state.models).clone();
    let data: Vec<Value> = models
        .iter()
        .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-09-29T00:00:00Z"}))
        .collect();
    axum::Json(json!({
        "data": data, "has_more": false,
        "first_id": models.first(), "last_id": models.last()
    }))
    .into_response()
}

async fn count_tokens(State(state): State<Arc<AnthropicState>>, request: Request) -> Response {
    let (recorded, _) = read(&state, request).await;
    refused(&recorded).unwrap_or_else(|| axum::Json(json!({"input_tokens": 42})).into_response())
}

async fn messages(State(state): State<Arc<AnthropicState>>, request: Request) -> Response {
    let (recorded, body) = read(&state, request).await;
    if let Some(response) = refused(&recorded) {
        return response;
    }
    let reply = lock(&state.script)
        .pop_front()
        .unwrap_or(AnthropicReply::Echo);
    match reply {
        AnthropicReply::Echo => echo(&body),
        AnthropicReply::Overloaded => error(529, "overloaded_error", "Overloaded"),
        AnthropicReply::Error {
            status,
            kind,
            message,
        } => error(status, &kind, &message),
        AnthropicReply::StreamError { kind, message } => {
            let model = body["model"].as_str().unwrap_or("unknown");
            let events = vec![
                sse("message_start", &message_start(model)),
                sse("error", &error_body(&kind, &message)),
            ];
            stream(events)
        }
        AnthropicReply::Generic(reply) => render(reply, &body).await,
    }
}

/// The tool to call: the first tool, unless the last user turn carries a tool result.
fn tool_to_call(request: &Value) -> Option<String> {
    let name = request["tools"].get(0)?.get("name")?.as_str()?.to_owned();
    let last = request["messages"].as_array()?.last()?;
    let answered = last["content"]
        .as_array()
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"));
    (!answered).then_some(name)
}

fn usage_json(output: u64) -> Value {
    let (input, write, read, _) = ECHO_USAGE;
    json!({"input_tokens": input, "cache_creation_input_tokens": write, "cache_read_input_tokens": read, "output_tokens": output})
}

fn message_start(model: &str) -> Value {
    json!({"type": "message_start", "message": {
        "id": "msg_mock01", "type": "message", "role": "assistant", "content": [], "model": model,
        "stop_reason": null, "stop_sequence": null, "usage": usage_json(1)
    }})
}

fn echo(request: &Value) -> Response {
    let model = request["model"].as_str().unwrap_or("unknown");
    let tool = tool_to_call(request);
    if request["stream"].as_bool() == Some(true) {
        return stream(echo_events(model, tool.as_deref()));
    }
    let (content, stop) = match &tool {
        Some(name) => (
            json!([{"type": "tool_use", "id": "toolu_mock01", "name": name, "input": {"location": "Paris"}}]),
            "tool_use",
        ),
        None => (json!([{"type": "text", "text": ECHO_TEXT}]), "end_turn"),
    };
    axum::Json(json!({
        "id": "msg_mock01", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop, "stop_sequence": null,
        "usage": usage_json(ECHO_USAGE.3)
    }))
    .into_response()
}

/// The event sequence Anthropic sends for a text answer (or a tool call).
pub fn echo_events(model: &str, tool: Option<&str>) -> Vec<String> {
    let mut events = vec![
        sse("message_start", &message_start(model)),
        sse("ping", &json!({"type": "ping"})),
    ];
    let stop = match tool {
        Some(name) => {
            events.push(sse("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_mock01", "name": name, "input": {}}})));
            for piece in ["{\"location\"", ": \"Paris\"}"] {
                events.push(sse("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}})));
            }
            "tool_use"
        }
        None => {
            events.push(sse("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
            for piece in ["Hello from", " the Anthropic", " mock."] {
                events.push(sse("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})));
            }
            "end_turn"
        }
    };
    events.push(sse(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(sse("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": ECHO_USAGE.3}})));
    events.push(sse("message_stop", &json!({"type": "message_stop"})));
    events
}

pub fn sse(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The events as one SSE body that ends after the last (as Anthropic closes after
/// `message_stop`).
fn stream(events: Vec<String>) -> Response {
    let pieces = events
        .into_iter()
        .map(|e| Ok::<Bytes, std::io::Error>(Bytes::from(e)));
    let mut response = Response::new(Body::from_stream(futures::stream::iter(pieces)));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    response
}
