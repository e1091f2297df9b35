//! A scriptable mock OpenAI-compatible upstream: axum on an ephemeral port.
//!
//! By default it answers like a real provider: `GET /v1/models` lists its models, and
//! `POST /v1/chat/completions` (and `/v1/completions`, `/v1/embeddings`) answers a completion
//! echoing the requested model with a `usage` block, or an SSE stream when `"stream": true`.
//! A test scripts it with [`Reply`]s: a queue of one-shot replies consumed in order, then the
//! default. Every request is recorded (path, headers, body) for assertions.
#![expect(
    dead_code,
    reason = "shared by test modules; not every module uses every helper"
)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// How a streamed reply ends.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// `data: [DONE]` then close.
    Done,
    /// Close the connection without `[DONE]` (the body breaks).
    Close,
    /// End the body cleanly without `[DONE]` (what was sent is all there is).
    End,
    /// Send nothing more and keep the connection open.
    Stall,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The default: a completion echoing the model (stream when asked), with usage.
    Echo,
    /// A JSON body with a status and extra headers.
    Json {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
    /// An OpenAI-style error `{"error":{"message","type","code"}}`.
    Error {
        status: u16,
        message: String,
        code: Option<String>,
        retry_after: Option<String>,
    },
    /// Raw bytes with a content type.
    Raw {
        status: u16,
        content_type: String,
        body: Bytes,
    },
    /// SSE events (each a `data:` payload), `gap` apart, then `end`.
    Stream {
        events: Vec<String>,
        gap: Duration,
        end: StreamEnd,
    },
    /// Raw SSE bytes, each piece written as its own chunk, `gap` apart.
    StreamBytes {
        pieces: Vec<Bytes>,
        gap: Duration,
        end: StreamEnd,
    },
    /// Send 200 headers, then never a body byte.
    StallAfterHeaders,
    /// Wait, then answer with the inner reply.
    Delayed(Duration, Box<Reply>),
    /// Wait until the test opens the [`Gate`], then answer with the inner reply.
    Gated(Arc<Gate>, Box<Reply>),
    /// The inner reply, with its body watched by a [`StreamTracker`] (when each piece left,
    /// whether the body was dropped before its end).
    Tracked(Arc<StreamTracker>, Box<Reply>),
    /// Raw SSE bytes, then wait at the [`Gate`] (counted as an arrival), then `end`: the test
    /// decides when a stream that already sent its pieces breaks, stalls or finishes.
    StreamGated {
        pieces: Vec<Bytes>,
        gate: Arc<Gate>,
        end: StreamEnd,
    },
}

impl Reply {
    pub fn error(status: u16, message: &str) -> Self {
        Reply::Error {
            status,
            message: message.into(),
            code: None,
            retry_after: None,
        }
    }

    pub fn error_with_retry_after(status: u16, message: &str, retry_after: &str) -> Self {
        Reply::Error {
            status,
            message: message.into(),
            code: None,
            retry_after: Some(retry_after.into()),
        }
    }

    pub fn delayed(delay: Duration, reply: Reply) -> Self {
        Reply::Delayed(delay, Box::new(reply))
    }
}

/// Serve `app` on an ephemeral loopback port in the background; its address.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
    let addr = listener.local_addr().expect("mock addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct MockState {
    models: Mutex<Vec<String>>,
    models_reply: Mutex<Option<Reply>>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    recorded: Mutex<Vec<Recorded>>,
}

/// A running mock upstream.
#[derive(Clone)]
pub struct MockUpstream {
    pub addr: SocketAddr,
    state: Arc<MockState>,
}

impl MockUpstream {
    /// Start a mock listing `models` at `/v1/models`.
    pub async fn start(models: &[&str]) -> Self {
        let state = Arc::new(MockState::default());
        *lock(&state.models) = models.iter().map(|m| m.to_string()).collect();
        let app = Router::new()
            .route("/v1/models", get(list_models))
            .route("/v1/chat/completions", post(complete))
            .route("/v1/completions", post(complete))
            .route("/v1/embeddings", post(complete))
            .route("/v1/responses", post(complete))
            .with_state(state.clone());
        let addr = serve(app).await;
        Self { addr, state }
    }

    /// The base URL a channel should use: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queue one-shot replies, answered in order before the default.
    pub fn push(&self, reply: Reply) {
        lock(&self.state.script).push_back(reply);
    }

