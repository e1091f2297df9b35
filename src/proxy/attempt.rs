//! One attempt: send the request to one candidate and turn what comes back into a value —
//! an [`Answer`] for the client or a classified [`AttemptFailure`] for the failover loop. An
//! attempt applies no effect (health, alerts, metrics, records): the call context does.
//!
//! A 2xx is only an answer when it is one: a non-JSON body (an HTML page) or an
//! `{"error": ...}` object fails over like an error status. A stream request is relayed as SSE
//! unless the upstream says JSON, whatever other content type it sends.
//!
//! Time limits: the channel's `timeout_s` bounds a non-streamed attempt as a whole; for a
//! stream it bounds the wait for the response head and for the first event, and then each gap
//! between events (a long stream that keeps talking is never cut). Upstream bodies are capped
//! (`MAX_RESPONSE_BYTES`; error bodies at 1 MiB), so a huge answer cannot exhaust memory.

use std::time::{Duration, SystemTime};

use axum::http::HeaderValue;
use bytes::Bytes;
use tokio::time::Instant;

use super::call::CallContext;
use super::format::{convert_body, convert_error_body, Conversion, StreamAdapter, UpstreamCall};
use super::relay::{open_stream, OpenedStream, StreamShape};
use super::RouteKind;
use crate::catalog::CatalogEntry;
use crate::config::Channel;
use crate::upstream::answer_budget::AnswerBudget;
use crate::upstream::classify::{classify_error_body, classify_status, error_message, Failure};
use crate::upstream::client::{completion_request, next_data, send, Endpoint, UpstreamResponse};
use crate::upstream::redact::{redact, redact_body};
use crate::usage::tap::{inspect_body, BodyFacts, Usage};

/// Largest non-streamed upstream body accepted.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
const MAX_ERROR_BYTES: usize = 1024 * 1024;

/// What one attempt came to. It applies no effect: the call context does.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per attempt, moved once; boxing the answer would allocate per request"
)]
pub enum Attempt {
    /// An answer for the client.
    Answered(Answer),
    Failed(AttemptFailure),
}

/// A failed attempt, as the failover loop needs it.
pub struct AttemptFailure {
    pub failure: Failure,
    /// The upstream's status, when it answered.
    pub http_status: Option<u16>,
    /// What happened, redacted.
    pub message: String,
    pub took: Duration,
}

/// An answer for the client.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per call, moved once; boxing the stream would allocate per request"
)]
pub enum Answer {
    /// A whole non-streamed body from a 2xx. `refusal`: a refusal inside a 2xx (an error the
    /// client gets as the upstream sent it).
    Complete {
        status: u16,
        content_type: Option<HeaderValue>,
        body: Bytes,
        usage: Option<Usage>,
        refusal: Option<String>,
        took: Duration,
    },
    /// A 400 or a content-policy refusal relayed as the upstream sent it (key redacted).
    Relayed {
        status: u16,
        content_type: Option<HeaderValue>,
        body: Bytes,
        message: String,
    },
    /// A stream whose first event arrived.
    Stream {
        opened: OpenedStream,
        sent_at: Instant,
        ttft: Duration,
    },
}

/// Try one candidate with `upstream`, the request in its format (`format::prepare`): send,
/// then read what came back as an answer (in the client's format) or a failure.
pub(super) async fn try_candidate(
    call: &CallContext,
    entry: &CatalogEntry,
    upstream: UpstreamCall,
) -> Attempt {
    let channel = &entry.channel;
    let stream = call.request.stream && call.route != RouteKind::Embedding;
    let UpstreamCall {
        endpoint,
        body,
        ask_usage,
        conversion,
        events,
    } = upstream;
    let sent_at = Instant::now();
    let failed = |failure, http_status, message: String| {
        Attempt::Failed(AttemptFailure {
            failure,
            http_status,
            message: redact(&message, channel),
            took: sent_at.elapsed(),
        })
    };
    let beta = match (conversion, endpoint, &call.anthropic_beta) {
        (Conversion::Passthrough, Endpoint::Messages, Some(beta)) => {
            Some(("anthropic-beta", beta.clone()))
        }
        _ => None,
    };
    let request = match completion_request(channel, endpoint, body, stream, beta) {
        Ok(request) => request,
        Err(message) => return failed(Failure::Connect, None, message),
    };
    let response = match send_within(request, channel.timeout).await {
        Ok(response) => response,
        Err((failure, message)) => return failed(failure, None, message),
    };
    let status = response.status().as_u16();
    let learned_at = crate::limits::now_ms();
    (call.state.limits).observe_headers(&entry.health_key, response.headers(), learned_at);
    let budget = &call.state.answer_budget;
    let read = if !response.status().is_success() {
        error_answer(response, channel, call.route, sent_at, budget).await
    } else if stream && !is_json(&response) {
        // SSE, whatever the content type says (some upstreams send text/plain); a page that is
        // not SSE has no data event and fails over in `open_stream`.
        let adapter = StreamAdapter::new(conversion, call, &entry.model_id);
        let plain_chat =
            adapter.is_none() && matches!(call.route, RouteKind::Chat | RouteKind::Completion);
        let shape = StreamShape {
            strip_usage_only: ask_usage,
            events,
            route: call.route,
            cost_price: (plain_chat && !ask_usage).then_some(entry.price),
            adapter,
        };
        open_stream(response, shape, channel.timeout)
            .await
            .map(|opened| Answer::Stream {
                opened,
                sent_at,
                ttft: sent_at.elapsed(),
            })
    } else {
        whole_answer(response, channel, sent_at, budget)
            .await
            .and_then(|answer| in_client_format(answer, conversion, call))
    };
    match read {
        Ok(answer) => Attempt::Answered(answer),
        Err((failure, message)) => failed(failure, Some(status), message),
    }
}

