//! The per-call context: the one owner of a routed call's usage record.
//!
//! A [`CallContext`] is created once a request has ranked candidates and lives until the call
//! ends. Attempts report to it ([`CallContext::attempt_failed`]) and it applies their effects
//! (`effects`) and keeps the attempt log; the call ends through exactly one of
//! [`finish_served`](CallContext::finish_served) (an answer reached the client: success, a
//! relayed refusal, a stream that broke or completed) or
//! [`finish_unserved`](CallContext::finish_unserved) (a [`RouteError`]); a context dropped
//! before either (the client went away while candidates were being tried) writes a
//! `cancelled` record with status 499 and gives back the half-open trial it held. Nothing
//! else in the gateway builds a usage record for a call (pingora's "one exit").

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::time::Instant;

use super::details::DetailsDraft;
use super::effects;
use super::error::RouteError;
use super::request::ClientRequest;
use super::RouteKind;
use crate::catalog::{CatalogEntry, EntryId};
use crate::state::{AppState, Snapshot};
use crate::upstream::classify::Failure;
use crate::usage::details::AttemptLog as HistoryAttempt;
use crate::usage::record::{CallStatus, UsageRecord};
use crate::usage::tap::Usage;
use crate::usage::writer::PendingUsage;

/// One attempt of a call, as the call's log keeps it (history, the 502 message).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    pub channel: String,
    pub model: String,
    /// The upstream's status, when it answered.
    pub http_status: Option<u16>,
    /// The failure class (`rate_limited`, `server_error`, ...); `None` for the attempt that served.
    pub error_class: Option<&'static str>,
    pub duration_ms: u64,
    /// What went wrong, redacted.
    pub message: Option<String>,
}

/// What the client received, for the record.
#[derive(Debug, Default)]
pub struct Served {
    pub http_status: u16,
    /// Usage as the upstream reported it; `None` means estimate from the texts.
    pub usage: Option<Usage>,
    /// The model's text, for estimating output tokens when no usage arrived.
    pub output_text: String,
    pub ttft: Option<Duration>,
    /// From the send of the serving attempt to its end.
    pub total: Duration,
    /// Set when the answer is an error (a relayed refusal, a stream that broke).
    pub error: Option<String>,
    /// The client left before the answer was complete.
    pub cancelled: bool,
    /// The upstream's whole body, for the request history (a stream's is `output_text`).
    pub response_body: Option<Bytes>,
}

/// Everything one routed call carries from step to step, and its record.
pub struct CallContext {
    pub state: Arc<AppState>,
    pub snapshot: Arc<Snapshot>,
    pub route: RouteKind,
    pub request: ClientRequest,
    pub request_id: String,
    pub strategy: String,
    pub started: Instant,
    pub timestamp: DateTime<Utc>,
    /// The client's `anthropic-beta` header, forwarded to Anthropic channels it reaches
    /// unchanged (Messages passthrough): beta fields in the body need it.
    pub anthropic_beta: Option<axum::http::HeaderValue>,
    attempts: Vec<AttemptLog>,
    /// The entry of the attempt in progress (or the last one).
    current: Option<EntryId>,
    started_attempts: u32,
    /// Health key of the half-open trial the attempt in progress holds.
    trial: Option<Arc<str>>,
    finished: bool,
    /// The client key (`auth.keys`) the call came with.
    pub key: Option<crate::limits::ClientKey>,
    /// What the request history keeps of the call beyond its record (set after `new`).
    pub details: DetailsDraft,
}

impl CallContext {
    pub fn new(
        state: Arc<AppState>,
        snapshot: Arc<Snapshot>,
        route: RouteKind,
        request: ClientRequest,
        request_id: String,
        strategy: String,
        started: Instant,
    ) -> Self {
        Self {
            state,
            snapshot,
            route,
            request,
            request_id,
            strategy,
            started,
            timestamp: Utc::now(),
            anthropic_beta: None,
            attempts: Vec::new(),
            current: None,
            started_attempts: 0,
            trial: None,
            finished: false,
            key: None,
            details: DetailsDraft::default(),
        }
    }

