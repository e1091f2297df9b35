//! One attempt: send the request to one candidate and turn what comes back into either a
//! response for the client or a classified failure for the attempt loop.
//!
//! A 2xx is only an answer when it is one: a non-JSON body (an HTML page) or an
//! `{"error": ...}` object fails over like an error status. A stream request is relayed as SSE
//! unless the upstream says JSON, whatever other content type it sends.
//!
//! Time limits: the channel's `timeout_s` bounds a non-streamed attempt as a whole; for a
//! stream it bounds the wait for the response head and for the first event, and then each gap
//! between events (a long stream that keeps talking is never cut). Upstream bodies are capped
//! (`MAX_RESPONSE_BYTES`; error bodies at 1 MiB), so a huge answer cannot exhaust memory.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use tokio::time::Instant;

use super::classify::{classify_error_body, classify_status, error_message, Failure};
use super::outcome::{self, Served};
use super::relay::{open_stream, OpenedStream};
use super::upstream::{client, completion_request};
use super::Call;
use crate::catalog::CatalogEntry;
use crate::chunks::Chunks;
use crate::scoring::Ranked;
use crate::usage::tap::{inspect_body, BodyFacts};

/// Largest non-streamed upstream body accepted.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
const MAX_ERROR_BYTES: usize = 1024 * 1024;

/// What one attempt came to.
pub enum Attempted {
    /// A response for the client (success, or a 400 returned as is).
    Served(Response),
    Failed {
        /// `channel/model: what happened`, for the 502 message.
        summary: String,
        context_exceeded: bool,
    },
}

