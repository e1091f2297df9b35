//! The proxy: one routed call, as a fixed series of steps (pingora's spine):
//! parse the body → resolve the query → rank → attempt candidates with failover → relay →
//! record usage. [`handle`] reads like that list; each step lives in its own module.
//!
//! Failover rules (SPEC §7): candidates are tried in rank order, at most
//! `routing.max_attempts`, skipping blacklisted, cooling-down and removed ones (a recovering
//! one gets a single half-open trial). A 400 that is the request's own fault or a
//! content-policy refusal goes back to the client as is; a context-length error moves on to
//! a candidate with a larger known context; every other failure moves on. When every attempt
//! fails: 502 listing each `channel/model: error`; when nothing could be tried: 503 with
//! `Retry-After`. A client that goes away mid-call still leaves a `cancelled` record
//! (`outcome::InFlight`).
//!
//! Hot path (BENCHMARKS.md): a request parses no config, compiles no regex, scans no catalog
//! (indexes answer the query), builds no client (one per serving thread, `upstream`), parses
//! no upstream URL and formats no auth header (`config::PreparedRequest`), logs nothing at
//! info per request or per chunk, and hands its usage record to a queue without a system
//! call. The body is forwarded as the client's bytes with only `model` (and
//! `stream_options`) spliced in (`request`); an answer is read in one parse.

mod attempt;
pub mod classify;
pub(crate) mod details;
pub(crate) mod outcome;
pub mod relay;
pub mod request;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use tokio::time::Instant;

use crate::budget::BudgetGate;
use crate::catalog::{EntryId, ModelKind};
use crate::health::Availability;
use crate::query::{parse_query, resolve, Needs};
use crate::scoring::{rank, Ranked, Strategy};
use crate::server::error::ApiError;
use crate::state::{AppState, Snapshot};
use crate::usage::tokens::quick_prompt_estimate;
use attempt::{try_candidate, Attempted};
use request::ClientRequest;

/// The three routed endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Chat,
    Completion,
    Embedding,
}

impl RouteKind {
    /// Path under the channel's base URL.
    pub fn path(self) -> &'static str {
        match self {
            RouteKind::Chat => "/chat/completions",
            RouteKind::Completion => "/completions",
            RouteKind::Embedding => "/embeddings",
        }
    }

    /// The model kind this route serves.
    pub fn model_kind(self) -> ModelKind {
        match self {
            RouteKind::Chat | RouteKind::Completion => ModelKind::Chat,
            RouteKind::Embedding => ModelKind::Embedding,
        }
    }

    /// `request_type` of the usage record, and the metrics label.
    pub fn label(self) -> &'static str {
        match self {
            RouteKind::Chat => "chat",
            RouteKind::Completion => "completion",
            RouteKind::Embedding => "embedding",
        }
    }
}

/// Everything one call carries from step to step.
pub(crate) struct Call {
    pub state: Arc<AppState>,
    pub snapshot: Arc<Snapshot>,
    pub route: RouteKind,
    pub request: ClientRequest,
    pub request_id: String,
    pub strategy: String,
    pub started: Instant,
    pub timestamp: chrono::DateTime<Utc>,
    /// What the request history keeps of this call (app, attempts, route, bodies).
    pub details: details::DetailsDraft,
}

/// Handle one routed request end to end.
pub async fn handle(
    state: Arc<AppState>,
    route: RouteKind,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = new_request_id();
    let response = match route_request(state.clone(), route, &headers, body, &request_id).await {
        Ok(response) => response,
        Err(error) => {
            state.metrics.error(error.code.unwrap_or("error"));
            error.into_response()
        }
    };
    state
        .metrics
        .request(route.label(), response.status().as_u16());
    with_request_id(response, request_id)
}

async fn route_request(
    state: Arc<AppState>,
    route: RouteKind,
    headers: &HeaderMap,
    body: Bytes,
    request_id: &str,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    // 1. Parse: the few fields routing needs.
    let request = ClientRequest::parse(body)?;
    let snapshot = state.snapshot();
    let config = &snapshot.config;
    let strategy = pick_strategy(
        headers,
        &config.routing.strategies,
        &config.routing.default_strategy,
    )?;
    // 2. Resolve the query against the catalog.
    let query = parse_query(&request.model)
        .map_err(|e| ApiError::bad_request("invalid_model_query", e.message).with_param("model"))?;
    let needs = Needs {
        kind: route.model_kind(),
        filters: &config.routing.model_filters,
        context_tokens: context_need(route, &request),
    };
    let resolution = resolve(&snapshot.catalog, &request.model, &query, &needs, false)
        .map_err(|e| ApiError::model_not_found(e.message))?;
    // 3. Rank.
    let catalog = &snapshot.catalog;
    let ranked = {
        let live = state.health.live_board();
        rank(catalog, &resolution.candidates, strategy, &|entry| {
            live.scores(&entry.health_key)
        })
    };
    let details = details::DetailsDraft::start(&config.history, headers, catalog, &ranked, started);
    let call = Call {
        details,
        strategy: strategy.name.clone(),
        state: state.clone(),
        snapshot: snapshot.clone(),
        route,
        request,
        request_id: request_id.to_string(),
        started,
        timestamp: Utc::now(),
    };
    // 4-6. Attempt, relay, record.
    attempt_in_order(call, ranked).await
}

