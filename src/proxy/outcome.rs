//! What an attempt's result does to the rest of the gateway: health (blacklists, cooldowns,
//! breakers, live figures), alerts, metrics, the usage record, and the `x-router-*` headers.
//!
//! Effects per failure (SPEC §7): invalid key → channel blacklisted for `auth_blacklist_s`
//! (lifted early when the key changes); quota → channel blacklisted for `quota_blacklist_s`;
//! rate limit → (channel, model) cools down (`Retry-After` honoured); model not found → removed
//! until rediscovered; 5xx, timeouts, connect errors, broken or non-JSON answers → the
//! breaker counts them. Context-length, bad-request and content-policy answers say nothing
//! about the channel's health. Every message that leaves this module has the channel's key
//! (and anything that looks like a key) redacted.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use tokio::time::Instant;

use super::classify::Failure;
use super::relay::{OnEnd, RelayEnd};
use super::Call;
use crate::catalog::{CatalogEntry, EntryId};
use crate::config::Channel;
use crate::health::{backoff_of, BlacklistReason};
use crate::scoring::Ranked;
use crate::stats::alerts::{redact_secrets, ErrorClass};
use crate::usage::record::{CallStatus, UsageRecord};
use crate::usage::tap::Usage;
use crate::usage::writer::PendingUsage;

/// Replace the channel's key and anything key-shaped with `***`.
pub fn redact(message: &str, channel: &Channel) -> String {
    let mut text = message.to_string();
    if let Some(key) = channel
        .api_key
        .as_ref()
        .map(|k| k.expose())
        .filter(|k| k.len() >= 4)
    {
        text = text.replace(key, "***");
    }
    redact_secrets(&text).into_owned()
}

/// A call that produced a response for the client.
pub struct Served {
    pub attempts: u32,
    pub http_status: u16,
    pub usage: Option<Usage>,
    pub output_text: String,
    pub ttft: Option<Duration>,
    pub total: Duration,
    pub error: Option<String>,
    pub cancelled: bool,
    /// The upstream's body, for the request history (a stream leaves `None`: its text is
    /// `output_text`).
    pub response_body: Option<Bytes>,
}

fn header(response: &mut Response, name: &'static str, value: String) {
    // Takes the string's buffer as is (`from_str` would copy it).
    if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(value)) {
        response.headers_mut().insert(name, value);
    }
}

/// `x-router-channel`, `-model`, `-attempts`, `-strategy`, `-score`, `-time`.
pub fn router_headers(
    response: &mut Response,
    call: &Call,
    entry: &CatalogEntry,
    candidate: &Ranked,
    attempts: u32,
) {
    // The six below and `x-request-id`, in one allocation of the map.
    response.headers_mut().reserve(8);
    header(response, "x-router-channel", entry.channel.id.clone());
    header(response, "x-router-model", entry.model_id.clone());
    response
        .headers_mut()
        .insert("x-router-attempts", HeaderValue::from(attempts));
    header(response, "x-router-strategy", call.strategy.clone());
    header(
        response,
        "x-router-score",
        format!("{:.4}", candidate.score),
    );
    response.headers_mut().insert(
        "x-router-time",
        HeaderValue::from(call.started.elapsed().as_millis() as u64),
    );
}

/// A 400 (or content-policy refusal) returned to the client as the upstream sent it.
#[allow(clippy::too_many_arguments)]
pub fn passthrough(
    call: &Call,
    entry: &CatalogEntry,
    candidate: &Ranked,
    attempts: u32,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: Bytes,
    message: &str,
) -> Response {
    let key_free = match entry.channel.api_key.as_ref().map(|k| k.expose()) {
        Some(key) if key.len() >= 4 && memchr::memmem::find(&body, key.as_bytes()).is_some() => {
            Bytes::from(String::from_utf8_lossy(&body).replace(key, "***"))
        }
        _ => body,
    };
    record_served(
        call,
        entry,
        Served {
            attempts,
            http_status: status.as_u16(),
            usage: Some(Usage::default()),
            output_text: String::new(),
            ttft: None,
            total: call.started.elapsed(),
            error: Some(message.to_string()),
            cancelled: false,
            response_body: Some(key_free.clone()),
        },
    );
    let mut response = Response::new(Body::from(key_free));
    *response.status_mut() =
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, content_type);
    router_headers(&mut response, call, entry, candidate, attempts);
    response
}

fn base_record(
    call: &Call,
    entry: Option<&CatalogEntry>,
    attempts: u32,
    status: CallStatus,
    http_status: u16,
) -> UsageRecord {
    UsageRecord {
        timestamp: call.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
        request_id: call.request_id.clone(),
        query: call.request.model.clone(),
        model: entry.map(|e| e.model_id.clone()).unwrap_or_default(),
        channel_id: entry.map(|e| e.channel.id.clone()).unwrap_or_default(),
        channel_name: entry.map(|e| e.channel.name.clone()).unwrap_or_default(),
        provider: entry
            .map(|e| e.channel.provider.key.clone())
            .unwrap_or_default(),
        strategy: call.strategy.clone(),
        attempts,
        stream: call.request.stream,
        status,
        http_status,
        input_tokens: 0,
        output_tokens: 0,
        total_tokens: 0,
        cached_tokens: 0,
        reasoning_tokens: 0,
        input_cost: 0.0,
        output_cost: 0.0,
        total_cost: 0.0,
        cost_currency: entry.map_or_else(|| "USD".to_string(), |e| e.channel.currency.clone()),
        usage_estimated: false,
        cost_known: true,
        request_type: call.route.label().to_string(),
        response_time_ms: call.started.elapsed().as_millis() as u64,
        ttft_ms: None,
        tags: entry.map(|e| e.tags.clone()).unwrap_or_default(),
        error_message: None,
    }
}

