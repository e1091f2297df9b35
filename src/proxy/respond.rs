//! The last step of a call: turn the serving attempt's [`Answer`] into the client's response
//! and hand the call context to whatever ends it — here for a whole body, the relay's end for
//! a stream. Also the `x-router-*` headers, for answers and errors alike.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use std::time::Duration;
use tokio::time::Instant;

use super::attempt::Answer;
use super::call::{CallContext, Served};
use super::header_names::{
    X_ROUTER_ATTEMPTS, X_ROUTER_CHANNEL, X_ROUTER_COST, X_ROUTER_COST_CURRENCY,
    X_ROUTER_COST_KNOWN, X_ROUTER_MODEL, X_ROUTER_SCORE, X_ROUTER_STRATEGY, X_ROUTER_TIME,
};
use super::relay::{OpenedStream, RelayEnd};
use super::RouteKind;
use crate::usage::cost::{cost_of, decimal, push_fixed, with_usage_cost};
use crate::usage::tap::Usage;
use crate::usage::writer::answer_text;

/// The response for `answer`, served by the candidate the context's last attempt tried
/// (ranked with `score`). The call is finished here, or by the relay when a stream ends.
pub(super) fn respond(mut call: CallContext, score: f64, answer: Answer) -> Response {
    let (response, served) = match answer {
        Answer::Stream {
            opened,
            sent_at,
            ttft,
        } => return stream(call, score, opened, sent_at, ttft),
        Answer::Complete {
            status,
            content_type,
            body,
            usage,
            refusal,
            took,
        } => {
            if refusal.is_some() {
                call.attempt_without_verdict();
            }
            let output_text = if usage.is_none() {
                answer_text(&body)
            } else {
                String::new()
            };
            let (body, cost) = match (usage, call.entry()) {
                (Some(usage), Some(entry)) if refusal.is_none() => {
                    let cost = cost_of(&usage, entry.price.as_ref());
                    // `usage.cost` is OpenAI chat's convention (OpenRouter's); Messages and
                    // Responses answers keep their own shape, and carry the headers only.
                    let body = if matches!(call.route, RouteKind::Chat | RouteKind::Completion) {
                        with_usage_cost(body, cost.total_cost, cost.known)
                    } else {
                        body
                    };
                    (body, Some((cost, entry.channel.currency.clone())))
                }
                _ => (body, None),
            };
            let served = Served {
                http_status: status,
                usage,
                output_text,
                total: took,
                error: refusal,
                response_body: Some(body.clone()),
                ..Served::default()
            };
            let mut response = whole(status, content_type, body);
            if let Some((cost, currency)) = cost {
                cost_headers(
                    response.headers_mut(),
                    cost.total_cost,
                    cost.known,
                    currency,
                );
            }
            (response, served)
        }
        Answer::Relayed {
            status,
            content_type,
            body,
            message,
        } => {
            call.attempt_without_verdict();
            let served = Served {
                http_status: status,
                usage: Some(Usage::default()),
                total: call.started.elapsed(),
                error: Some(message),
                response_body: Some(body.clone()),
                ..Served::default()
            };
            (whole(status, content_type, body), served)
        }
    };
    let mut response = response;
    set_router_headers(response.headers_mut(), &call, Some(score));
    call.finish_served(served, None);
    response
}

/// A stream's response: the relay, which finishes the call when it ends.
fn stream(
    call: CallContext,
    score: f64,
    opened: OpenedStream,
    sent_at: Instant,
    ttft: Duration,
) -> Response {
    let mut response = Response::new(Body::empty());
    set_router_headers(response.headers_mut(), &call, Some(score));
    let on_end = Box::new(move |end: RelayEnd| {
        let cancelled = end.client_gone && !end.completed;
        let failure = end.error.as_ref().map(|e| e.failure.clone());
        let served = Served {
            http_status: 200,
            usage: end.usage,
            output_text: end.text,
            ttft: Some(ttft),
            total: end.ended_at.saturating_duration_since(sent_at),
            error: end.error.map(|e| e.message),
            cancelled,
            response_body: None,
        };
        call.finish_served(served, failure.as_ref());
    });
    *response.body_mut() = Body::from_stream(opened.relay.on_end(on_end).into_stream(opened.first));
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    response
}

/// `x-router-cost` (a decimal string), `x-router-cost-known` and `x-router-cost-currency`
/// (the channel's price currency, USD unless configured otherwise).
fn cost_headers(headers: &mut HeaderMap, cost: f64, known: bool, currency: String) {
    header(headers, X_ROUTER_COST, decimal(cost));
    headers.insert(
        X_ROUTER_COST_KNOWN,
        HeaderValue::from_static(if known { "true" } else { "false" }),
    );
    header(headers, X_ROUTER_COST_CURRENCY, currency);
}

fn whole(status: u16, content_type: Option<HeaderValue>, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
    );
    response
}

fn header(headers: &mut HeaderMap, name: HeaderName, value: String) {
    // Takes the string's buffer as is (`from_str` would copy it).
    if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(value)) {
        headers.insert(name, value);
    }
}

/// `x-router-attempts`, `-strategy`, `-time`, and, when a candidate served (`score`),
/// `x-router-channel`, `-model` and `-score`.
pub fn set_router_headers(headers: &mut HeaderMap, call: &CallContext, score: Option<f64>) {
    // The six below and `x-request-id`, in one allocation of the map.
    headers.reserve(8);
    if let (Some(score), Some(entry)) = (score, call.entry()) {
        header(headers, X_ROUTER_CHANNEL, entry.channel.id.clone());
        header(headers, X_ROUTER_MODEL, entry.model_id.clone());
        let mut text = String::with_capacity(8);
        push_fixed(&mut text, score, 4);
        header(headers, X_ROUTER_SCORE, text);
    }
    headers.insert(X_ROUTER_ATTEMPTS, HeaderValue::from(call.attempt_count()));
    header(headers, X_ROUTER_STRATEGY, call.strategy.clone());
    headers.insert(
        X_ROUTER_TIME,
        HeaderValue::from(call.started.elapsed().as_millis() as u64),
    );
}