/// Estimated prompt tokens + `max_tokens` for chat and completions (context fit).
fn context_need(route: RouteKind, request: &ClientRequest) -> Option<u64> {
    (route != RouteKind::Embedding)
        .then(|| quick_prompt_estimate(request.body.len()) + request.max_tokens.unwrap_or(0))
}

fn pick_strategy<'a>(
    headers: &HeaderMap,
    strategies: &'a std::collections::BTreeMap<String, Strategy>,
    default: &str,
) -> Result<&'a Strategy, ApiError> {
    let wanted = headers
        .get("x-router-strategy")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(default);
    strategies.get(wanted).ok_or_else(|| {
        let known: Vec<&str> = strategies.keys().map(String::as_str).collect();
        ApiError::bad_request(
            "unknown_strategy",
            format!(
                "Unknown strategy {wanted:?} in x-router-strategy; known: {}.",
                known.join(", ")
            ),
        )
    })
}

async fn attempt_in_order(call: Call, ranked: Vec<Ranked>) -> Result<Response, ApiError> {
    let call = Arc::new(call);
    let max_attempts = call.snapshot.config.routing.max_attempts as usize;
    let mut attempts: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut earliest_retry: Option<Instant> = None;
    let mut context_floor: Option<u64> = None;
    let mut last_attempted: Option<EntryId> = None;
    let mut in_flight = outcome::InFlight::new(call.clone());
    let budget = BudgetGate::new(&call.state, &call.snapshot.config);
    let mut over_budget = 0usize;
    for candidate in &ranked {
        if attempts.len() >= max_attempts {
            break;
        }
        let Some(entry) = call.snapshot.catalog.entry(candidate.entry) else {
            continue;
        };
        if budget.blocks(entry) {
            over_budget += 1;
            skipped.push(format!(
                "{}/{}: over its daily budget",
                entry.channel.id, entry.model_id
            ));
            continue;
        }
        if let (Some(floor), Some(context)) = (context_floor, entry.context_tokens) {
            if context <= floor {
                skipped.push(format!(
                    "{}/{}: context {context} too small",
                    entry.channel.id, entry.model_id
                ));
                continue;
            }
        }
        let availability =
            call.state
                .health
                .admit(&entry.channel, &entry.health_key, Instant::now());
        if !availability.is_usable() {
            let retry_at = match availability {
                Availability::Blacklisted { until, .. } | Availability::CoolingDown { until } => {
                    Some(until)
                }
                // The trial ends within the channel's timeout; ask to come back soon.
                Availability::TrialInProgress => Some(Instant::now() + Duration::from_secs(1)),
                _ => None,
            };
            if let Some(at) = retry_at {
                earliest_retry = Some(earliest_retry.map_or(at, |e| e.min(at)));
            }
            skipped.push(format!(
                "{}/{}: {}",
                entry.channel.id,
                entry.model_id,
                describe(&availability)
            ));
            continue;
        }
        let number = attempts.len() as u32 + 1;
        let trial = availability == Availability::Trial;
        last_attempted = Some(candidate.entry);
        in_flight.trying(candidate.entry, entry, number, trial);
        match try_candidate(&call, candidate, number, trial).await {
            Attempted::Served(response) => {
                in_flight.settle();
                return Ok(response);
            }
            Attempted::Failed {
                summary,
                context_exceeded,
            } => {
                in_flight.tried();
                attempts.push(summary);
                if context_exceeded {
                    context_floor = Some(
                        entry
                            .context_tokens
                            .unwrap_or(0)
                            .max(context_floor.unwrap_or(0)),
                    );
                }
            }
        }
    }
    in_flight.settle();
    let budget_only = attempts.is_empty() && over_budget > 0 && over_budget == skipped.len();
    let status = match (budget_only, attempts.is_empty()) {
        (true, _) => 429,
        (false, true) => 503,
        (false, false) => 502,
    };
    outcome::record_unserved(&call, last_attempted, attempts.len() as u32, status);
    if budget_only {
        return Err(ApiError::budget_exceeded(format!(
            "Every candidate for {:?} is a paid model over its daily budget, and none is free or local \
             (cost_control.auto_disable_on_budget_exceeded).",
            call.request.model
        )));
    }
    if attempts.is_empty() {
        let mut error = ApiError::unavailable(
            "no_available_channel",
            format!(
                "No candidate for {:?} can be tried now: {}.",
                call.request.model,
                skipped.join("; ")
            ),
        );
        error.retry_after = earliest_retry.map(|at| {
            at.saturating_duration_since(Instant::now())
                .max(Duration::from_secs(1))
        });
        return Err(error);
    }
    let mut message = format!(
        "All {} attempt{} failed: {}",
        attempts.len(),
        if attempts.len() == 1 { "" } else { "s" },
        attempts.join("; ")
    );
    if !skipped.is_empty() {
        message.push_str(&format!(" (skipped: {})", skipped.join("; ")));
    }
    Err(ApiError::upstream_failed(message))
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

/// `req_` and 24 hex digits.
fn new_request_id() -> String {
    let n: u128 = rand::random();
    format!("req_{:024x}", n & ((1u128 << 96) - 1))
}

fn with_request_id(mut response: Response, request_id: String) -> Response {
    if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(request_id)) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