/// Record a call that produced a response (success, a stream that broke, a passthrough 400).
pub fn record_served(call: &Call, entry: &CatalogEntry, served: Served) {
    let status = if served.cancelled {
        CallStatus::Cancelled
    } else if served.error.is_some() || served.http_status >= 400 {
        CallStatus::Error
    } else {
        CallStatus::Success
    };
    let state = &call.state;
    if status == CallStatus::Success {
        let output = served.usage.map(|u| u.output_tokens);
        let generation = served.total.saturating_sub(served.ttft.unwrap_or_default());
        let tokens_per_s = output
            .filter(|o| *o > 0)
            .map(|o| o as f64 / generation.as_secs_f64().max(0.001));
        let ttft = served.ttft.unwrap_or(served.total);
        state.health.record_success(
            &entry.health_key,
            Some(ttft.as_secs_f64() * 1000.0),
            tokens_per_s,
        );
        state
            .metrics
            .attempt(&entry.channel.id, &entry.model_id, "success");
        state.metrics.timing(
            &entry.channel.id,
            &entry.model_id,
            served.total.as_secs_f64(),
            served.ttft.map(|t| t.as_secs_f64()),
        );
    }
    let mut record = base_record(
        call,
        Some(entry),
        served.attempts,
        status,
        served.http_status,
    );
    record.response_time_ms = served.total.as_millis() as u64
        + (call.started.elapsed().saturating_sub(served.total)).as_millis() as u64;
    record.ttft_ms = served.ttft.map(|t| t.as_millis() as u64);
    let class = match status {
        CallStatus::Success => "success",
        CallStatus::Error => "error",
        CallStatus::Cancelled => "cancelled",
    };
    // A stream that broke was logged as a failed attempt by `record_failure` already.
    if served.error.is_none() || served.response_body.is_some() {
        call.details.attempt(
            entry,
            class,
            Some(served.http_status),
            served.error.as_deref(),
        );
    }
    let details = call.details.finish(
        &call.request.body,
        served.response_body,
        &served.output_text,
    );
    record.error_message = served.error;
    let estimate = served.usage.is_none();
    state.usage.submit(PendingUsage {
        record,
        usage: served.usage,
        price: entry.price,
        request_body: estimate.then(|| call.request.body.clone()),
        output_text: served.output_text,
        details,
    });
}

/// Health, alert and metrics effects of a failed attempt. `trial`: the attempt was the
/// (channel, model)'s half-open trial; a failure that says nothing about the model (a channel
/// blacklist, the request's own fault) gives the trial back instead of deciding it.
pub fn record_failure(
    call: &Call,
    entry: &CatalogEntry,
    trial: bool,
    failure: &Failure,
    message: &str,
) {
    let state = &call.state;
    let routing = &call.snapshot.config.routing;
    let now = Instant::now();
    let channel = &entry.channel;
    state
        .metrics
        .attempt(&channel.id, &entry.model_id, failure.class());
    state.metrics.error(failure.class());
    tracing::warn!(channel = %channel.id, model = %entry.model_id, class = failure.class(), "attempt failed: {message}");
    call.details
        .attempt(entry, failure.class(), None, Some(message));
    let no_verdict = matches!(
        failure,
        Failure::InvalidKey
            | Failure::QuotaExhausted
            | Failure::ContextLength
            | Failure::BadRequest
            | Failure::ContentPolicy
    );
    if trial && no_verdict {
        state.health.release_trial(&entry.health_key, now);
    }
    let alert_class = match failure {
        Failure::InvalidKey => {
            state.health.blacklist_channel(
                channel,
                BlacklistReason::InvalidKey,
                routing.auth_blacklist,
                message.to_string(),
                now,
            );
            Some(ErrorClass::InvalidApiKey)
        }
        Failure::QuotaExhausted => {
            state.health.blacklist_channel(
                channel,
                BlacklistReason::QuotaExhausted,
                routing.quota_blacklist,
                message.to_string(),
                now,
            );
            Some(ErrorClass::QuotaExhausted)
        }
        Failure::RateLimited { retry_after } => {
            state.health.record_rate_limited(
                &entry.health_key,
                *retry_after,
                &backoff_of(routing),
                message.to_string(),
                now,
            );
            Some(ErrorClass::RateLimited)
        }
        Failure::ModelNotFound => {
            state
                .health
                .record_model_not_found(&entry.health_key, message.to_string(), now);
            Some(ErrorClass::Other)
        }
        Failure::ServerError | Failure::BadResponse => {
            state.health.record_failure(
                &entry.health_key,
                &backoff_of(routing),
                message.to_string(),
                now,
            );
            Some(ErrorClass::ServerError)
        }
        Failure::Timeout => {
            state.health.record_failure(
                &entry.health_key,
                &backoff_of(routing),
                message.to_string(),
                now,
            );
            Some(ErrorClass::Timeout)
        }
        Failure::Connect => {
            state.health.record_failure(
                &entry.health_key,
                &backoff_of(routing),
                message.to_string(),
                now,
            );
            Some(ErrorClass::Connection)
        }
        Failure::ContextLength | Failure::BadRequest | Failure::ContentPolicy => None,
    };
    if let Some(class) = alert_class {
        write_alert(call, channel, class, message);
    }
}