/// A whole answer in the client's format (a refusal stays as the upstream sent it); an answer
/// that cannot be read in the upstream's format fails over.
fn in_client_format(
    mut answer: Answer,
    conversion: Conversion,
    call: &CallContext,
) -> Result<Answer, (Failure, String)> {
    if let Answer::Complete {
        body,
        refusal: None,
        ..
    } = &mut answer
    {
        *body = convert_body(conversion, call, std::mem::take(body))
            .map_err(|message| (Failure::BadResponse, message))?;
    }
    Ok(answer)
}

/// Send within the channel's timeout; a failure to get a response head is classified here.
async fn send_within(
    request: http::Request<Bytes>,
    timeout: Duration,
) -> Result<UpstreamResponse, (Failure, String)> {
    match tokio::time::timeout(timeout, send(request)).await {
        Err(_) => Err((
            Failure::Timeout,
            format!("timed out after {}s", secs(timeout)),
        )),
        Ok(Err(e)) => {
            let (failure, what) = if e.connect {
                (Failure::Connect, "connection failed")
            } else {
                (Failure::BadResponse, "request failed")
            };
            Err((failure, format!("{what}: {}", e.message)))
        }
        Ok(Ok(response)) => Ok(response),
    }
}

fn is_json(response: &UpstreamResponse) -> bool {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// A whole 2xx body: the answer, a refusal inside it (the client's answer as sent), or a
/// failure (not JSON, an error object) to fail over from.
async fn whole_answer(
    response: UpstreamResponse,
    channel: &Channel,
    sent_at: Instant,
    budget: &AnswerBudget,
) -> Result<Answer, (Failure, String)> {
    let status = response.status().as_u16();
    let content_type = response.headers().get(http::header::CONTENT_TYPE).cloned();
    let deadline = sent_at + channel.timeout;
    let body = read_capped(response, MAX_RESPONSE_BYTES, deadline, budget).await?;
    let facts = inspect_body(&body);
    let mut refusal = None;
    if let Some((failure, message)) = unusable_answer(status, &body, &facts) {
        if failure.fails_over() {
            return Err((failure, message));
        }
        refusal = Some(redact(&message, channel));
    }
    Ok(Answer::Complete {
        status,
        content_type,
        body,
        usage: facts.usage,
        refusal,
        took: sent_at.elapsed(),
    })
}

/// A non-2xx: the failure to fail over from, or (a 400, a content-policy refusal) the answer
/// the client gets as the upstream sent it.
async fn error_answer(
    response: UpstreamResponse,
    channel: &Channel,
    route: RouteKind,
    sent_at: Instant,
    budget: &AnswerBudget,
) -> Result<Answer, (Failure, String)> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_capped(response, MAX_ERROR_BYTES, sent_at + channel.timeout, budget)
        .await
        .unwrap_or_default();
    let failure = classify_status(status.as_u16(), &headers, &body, SystemTime::now());
    let message = if status.is_redirection() {
        let target = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("an unnamed location");
        format!("redirect to {target} not followed (set the channel's base_url to the target)")
    } else {
        error_message(&body)
    };
    if failure.fails_over() {
        return Err((failure, format!("HTTP {}: {message}", status.as_u16())));
    }
    // In the client's error shape (Anthropic's for a Messages client).
    let message = redact(&message, channel);
    let (body, converted) =
        convert_error_body(route, status.as_u16(), &message, redact_body(body, channel));
    let content_type = match converted {
        true => Some(HeaderValue::from_static("application/json")),
        false => headers.get(http::header::CONTENT_TYPE).cloned(),
    };
    Ok(Answer::Relayed {
        status: status.as_u16(),
        content_type,
        body,
        message,
    })
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

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.1}")
    }
}

/// Read a body up to `cap` bytes before `deadline` (a single-chunk body is not copied),
/// within the shared `budget` (no room: `GatewayBusy`, not the channel's fault).
async fn read_capped(
    response: UpstreamResponse,
    cap: usize,
    deadline: Instant,
    budget: &AnswerBudget,
) -> Result<Bytes, (Failure, String)> {
    let broken = |message: String| (Failure::BadResponse, message);
    let mut chunks = budget.reader();
    let mut total = 0usize;
    let mut body = response.into_body();
    loop {
        match tokio::time::timeout_at(deadline, next_data(&mut body)).await {
            Err(_) => return Err(broken("timed out reading the response body".into())),
            Ok(Some(Err(e))) => return Err(broken(format!("response body broke: {e}"))),
            Ok(None) => return Ok(chunks.finish()),
            Ok(Some(Ok(chunk))) => {
                total += chunk.len();
                if total > cap {
                    return Err(broken(format!(
                        "response body larger than {} MiB",
                        cap / (1024 * 1024)
                    )));
                }
                chunks
                    .push(chunk)
                    .map_err(|message| (Failure::GatewayBusy, message))?;
            }
        }
    }
}