/// Try one ranked candidate.
pub(super) async fn try_candidate(
    call: &Arc<Call>,
    candidate: &Ranked,
    number: u32,
    trial: bool,
) -> Attempted {
    let Some(entry) = call.snapshot.catalog.entry(candidate.entry) else {
        return Attempted::Failed {
            summary: "catalog entry vanished".into(),
            context_exceeded: false,
        };
    };
    let channel = &entry.channel;
    let stream = call.request.stream && call.route != super::RouteKind::Embedding;
    let ask_usage = stream && !call.request.include_usage_asked;
    let body = call.request.upstream_body(&entry.model_id, ask_usage);
    let timeout = channel.timeout;
    let sent_at = Instant::now();
    let send = completion_request(&client(), channel, call.route, body, stream).send();
    let response = match tokio::time::timeout(timeout, send).await {
        Err(_) => {
            return failed(
                call,
                entry,
                trial,
                Failure::Timeout,
                format!("timed out after {}s", secs(timeout)),
            )
        }
        Ok(Err(e)) => {
            let (failure, what) = if e.is_connect() {
                (Failure::Connect, "connection failed")
            } else if e.is_timeout() {
                (Failure::Timeout, "timed out")
            } else {
                (Failure::BadResponse, "request failed")
            };
            return failed(
                call,
                entry,
                trial,
                failure,
                format!("{what}: {}", outcome::redact(&error_chain(&e), channel)),
            );
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if !status.is_success() {
        let headers = response.headers().clone();
        let body = read_capped(response, MAX_ERROR_BYTES, sent_at + timeout)
            .await
            .unwrap_or_default();
        let failure = classify_status(status.as_u16(), &headers, &body, SystemTime::now());
        let message = if status.is_redirection() {
            let target = headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("an unnamed location");
            format!("redirect to {target} not followed (set the channel's base_url to the target)")
        } else {
            error_message(&body)
        };
        let message = outcome::redact(&message, channel);
        if !failure.fails_over() {
            if trial {
                call.state
                    .health
                    .release_trial(&entry.health_key, Instant::now());
            }
            return Attempted::Served(outcome::passthrough(
                call, entry, candidate, number, status, &headers, body, &message,
            ));
        }
        return failed(
            call,
            entry,
            trial,
            failure,
            format!("HTTP {}: {message}", status.as_u16()),
        );
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .cloned();
    let is_json = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if stream && !is_json {
        // SSE, whatever the content type says (some upstreams send text/plain); a page that is
        // not SSE has no data event and fails over in `open_stream`.
        return match open_stream(response, ask_usage, timeout).await {
            Err((failure, message)) => failed(
                call,
                entry,
                trial,
                failure,
                outcome::redact(&message, channel),
            ),
            Ok(opened) => Attempted::Served(stream_response(
                call, candidate, entry, number, trial, sent_at, opened,
            )),
        };
    }
    let body = match read_capped(response, MAX_RESPONSE_BYTES, sent_at + timeout).await {
        Ok(body) => body,
        Err(message) => return failed(call, entry, trial, Failure::BadResponse, message),
    };
    let mut error = None;
    let facts = inspect_body(&body);
    if let Some((failure, message)) = unusable_answer(status.as_u16(), &body, &facts) {
        let message = outcome::redact(&message, channel);
        if failure.fails_over() {
            return failed(call, entry, trial, failure, message);
        }
        // A refusal inside a 2xx is the client's answer: returned as the upstream sent it.
        if trial {
            call.state
                .health
                .release_trial(&entry.health_key, Instant::now());
        }
        error = Some(message);
    }
    let elapsed = sent_at.elapsed();
    let usage = facts.usage;
    outcome::record_served(
        call,
        entry,
        Served {
            attempts: number,
            http_status: status.as_u16(),
            usage,
            output_text: if usage.is_none() {
                crate::usage::writer::answer_text(&body)
            } else {
                String::new()
            },
            ttft: None,
            total: elapsed,
            error,
            cancelled: false,
            response_body: Some(body.clone()),
        },
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
    );
    outcome::router_headers(&mut response, call, entry, candidate, number);
    Attempted::Served(response)
}

/// The client's response for a stream whose first event arrived: the relay, which records
/// the call when it ends.
fn stream_response(
    call: &Arc<Call>,
    candidate: &Ranked,
    entry: &CatalogEntry,
    number: u32,
    trial: bool,
    sent_at: Instant,
    opened: OpenedStream,
) -> Response {
    let ttft = sent_at.elapsed();
    let on_end =
        outcome::stream_finisher(call.clone(), candidate.entry, number, trial, sent_at, ttft);
    let body = Body::from_stream(opened.relay.on_end(on_end).into_stream(opened.first));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    outcome::router_headers(&mut response, call, entry, candidate, number);
    response
}

/// A 2xx body that is no answer: not JSON (an HTML page, a cut body), or an
/// `{"error": ...}` object (some upstreams answer errors with 200).
fn unusable_answer(status: u16, body: &[u8], facts: &BodyFacts) -> Option<(Failure, String)> {
    if !facts.is_json {
        let start: String = String::from_utf8_lossy(&body[..body.len().min(80)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let message = format!("HTTP {status} with a body that is not JSON: {start:?}");
        return Some((Failure::BadResponse, message));
    }
    let message = facts.error.clone()?;
    Some((
        classify_error_body(body),
        format!("HTTP {status} with an error body: {message}"),
    ))
}

fn failed(
    call: &Call,
    entry: &CatalogEntry,
    trial: bool,
    failure: Failure,
    message: String,
) -> Attempted {
    let context_exceeded = failure == Failure::ContextLength;
    outcome::record_failure(call, entry, trial, &failure, &message);
    Attempted::Failed {
        summary: format!("{}/{}: {message}", entry.channel.id, entry.model_id),
        context_exceeded,
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.1}")
    }
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Read a body up to `cap` bytes before `deadline` (a single-chunk body is not copied).
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    deadline: Instant,
) -> Result<Bytes, String> {
    let mut chunks = Chunks::default();
    let mut total = 0usize;
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => return Err("timed out reading the response body".into()),
            Ok(Err(e)) => return Err(format!("response body broke: {e}")),
            Ok(Ok(None)) => return Ok(chunks.finish()),
            Ok(Ok(Some(chunk))) => {
                total += chunk.len();
                if total > cap {
                    return Err(format!(
                        "response body larger than {} MiB",
                        cap / (1024 * 1024)
                    ));
                }
                chunks.push(chunk);
            }
        }
    }
}
