//! What an attempt's result does to the rest of the gateway — health, alerts, metrics — as
//! one table, applied only by the call context (`call.rs`).
//!
//! | failure | health | alert |
//! |---|---|---|
//! | invalid key | channel blacklisted for `auth_blacklist_s` (lifted early when the key changes) | `invalid_api_key` |
//! | quota exhausted | channel blacklisted for `quota_blacklist_s` | `quota_exhausted` |
//! | rate limited | (channel, model) cools down, `Retry-After` honoured | `rate_limited` |
//! | model not found | removed until rediscovered | `other` |
//! | server error, bad response | breaker counts it | `server_error` |
//! | timeout | breaker counts it | `timeout` |
//! | connection | breaker counts it | `connection` |
//! | context length, bad request, content policy | nothing (the request's own fault) | none |
//!
//! A failure that says nothing about the model (a channel blacklist, the request's own fault)
//! gives a half-open trial back instead of deciding it. Every failure counts in `/metrics`
//! under its class (`Failure::class`, the one failure vocabulary).

use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::catalog::CatalogEntry;
use crate::config::{Channel, RoutingConfig};
use crate::health::{backoff_of, BlacklistReason};
use crate::shared_state::alerts::ChannelError;
use crate::state::AppState;
use crate::stats::alerts::ErrorClass;
use crate::upstream::classify::Failure;

/// The health, alert and metrics effects of one failed attempt. `trial`: the attempt was the
/// (channel, model)'s half-open trial.
pub fn apply_failure(
    state: &AppState,
    routing: &RoutingConfig,
    entry: &CatalogEntry,
    trial: bool,
    failure: &Failure,
    message: &str,
) {
    let now = Instant::now();
    let channel = &entry.channel;
    let health = &state.health;
    let (key, backoff) = (&entry.health_key, backoff_of(routing));
    state
        .metrics
        .attempt(&channel.id, &entry.model_id, failure.class());
    state.metrics.error(failure.class());
    tracing::warn!(channel = %channel.id, model = %entry.model_id, class = failure.class(), "attempt failed: {message}");
    let no_verdict = matches!(
        failure,
        Failure::InvalidKey
            | Failure::QuotaExhausted
            | Failure::ContextLength
            | Failure::BadRequest
            | Failure::ContentPolicy
    );
    if trial && no_verdict {
        health.release_trial(key, now);
    }
    let text = message.to_string();
    let alert = match failure {
        Failure::InvalidKey => {
            let reason = BlacklistReason::InvalidKey;
            health.blacklist_channel(channel, reason, routing.auth_blacklist, text, now);
            Some(ErrorClass::InvalidApiKey)
        }
        Failure::QuotaExhausted => {
            let reason = BlacklistReason::QuotaExhausted;
            health.blacklist_channel(channel, reason, routing.quota_blacklist, text, now);
            Some(ErrorClass::QuotaExhausted)
        }
        Failure::RateLimited { retry_after } => {
            health.record_rate_limited(key, *retry_after, &backoff, text, now);
            Some(ErrorClass::RateLimited)
        }
        Failure::ModelNotFound => {
            health.record_model_not_found(key, text, now);
            Some(ErrorClass::Other)
        }
        Failure::ServerError | Failure::BadResponse => {
            health.record_failure(key, &backoff, text, now);
            Some(ErrorClass::ServerError)
        }
        Failure::Timeout => {
            health.record_failure(key, &backoff, text, now);
            Some(ErrorClass::Timeout)
        }
        Failure::Connect => {
            health.record_failure(key, &backoff, text, now);
            Some(ErrorClass::Connection)
        }
        Failure::ContextLength
        | Failure::BadRequest
        | Failure::ContentPolicy
        | Failure::GatewayBusy => None,
    };
    if let Some(class) = alert {
        write_alert(state, channel, class, message);
    }
}

/// The health and metrics effects of a successful call: live speed figures, the breaker
/// closed (a trial decided in the model's favour). `total` runs from the send to the end;
/// `output_tokens` as the upstream reported them.
pub fn apply_success(
    state: &AppState,
    entry: &CatalogEntry,
    output_tokens: Option<u64>,
    ttft: Option<Duration>,
    total: Duration,
) {
    let generation = total.saturating_sub(ttft.unwrap_or_default());
    let tokens_per_s = output_tokens
        .filter(|o| *o > 0)
        .map(|o| o as f64 / generation.as_secs_f64().max(0.001));
    let first = ttft.unwrap_or(total);
    state.health.record_success(
        &entry.health_key,
        Some(first.as_secs_f64() * 1000.0),
        tokens_per_s,
    );
    let (channel, model) = (&entry.channel.id, &entry.model_id);
    state.metrics.attempt(channel, model, "success");
    state.metrics.timing(
        channel,
        model,
        total.as_secs_f64(),
        ttft.map(|t| t.as_secs_f64()),
    );
}

fn write_alert(state: &AppState, channel: &Channel, class: ErrorClass, message: &str) {
    let (alerts, shared) = (state.alerts.clone(), state.shared.clone());
    let error = ChannelError {
        channel_id: channel.id.clone(),
        channel_name: channel.name.clone(),
        class,
        message: message.to_string(),
    };
    // On the usage writer's thread: off the request path, and flushed with the records; with
    // a shared state, the instance that claims the alert writes it.
    state.usage.run_in_order(Box::new(move || {
        crate::shared_state::alerts::record_error(&alerts, shared.get(), &error, Utc::now());
    }));
}