    /// Replace the default reply (used once the queue is empty).
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.state.default) = Some(reply);
    }

    /// Script `/v1/models` (None: list the models).
    pub fn set_models_reply(&self, reply: Option<Reply>) {
        *lock(&self.state.models_reply) = reply;
    }

    pub fn set_models(&self, models: &[&str]) {
        *lock(&self.state.models) = models.iter().map(|m| m.to_string()).collect();
    }

    /// Requests received so far (all paths).
    pub fn recorded(&self) -> Vec<Recorded> {
        lock(&self.state.recorded).clone()
    }

    /// Requests received on a completion route.
    pub fn completions(&self) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }

    /// Number of requests received on a completion route.
    pub fn completion_count(&self) -> usize {
        self.completions().len()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn list_models(State(state): State<Arc<MockState>>, request: Request) -> Response {
    record(&state, request, Bytes::new());
    let scripted = lock(&state.models_reply).clone();
    if let Some(reply) = scripted {
        return render(reply, &Value::Null).await;
    }
    let data: Vec<Value> = lock(&state.models)
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1700000000, "owned_by": "mock"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

async fn complete(State(state): State<Arc<MockState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    record(
        &state,
        Request::from_parts(parts, Body::empty()),
        bytes.clone(),
    );
    let request: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let reply = lock(&state.script)
        .pop_front()
        .or_else(|| lock(&state.default).clone())
        .unwrap_or(Reply::Echo);
    render(reply, &request).await
}

fn record(state: &MockState, request: Request, body: Bytes) {
    lock(&state.recorded).push(Recorded {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        query: request.uri().query().map(String::from),
        headers: request.headers().clone(),
        body,
    });
}

pub fn render(reply: Reply, request: &Value) -> futures::future::BoxFuture<'static, Response> {
    let request = request.clone();
    Box::pin(async move {
        match reply {
            Reply::Echo => echo(&request),
            Reply::Json {
                status,
                body,
                headers,
            } => {
                let mut response = (status_code(status), axum::Json(body)).into_response();
                add_headers(&mut response, &headers);
                response
            }
            Reply::Error {
                status,
                message,
                code,
                retry_after,
            } => {
                let body = json!({"error": {"message": message, "type": "mock_error", "code": code, "param": null}});
                let mut response = (status_code(status), axum::Json(body)).into_response();
                if let Some(value) = retry_after {
                    add_headers(&mut response, &[("retry-after".into(), value)]);
                }
                response
            }
            Reply::Raw {
                status,
                content_type,
                body,
            } => {
                let mut response = (status_code(status), body).into_response();
                add_headers(&mut response, &[("content-type".into(), content_type)]);
                response
            }
            Reply::Stream { events, gap, end } => {
                let pieces = events
                    .into_iter()
                    .map(|e| Bytes::from(format!("data: {e}\n\n")))
                    .collect();
                sse_response(pieces, gap, end)
            }
            Reply::StreamBytes { pieces, gap, end } => sse_response(pieces, gap, end),
            Reply::StallAfterHeaders => {
                let stream = futures::stream::pending::<Result<Bytes, std::io::Error>>();
                sse_body(Body::from_stream(stream))
            }
            Reply::Delayed(delay, inner) => {
                tokio::time::sleep(delay).await;
                render(*inner, &request).await
            }
            Reply::Gated(gate, inner) => {
                let waiting = GateWait(Some(gate.clone()));
                gate.arrive();
                gate.wait_open().await;
                waiting.pass();
                render(*inner, &request).await
            }
            Reply::Tracked(tracker, inner) => {
                let response = render(*inner, &request).await;
                let (parts, body) = response.into_parts();
                let body = TrackedBody {
                    inner: body.into_data_stream(),
                    tracker,
                    ended: false,
                };
                Response::from_parts(parts, Body::from_stream(body))
            }
            Reply::StreamGated { pieces, gate, end } => {
                let head =
                    futures::stream::iter(pieces.into_iter().map(Ok::<Bytes, std::io::Error>));
                let wait = futures::stream::once(async move {
                    gate.arrive();
                    gate.wait_open().await;
                })
                .filter_map(|()| async { None });
                let tail = match end {
                    StreamEnd::Done => {
                        futures::stream::iter([Ok(Bytes::from_static(b"data: [DONE]\n\n"))]).boxed()
                    }
                    StreamEnd::Close => {
                        futures::stream::iter([Err(std::io::Error::other("mock: connection cut"))])
                            .boxed()
                    }
                    StreamEnd::End => futures::stream::empty().boxed(),
                    StreamEnd::Stall => futures::stream::pending().boxed(),
                };
                sse_body(Body::from_stream(head.chain(wait).chain(tail)))
            }
        }
    })
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn add_headers(response: &mut Response, headers: &[(String, String)]) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
}

fn sse_body(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

fn sse_response(pieces: Vec<Bytes>, gap: Duration, end: StreamEnd) -> Response {
    let done = matches!(end, StreamEnd::Done);
    let stall = matches!(end, StreamEnd::Stall);
    let ends = matches!(end, StreamEnd::End);
    let head =
        futures::stream::iter(pieces.into_iter().enumerate()).then(move |(i, piece)| async move {
            if i > 0 && !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
            Ok::<Bytes, std::io::Error>(piece)
        });
    let tail = futures::stream::iter(done.then(|| Ok(Bytes::from_static(b"data: [DONE]\n\n"))));
    let stream = head.chain(tail);
    if stall {
        sse_body(Body::from_stream(stream.chain(futures::stream::pending())))
    } else if done || ends {
        sse_body(Body::from_stream(stream))
    } else {
        // Close without [DONE]: end the body with an error so the connection is cut.
        let cut = futures::stream::iter([Err(std::io::Error::other("mock: connection cut"))]);
        sse_body(Body::from_stream(stream.chain(cut)))
    }
}

/// A completion echoing the model, like a real provider's.
fn echo(request: &Value) -> Response {
    let model = request["model"].as_str().unwrap_or("unknown").to_string();
    let stream = request["stream"].as_bool().unwrap_or(false);
    if request.get("input").is_some() {
        return axum::Json(json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
            "model": model,
            "usage": {"prompt_tokens": 5, "total_tokens": 5}
        }))
        .into_response();
    }
    if !stream {
        return axum::Json(json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
                      "prompt_tokens_details": {"cached_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0}}
        }))
        .into_response();
    }
    let include_usage = request["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000,
               "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for word in ["Hello", " from", " the", " mock."] {
        events.push(chunk(json!({"content": word}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if include_usage {
        events.push(
            json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000,
                   "model": model, "choices": [],
                   "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}})
            .to_string(),
        );
    }
    let pieces = events
        .into_iter()
        .map(|e| Bytes::from(format!("data: {e}\n\n")))
        .collect();
    sse_response(pieces, Duration::ZERO, StreamEnd::Done)
}

/// A door a [`Reply::Gated`] waits at: the test learns when requests arrive and decides when
/// they are answered, so ordering never depends on timing.
#[derive(Debug)]
pub struct Gate {
    arrived: tokio::sync::watch::Sender<usize>,
    open: tokio::sync::watch::Sender<bool>,
    /// Requests dropped while waiting (their client, the gateway, went away).
    abandoned: tokio::sync::watch::Sender<usize>,
}

impl Gate {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            arrived: tokio::sync::watch::channel(0).0,
            open: tokio::sync::watch::channel(false).0,
            abandoned: tokio::sync::watch::channel(0).0,
        })
    }

    /// Let every waiting (and later) request through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// Wait until `n` requests have reached the gate.
    pub async fn wait_arrived(&self, n: usize) {
        let mut arrived = self.arrived.subscribe();
        let _ = arrived.wait_for(|count| *count >= n).await;
    }

    /// Wait until `n` requests were dropped while waiting at the gate.
    pub async fn wait_abandoned(&self, n: usize) {
        let mut abandoned = self.abandoned.subscribe();
        let _ = abandoned.wait_for(|count| *count >= n).await;
    }

    fn arrive(&self) {
        self.arrived.send_modify(|count| *count += 1);
    }

    async fn wait_open(&self) {
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
}

/// A request waiting at a gate; counted as abandoned when dropped before the gate opened.
struct GateWait(Option<Arc<Gate>>);

impl GateWait {
    fn pass(mut self) {
        self.0 = None;
    }
}

impl Drop for GateWait {
    fn drop(&mut self) {
        if let Some(gate) = self.0.take() {
            gate.abandoned.send_modify(|count| *count += 1);
        }
    }
}

/// What a [`Reply::Tracked`] body did: when each piece was handed to the connection, and
/// whether the body was dropped before its end (the client of the mock went away).
#[derive(Debug)]
pub struct StreamTracker {
    sent: Mutex<Vec<std::time::Instant>>,
    /// `Some(true)`: dropped before its end; `Some(false)`: ended (normally or by a scripted cut).
    outcome: tokio::sync::watch::Sender<Option<bool>>,
}

impl StreamTracker {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            sent: Mutex::new(Vec::new()),
            outcome: tokio::sync::watch::channel(None).0,
        })
    }

    /// When each body piece left the mock, in order.
    pub fn sent_times(&self) -> Vec<std::time::Instant> {
        lock(&self.sent).clone()
    }

    /// Wait until the body ended or was dropped; true when it was dropped before its end.
    pub async fn wait_finished(&self) -> bool {
        let mut outcome = self.outcome.subscribe();
        let seen = outcome.wait_for(Option::is_some).await.map(|o| *o);
        matches!(seen, Ok(Some(true)))
    }
}

struct TrackedBody {
    inner: axum::body::BodyDataStream,
    tracker: Arc<StreamTracker>,
    ended: bool,
}

impl futures::Stream for TrackedBody {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(_))) => {
                lock(&self.tracker.sent).push(std::time::Instant::now());
            }
            std::task::Poll::Ready(Some(Err(_)) | None) => {
                self.ended = true;
                self.tracker.outcome.send_replace(Some(false));
            }
            std::task::Poll::Pending => {}
        }
        polled
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if !self.ended {
            self.tracker.outcome.send_replace(Some(true));
        }
    }
}