    /// How many attempts were started so far (the one in progress included).
    pub fn attempt_count(&self) -> u32 {
        self.started_attempts
    }

    /// The attempts that failed, in order.
    pub fn attempts(&self) -> &[AttemptLog] {
        &self.attempts
    }

    /// An attempt on `entry` starts; `trial` when it is the model's half-open trial.
    pub fn attempt_started(&mut self, id: EntryId, entry: &CatalogEntry, trial: bool) {
        self.current = Some(id);
        self.started_attempts += 1;
        self.trial = trial.then(|| entry.health_key.clone());
    }

    /// The attempt in progress failed: apply its effects and log it.
    pub fn attempt_failed(
        &mut self,
        entry: &CatalogEntry,
        failure: &Failure,
        http_status: Option<u16>,
        message: String,
        took: Duration,
    ) {
        let trial = self.trial.take().is_some();
        effects::apply_failure(
            &self.state,
            &self.snapshot.config.routing,
            entry,
            trial,
            failure,
            &message,
        );
        self.attempts.push(AttemptLog {
            channel: entry.channel.id.clone(),
            model: entry.model_id.clone(),
            http_status,
            error_class: Some(failure.class()),
            duration_ms: took.as_millis() as u64,
            message: Some(message),
        });
    }

    /// The attempt in progress produced an answer that says nothing about the model's health
    /// (a relayed 400 or refusal): give its half-open trial back.
    pub fn attempt_without_verdict(&mut self) {
        if let Some(key) = self.trial.take() {
            self.state.health.release_trial(&key, Instant::now());
        }
    }

    /// The serving attempt's entry.
    pub fn entry(&self) -> Option<&CatalogEntry> {
        self.current.and_then(|id| self.snapshot.catalog.entry(id))
    }

    /// End the call with an answer the client received. A stream that failed after its first
    /// byte passes its failure, whose effects are applied here.
    pub fn finish_served(mut self, served: Served, failure: Option<&Failure>) {
        self.finished = true;
        let Some(entry) = self.current.and_then(|id| self.snapshot.catalog.entry(id)) else {
            return;
        };
        let trial = self.trial.take();
        let status = if served.cancelled {
            CallStatus::Cancelled
        } else if served.error.is_some() || served.http_status >= 400 {
            CallStatus::Error
        } else {
            CallStatus::Success
        };
        match (failure, status) {
            (Some(failure), _) => effects::apply_failure(
                &self.state,
                &self.snapshot.config.routing,
                entry,
                trial.is_some(),
                failure,
                served.error.as_deref().unwrap_or("stream failed"),
            ),
            (None, CallStatus::Success) => {
                let output = served.usage.map(|u| u.output_tokens);
                effects::apply_success(&self.state, entry, output, served.ttft, served.total)
            }
            (None, _) => {
                if let Some(key) = trial {
                    self.state.health.release_trial(&key, Instant::now());
                }
            }
        }
        let mut record = self.record(Some(entry), status, served.http_status);
        record.ttft_ms = served.ttft.map(|t| t.as_millis() as u64);
        let details = self.details.finish(
            &self.request.body,
            self.history_attempts(Some((entry, &served, failure))),
            served.response_body,
            &served.output_text,
        );
        record.error_message = served.error;
        let estimate = served.usage.is_none();
        self.state.usage.submit(PendingUsage {
            record,
            usage: served.usage,
            price: entry.price,
            request_body: estimate.then(|| self.request.body.clone()),
            output_text: served.output_text,
            details,
        });
    }