fn write_alert(call: &Call, channel: &Channel, class: ErrorClass, message: &str) {
    let alerts = call.state.alerts.clone();
    let (id, name, message) = (
        channel.id.clone(),
        channel.name.clone(),
        message.to_string(),
    );
    // On the usage writer's thread: off the request path, and flushed with the records.
    call.state.usage.run_in_order(Box::new(move || {
        let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = log.record_error(&id, &name, class, &message, Utc::now()) {
            tracing::error!("cannot write a channel alert: {e}");
        }
    }));
}

/// The usage record of a call that no candidate served (every attempt failed, or none could
/// be tried).
pub fn record_unserved(
    call: &Call,
    last_attempted: Option<EntryId>,
    attempts: u32,
    http_status: u16,
) {
    let last = last_attempted.and_then(|id| call.snapshot.catalog.entry(id));
    let mut record = base_record(
        call,
        if attempts == 0 { None } else { last },
        attempts,
        CallStatus::Error,
        http_status,
    );
    record.error_message = Some(if attempts == 0 {
        "no candidate could be tried".into()
    } else {
        "every attempt failed".into()
    });
    submit_unbilled(call, record);
}

/// A record of a call that used no tokens (nothing answered): a known cost of 0.
fn submit_unbilled(call: &Call, record: UsageRecord) {
    call.state.usage.submit(PendingUsage {
        record,
        usage: Some(Usage::default()),
        price: None,
        request_body: None,
        output_text: String::new(),
        details: call.details.finish(&call.request.body, None, ""),
    });
}

/// The end-of-stream callback: usage record, health and metrics once the relay ends. A
/// stream whose client went away says nothing about the upstream: a trial it held is given
/// back.
pub fn stream_finisher(
    call: Arc<Call>,
    entry_id: EntryId,
    attempts: u32,
    trial: bool,
    sent_at: Instant,
    ttft: Duration,
) -> OnEnd {
    Box::new(move |end: RelayEnd| {
        let Some(entry) = call.snapshot.catalog.entry(entry_id) else {
            return;
        };
        if let Some(error) = &end.error {
            record_failure(&call, entry, trial, &error.failure, &error.message);
        } else if end.client_gone && trial {
            call.state
                .health
                .release_trial(&entry.health_key, Instant::now());
        }
        record_served(
            &call,
            entry,
            Served {
                attempts,
                http_status: 200,
                usage: end.usage,
                output_text: end.text,
                ttft: Some(ttft),
                total: end.ended_at.saturating_duration_since(sent_at),
                error: end.error.map(|e| e.message),
                cancelled: end.client_gone,
                response_body: None,
            },
        );
    })
}

/// The record of a call whose client goes away while candidates are being tried: axum drops
/// the handler's future, and with it this guard, which writes a `cancelled` record (HTTP 499,
/// the client-closed-request status) and gives back the half-open trial the call held. A call
/// that got a response (or was recorded as unserved) is [`settled`](InFlight::settle) first.
pub struct InFlight {
    call: Arc<Call>,
    last: Option<EntryId>,
    attempts: u32,
    /// Health key of the trial the attempt in progress holds.
    trial: Option<Arc<str>>,
    settled: bool,
}

impl InFlight {
    pub fn new(call: Arc<Call>) -> Self {
        Self {
            call,
            last: None,
            attempts: 0,
            trial: None,
            settled: false,
        }
    }

    /// Attempt number `number` starts on `entry`.
    pub fn trying(&mut self, id: EntryId, entry: &CatalogEntry, number: u32, trial: bool) {
        self.last = Some(id);
        self.attempts = number;
        self.trial = trial.then(|| entry.health_key.clone());
    }

    /// The attempt in progress ended and its effects were recorded.
    pub fn tried(&mut self) {
        self.trial = None;
    }

    /// The call has its record (or its relay will write it).
    pub fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let call = &self.call;
        if let Some(key) = &self.trial {
            call.state.health.release_trial(key, Instant::now());
        }
        let entry = self.last.and_then(|id| call.snapshot.catalog.entry(id));
        let mut record = base_record(call, entry, self.attempts, CallStatus::Cancelled, 499);
        record.error_message = Some("the client went away before the answer".into());
        submit_unbilled(call, record);
    }
}
