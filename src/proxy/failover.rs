//! The failover loop: candidates in rank order, at most `routing.max_attempts` attempts,
//! skipping those that cannot be tried now (over budget, a known context no larger than one
//! that already overflowed, blacklisted, cooling down, removed, a trial in flight elsewhere).
//! The first answer is the call's response; when none comes, the [`RouteError`] says why:
//! 429 when only budgets stood in the way, 503 (with `Retry-After`) when nothing could be
//! tried, 502 listing each `channel/model: error` when every attempt failed.

use std::time::Duration;

use axum::response::Response;
use tokio::time::Instant;

use super::attempt::{try_candidate, Attempt};
use super::call::CallContext;
use super::error::RouteError;
use super::respond::{respond, set_router_headers};
use super::RouteFailure;
use crate::budget::BudgetGate;
use crate::health::Availability;
use crate::scoring::Ranked;
use crate::upstream::classify::Failure;

/// Why candidates were passed over, for the error when nothing served.
#[derive(Default)]
struct Skipped {
    reasons: Vec<String>,
    over_budget: usize,
    earliest_retry: Option<Instant>,
}

/// Try the ranked candidates in order; the response of the first that answers.
pub(super) async fn attempt_in_order(
    mut call: CallContext,
    ranked: Vec<Ranked>,
) -> Result<Response, RouteFailure> {
    let snapshot = call.snapshot.clone();
    let max_attempts = snapshot.config.routing.max_attempts;
    let budget = BudgetGate::new(&call.state.aggregates, &snapshot.config);
    let mut skipped = Skipped::default();
    let mut context_floor: Option<u64> = None;
    for candidate in &ranked {
        if call.attempt_count() >= max_attempts {
            break;
        }
        let Some(entry) = snapshot.catalog.entry(candidate.entry) else {
            continue;
        };
        let name = || format!("{}/{}", entry.channel.id, entry.model_id);
        if budget.blocks(entry) {
            skipped.over_budget += 1;
            skipped
                .reasons
                .push(format!("{}: over its daily budget", name()));
            continue;
        }
        if let (Some(floor), Some(context)) = (context_floor, entry.context_tokens) {
            if context <= floor {
                let reason = format!("{}: context {context} too small", name());
                skipped.reasons.push(reason);
                continue;
            }
        }
        let now = Instant::now();
        let availability = call
            .state
            .health
            .admit(&entry.channel, &entry.health_key, now);
        if !availability.is_usable() {
            skipped.note_unavailable(&availability, now);
            let reason = format!("{}: {}", name(), describe(&availability));
            skipped.reasons.push(reason);
            continue;
        }
        call.attempt_started(candidate.entry, entry, availability == Availability::Trial);
        match try_candidate(&call, entry).await {
            Attempt::Answered(answer) => return Ok(respond(call, candidate.score, answer)),
            Attempt::Failed(failed) => {
                if failed.failure == Failure::ContextLength {
                    let context = entry.context_tokens.unwrap_or(0);
                    context_floor = Some(context.max(context_floor.unwrap_or(0)));
                }
                let (failure, status) = (failed.failure, failed.http_status);
                call.attempt_failed(entry, &failure, status, failed.message, failed.took);
            }
        }
    }
    let error = unserved_error(&call, &skipped);
    let mut headers = axum::http::HeaderMap::new();
    set_router_headers(&mut headers, &call, None);
    call.finish_unserved(&error);
    Err(RouteFailure { error, headers })
}

impl Skipped {
    fn note_unavailable(&mut self, availability: &Availability, now: Instant) {
        let retry_at = match availability {
            Availability::Blacklisted { until, .. } | Availability::CoolingDown { until } => {
                Some(*until)
            }
            // The trial ends within the channel's timeout; ask to come back soon.
            Availability::TrialInProgress => Some(now + Duration::from_secs(1)),
            _ => None,
        };
        if let Some(at) = retry_at {
            self.earliest_retry = Some(self.earliest_retry.map_or(at, |e| e.min(at)));
        }
    }
}

/// Why nothing served: budgets only (429), nothing tried (503), or every attempt failed (502).
fn unserved_error(call: &CallContext, skipped: &Skipped) -> RouteError {
    let attempts = call.attempts();
    let query = &call.request.model;
    if attempts.is_empty()
        && skipped.over_budget > 0
        && skipped.over_budget == skipped.reasons.len()
    {
        return RouteError::BudgetExceeded {
            message: format!(
                "Every candidate for {query:?} is a paid model over its daily budget, and none is free or local \
                 (cost_control.auto_disable_on_budget_exceeded)."
            ),
        };
    }
    if attempts.is_empty() {
        return RouteError::Unavailable {
            message: format!(
                "No candidate for {query:?} can be tried now: {}.",
                skipped.reasons.join("; ")
            ),
            retry_after: skipped.earliest_retry.map(|at| {
                at.saturating_duration_since(Instant::now())
                    .max(Duration::from_secs(1))
            }),
        };
    }
    let failures: Vec<String> = attempts
        .iter()
        .map(|a| {
            let message = a.message.as_deref().unwrap_or("failed");
            format!("{}/{}: {message}", a.channel, a.model)
        })
        .collect();
    let mut message = format!(
        "All {} attempt{} failed: {}",
        attempts.len(),
        if attempts.len() == 1 { "" } else { "s" },
        failures.join("; ")
    );
    if !skipped.reasons.is_empty() {
        message.push_str(&format!(" (skipped: {})", skipped.reasons.join("; ")));
    }
    RouteError::AllFailed { message }
}

fn describe(availability: &Availability) -> String {
    let secs = |until: &Instant| until.saturating_duration_since(Instant::now()).as_secs();
    match availability {
        Availability::Blacklisted { reason, until } => format!(
            "blacklisted ({}) for {}s more",
            reason.as_str(),
            secs(until)
        ),
        Availability::CoolingDown { until } => format!("cooling down for {}s more", secs(until)),
        Availability::TrialInProgress => "recovering (a trial request is in flight)".into(),
        Availability::Removed => "model not found upstream (until the next discovery)".into(),
        Availability::Available | Availability::Trial => "available".into(),
    }
}