    /// End the call without an answer from an upstream.
    pub fn finish_unserved(mut self, error: &RouteError) {
        self.finished = true;
        let entry = if self.attempts.is_empty() {
            None
        } else {
            self.entry()
        };
        let mut record = self.record(entry, CallStatus::Error, error.status());
        record.error_message = Some(if self.attempts.is_empty() {
            "no candidate could be tried".into()
        } else {
            "every attempt failed".into()
        });
        self.submit_unbilled(record);
    }

    /// The record with everything but tokens, costs, ttft and error filled in.
    fn record(
        &self,
        entry: Option<&CatalogEntry>,
        status: CallStatus,
        http_status: u16,
    ) -> UsageRecord {
        UsageRecord {
            timestamp: self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
            request_id: self.request_id.clone(),
            query: self.request.model.clone(),
            model: entry.map(|e| e.model_id.clone()).unwrap_or_default(),
            channel_id: entry.map(|e| e.channel.id.clone()).unwrap_or_default(),
            channel_name: entry.map(|e| e.channel.name.clone()).unwrap_or_default(),
            provider: entry
                .map(|e| e.channel.provider.key.clone())
                .unwrap_or_default(),
            strategy: self.strategy.clone(),
            attempts: self.attempt_count(),
            stream: self.request.stream,
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
            request_type: self.route.label().to_string(),
            response_time_ms: self.started.elapsed().as_millis() as u64,
            ttft_ms: None,
            tags: entry.map(|e| e.tags.clone()).unwrap_or_default(),
            error_message: None,
            key_name: self.key.as_ref().map(|k| k.name.to_string()),
            // Accounting by format: the writer fills the token fields from the usage.
            cache_write_tokens: 0,
            audio_input_tokens: 0,
            audio_output_tokens: 0,
            cache_price_unknown: false,
            request_format: self.route.request_format().to_string(),
            channel_format: entry
                .map(|e| e.channel.format_name())
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// A record of a call that used no tokens (nothing answered): a known cost of 0.
    fn submit_unbilled(&mut self, record: UsageRecord) {
        let details =
            self.details
                .finish(&self.request.body, self.history_attempts(None), None, "");
        self.state.usage.submit(PendingUsage {
            record,
            usage: Some(Usage::default()),
            price: None,
            request_body: None,
            output_text: String::new(),
            details,
        });
    }

    /// The attempt log as the request history keeps it, with the serving attempt last.
    fn history_attempts(
        &self,
        serving: Option<(&CatalogEntry, &Served, Option<&Failure>)>,
    ) -> Vec<HistoryAttempt> {
        if !self.details.is_on() {
            return Vec::new();
        }
        let mut log: Vec<HistoryAttempt> = self
            .attempts
            .iter()
            .map(|a| HistoryAttempt {
                channel: a.channel.clone(),
                model: a.model.clone(),
                http_status: a.http_status,
                error_class: a.error_class.unwrap_or("success").to_string(),
                duration_ms: a.duration_ms,
                message: a.message.clone(),
            })
            .collect();
        if let Some((entry, served, failure)) = serving {
            let class = match (failure, served.cancelled, &served.error) {
                (Some(f), _, _) => f.class(),
                (None, true, _) => "cancelled",
                (None, false, Some(_)) => "refused",
                (None, false, None) => "success",
            };
            log.push(HistoryAttempt {
                channel: entry.channel.id.clone(),
                model: entry.model_id.clone(),
                http_status: Some(served.http_status),
                error_class: class.to_string(),
                duration_ms: served.total.as_millis() as u64,
                message: served.error.clone(),
            });
        }
        log
    }
}

impl Drop for CallContext {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The client went away while candidates were being tried: axum dropped the handler's
        // future, and with it this context.
        if let Some(key) = self.trial.take() {
            self.state.health.release_trial(&key, Instant::now());
        }
        let entry = self.entry();
        let mut record = self.record(entry, CallStatus::Cancelled, 499);
        record.error_message = Some("the client went away before the answer".into());
        self.submit_unbilled(record);
    }
}
